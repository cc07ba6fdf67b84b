"""Load training data and refuse anything the gates did not pass.

The trainer only imports ``rustgate.records`` and ``rustgate.data`` readers: a dataset folder is
checked by ``rustgate.data.manifest.check_folder`` (the same check as ``rustgate verify``) against
the verdicts and content hashes recorded when it was built. A record edited after gating, one
the manifest never listed, or one that failed a required gate is refused unless ``allow_ungated``
says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate.data.formats import read_records
from rustgate.data.manifest import MANIFEST, check_folder
from rustgate.records import Record

SHOW_AT_MOST = 20


class DatasetError(ValueError):
    """The data cannot be read at all (missing file, bad manifest, malformed rows)."""


class UngatedDataError(ValueError):
    """Some records did not pass the gates; the message counts and names them."""

    def __init__(self, message: str, refusals: list[Refusal]) -> None:
        super().__init__(message)
        self.refusals = refusals


@dataclass(frozen=True)
class Refusal:
    record_id: str
    split: str
    problems: tuple[str, ...]
    kinds: frozenset[str]  # "gate", "hash", "unlisted", "split": what the summary counts

    def __str__(self) -> str:
        return f"{self.record_id} ({self.split}): {'; '.join(self.problems)}"


@dataclass
class GatedData:
    """Records per split, plus what was checked and what was let through."""

    source: str
    kind: str
    required_gates: list[str]
    splits: dict[str, list[Record]] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    allow_ungated: bool = False
    missing_from_files: int = 0

    def split(self, name: str) -> list[Record]:
        return self.splits.get(name, [])


def _gate_problems(record: Record, required: Iterable[str], verdicts: dict[str, Any] | None) -> list[str]:
    """Why ``record`` fails its gates: the manifest's verdict when there is one, and the row's own."""
    problems = []
    for gate in required:
        if verdicts is not None:
            listed = verdicts.get(gate)
            if listed is None:
                problems.append(f"{gate}: no verdict in manifest")
                continue
            if listed.get("verdict") != "pass":
                problems.append(f"{gate}: {listed.get('verdict')}")
                continue
        own = record.gates.get(gate)
        if own is None:
            if verdicts is None:
                problems.append(f"{gate}: no verdict")
        elif not own.passed:
            problems.append(f"{gate}: {own.verdict} (on the row)")
    return problems


def refusal_message(refusals: list[Refusal], total: int, required: list[str]) -> str:
    labels = {
        "gate": "did not pass the required gates",
        "hash": "changed since gating",
        "unlisted": "not in the manifest",
        "split": "in another split than the manifest says",
    }
    counts = {label: sum(kind in r.kinds for r in refusals) for kind, label in labels.items()}
    summary = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    lines = [
        f"refused {len(refusals)} of {total} records ({summary}); required gates: {', '.join(required) or '-'}.",
        "Train only on gated data, or pass --allow-ungated for an experiment (it is stamped into metrics.json).",
    ]
    lines += [f"  {r}" for r in refusals[:SHOW_AT_MOST]]
    if len(refusals) > SHOW_AT_MOST:
        lines.append(f"  ... and {len(refusals) - SHOW_AT_MOST} more")
    return "\n".join(lines)


def _unreadable_message(lines: list[str]) -> str:
    shown = "\n".join(f"  {line}" for line in lines[:SHOW_AT_MOST])
    more = f"\n  ... and {len(lines) - SHOW_AT_MOST} more" if len(lines) > SHOW_AT_MOST else ""
    return f"{len(lines)} unreadable records:\n{shown}{more}"


# What the trainer calls each disagreement ``check_folder`` finds (gate verdicts are judged here).
_REFUSAL_KINDS = {
    "added": ("unlisted", "not in manifest"),
    "moved": ("split", None),
    "edited": ("hash", "content changed since gating (content hash differs from the manifest)"),
}


def _load_folder(folder: Path, required: list[str]) -> tuple[GatedData, int]:
    if not (folder / MANIFEST).is_file():
        raise DatasetError(f"{folder}: no manifest.json (is this a rustgate dataset folder?)")
    try:
        check = check_folder(folder)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{folder / MANIFEST}: not a valid manifest: {exc}") from exc
    unreadable = [p for p in check.problems if p.kind == "input"]
    if unreadable:
        raise DatasetError(_unreadable_message([str(p) for p in unreadable]))
    missing_files = [p for p in check.problems if p.kind == "missing" and p.record_id == "-"]
    if missing_files:
        raise DatasetError(f"{missing_files[0].where}: {missing_files[0].message}")
    gates = list(dict.fromkeys([*required, *check.manifest.get("required_gates", [])]))
    by_record: dict[str, list[tuple[str, str]]] = {}
    for problem in check.problems:
        if problem.kind in _REFUSAL_KINDS:
            kind, message = _REFUSAL_KINDS[problem.kind]
            by_record.setdefault(problem.record_id, []).append((kind, message or problem.message))
    data = GatedData(source=str(folder), kind="folder", required_gates=gates)
    total = 0
    for split, loaded_records in check.splits.items():
        for loaded in loaded_records:
            record, total = loaded.record, total + 1
            found = by_record.get(record.id, [])
            problems = [message for _, message in found]
            kinds = {kind for kind, _ in found}
            entry = check.entry(record.id)
            if entry is not None:
                gate_problems = _gate_problems(record, gates, entry.get("gates", {}))
                if gate_problems:
                    problems += gate_problems
                    kinds.add("gate")
            if problems:
                data.refused.append(Refusal(record.id, split, tuple(problems), frozenset(kinds)))
        data.splits[split] = [loaded.record for loaded in loaded_records]
    data.missing_from_files = sum(1 for p in check.problems if p.kind == "missing" and p.record_id != "-")
    return data, total


def _load_file(path: Path, required: list[str]) -> tuple[GatedData, int]:
    data = GatedData(source=str(path), kind=path.suffix.lstrip(".") or "jsonl", required_gates=list(required))
    try:
        result = read_records(path)
    except ValueError as exc:
        raise DatasetError(f"{path}: {exc}") from exc
    if result.errors:
        raise DatasetError(_unreadable_message([str(e) for e in result.errors]))
    records = [loaded.record for loaded in result.records]
    for record in records:
        problems = _gate_problems(record, required, None)
        if problems:
            data.refused.append(Refusal(record.id, "train", tuple(problems), frozenset({"gate"})))
    data.splits["train"] = records
    return data, len(records)


def load_gated(path: str | Path, required_gates: list[str], *, allow_ungated: bool = False) -> GatedData:
    """Read a dataset folder or a JSONL/Parquet file; refuse ungated records unless allowed."""
    source = Path(path)
    if source.is_dir():
        data, total = _load_folder(source, required_gates)
    elif source.is_file():
        data, total = _load_file(source, required_gates)
    else:
        raise DatasetError(f"dataset not found: {source}")
    data.allow_ungated = allow_ungated
    if data.refused and not allow_ungated:
        raise UngatedDataError(refusal_message(data.refused, total, data.required_gates), data.refused)
    return data
