"""``rustgate build``'s output: a plan -> train.jsonl, test.jsonl, manifest.json, README.md (all or nothing).

Each split's records are read back once and written as they come, in input order, to a scratch
file in the staging folder, then copied from it in id order. So memory holds where each row sits
and each manifest entry's text, not the rows; and a record that changed since it was planned stops
the build before the folder is placed (``InputChanged``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rustgate.atomic import atomic_open, atomic_write_text, dumps_line
from rustgate.data.assemble import BuildPlan
from rustgate.data.card import render_card
from rustgate.data.config import BuildConfig
from rustgate.data.manifest import MANIFEST, ManifestRecords, dataset_files, write_manifest
from rustgate.data.output_dir import place_folder
from rustgate.data.signing import signing_key
from rustgate.data.sources import Entry
from rustgate.stats import Scores

SCRATCH = ".rows-in-input-order.jsonl"


def _write_split(
    plan: BuildPlan, name: str, entries: list[Entry], staging: Path, records: ManifestRecords, scores: Scores
) -> None:
    """``entries`` (in id order) read back in input order into a scratch file, then copied in id order."""
    order = sorted(range(len(entries)), key=lambda k: (entries[k].source, entries[k].line))  # how fetch reads
    offsets = np.zeros(len(entries) + 1, dtype=np.int64)
    lengths = np.zeros(len(entries), dtype=np.int64)
    scratch_path = staging / SCRATCH
    try:
        with scratch_path.open("wb") as scratch:
            for k, (entry, record) in zip(order, plan.records(entries[k] for k in order), strict=True):
                line = (dumps_line(record.to_row(with_gates=True)) + "\n").encode("utf-8")
                offsets[k], lengths[k] = scratch.tell(), len(line)
                scratch.write(line)
                records.add(record, name, replay=entry.replay, content_hash=entry.digest.hex())  # checked by fetch
                scores.add(record)
        with scratch_path.open("rb") as scratch, atomic_open(staging / f"{name}.jsonl", "wb") as out:
            for k in range(len(entries)):
                scratch.seek(int(offsets[k]))
                out.write(scratch.read(int(lengths[k])))
    finally:
        scratch_path.unlink(missing_ok=True)


def write_dataset(plan: BuildPlan, config: BuildConfig, out: Path | None = None, *, force: bool = False) -> Path:
    """The dataset folder for ``plan``.

    Refuses (``OutputRefused``) to replace a folder that is not an earlier rustgate dataset, or
    one that holds an input, before writing anything.
    """
    target = (out or config.output).absolute()

    def write(staging: Path) -> None:
        records, scores = ManifestRecords(), Scores()
        splits = plan.splits()
        for name, entries in splits.items():
            _write_split(plan, name, entries, staging, records, scores)
        header = records.header(
            list(splits),
            required_gates=config.required_gates,
            config=config.public(),
            replay_required_gates=config.replay_required_gates,
        )
        header["funnel"] = [{"stage": stage, "records": count} for stage, count in plan.funnel]
        write_manifest(staging / MANIFEST, header, records.lines(list(splits)), signing_key())
        card = render_card(
            name=target.name,
            splits=splits,
            tallies=plan.tallies,
            scores=scores,
            drops=plan.drops,
            manifest=header,
            shortfall=plan.shortfall,
        )
        atomic_write_text(staging / "README.md", card)

    inputs = [*config.inputs, *config.replay, *config.decontam.eval_prompts]
    return place_folder(target, write, marker=MANIFEST, known=dataset_files, inputs=inputs, force=force)
