"""Records in and out of JSONL, Parquet and Hugging Face ``save_to_disk`` folders.

JSONL is the canonical form. Parquet and HF folders hold the same rows, with ``meta`` and ``gates``
stored as JSON strings: their shape differs per record, and a columnar schema would otherwise
widen (or reject) them. ``pyarrow`` and ``datasets`` are imported only when those formats are used,
so the pre-commit hook on JSONL files starts fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from rustgate import safejson
from rustgate.atomic import atomic_open, atomic_write_jsonl
from rustgate.data.jsonl import InputError, LoadedRecord, ReadResult, collect, iter_lines, iter_raw_lines, parse_row
from rustgate.data.output_dir import place_folder
from rustgate.records import Record

Format = Literal["jsonl", "parquet", "hf"]
_JSON_COLUMNS = ("meta", "gates")
PARQUET_BATCH = 1000  # rows per batch read, and per row group written


def detect_format(path: str | Path) -> Format:
    target = Path(path)
    if target.is_dir() or target.suffix == "":
        return "hf"
    if target.suffix == ".parquet":
        return "parquet"
    if target.suffix in {".jsonl", ".json", ".ndjson"}:
        return "jsonl"
    raise ValueError(f"{path}: unknown dataset format (expected .jsonl, .parquet or a datasets folder)")


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """Undo the JSON-string columns; drop nulls a columnar format adds for absent fields."""
    out = {k: v for k, v in row.items() if v is not None}
    for column in _JSON_COLUMNS:
        value = out.get(column)
        if isinstance(value, str):
            out[column] = safejson.loads(value) if value else {}
    return out


def _iter_table_rows(rows: Iterable[dict[str, Any]], name: str) -> Iterator[LoadedRecord | InputError]:
    """Row ``n`` of a table is reported as line ``n`` (1-based), like a JSONL line."""
    for number, row in enumerate(rows, start=1):
        try:
            decoded = _decode_row(row)
        except safejson.UnsafeJSON as exc:
            yield InputError(name, number, str(row.get("id")), f"a meta/gates column: {exc}")
            continue
        yield parse_row(decoded, name, number)


def iter_raw_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """Plain dict rows of any format (for importers of outside shapes), numbered from 1."""
    fmt = detect_format(path)
    name = str(path)
    if fmt == "jsonl":
        for number, _, raw in iter_raw_lines(path):  # a line over the limit comes as its error, unheld
            if isinstance(raw, InputError):
                yield number, raw
                continue
            try:
                obj = safejson.loads(raw)
            except safejson.UnsafeJSON as exc:
                yield number, InputError(name, number, None, str(exc))
                continue
            if not isinstance(obj, dict):
                yield number, InputError(name, number, None, "a row must be a JSON object")
                continue
            yield number, obj
        return
    for number, row in enumerate(_table_rows(path, fmt), start=1):
        yield number, row


def _table_rows(path: str | Path, fmt: Format) -> Iterator[dict[str, Any]]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=PARQUET_BATCH):  # streamed: bounded memory
            yield from batch.to_pylist()
        return
    from datasets import Dataset, DatasetDict, load_from_disk

    loaded = load_from_disk(str(path))
    parts: Sequence[Dataset] = list(loaded.values()) if isinstance(loaded, DatasetDict) else [loaded]
    for part in parts:
        yield from part


def iter_records(path: str | Path) -> Iterator[LoadedRecord | InputError]:
    """Every row of any format, parsed, in order, streamed (duplicate ids are the caller's to find)."""
    fmt = detect_format(path)
    if fmt == "jsonl":
        return iter_lines(path)
    return _iter_table_rows(_table_rows(path, fmt), str(path))


def read_records(path: str | Path) -> ReadResult:
    """Canonical records from JSONL, Parquet or an HF folder; bad rows reported, good ones kept."""
    fmt = detect_format(path)
    if fmt == "jsonl":
        return collect(iter_lines(path))
    return collect(_iter_table_rows(_table_rows(path, fmt), str(path)))


def read_all(paths: Iterable[str | Path]) -> ReadResult:
    result = ReadResult()
    for path in paths:
        result.extend(read_records(path))
    return result


def _columnar_row(record: Record, with_gates: bool) -> dict[str, Any]:
    row = record.to_row(with_gates=with_gates)
    return {
        "id": row["id"],
        "crate": row.get("crate"),
        "messages": row["messages"],
        "meta": json.dumps(row.get("meta", {}), ensure_ascii=False, sort_keys=True),
        "gates": json.dumps(row.get("gates", {}), ensure_ascii=False, sort_keys=True),
    }


def write_records(
    path: str | Path, records: Iterable[Record], *, with_gates: bool = True, fmt: Format | None = None
) -> int:
    """Write atomically: a reader never sees half a file or half a folder. JSONL and Parquet are
    written as ``records`` come (a stream of any length is never held); a datasets folder is
    built from all of them at once."""
    fmt = fmt or detect_format(path)
    target = Path(path)
    if fmt == "jsonl":
        return atomic_write_jsonl(target, (r.to_row(with_gates=with_gates) for r in records))
    rows = (_columnar_row(r, with_gates) for r in records)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        count = 0
        with atomic_open(target, "wb") as handle, pq.ParquetWriter(handle, _arrow_schema()) as writer:
            while batch := list(islice(rows, PARQUET_BATCH)):
                writer.write_table(pa.Table.from_pylist(batch, schema=_arrow_schema()))
                count += len(batch)
        return count
    import datasets
    from datasets import Dataset

    datasets.disable_progress_bars()
    table = Dataset.from_list(list(rows), features=_hf_features())
    # An existing folder is replaced only when it is an earlier `save_to_disk` folder and nothing else.
    place_folder(target, lambda staging: table.save_to_disk(str(staging)), marker="state.json",
                 known=_hf_files, what="datasets folder")  # fmt: skip
    return len(table)


def _hf_files(folder: Path) -> set[str]:
    names = {p.name for p in folder.iterdir()}
    meta = {"state.json", "dataset_info.json"}
    return {n for n in names if n in meta or (n.startswith("data-") and n.endswith(".arrow"))}


def _arrow_schema() -> Any:
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema(
        [
            ("id", pa.string()),
            ("crate", pa.string()),
            ("messages", pa.list_(message)),
            ("meta", pa.string()),
            ("gates", pa.string()),
        ]
    )


def _hf_features() -> Any:
    from datasets import Features, Value

    return Features(
        {
            "id": Value("string"),
            "crate": Value("string"),
            "messages": [{"role": Value("string"), "content": Value("string")}],
            "meta": Value("string"),
            "gates": Value("string"),
        }
    )
