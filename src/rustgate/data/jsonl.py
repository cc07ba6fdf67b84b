"""Read canonical JSONL records, reporting each bad line by file, line and id, losing no good one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from rustgate import safejson
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
        obj = safejson.loads(raw)
    except safejson.UnsafeJSON as exc:
        return InputError(file, line, leading_id(raw), str(exc))
    return parse_row(obj, file, line)


_LEADING_ID = re.compile(rb'^\s*\{\s*"id"\s*:\s*"((?:[^"\\\x00-\x1f]|\\["\\/]){1,200})"')


def leading_id(raw: bytes) -> str | None:
    """The id of a line that cannot be read, when the line opens with it (as rustgate writes rows)."""
    found = _LEADING_ID.match(raw)
    return found.group(1).decode("utf-8", "replace").replace('\\"', '"') if found else None


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


def refuse_repeats(
    parsed_rows: Iterable[LoadedRecord | InputError], errors: list[InputError]
) -> Iterator[LoadedRecord]:
    """The records of a stream whose id it has not had before (the first occurrence wins); bad rows
    and repeats go to ``errors``. Holds the ids, not the records."""
    seen: dict[str, int] = {}
    for parsed in parsed_rows:
        if isinstance(parsed, InputError):
            errors.append(parsed)
            continue
        rid = parsed.record.id
        if rid in seen:
            errors.append(InputError(parsed.file, parsed.line, rid, f"duplicate id (first seen on line {seen[rid]})"))
            continue
        seen[rid] = parsed.line
        yield parsed


def collect(parsed_rows: Iterable[LoadedRecord | InputError]) -> ReadResult:
    """Gather parsed rows, refusing a repeated id (the first occurrence wins)."""
    result = ReadResult()
    result.records.extend(refuse_repeats(parsed_rows, result.errors))
    return result


MAX_LINE_BYTES = 16 << 20  # one record's line: longer is an input error, skipped unread (memory stays bounded)


def overlong_error(file: str, line: int, size: int) -> InputError:
    limit = f"{MAX_LINE_BYTES / (1 << 20):g} MiB"
    return InputError(file, line, None, f"a line of {size} bytes, over the {limit} limit for one record: not read")


def skip_line(handle: BinaryIO) -> int:
    """Read past the rest of a line without holding it; how many bytes that was."""
    skipped = 0
    while chunk := handle.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def iter_raw_lines(path: str | Path) -> Iterator[tuple[int, int, bytes | InputError]]:
    """``(line number, byte offset, raw line)`` of every non-blank line, unparsed, streamed; a line
    over ``MAX_LINE_BYTES`` comes as its error instead, read past without being held."""
    name = str(path)
    with open(path, "rb") as handle:
        number, offset = 0, 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            start, offset = offset, offset + len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                skipped = skip_line(handle)
                offset += skipped
                yield number, start, overlong_error(name, number, len(raw) + skipped)
            elif raw.strip():
                yield number, start, raw.rstrip(b"\r\n")


def read_line_at(handle: BinaryIO, offset: int) -> bytes:
    """The line that starts at ``offset`` (as ``iter_raw_lines`` gave it), without its line end."""
    handle.seek(offset)
    return handle.readline(MAX_LINE_BYTES + 1).rstrip(b"\r\n")


def iter_lines(path: str | Path) -> Iterator[LoadedRecord | InputError]:
    """Every non-blank line of ``path``, parsed, streamed; a line over ``MAX_LINE_BYTES`` is an error."""
    name = str(path)
    for number, _, raw in iter_raw_lines(path):
        yield raw if isinstance(raw, InputError) else parse_line(raw, name, number)


def read_jsonl(path: str | Path) -> ReadResult:
    """Every line of ``path``: good records kept, bad ones reported, duplicate ids refused."""
    return collect(iter_lines(path))


def read_many(paths: Iterable[str | Path]) -> ReadResult:
    result = ReadResult()
    for path in paths:
        result.extend(read_jsonl(path))
    return result
