"""``manifest.json``: what a dataset folder holds and how it was made; and ``verify`` against it.

The format (``rustgate-dataset/1``) is documented in docs/architecture.md and read by the
trainer: change both together. Per record it keeps the content hash, so a record edited, added
or moved after gating is caught by ``verify_dataset``.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate import safejson
from rustgate.atomic import atomic_open, dumps_pretty
from rustgate.data.jsonl import LoadedRecord, read_jsonl
from rustgate.data.signing import canonical_json, signature_for, signature_problem, signing_key
from rustgate.display import one_line
from rustgate.records import GateResult, Record

FORMAT = "rustgate-dataset/1"
MANIFEST = "manifest.json"


def gate_entry(result: GateResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"verdict": result.verdict, "version": result.version}
    if result.scores:
        entry["scores"] = dict(result.scores)
    return entry


def record_entry(
    record: Record, split: str, *, replay: bool = False, content_hash: str | None = None
) -> dict[str, Any]:
    """``content_hash``: the record's, when the caller has just computed it."""
    entry: dict[str, Any] = {
        "id": record.id,
        "split": split,
        "crate": record.crate or "rust",
        "content_hash": content_hash or record.content_hash(),
        "gates": {name: gate_entry(result) for name, result in sorted(record.gates.items())},
    }
    if replay:
        entry["replay"] = True  # held to replay_required_gates, not required_gates
    return entry


