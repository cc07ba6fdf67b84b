"""Counts over gated records: pass rates per crate and gate, top rustc error codes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from rustgate.records import VERDICTS, Record


def crate_of(record: Record) -> str:
    if record.crate:
        return record.crate
    profile = record.gates.get("compile")
    return str(profile.details.get("profile")) if profile and profile.details.get("profile") else "unknown"


def verdicts_by_crate(records: Iterable[Record], gate: str) -> dict[str, dict[str, Any]]:
    """``{crate: {"total", "pass", "fail", ..., "pass_rate"}}`` for one gate, plus an ``all`` row."""
    table: dict[str, Counter[str]] = {}
    for record in records:
        result = record.gates.get(gate)
        if result is None:
            continue
        for crate in (crate_of(record), "all"):
            table.setdefault(crate, Counter())[result.verdict] += 1
    summary: dict[str, dict[str, Any]] = {}
    for crate in sorted(table, key=lambda c: (c == "all", c)):
        counts = table[crate]
        total = sum(counts.values())
        row: dict[str, Any] = {"total": total, **{v: counts.get(v, 0) for v in VERDICTS}}
        row["pass_rate"] = round(counts.get("pass", 0) / total, 4) if total else 0.0
        summary[crate] = row
    return summary


def top_error_codes(records: Iterable[Record], gate: str = "compile", limit: int = 10) -> list[tuple[str, int]]:
    """The rustc error codes that fail the most records (each code once per record)."""
    counts: Counter[str] = Counter()
    for record in records:
        result = record.gates.get(gate)
        if result is None:
            continue
        codes = {d.code for d in result.diagnostics if d.level.startswith("error") and d.code}
        counts.update(codes)
    return counts.most_common(limit)
