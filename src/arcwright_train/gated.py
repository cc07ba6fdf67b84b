"""Load training data and refuse anything the gates did not pass.

The trainer only imports ``rustgate.records`` and ``rustgate.data`` readers: the manifest is read
here, with its own small schema, so a dataset folder is checked against the verdicts and content
hashes recorded when it was built. A record edited after gating, one the manifest never listed, or
one that failed a required gate is refused unless ``allow_ungated`` says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from rustgate.data.jsonl import InputError, read_jsonl
from rustgate.records import Record, Verdict

SHOW_AT_MOST = 20


class DatasetError(ValueError):
    """The data cannot be read at all (missing file, bad manifest, malformed rows)."""


class UngatedDataError(ValueError):
    """Some records did not pass the gates; the message counts and names them."""

    def __init__(self, message: str, refusals: list[Refusal]) -> None:
        super().__init__(message)
        self.refusals = refusals


class ManifestGate(BaseModel):
    model_config = ConfigDict(extra="allow")

    verdict: Verdict
    version: str | None = None


class ManifestRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    split: str
    crate: str | None = None
    content_hash: str
    gates: dict[str, ManifestGate] = {}


class Manifest(BaseModel):
    """The part of ``manifest.json`` (format ``rustgate-dataset/1``) the trainer relies on."""

    model_config = ConfigDict(extra="allow")

    format: str
    required_gates: list[str] = []
    splits: dict[str, dict[str, Any]] = {}
    records: list[ManifestRecord]


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


def _gate_problems(record: Record, required: Iterable[str], verdicts: dict[str, ManifestGate] | None) -> list[str]:
    """Why ``record`` fails its gates: the manifest's verdict when there is one, and the row's own."""
    problems = []
    for gate in required:
        if verdicts is not None:
            listed = verdicts.get(gate)
            if listed is None:
                problems.append(f"{gate}: no verdict in manifest")
                continue
            if listed.verdict != "pass":
                problems.append(f"{gate}: {listed.verdict}")
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


def _raise_read_errors(errors: list[InputError]) -> None:
    if errors:
        shown = "\n".join(f"  {e}" for e in errors[:SHOW_AT_MOST])
        more = f"\n  ... and {len(errors) - SHOW_AT_MOST} more" if len(errors) > SHOW_AT_MOST else ""
        raise DatasetError(f"{len(errors)} unreadable records:\n{shown}{more}")


def _load_manifest(folder: Path) -> Manifest:
    path = folder / "manifest.json"
    if not path.is_file():
        raise DatasetError(f"{folder}: no manifest.json (is this a rustgate dataset folder?)")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise DatasetError(f"{path}: not a valid manifest: {exc}") from exc
    if not manifest.format.startswith("rustgate-dataset/"):
        raise DatasetError(f"{path}: unknown format {manifest.format!r}")
    return manifest


def _load_folder(folder: Path, required: list[str]) -> tuple[GatedData, int]:
    manifest = _load_manifest(folder)
    gates = list(dict.fromkeys([*required, *manifest.required_gates]))
    listed = {r.id: r for r in manifest.records}
    files = {name: str(info.get("file", f"{name}.jsonl")) for name, info in manifest.splits.items()}
    if not files:
        files = {name: f"{name}.jsonl" for name in ("train", "test") if (folder / f"{name}.jsonl").is_file()}
    data = GatedData(source=str(folder), kind="folder", required_gates=gates)
    seen: set[str] = set()
    total = 0
    for split, name in files.items():
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{path}: split {split!r} is in the manifest but its file is missing")
        result = read_jsonl(path)
        _raise_read_errors(result.errors)
        kept: list[Record] = []
        for loaded in result.records:
            record, total = loaded.record, total + 1
            entry = listed.get(record.id)
            seen.add(record.id)
            problems: list[str] = []
            kinds: set[str] = set()
            if entry is None:
                problems, kinds = ["not in manifest"], {"unlisted"}
            else:
                if entry.split != split:
                    problems.append(f"manifest lists it under split {entry.split!r}")
                    kinds.add("split")
                if entry.content_hash != record.content_hash():
                    problems.append("content changed since gating (content hash differs from the manifest)")
                    kinds.add("hash")
                gate_problems = _gate_problems(record, gates, entry.gates)
                if gate_problems:
                    problems += gate_problems
                    kinds.add("gate")
            if problems:
                data.refused.append(Refusal(record.id, split, tuple(problems), frozenset(kinds)))
            kept.append(record)
        data.splits[split] = kept
    data.missing_from_files = len(set(listed) - seen)
    return data, total


def _parquet_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq  # lazy: only Parquet inputs need it

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    rows = []
    for row in pq.read_table(path).to_pylist():
        if isinstance(row.get("gates"), str):
            row["gates"] = json.loads(row["gates"])
        if isinstance(row.get("gates"), dict):  # struct columns give every gate a GateResult's name
            row["gates"] = {k: {"gate": k, **v} if isinstance(v, dict) else v for k, v in row["gates"].items()}
        rows.append(clean(row))
    return rows


def _load_file(path: Path, required: list[str]) -> tuple[GatedData, int]:
    data = GatedData(source=str(path), kind=path.suffix.lstrip(".") or "jsonl", required_gates=list(required))
    records: list[Record] = []
    if path.suffix == ".parquet":
        errors = []
        for number, row in enumerate(_parquet_rows(path), start=1):
            try:
                records.append(Record.model_validate(row))
            except ValidationError as exc:
                errors.append(InputError(str(path), number, row.get("id"), str(exc.errors()[0]["msg"])))
        _raise_read_errors(errors)
    else:
        result = read_jsonl(path)
        _raise_read_errors(result.errors)
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
