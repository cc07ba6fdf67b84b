"""Load training data and refuse anything the gates did not pass, for exactly this content.

A verdict belongs to the content it judged: every row's own ``GateResult.content_hash`` must be
``Record.content_hash()`` (``Record.gate_passed`` / ``Record.stale_gates``). A dataset folder is
also checked by ``rustgate.data.manifest.check_folder`` (the same check as ``rustgate verify``):
a record the manifest does not list, lists elsewhere, or lists with other content or verdicts is
refused; any problem kind this module does not know (a manifest signature, say) is refused too.
A bare JSONL/Parquet file has only its rows' own verdicts. ``allow_ungated`` lets refused records
through, and the run stamps them into metrics.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rustgate.data.formats import read_records
from rustgate.data.manifest import MANIFEST, Problem, check_folder, required_for
from rustgate.records import Record

SHOW_AT_MOST = 20
FOLDER = "-"  # record id of a refusal about the folder as a whole (a bad manifest signature, say)


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
    kinds: frozenset[str]  # what the summary counts: see LABELS

    def __str__(self) -> str:
        if self.record_id == FOLDER:
            return f"dataset: {'; '.join(self.problems)}"
        return f"{self.record_id} ({self.split}): {'; '.join(self.problems)}"


LABELS = {
    "gate": "did not pass the required gates",
    "stale": "carry verdicts given to other content",
    "hash": "changed since gating",
    "unlisted": "not in the manifest",
    "split": "in another split than the manifest says",
    "verdicts": "with verdicts that differ from the manifest",
    "ungated": "checked by no gate (empty gate list)",
    "other": "failed another dataset check",
}


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
    gates_seen: list[str] = field(default_factory=list)  # gates any record carries a verdict of

    def split(self, name: str) -> list[Record]:
        return self.splits.get(name, [])


def _row_gate_problems(record: Record, required: Iterable[str], suffix: str = "") -> list[str]:
    """Required gates the row's own verdicts do not pass."""
    problems = []
    for gate in required:
        own = record.gates.get(gate)
        if own is None:
            if not suffix:
                problems.append(f"{gate}: no verdict")
        elif not own.passed:
            problems.append(f"{gate}: {own.verdict}{suffix}")
    return problems


def _stale_problems(record: Record) -> list[str]:
    """Verdicts on the row that were not given to exactly this content (``Record.stale_gates``)."""
    stale = sorted(record.stale_gates())
    unbound = [g for g in stale if record.gates[g].content_hash is None]
    other = [g for g in stale if g not in unbound]
    problems = []
    if other:
        problems.append(
            f"{', '.join(other)}: verdict given to other content (edited after gating, or copied from another "
            f"record; judged {record.gates[other[0]].content_hash or '':.12}, content is {record.content_hash():.12})"
        )
    if unbound:
        problems.append(f"{', '.join(unbound)}: verdict not bound to any content (no content_hash): re-gate it")
    return problems


def _manifest_problems(required: Iterable[str], verdicts: dict[str, dict[str, object]]) -> list[str]:
    problems = []
    for gate in required:
        listed = verdicts.get(gate)
        if listed is None:
            problems.append(f"{gate}: no verdict in manifest")
        elif listed.get("verdict") != "pass":
            problems.append(f"{gate}: {listed.get('verdict')}")
    return problems


def refusal_message(data: GatedData, total: int) -> str:
    refusals, required = data.refused, data.required_gates
    counts = {label: sum(kind in r.kinds for r in refusals) for kind, label in LABELS.items()}
    summary = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    records = sum(r.record_id != FOLDER for r in refusals)
    lines = [
        f"refused {records} of {total} records ({summary}); required gates: {', '.join(required) or 'none'}.",
        *_gate_hint(data),
        "Train only on gated data, or pass --allow-ungated for an experiment (it is stamped into metrics.json).",
    ]
    lines += [f"  {r}" for r in refusals[:SHOW_AT_MOST]]
    if len(refusals) > SHOW_AT_MOST:
        lines.append(f"  ... and {len(refusals) - SHOW_AT_MOST} more")
    return "\n".join(lines)


def _gate_hint(data: GatedData) -> list[str]:
    """When a required gate never ran on this dataset, say which gates it has and how to ask for those."""
    absent = [g for g in data.required_gates if g not in data.gates_seen]
    if not absent:
        return []
    has = ", ".join(data.gates_seen) or "none"
    fit = [g for g in data.required_gates if g in data.gates_seen]
    how = (
        f"set dataset.required_gates = {json.dumps(fit)} in the config (or --dataset-required-gates {','.join(fit)})"
        if fit
        else "gate the records with rustgate first"
    )
    missing = ", ".join(absent)
    return [f"No record has a verdict for {missing}; this dataset's records carry: {has}. To train on it, {how}."]


