"""rustc's ``--error-format=json`` output, turned into de-duplicated, capped ``Diagnostic`` records.

Diagnostics are data from a hostile source: a sample can make rustc print megabytes. Each
message and rendered snippet is capped, as is the number kept per record, and what was cut is
counted so the verdict can say so. Lines are split on ``\\n`` only (a U+2028 inside a message
is text, not a line break).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rustgate.records import Diagnostic

_KEPT_LEVELS = {"error", "warning", "error: internal compiler error"}
MAX_DIAGNOSTICS = 50
MAX_MESSAGE_CHARS = 1000
MAX_RENDERED_CHARS = 4000
MAX_TOTAL_CHARS = 64 * 1024  # messages + snippets kept per record; past it, snippets are dropped
MAX_LINE_CHARS = 1 << 20  # a JSON line longer than this is not parsed at all
_UNLINKED = re.compile(r"unlinked crate `([A-Za-z_][A-Za-z0-9_]*)`|can't find crate for `([A-Za-z_][A-Za-z0-9_]*)`")


@dataclass
class Parsed:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    omitted: int = 0  # diagnostics beyond MAX_DIAGNOSTICS (or unparseable oversized lines)
    shortened: int = 0  # messages or snippets cut to their cap
    kept_chars: int = 0
    unlinked_crates: list[str] = field(default_factory=list)  # "use of unresolved ... unlinked crate `x`"

    @property
    def truncated(self) -> dict[str, int] | None:
        if not (self.omitted or self.shortened):
            return None
        return {"omitted": self.omitted, "shortened": self.shortened}


def _cap(text: str | None, limit: int, parsed: Parsed) -> str | None:
    if text is None or len(text) <= limit:
        return text
    parsed.shortened += 1
    return text[:limit] + f"... [{len(text) - limit} more characters cut by rustgate]"


def _primary_span(message: dict[str, Any]) -> dict[str, Any] | None:
    spans = message.get("spans") or []
    for span in spans:
        if isinstance(span, dict) and span.get("is_primary"):
            # Follow macro expansions back to the sample's own code where possible.
            depth = 0
            while span.get("expansion") and span["expansion"].get("span") and not _is_sample(span) and depth < 64:
                span = span["expansion"]["span"]
                depth += 1
            return dict(span)
    return dict(spans[0]) if spans and isinstance(spans[0], dict) else None


def _is_sample(span: dict[str, Any]) -> bool:
    name = str(span.get("file_name", ""))
    return name.startswith(("src/", "examples/", "tests/"))


# Only rustc's own resolution errors name a missing crate; a `compile_error!` with the same words is the sample's.
_RESOLUTION_CODES = frozenset({"E0432", "E0433", "E0463"})


def _unlinked(message: dict[str, Any], code: str | None) -> list[str]:
    if code not in _RESOLUTION_CODES:
        return []
    children = [str(c.get("message") or "") for c in message.get("children") or [] if isinstance(c, dict)]
    if any(child.startswith("consider importing") for child in children):
        return []  # the name exists (a module of std or of a pinned crate): a missing `use`, not a crate
    texts = [str(message.get("message", ""))]
    texts += [str(s.get("label") or "") for s in message.get("spans") or [] if isinstance(s, dict)]
    texts += children
    names = []
    for text in texts:
        for match in _UNLINKED.finditer(text):
            names.append(match.group(1) or match.group(2))
    return names


def split_lines(text: str) -> list[str]:
    return text.split("\n")


def parse_rustc_json(lines: Iterable[str], *, file_prefix: str = "") -> Parsed:
    """Errors and warnings from rustc's JSON lines, each once, in order, capped.

    ``file_prefix`` is stripped from span file names (the batch checker's per-sample folder).
    Non-JSON lines (a panic, a linker message) are ignored here; callers keep stderr for those.
    """
    parsed = Parsed()
    seen: set[tuple[Any, ...]] = set()
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        if len(line) > MAX_LINE_CHARS:
            parsed.omitted += 1
            continue
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(message, dict):
            continue
        if "reason" in message:  # cargo's envelope around rustc's message
            if message["reason"] != "compiler-message":
                continue
            message = message.get("message") or {}
        elif message.get("$message_type", "diagnostic") != "diagnostic":
            continue
        level = str(message.get("level", ""))
        if level not in _KEPT_LEVELS:
            continue
        text = str(message.get("message", ""))
        if level == "warning" and text.endswith(("warnings emitted", "warning emitted")):
            continue
        if level == "error" and (text.startswith("aborting due to") or text.startswith("could not compile")):
            continue
        code = (message.get("code") or {}).get("code") if isinstance(message.get("code"), dict) else None
        if level.startswith("error"):
            parsed.unlinked_crates += [n for n in _unlinked(message, code) if n not in parsed.unlinked_crates]
        span = _primary_span(message)
        file_name = str(span.get("file_name")) if span else None
        if file_name and file_prefix and file_name.startswith(file_prefix):
            file_name = file_name[len(file_prefix) :]
        line_no = _int(span.get("line_start")) if span else None
        column = _int(span.get("column_start")) if span else None
        key = (level, code, text[:MAX_MESSAGE_CHARS], file_name, line_no, column)
        if key in seen:
            continue
        seen.add(key)
        if len(parsed.diagnostics) >= MAX_DIAGNOSTICS:
            parsed.omitted += 1
            continue
        rendered = message.get("rendered")
        if isinstance(rendered, str) and file_prefix:
            rendered = rendered.replace(file_prefix, "")
        rendered = _cap(rendered if isinstance(rendered, str) else None, MAX_RENDERED_CHARS, parsed)
        shown = _cap(text, MAX_MESSAGE_CHARS, parsed) or ""
        if parsed.kept_chars + len(shown) + len(rendered or "") > MAX_TOTAL_CHARS and rendered:
            rendered = None  # over the record's budget: keep the message, drop the snippet
            parsed.shortened += 1
        parsed.kept_chars += len(shown) + len(rendered or "")
        parsed.diagnostics.append(
            Diagnostic(
                level=level,
                code=str(code) if code is not None else None,
                message=shown,
                line=line_no,
                column=column,
                file=_cap(file_name, 200, parsed),
                rendered=rendered,
            )
        )
    return parsed


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def errors_first(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: 0 if d.level.startswith("error") else 1)
