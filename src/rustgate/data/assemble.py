"""``rustgate build``: gated records -> a deduped, decontaminated, sized, split dataset folder.

Stages run in a fixed order (gates, exact dedupe, near dedupe, decontamination, sizing, split),
and each drop is recorded with its stage and reason for the card. The folder is written to a
staging directory and renamed into place, so a reader never sees half a dataset.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rustgate.atomic import atomic_write_json, atomic_write_jsonl, atomic_write_text
from rustgate.data.card import render_card
from rustgate.data.config import BuildConfig
from rustgate.data.decontam import decontaminate, load_eval_prompts
from rustgate.data.dedupe import Drop, exact_dedupe, near_dedupe
from rustgate.data.formats import read_all
from rustgate.data.jsonl import InputError
from rustgate.data.manifest import MANIFEST, build_manifest
from rustgate.data.output_dir import dataset_files, place_folder
from rustgate.data.sampling import draw_replay, replay_count, size_per_crate, split
from rustgate.data.signing import sign, signing_key
from rustgate.records import Record


@dataclass
class BuildResult:
    train: list[Record]
    test: list[Record]
    pool: list[Record]
    drops: list[Drop] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    shortfall: dict[str, tuple[int, int]] = field(default_factory=dict)
    funnel: list[tuple[str, int]] = field(default_factory=list)  # framework records left after each stage
    replay_ids: frozenset[str] = frozenset()  # the kept records that came from the replay inputs


def _gate_filter(records: list[Record], gates: list[str], label: str) -> tuple[list[Record], list[Drop]]:
    """Keep records every gate passed, for exactly the content they hold now."""
    kept, drops = [], []
    for record in records:
        if record.passed(gates):
            kept.append(record)
            continue
        stale = set(record.stale_gates())
        why = []
        for gate in gates:
            result = record.gates.get(gate)
            if result is None:
                why.append(f"{gate} not run")
            elif not result.passed:
                why.append(f"{gate}={result.verdict}")
            elif gate in stale:
                why.append(f"{gate} verdict is for other content (edited after gating, or gated by an older rustgate)")
        drops.append(Drop(record.id, "gates", f"{label}: {', '.join(why)}"))
    return kept, drops


def _presample_replay(replay: list[Record], main: list[Record], config: BuildConfig) -> tuple[list[Record], list[Drop]]:
    """Cut a large replay pool (Strandset has 191k rows) to a few times what can be drawn.

    Dedupe is the costly stage; a seeded sample of ``3 * needed + 100`` leaves ample room for
    records lost to dedupe and decontamination without hashing the whole pool.
    """
    targets = config.sizing.targets()
    framework = min(len(main), sum(targets.values())) if targets is not None else len(main)
    cap = 3 * replay_count(framework, config.sizing.replay_share) + 100
    if len(replay) <= cap:
        return replay, []
    pool = sorted(replay, key=lambda r: r.id)
    random.Random(f"{config.seed}:replay-pool").shuffle(pool)
    reason = f"replay pool pre-sampled to {cap} before dedupe"
    return pool[:cap], [Drop(r.id, "sizing", reason) for r in pool[cap:]]


Regate = Callable[[list[Record], list[str]], list[Record]]


def assemble(config: BuildConfig, regate: Regate | None = None) -> BuildResult:
    """Read, gate-filter, dedupe, decontaminate, size and split; ``regate(records, gates)`` first
    gives records whose verdicts are missing or stale a fresh one (the caller owns the gates)."""
    main_read = read_all(config.inputs)
    replay_read = read_all(config.replay)
    errors = [*main_read.errors, *replay_read.errors]
    main = [r.record for r in main_read.records]
    replay_ids = {r.record.id for r in replay_read.records}
    collisions = {r.id for r in main} & replay_ids
    replay = [r.record for r in replay_read.records if r.record.id not in collisions]
    drops = [Drop(rid, "input", "id also used by a main input record") for rid in sorted(collisions)]

    if regate is not None:
        main = regate(main, list(config.gate_missing))
        replay = regate(replay, [g for g in config.gate_missing if g in config.replay_required_gates])
    pool = [*main, *replay]
    funnel = [("inputs", len(main))]
    passing = main
    for gate in config.required_gates:
        passing = [r for r in passing if r.gate_passed(gate)]
        funnel.append((f"{gate} pass", len(passing)))
    main, dropped = _gate_filter(main, config.required_gates, "required gates")
    drops += dropped
    replay, dropped = _gate_filter(replay, config.replay_required_gates, "replay gates")
    drops += dropped
    replay, dropped = _presample_replay(replay, main, config)
    drops += dropped

    # Main records come first, so a replay record never displaces a framework record.
    candidates = [*main, *replay]
    if config.dedupe.exact:
        candidates, dropped = exact_dedupe(candidates)
        drops += dropped
    if config.dedupe.near:
        candidates, dropped = near_dedupe(
            candidates,
            threshold=config.dedupe.threshold,
            num_perm=config.dedupe.num_perm,
            shingle=config.dedupe.shingle,
        )
        drops += dropped
    prompts = load_eval_prompts(config.decontam.eval_prompts, shipped=config.decontam.shipped_suites)
    candidates, dropped = decontaminate(
        candidates, prompts, n=config.decontam.ngram, min_shared=config.decontam.min_shared
    )
    drops += dropped

    main_left = [r for r in candidates if r.id not in replay_ids or r.id in collisions]
    replay_left = [r for r in candidates if r.id in replay_ids and r.id not in collisions]
    funnel.append(("deduped and decontaminated", len(main_left)))
    sized = size_per_crate(main_left, config.sizing.targets(), config.seed)
    drops += sized.drops
    funnel.append(("kept", len(sized.records)))
    chosen = list(sized.records)
    shortfall = dict(sized.shortfall)
    if config.replay:
        drawn = draw_replay(replay_left, replay_count(len(chosen), config.sizing.replay_share), config.seed)
        chosen += drawn.records
        drops += drawn.drops
        shortfall.update(drawn.shortfall)
    train, test = split(chosen, config.split.test, config.seed)
    kept_replay = frozenset(r.id for r in chosen if r.id in replay_ids and r.id not in collisions)
    return BuildResult(train, test, pool, drops, errors, shortfall, funnel, kept_replay)


def write_dataset(result: BuildResult, config: BuildConfig, out: Path | None = None, *, force: bool = False) -> Path:
    """The dataset folder: train.jsonl, test.jsonl, manifest.json, README.md (all or nothing).

    Refuses (``OutputRefused``) to replace a folder that is not an earlier rustgate dataset, or
    one that holds an input, before writing anything.
    """
    target = (out or config.output).absolute()
    splits = {"train": result.train, "test": result.test}

    def write(staging: Path) -> None:
        for name, records in splits.items():
            atomic_write_jsonl(staging / f"{name}.jsonl", (r.to_row(with_gates=True) for r in records))
        manifest = build_manifest(
            splits,
            required_gates=config.required_gates,
            config=config.public(),
            replay_ids=result.replay_ids,
            replay_required_gates=config.replay_required_gates,
        )
        manifest["funnel"] = [{"stage": stage, "records": count} for stage, count in result.funnel]
        key = signing_key()
        if key is not None:
            manifest = sign(manifest, key)
        atomic_write_json(staging / "manifest.json", manifest)
        card = render_card(
            name=target.name,
            splits=splits,
            pool=result.pool,
            drops=result.drops,
            manifest=manifest,
            shortfall=result.shortfall,
        )
        atomic_write_text(staging / "README.md", card)

    inputs = [*config.inputs, *config.replay, *config.decontam.eval_prompts]
    return place_folder(target, write, marker=MANIFEST, known=dataset_files, inputs=inputs, force=force)
