"""Text from records and compilers, made safe to print on a terminal.

Record ids, answers and rustc messages come from untrusted sources: an escape sequence in a
record id could rewrite the user's terminal or hide a finding. Everything we print that came
from a record goes through ``printable`` (control and bidi-override characters shown escaped)
and, on one-line displays, ``one_line`` (capped, newlines shown).
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides/isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with terminal control characters escaped (``\\x1b`` ...), capped at ``limit`` chars."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more]"
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str, limit: int = 300) -> str:
    """A single printable line: newlines shown as ``\\n``, at most ``limit`` characters."""
    return printable(text.replace("\r", "\\r").replace("\n", "\\n"), limit)
