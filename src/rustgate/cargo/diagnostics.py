"""rustc's ``--error-format=json`` output, turned into de-duplicated ``Diagnostic`` records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rustgate.records import Diagnostic

_KEPT_LEVELS = {"error", "warning", "error: internal compiler error"}


def _primary_span(message: dict[str, Any]) -> dict[str, Any] | None:
    spans = message.get("spans") or []
    for span in spans:
        if span.get("is_primary"):
            # Follow macro expansions back to the sample's own code where possible.
            while span.get("expansion") and span["expansion"].get("span") and not _is_sample(span):
                span = span["expansion"]["span"]
            return dict(span)
    return dict(spans[0]) if spans else None


def _is_sample(span: dict[str, Any]) -> bool:
    name = str(span.get("file_name", ""))
    return name.startswith("src/")


def parse_rustc_json(lines: Iterable[str], *, file_prefix: str = "") -> list[Diagnostic]:
    """Errors and warnings from rustc's JSON lines, each once, in order.

    ``file_prefix`` is stripped from span file names (the batch checker's per-sample folder).
    Non-JSON lines (a panic, a linker message) are ignored here; callers keep stderr for those.
    """
    seen: set[tuple[Any, ...]] = set()
    found: list[Diagnostic] = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
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
        code = (message.get("code") or {}).get("code")
        span = _primary_span(message)
        file_name = str(span.get("file_name")) if span else None
        if file_name and file_prefix and file_name.startswith(file_prefix):
            file_name = file_name[len(file_prefix) :]
        line_no = int(span["line_start"]) if span else None
        column = int(span["column_start"]) if span else None
        key = (level, code, text, file_name, line_no, column)
        if key in seen:
            continue
        seen.add(key)
        rendered = message.get("rendered")
        if rendered and file_prefix:
            rendered = rendered.replace(file_prefix, "")
        found.append(
            Diagnostic(
                level=level,
                code=code,
                message=text,
                line=line_no,
                column=column,
                file=file_name,
                rendered=rendered,
            )
        )
    return found


def errors_first(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: 0 if d.level.startswith("error") else 1)
