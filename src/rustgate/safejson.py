"""JSON from outside, bounded: one hostile row is an error for that row, never a crash of the run.

Python's ``json`` recurses once per nesting level (a few KB of ``[`` raise ``RecursionError``),
refuses integers of more than 4300 digits with a plain ``ValueError``, accepts ``NaN`` and
``Infinity`` (which no other JSON reader does, so a row that carries one cannot be written back
out as JSON) and lets lone UTF-16 surrogates through (which then cannot be encoded as UTF-8 when
the record is hashed or written). Every reader of rows goes through ``loads`` here, and every
free-form value a record carries (``meta``, gate ``details``) through ``check_value``.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # nesting of one row, objects and arrays together: a dataset row needs a handful
MAX_INT_DIGITS = 1000  # an integer longer than this is no dataset field, and slow to convert

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class UnsafeJSON(ValueError):
    """Why a row's JSON was refused, said in one line (the caller adds file, line and id)."""


def _reject_constant(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJSON(f"the number {text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise UnsafeJSON(f"an integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, brackets inside strings not counted."""
    brackets = re.sub(r"[^\[\]{}]", "", _STRING.sub("", text))
    steps = accumulate(1 if c in "[{" else -1 for c in brackets)
    return max(steps, default=0)


def loads(data: str | bytes) -> Any:
    """``json.loads`` that raises ``UnsafeJSON`` (a ``ValueError``) for anything it should not
    hold: bad UTF-8, invalid JSON, nesting over ``MAX_DEPTH``, ``NaN``/``Infinity``, numbers out of
    range, lone surrogates."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsafeJSON(f"not valid UTF-8 (byte {exc.start})") from None
    else:
        text = data
    could_be_deep = text.count("[") + text.count("{") > MAX_DEPTH  # else no scan is needed
    if could_be_deep and (depth := nesting_depth(text)) > MAX_DEPTH:
        raise UnsafeJSON(f"nested {depth} levels deep (at most {MAX_DEPTH})")
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except UnsafeJSON:
        raise
    except json.JSONDecodeError as exc:
        raise UnsafeJSON(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # belt and braces: the bounds above hold first
        raise UnsafeJSON(f"JSON that cannot be read safely: {type(exc).__name__}") from None
    if _SURROGATE_ESCAPE.search(text):
        check_value(value)
    return value


def check_value(value: Any, depth: int = 0) -> None:
    """``UnsafeJSON`` unless ``value`` is plain JSON data that can be written back out as JSON
    (strict) and as UTF-8: bounded nesting, finite numbers, encodable strings, string keys."""
    if depth > MAX_DEPTH:
        raise UnsafeJSON(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if value.bit_length() > MAX_INT_DIGITS * 3.33:
            raise UnsafeJSON(f"an integer of more than {MAX_INT_DIGITS} digits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise UnsafeJSON(f"{value} is not a JSON number")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnsafeJSON(f"a key that is not a string: {key!r}"[:80])
            _check_text(key)
            check_value(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_value(item, depth + 1)
    else:
        raise UnsafeJSON(f"a {type(value).__name__} is not JSON data")


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnsafeJSON(f"a string that is not valid Unicode (a lone surrogate at {exc.start})") from None
