"""The dataset check behind the pre-commit hook: schema, the compile gate, and (optionally) the judge.

It fails closed: a bad row, a failed or errored gate, anything but a pass, is a finding and a
non-zero exit. Unchanged records cost nothing: the compile gate looks every record up in the
ledger by a hash of its code, toolchain, lockfile and gate version before compiling, and the
judge's calls are cached there too, so only new or edited records reach rustc or an API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rustgate.data.formats import read_records
from rustgate.data.jsonl import LoadedRecord
from rustgate.display import one_line
from rustgate.gates.base import StageContext
from rustgate.gates.compile import CompileSettings
from rustgate.ledger import Ledger

if TYPE_CHECKING:  # the judge (and the LLM SDKs behind it) loads only when a judge is asked for
    from rustgate.gates.judge import JudgeSettings


@dataclass(frozen=True)
class Finding:
    """``file:line: id: verdict: first diagnostic``: what the hook prints for one record."""

    file: str
    line: int
    record_id: str
    verdict: str
    message: str

    def __str__(self) -> str:
        return one_line(f"{self.file}:{self.line}: {self.record_id}: {self.verdict}: {self.message}", 1000)


@dataclass
class Outcome:
    records: int = 0
    findings: list[Finding] = field(default_factory=list)
    compiled: int = 0
    cached: int = 0
    judged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def schema_findings(paths: Sequence[str | Path]) -> tuple[list[LoadedRecord], list[Finding]]:
    """Rows that read as records, plus every schema problem (per file and across files)."""
    loaded: list[LoadedRecord] = []
    findings: list[Finding] = []
    first: dict[str, str] = {}
    for path in paths:
        try:
            read = read_records(path)
        except (OSError, ValueError) as exc:
            findings.append(Finding(str(path), 0, "-", "schema", f"cannot read: {exc}"))
            continue
        findings += [Finding(e.file, e.line, e.record_id or "<no id>", "schema", e.message) for e in read.errors]
        for item in read.records:
            rid = item.record.id
            where = f"{item.file}:{item.line}"
            if rid in first:
                findings.append(Finding(item.file, item.line, rid, "schema", f"duplicate id (also at {first[rid]})"))
                continue
            first[rid] = where
            empty = [m.role for m in item.record.messages if m.role != "system" and not m.content.strip()]
            if empty:
                findings.append(Finding(item.file, item.line, rid, "schema", f"empty {empty[0]} message"))
                continue
            stale = item.record.stale_gates()
            if stale:
                # A verdict carried on the row for other content: an edit after gating, or a copy.
                findings.append(
                    Finding(item.file, item.line, rid, "stale", f"the {', '.join(stale)} verdict(s) on this row "
                            "were given to other content: re-run the gates on it")  # fmt: skip
                )
                continue
            loaded.append(item)
    return loaded, sorted(findings, key=lambda f: (f.file, f.line))


def validate(
    paths: Sequence[str | Path],
    *,
    ledger: Ledger,
    compile_settings: CompileSettings | None = None,
    judge: JudgeSettings | None = None,
    judge_base_url: str | None = None,
) -> Outcome:
    """Schema, then the compile gate, then (with ``judge`` and its key) the judge on what compiled."""
    from rustgate.gates.compile import CompileGate

    loaded, findings = schema_findings(paths)
    outcome = Outcome(records=len(loaded) + len(findings), findings=findings)
    settings = compile_settings or CompileSettings()
    gate = settings.build(StageContext(ledger))
    assert isinstance(gate, CompileGate)
    results = gate.check([item.record for item in loaded])
    passed: list[LoadedRecord] = []
    for item, result in zip(loaded, results, strict=True):
        if result.cached:
            outcome.cached += 1
        elif result.verdict not in ("rejected", "error"):
            outcome.compiled += 1
        if result.passed:
            passed.append(item.__class__(item.record.with_gate(result), item.file, item.line))
        else:
            outcome.findings.append(
                Finding(item.file, item.line, item.record.id, result.verdict, result.first_problem())
            )
    if judge is not None:
        _judge(passed, outcome, ledger, judge, judge_base_url)
    outcome.findings.sort(key=lambda f: (f.file, f.line))
    return outcome


def _judge(
    items: list[LoadedRecord], outcome: Outcome, ledger: Ledger, settings: JudgeSettings, base_url: str | None
) -> None:
    """Judge the compiled records when a key is present; without one, say so and skip."""
    from rustgate.llm.client import LLMClient
    from rustgate.llm.errors import LLMConfigError

    try:
        gate = settings.build(StageContext(ledger, lambda model: LLMClient(model, ledger=ledger, base_url=base_url)))
    except LLMConfigError as exc:
        outcome.notes.append(f"judge skipped: {exc}")
        return
    results = asyncio.run(gate.evaluate([item.record for item in items]))
    outcome.judged = len(results)
    for item, result in zip(items, results, strict=True):
        if not result.passed:
            message = result.reason or "no reason given"
            outcome.findings.append(Finding(item.file, item.line, item.record.id, f"judge {result.verdict}", message))
