"""A build's input files, read once to plan and again for only the records a stage needs.

The plan holds an ``Entry`` per record (an id, where it lives, its content hash and what its gates
said: a few hundred bytes), never the records, so ``rustgate build`` runs in memory that does not
grow with the answers' size. ``fetch`` reads records back (seeking straight to a JSONL line) and
refuses one whose row changed in any way since it was planned (its content, or the verdicts the
plan kept or dropped it by): the plan and what is written must be about the same row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from rustgate.data.formats import detect_format, iter_records
from rustgate.data.jsonl import InputError, LoadedRecord, iter_raw_lines, parse_line, read_line_at
from rustgate.records import Record


@dataclass(slots=True)
class Entry:
    """One input record as the plan sees it."""

    id: str
    crate: str | None
    source: int  # index into ``Inputs.paths``
    line: int  # 1-based line (or table row)
    offset: int  # byte offset of the JSONL line; -1 in a table
    digest: bytes  # ``Record.content_hash()``, as bytes
    row: bytes  # a digest of the whole row as read (verdicts and meta too): a re-read must match it
    replay: bool
    lead: int = 0  # how many of the required gates, in their order, it passes (the funnel)
    why: str | None = None  # why its gates refuse it; None when they pass it
    regate: bool = False  # a gate it needs is missing or stale, and the build gives it one


class InputChanged(ValueError):
    """An input record changed between the build's reads of it; nothing is written."""


def gate_state(record: Record, current: str, gates: Sequence[str]) -> tuple[int, str | None]:
    """(leading gates passed, why the gates refuse it or None): passed means a pass for exactly ``current``."""
    lead, why = 0, []
    for gate in gates:
        result = record.gates.get(gate)
        if result is None:
            why.append(f"{gate} not run")
        elif not result.passed:
            why.append(f"{gate}={result.verdict}")
        elif result.content_hash != current:
            why.append(f"{gate} verdict is for other content (edited after gating, or gated by an older rustgate)")
        elif not why:
            lead += 1
    return lead, ", ".join(why) or None


class Inputs:
    """The main inputs, then the replay inputs, each a JSONL file, Parquet file or datasets folder."""

    def __init__(self, main: Sequence[str | Path], replay: Sequence[str | Path] = ()) -> None:
        self.paths = [Path(p) for p in (*main, *replay)]
        self.replay_from = len(main)

    def is_replay(self, source: int) -> bool:
        return source >= self.replay_from

    def scan(self) -> Iterator[tuple[int, int, LoadedRecord | InputError, bytes]]:
        """``(source, byte offset or -1, parsed row, row digest)`` of every row of every input, in order."""
        for source, path in enumerate(self.paths):
            if detect_format(path) != "jsonl":
                for parsed in iter_records(path):
                    yield source, -1, parsed, _table_digest(parsed)
                continue
            name = str(path)
            for number, offset, raw in iter_raw_lines(path):
                if isinstance(raw, InputError):
                    yield source, offset, raw, b""
                else:
                    yield source, offset, parse_line(raw, name, number), _digest(raw)

    def fetch(self, entries: Iterable[Entry]) -> Iterator[tuple[Entry, Record]]:
        """The records behind ``entries``, in input order, each checked against what was planned."""
        ordered = sorted(entries, key=lambda e: (e.source, e.line))
        for source, group in groupby(ordered, key=lambda e: e.source):
            path = self.paths[source]
            wanted = list(group)
            rows = self._jsonl_rows(path, wanted) if detect_format(path) == "jsonl" else self._table_rows(path, wanted)
            for entry, (parsed, digest) in zip(wanted, rows, strict=True):
                yield entry, self._same(entry, parsed, digest)

    def _jsonl_rows(self, path: Path, wanted: list[Entry]) -> Iterator[tuple[LoadedRecord | InputError, bytes]]:
        with path.open("rb") as handle:
            for entry in wanted:
                raw = read_line_at(handle, entry.offset)
                yield parse_line(raw, str(path), entry.line), _digest(raw)

    def _table_rows(self, path: Path, wanted: list[Entry]) -> Iterator[tuple[LoadedRecord | InputError, bytes]]:
        lines = iter(wanted)
        want = next(lines, None)
        for parsed in iter_records(path):
            if want is None:
                return  # every wanted row found: the rest of the table is not read
            if parsed.line == want.line:
                yield parsed, _table_digest(parsed)
                want = next(lines, None)
        if want is not None:
            yield InputError(str(path), want.line, want.id, "row is gone"), b""

    def _same(self, entry: Entry, parsed: LoadedRecord | InputError, digest: bytes) -> Record:
        """The record, when its whole row (verdicts and meta included) is the one planned."""
        where = f"{self.paths[entry.source]}:{entry.line}: {entry.id}"
        if isinstance(parsed, InputError):
            raise InputChanged(f"{where}: changed while the build ran ({parsed.message}); nothing was written")
        if digest != entry.row:
            raise InputChanged(f"{where}: changed while the build ran (now {parsed.record.id!r}); nothing was written")
        return parsed.record


def _digest(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


def _table_digest(parsed: LoadedRecord | InputError) -> bytes:
    """A table row has no raw bytes of its own: its record's full JSON stands for them."""
    if isinstance(parsed, InputError):
        return b""
    return _digest(json.dumps(parsed.record.to_row(with_gates=True), sort_keys=True, ensure_ascii=True).encode())