def required_for(manifest: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    """The gates the build required of this record (replay records have their own list)."""
    key = "replay_required_gates" if entry.get("replay") else "required_gates"
    return [str(g) for g in manifest.get(key, [])]


class ManifestRecords:
    """The per-record part of a manifest and the provenance it states, fed one written record at a
    time (``rustgate build`` streams its splits through this). Each record entry is kept as its
    canonical JSON text: a few hundred bytes, written and signed without being decoded again."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []  # (split, id, canonical JSON of the entry)
        self.counts: Counter[str] = Counter()
        self.toolchains: Counter[str] = Counter()
        self.models: set[str] = set()
        self.prompt_hashes: set[str] = set()

    def add(self, record: Record, split: str, *, replay: bool = False, content_hash: str | None = None) -> None:
        entry = record_entry(record, split, replay=replay, content_hash=content_hash)
        self.entries.append((split, record.id, canonical_json(entry)))
        self.counts[split] += 1
        compile_result = record.gates.get("compile")
        if compile_result and compile_result.details.get("toolchain"):
            self.toolchains[str(compile_result.details["toolchain"])] += 1
        for result in record.gates.values():
            if result.details.get("model"):
                self.models.add(str(result.details["model"]))
            if result.gate == "judge" and ":" in result.version:
                self.prompt_hashes.add(result.version.split(":", 1)[1])
        provenance = record.provenance()
        if provenance is not None:
            self.models.add(provenance.model)
            self.prompt_hashes.add(provenance.prompt_hash)

    def lines(self, splits: Sequence[str]) -> list[str]:
        """The record entries, split by split, by id within a split."""
        rank = {name: i for i, name in enumerate(splits)}
        self.entries.sort(key=lambda e: (rank.get(e[0], len(rank)), e[1]))
        return [text for _, _, text in self.entries]

    def header(
        self,
        splits: Sequence[str],
        *,
        required_gates: Sequence[str],
        config: Mapping[str, Any],
        pins: Mapping[str, Mapping[str, str]] | None = None,
        replay_required_gates: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Everything in the manifest but its ``records``."""
        return {
            "format": FORMAT,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "required_gates": list(required_gates),
            "replay_required_gates": list(replay_required_gates),
            "toolchain": self.toolchains.most_common(1)[0][0] if self.toolchains else None,
            "pins": {k: dict(v) for k, v in (pins if pins is not None else crate_pins()).items()},
            "models": sorted(self.models),
            "prompt_hashes": sorted(self.prompt_hashes),
            "config": dict(config),
            "splits": {name: {"file": f"{name}.jsonl", "count": self.counts[name]} for name in splits},
        }


def write_manifest(path: Path, header: Mapping[str, Any], records: Sequence[str], key: bytes | None) -> None:
    """``manifest.json``: ``header`` as ``dumps_pretty`` writes it, then ``records`` one per line
    (each entry's canonical JSON, streamed), then the signature when there is a ``key``."""
    signature = signature_for(header, key, records) if key is not None else None
    with atomic_open(path) as handle:
        handle.write("{\n")
        for name, value in header.items():
            handle.write(f"  {json.dumps(name)}: {_indented(value)},\n")
        handle.write('  "records": [')
        for number, text in enumerate(records):
            handle.write(("," if number else "") + "\n    " + text)
        handle.write("\n  ]" if records else "]")
        if signature is not None:
            handle.write(f',\n  "signature": {_indented(signature)}')
        handle.write("\n}\n")


def _indented(value: Any) -> str:
    return dumps_pretty(value).rstrip("\n").replace("\n", "\n  ")


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
    """The manifest of splits held in memory (``ManifestRecords`` and ``write_manifest`` for a stream)."""
    records = ManifestRecords()
    for name, split_records in splits.items():
        for record in split_records:
            records.add(record, name, replay=record.id in replay_ids)
    header = records.header(
        list(splits),
        required_gates=required_gates,
        config=config,
        pins=pins,
        replay_required_gates=replay_required_gates,
    )
    return {**header, "records": [json.loads(text) for text in records.lines(list(splits))]}


@dataclass(frozen=True)
class Problem:
    """One way the folder disagrees with its manifest; ``str()`` names file, line and id."""

    where: str
    record_id: str
    kind: str  # "edited", "added", "missing", "moved", "gates", "stale", "count", "input", "signature"
    message: str

    def __str__(self) -> str:
        return one_line(f"{self.where}: {self.record_id}: {self.kind}: {self.message}", 1000)


HEAD_BYTES = 1 << 20  # the part of a manifest before its records: format, config, splits, ...
_SPACE = re.compile(r"\s*")


def _past_space(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # \s* always matches


def _expect(text: str, at: int, char: str) -> int:
    at = _past_space(text, at)
    if text[at : at + 1] != char:
        raise ValueError(f"expected {char!r} at character {at}")
    return _past_space(text, at + 1)


def manifest_header(path: Path) -> dict[str, Any]:
    """The top-level members of a manifest that come before ``records`` (all of them when there are
    none), decoded from the file's head: a 100,000-record manifest is not read whole for its name."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    text = head.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    members: dict[str, Any] = {}
    try:
        at = _expect(text, 0, "{")
        while text[at : at + 1] != "}":
            name, at = decoder.raw_decode(text, at)
            at = _expect(text, at, ":")
            if name == "records":
                break
            members[name], at = decoder.raw_decode(text, at)
            at = _past_space(text, at)
            if text[at : at + 1] == ",":
                at = _past_space(text, at + 1)
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError included
        if len(head) < HEAD_BYTES:
            raise ValueError(f"{path}: not a JSON object ({exc})") from None
        try:  # a header longer than the head: rare
            whole = safejson.loads(path.read_bytes())
        except safejson.UnsafeJSON as unsafe:
            raise ValueError(f"{path}: {unsafe}") from None
        if not isinstance(whole, dict):
            raise ValueError(f"{path}: not a JSON object") from None
        return whole
    return members


def dataset_files(folder: Path) -> set[str]:
    """What ``rustgate build`` writes into a dataset folder (its manifest names the splits).

    Empty when ``manifest.json`` is not a rustgate dataset manifest: then nothing there is ours.
    """
    try:
        manifest = manifest_header(folder / MANIFEST)
        if not str(manifest.get("format", "")).startswith("rustgate-dataset/"):
            return set()
        splits = {str(info.get("file")) for info in manifest.get("splits", {}).values() if isinstance(info, dict)}
    except (OSError, ValueError, AttributeError):
        return set()
    return {MANIFEST, "README.md", "train.jsonl", "test.jsonl", *splits}


def load_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        manifest = safejson.loads(path.read_bytes())
    except safejson.UnsafeJSON as exc:
        raise ValueError(f"{path}: {exc}") from None
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
