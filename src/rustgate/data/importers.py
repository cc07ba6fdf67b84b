"""Outside row shapes -> canonical records: Strandset-Rust-v1 and alpaca-style instruction rows.

Strandset's ``input_data`` / ``output_data`` are strings that usually hold a Python-literal or
JSON dict of named fields (``code``, ``code_context``, ``docstring`` ...); each field becomes a
labelled section, code fields fenced as ```rust so the compile gate can find them.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from rustgate import safejson
from rustgate.data.formats import iter_raw_rows
from rustgate.data.jsonl import InputError, LoadedRecord, ReadResult, collect, parse_row, refuse_repeats
from rustgate.markdown import code_blocks
from rustgate.records import CRATES, Record

Shape = Literal["strandset", "alpaca", "auto"]
_FENCE = "```"
_CODE_FIELD = re.compile(r"(^|_)(code|snippet|implementation|solution|test|fixed|refactored|optimized)($|_)")


def _as_fields(text: Any) -> dict[str, Any] | None:
    """A dict when ``text`` is one (already, as JSON, or as a Python literal), else None."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or not text.lstrip().startswith("{"):
        return None
    for parse in (safejson.loads, ast.literal_eval):
        try:
            value = parse(text)
            safejson.check_value(value)  # a literal may hold sets, bytes or lone surrogates: not fields
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _render_field(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    if _CODE_FIELD.search(key.lower()) and not code_blocks(text):
        text = f"{_FENCE}rust\n{text.strip()}\n{_FENCE}"
    return text.strip()


def render(data: Any, *, labelled: bool) -> str:
    """A dict of fields as sections (labels only when there is more than one), a string as is."""
    fields = _as_fields(data)
    if fields is None:
        return str(data or "").strip()
    parts = [(k, _render_field(k, v)) for k, v in fields.items() if v not in (None, "")]
    if len(parts) == 1 or not labelled:
        return "\n\n".join(text for _, text in parts)
    return "\n\n".join(f"{k.replace('_', ' ').capitalize()}:\n{text}" for k, text in parts)


def _crate(name: Any) -> str:
    """Our profile for an outside crate name: a framework we pin, else general ``rust``."""
    value = str(name or "").strip().lower().replace("-", "_")
    root = value.split("_")[0] if value.startswith(("leptos", "axum")) else value
    if value == "rig_core":
        root = "rig"
    return root if root in CRATES else "rust"


def strandset_row(row: dict[str, Any], index: int, prefix: str) -> dict[str, Any]:
    category = str(row.get("task_category") or "task")
    prompt = render(row.get("input_data"), labelled=True)
    if category and category != "task":
        prompt = f"Task: {category.replace('_', ' ')}\n\n{prompt}"
    return {
        "id": f"{prefix}-{index:06d}",
        "crate": _crate(row.get("crate_name")),
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": render(row.get("output_data"), labelled=False)},
        ],
        "meta": {"source": "strandset", "crate_name": row.get("crate_name"), "task_category": category},
    }


def alpaca_row(row: dict[str, Any], index: int, prefix: str) -> dict[str, Any]:
    instruction = str(row.get("instruction") or row.get("prompt") or "").strip()
    extra = str(row.get("input") or "").strip()
    prompt = f"{instruction}\n\n{extra}" if extra else instruction
    messages = []
    if row.get("system"):
        messages.append({"role": "system", "content": str(row["system"])})
    messages += [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": str(row.get("output") or row.get("response") or "").strip()},
    ]
    out: dict[str, Any] = {
        "id": str(row.get("id") or f"{prefix}-{index:06d}"),
        "crate": _crate(row.get("crate")),
        "messages": messages,
        "meta": {"source": "alpaca"},
    }
    return out


def detect_shape(row: dict[str, Any]) -> Shape:
    if "input_data" in row and "output_data" in row:
        return "strandset"
    if "instruction" in row and ("output" in row or "response" in row):
        return "alpaca"
    raise ValueError("neither a Strandset row (input_data/output_data) nor an alpaca row (instruction/output)")


def _convert(path: str | Path, shape: Shape, prefix: str) -> Iterator[LoadedRecord | InputError]:
    name = str(path)
    for number, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            yield row
            continue
        try:
            kind = detect_shape(row) if shape == "auto" else shape
        except ValueError as exc:
            yield InputError(name, number, None, str(exc))
            continue
        missing = [
            k for k in (("input_data", "output_data") if kind == "strandset" else ("instruction",)) if not row.get(k)
        ]
        if missing:
            yield InputError(name, number, None, f"missing field(s): {', '.join(missing)}")
            continue
        convert = strandset_row if kind == "strandset" else alpaca_row
        try:
            converted = convert(row, number, prefix)
        except (TypeError, ValueError, RecursionError) as exc:  # a table cell that is no text (bytes, ...)
            yield InputError(name, number, None, f"cannot be converted: {exc}"[:300])
            continue
        yield parse_row(converted, name, number)


def import_stream(
    path: str | Path, errors: list[InputError], *, shape: Shape = "auto", prefix: str | None = None
) -> Iterator[Record]:
    """Canonical records from an outside file, one at a time; a row that cannot be converted (or
    repeats an id) goes to ``errors``, and the rest still come."""
    for loaded in refuse_repeats(_convert(path, shape, prefix or Path(path).stem), errors):
        yield loaded.record


def import_rows(path: str | Path, *, shape: Shape = "auto", prefix: str | None = None) -> ReadResult:
    """Canonical records from an outside file; a row that cannot be converted is reported, not lost."""
    return collect(_convert(path, shape, prefix or Path(path).stem))
