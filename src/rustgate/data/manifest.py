"""``manifest.json``: what a dataset folder holds and how it was made; and ``verify`` against it.

The format (``rustgate-dataset/1``) is documented in docs/architecture.md and read by the
trainer: change both together. Per record it keeps the content hash, so a record edited, added
or moved after gating is caught by ``verify_dataset``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate.data.jsonl import LoadedRecord, read_jsonl
from rustgate.data.signing import signature_problem, signing_key
from rustgate.display import one_line
from rustgate.records import GateResult, Record

FORMAT = "rustgate-dataset/1"
MANIFEST = "manifest.json"


def gate_entry(result: GateResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"verdict": result.verdict, "version": result.version}
    if result.scores:
        entry["scores"] = dict(result.scores)
    return entry


def record_entry(record: Record, split: str, *, replay: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": record.id,
        "split": split,
        "crate": record.crate or "rust",
        "content_hash": record.content_hash(),
        "gates": {name: gate_entry(result) for name, result in sorted(record.gates.items())},
    }
    if replay:
        entry["replay"] = True  # held to replay_required_gates, not required_gates
    return entry


def required_for(manifest: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    """The gates the build required of this record (replay records have their own list)."""
    key = "replay_required_gates" if entry.get("replay") else "required_gates"
    return [str(g) for g in manifest.get(key, [])]


def _provenance(records: Iterable[Record]) -> tuple[str | None, list[str], list[str]]:
    """(toolchain, models, prompt hashes) as the gates and the generator recorded them."""
    toolchains: Counter[str] = Counter()
    models: set[str] = set()
    prompt_hashes: set[str] = set()
    for record in records:
        compile_result = record.gates.get("compile")
        if compile_result and compile_result.details.get("toolchain"):
            toolchains[str(compile_result.details["toolchain"])] += 1
        for result in record.gates.values():
            if result.details.get("model"):
                models.add(str(result.details["model"]))
            if result.gate == "judge" and ":" in result.version:
                prompt_hashes.add(result.version.split(":", 1)[1])
        provenance = record.provenance()
        if provenance is not None:
            models.add(provenance.model)
            prompt_hashes.add(provenance.prompt_hash)
    toolchain = toolchains.most_common(1)[0][0] if toolchains else None
    return toolchain, sorted(models), sorted(prompt_hashes)


def crate_pins() -> dict[str, dict[str, str]]:
    """The exact crate versions each profile's lockfile pins (empty when templates are absent)."""
    try:
        from rustgate.cargo.templates import TemplateError, load_profiles
    except ImportError:  # pragma: no cover - cargo package is part of rustgate
        return {}
    try:
        return {name: profile.pins() for name, profile in sorted(load_profiles().items())}
    except TemplateError:
        return {}


def build_manifest(
    splits: Mapping[str, Sequence[Record]],
    *,
    required_gates: Sequence[str],
    config: Mapping[str, Any],
    pins: Mapping[str, Mapping[str, str]] | None = None,
    replay_ids: frozenset[str] = frozenset(),
    replay_required_gates: Sequence[str] = (),
) -> dict[str, Any]:
    everything = [r for records in splits.values() for r in records]
    toolchain, models, prompt_hashes = _provenance(everything)
    return {
        "format": FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "required_gates": list(required_gates),
        "replay_required_gates": list(replay_required_gates),
        "toolchain": toolchain,
        "pins": {k: dict(v) for k, v in (pins if pins is not None else crate_pins()).items()},
        "models": models,
        "prompt_hashes": prompt_hashes,
        "config": dict(config),
        "splits": {name: {"file": f"{name}.jsonl", "count": len(rs)} for name, rs in splits.items()},
        "records": [record_entry(r, name, replay=r.id in replay_ids) for name, rs in splits.items() for r in rs],
    }


@dataclass(frozen=True)
class Problem:
    """One way the folder disagrees with its manifest; ``str()`` names file, line and id."""

    where: str
    record_id: str
    kind: str  # "edited", "added", "missing", "moved", "gates", "stale", "count", "input", "signature"
    message: str

    def __str__(self) -> str:
        return one_line(f"{self.where}: {self.record_id}: {self.kind}: {self.message}", 1000)


def load_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or not str(manifest.get("format", "")).startswith("rustgate-dataset/"):
        raise ValueError(f"{path}: not a rustgate dataset manifest")
    return manifest


@dataclass
class FolderCheck:
    """A dataset folder read against its manifest: the records per split and every disagreement."""

    manifest: dict[str, Any]
    splits: dict[str, list[LoadedRecord]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _listed: dict[str, dict[str, Any]] = field(init=False, repr=False)

    def entry(self, record_id: str) -> dict[str, Any] | None:
        return self._listed.get(record_id)

    def __post_init__(self) -> None:
        self._listed = {entry["id"]: entry for entry in self.manifest.get("records", [])}


def check_folder(folder: str | Path) -> FolderCheck:
    """Read every split file once and compare it with ``manifest.json`` (trainer and ``verify`` share this)."""
    root = Path(folder)
    check = FolderCheck(load_manifest(root))
    key = signing_key()
    if key is not None:
        wrong = signature_problem(check.manifest, key)
        if wrong:
            check.problems.append(Problem(str(root / MANIFEST), "-", "signature", wrong))
    seen: set[str] = set()
    problems = check.problems
    for split, info in check.manifest.get("splits", {}).items():
        path = root / str(info.get("file", f"{split}.jsonl"))
        if not path.is_file():
            problems.append(Problem(str(path), "-", "missing", f"split {split!r} file is missing"))
            continue
        read = read_jsonl(path)
        check.splits[split] = read.records
        problems += [Problem(f"{e.file}:{e.line}", e.record_id or "<no id>", "input", e.message) for e in read.errors]
        if len(read.records) + len(read.errors) != info.get("count"):
            problems.append(
                Problem(
                    str(path),
                    "-",
                    "count",
                    f"{len(read.records) + len(read.errors)} rows, manifest says {info.get('count')}",
                )
            )
        for loaded in read.records:
            record, where = loaded.record, f"{loaded.file}:{loaded.line}"
            entry = check.entry(record.id)
            seen.add(record.id)
            if entry is None:
                problems.append(Problem(where, record.id, "added", "not in the manifest (added after gating)"))
                continue
            if entry.get("split") != split:
                problems.append(Problem(where, record.id, "moved", f"manifest lists it under {entry.get('split')!r}"))
            if record.content_hash() != entry.get("content_hash"):
                problems.append(Problem(where, record.id, "edited", "content hash differs (edited after gating)"))
            actual = {name: gate_entry(result) for name, result in record.gates.items()}
            if actual != entry.get("gates", {}):
                problems.append(Problem(where, record.id, "gates", "gate verdicts differ from the manifest"))
            stale = record.stale_gates()
            if stale:
                problems.append(
                    Problem(where, record.id, "stale", f"the {', '.join(stale)} verdict(s) were given to other content")
                )
    for rid, entry in check._listed.items():
        if rid not in seen:
            problems.append(Problem(str(root), rid, "missing", f"listed under {entry.get('split')!r} but not found"))
    return check


def verify_dataset(folder: str | Path) -> list[Problem]:
    """Every disagreement between the split files and ``manifest.json`` (empty list: intact)."""
    return check_folder(folder).problems