def _unreadable_message(lines: list[str]) -> str:
    shown = "\n".join(f"  {line}" for line in lines[:SHOW_AT_MOST])
    more = f"\n  ... and {len(lines) - SHOW_AT_MOST} more" if len(lines) > SHOW_AT_MOST else ""
    return f"{len(lines)} unreadable records:\n{shown}{more}"


# check_folder's problem kinds -> (our kind, message; None keeps check_folder's). Kinds handled
# elsewhere ("input", "missing", "count") are not refusals of a record; any other kind is.
_FOLDER_KINDS = {
    "added": ("unlisted", "not in manifest"),
    "moved": ("split", None),
    "edited": ("hash", "content changed since gating (content hash differs from the manifest)"),
    "gates": ("verdicts", "the row's verdicts differ from the manifest's"),
}
_NOT_REFUSALS = {"input", "missing", "count"}


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
    data = GatedData(source=str(folder), kind="folder", required_gates=gates)
    for problem in check.problems:
        if problem.kind in _NOT_REFUSALS:
            continue
        kind, message = _FOLDER_KINDS.get(problem.kind, ("other", None))
        text = message or (problem.message if problem.kind in _FOLDER_KINDS else _other(problem))
        if problem.record_id in ("-", ""):
            data.refused.append(Refusal(FOLDER, "-", (text,), frozenset({kind})))
        else:
            by_record.setdefault(problem.record_id, []).append((kind, text))
    total, seen = 0, set[str]()
    for split, loaded_records in check.splits.items():
        for loaded in loaded_records:
            record, total = loaded.record, total + 1
            seen.update(record.gates)
            found = by_record.get(record.id, [])
            problems = [message for _, message in found]
            kinds = {kind for kind, _ in found}
            entry = check.entry(record.id)
            if entry is not None:
                # A replay record is held to the build's replay gates (and what the user asked for).
                own = list(dict.fromkeys([*required, *required_for(check.manifest, entry)]))
                listed = _manifest_problems(own, entry.get("gates", {}))
                passed_in_manifest = [g for g in own if not any(p.startswith(f"{g}:") for p in listed)]
                listed += _row_gate_problems(record, passed_in_manifest, " (on the row)")
                if listed:
                    problems += listed
                    kinds.add("gate")
            stale = _stale_problems(record)
            if stale:
                problems += stale
                kinds.add("stale")
            if problems:
                data.refused.append(Refusal(record.id, split, tuple(problems), frozenset(kinds)))
        data.splits[split] = [loaded.record for loaded in loaded_records]
    data.missing_from_files = sum(1 for p in check.problems if p.kind == "missing" and p.record_id != "-")
    data.gates_seen = sorted(seen)
    return data, total


def _other(problem: Problem) -> str:
    return f"{problem.kind}: {problem.message} ({problem.where})"


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
        gate_problems, stale = _row_gate_problems(record, required), _stale_problems(record)
        if gate_problems or stale:
            kinds = {kind for kind, found in (("gate", gate_problems), ("stale", stale)) if found}
            data.refused.append(Refusal(record.id, "train", (*gate_problems, *stale), frozenset(kinds)))
    data.splits["train"] = records
    data.gates_seen = sorted({g for r in records for g in r.gates})
    return data, len(records)


def load_gated(path: str | Path, required_gates: list[str], *, allow_ungated: bool = False) -> GatedData:
    """Read a dataset folder or a JSONL/Parquet file; refuse ungated records unless allowed.

    With no gate required at all (an empty list and a manifest that requires none), every record
    is ungated: the run is refused unless ``allow_ungated``, and then every record is listed.
    """
    source = Path(path)
    if source.is_dir():
        data, total = _load_folder(source, required_gates)
    elif source.is_file():
        data, total = _load_file(source, required_gates)
    else:
        raise DatasetError(f"dataset not found: {source}")
    if not data.required_gates:
        flagged = {r.record_id for r in data.refused}
        data.refused += [
            Refusal(r.id, split, ("no gate required: dataset.required_gates is empty",), frozenset({"ungated"}))
            for split, records in data.splits.items()
            for r in records
            if r.id not in flagged
        ]
    data.allow_ungated = allow_ungated
    if data.refused and not allow_ungated:
        raise UngatedDataError(refusal_message(data, total), data.refused)
    return data
