"""Read canonical JSONL records, reporting each bad line by file, line and id, losing no good one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from rustgate.display import one_line
from rustgate.records import Record
from rustgate.validation import format_validation_error


@dataclass(frozen=True)
class InputError:
    """A record that could not be read; ``str()`` is the ``file:line: id: message`` users see."""

    file: str
    line: int
    record_id: str | None
    message: str

    def __str__(self) -> str:
        rid = self.record_id if self.record_id is not None else "<no id>"
        return one_line(f"{self.file}:{self.line}: {rid}: {self.message}", 1000)


@dataclass
class LoadedRecord:
    record: Record
    file: str
    line: int


@dataclass
class ReadResult:
    records: list[LoadedRecord] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)

    def extend(self, other: ReadResult) -> None:
        self.records.extend(other.records)
        self.errors.extend(other.errors)


def parse_line(raw: bytes, file: str, line: int) -> LoadedRecord | InputError:
    try:  # a good line, parsed and validated in one pass (pydantic's own JSON reader)
        return LoadedRecord(Record.model_validate_json(raw), file, line)
    except ValueError:
        pass  # any problem is said exactly as the two-step reading below says it
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InputError(file, line, None, f"not valid UTF-8 (byte {exc.start})")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputError(file, line, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
    return parse_row(obj, file, line)


def parse_row(obj: object, file: str, line: int) -> LoadedRecord | InputError:
    """Validate one decoded row (from JSONL, Parquet or an HF folder) into a ``Record``."""
    if not isinstance(obj, dict):
        return InputError(file, line, None, "a record must be a JSON object")
    rid = obj.get("id")
    rid_text = str(rid) if rid is not None else None
    try:
        record = Record.model_validate(obj)
    except ValidationError as exc:
        return InputError(file, line, rid_text, format_validation_error(exc))
    return LoadedRecord(record, file, line)


def collect(parsed_rows: Iterable[LoadedRecord | InputError]) -> ReadResult:
    """Gather parsed rows, refusing a repeated id (the first occurrence wins)."""
    result = ReadResult()
    seen: dict[str, int] = {}
    for parsed in parsed_rows:
        if isinstance(parsed, InputError):
            result.errors.append(parsed)
            continue
        rid = parsed.record.id
        if rid in seen:
            result.errors.append(
                InputError(parsed.file, parsed.line, rid, f"duplicate id (first seen on line {seen[rid]})")
            )
            continue
        seen[rid] = parsed.line
        result.records.append(parsed)
    return result


def iter_raw_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw bytes without the line ending)`` of every non-blank line, streamed."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw.rstrip(b"\r\n")


def iter_lines(path: str | Path) -> Iterator[LoadedRecord | InputError]:
    name = str(path)
    for number, raw in iter_raw_lines(path):
        yield parse_line(raw, name, number)


def read_jsonl(path: str | Path) -> ReadResult:
    """Every line of ``path``: good records kept, bad ones reported, duplicate ids refused."""
    return collect(iter_lines(path))


def read_many(paths: Iterable[str | Path]) -> ReadResult:
    result = ReadResult()
    for path in paths:
        result.extend(read_jsonl(path))
    return result
