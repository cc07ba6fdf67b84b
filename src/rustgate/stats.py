"""Counts over gated records: pass rates per crate and gate, top rustc error codes, clippy lints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rustgate.records import VERDICTS, Record


def crate_of(record: Record) -> str:
    if record.crate:
        return record.crate
    profile = record.gates.get("compile")
    return str(profile.details.get("profile")) if profile and profile.details.get("profile") else "unknown"


class Tally:
    """Verdict counts per crate and error-code counts for one gate, fed one record at a time (a
    stream of any length costs the counters, not the records)."""

    def __init__(self, gate: str) -> None:
        self.gate = gate
        self.table: dict[str, Counter[str]] = {}
        self.codes: Counter[str] = Counter()
        self.lints: Counter[str] = Counter()  # clippy lint -> occurrences (the clippy tier's details)

    def add(self, record: Record) -> None:
        result = record.gates.get(self.gate)
        if result is None:
            return
        for crate in (crate_of(record), "all"):
            self.table.setdefault(crate, Counter())[result.verdict] += 1
        self.codes.update({d.code for d in result.diagnostics if d.level.startswith("error") and d.code})
        self.lints.update(clippy_lints(result.details))

    def by_crate(self) -> dict[str, dict[str, Any]]:
        """``{crate: {"total", "pass", "fail", ..., "pass_rate"}}``, plus an ``all`` row."""
        summary: dict[str, dict[str, Any]] = {}
        for crate in sorted(self.table, key=lambda c: (c == "all", c)):
            counts = self.table[crate]
            total = sum(counts.values())
            row: dict[str, Any] = {"total": total, **{v: counts.get(v, 0) for v in VERDICTS}}
            row["pass_rate"] = round(counts.get("pass", 0) / total, 4) if total else 0.0
            summary[crate] = row
        return summary

    def top_codes(self, limit: int = 10) -> list[tuple[str, int]]:
        """The rustc error codes that fail the most records (each code once per record)."""
        return self.codes.most_common(limit)

    def top_lints(self, limit: int = 10) -> list[tuple[str, int]]:
        """The clippy lints found most often (every occurrence), when the clippy tier ran."""
        return self.lints.most_common(limit)


def clippy_lints(details: dict[str, Any]) -> dict[str, int]:
    """Occurrences per clippy lint in one verdict's details (empty when clippy did not run)."""
    tier = ((details.get("tiers") or {}).get("clippy")) or {}
    lints = tier.get("lints") or {}
    return {
        str(name): sum(int(n) for n in levels.values()) for name, levels in lints.items() if isinstance(levels, dict)
    }


@dataclass
class ScoreStat:
    n: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    buckets: Counter[int] = field(default_factory=Counter)  # score rounded into 1..10 -> count

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0


class Scores:
    """Judge scores per dimension, fed one record at a time (counters, not the records)."""

    def __init__(self, gate: str = "judge") -> None:
        self.gate = gate
        self.dimensions: dict[str, ScoreStat] = {}

    def add(self, record: Record) -> None:
        result = record.gates.get(self.gate)
        for dim, value in ((result.scores or {}) if result else {}).items():
            stat = self.dimensions.setdefault(dim, ScoreStat())
            stat.n += 1
            stat.total += value
            stat.low, stat.high = min(stat.low, value), max(stat.high, value)
            stat.buckets[min(10, max(1, round(value)))] += 1
