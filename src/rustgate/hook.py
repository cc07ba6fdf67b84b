"""The dataset check behind the pre-commit hook: schema, the compile gate, and (optionally) the judge.

It fails closed: a bad row, a failed or errored gate, anything but a pass, is a finding and a
non-zero exit. Unchanged records cost nothing: a line unchanged since the last run is not even
parsed (``rustgate.memo``: its raw bytes' hash, under the same toolchain, profiles, settings and
code, names its outcome); an edited record's code is looked up in the ledger by a hash of its
code, toolchain, lockfile and gate version before compiling, and the judge's calls are cached
there too, so only new or edited code reaches rustc or an API. Files are read as a stream and
gated in chunks, so memory does not grow with their size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rustgate.data.formats import detect_format, iter_records
from rustgate.data.jsonl import InputError, LoadedRecord, iter_raw_lines, parse_line
from rustgate.display import one_line
from rustgate.gates.base import Gate, StageContext
from rustgate.gates.compile import CompileGate, CompileSettings
from rustgate.ledger import Ledger, stable_hash
from rustgate.memo import LineMemo, Problem, Remembered, line_hash

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


CHUNK = 2000  # records parsed and compiled together: memory stays bounded on any file size


@dataclass(eq=False)
class _Line:
    """One non-blank line: its hash (JSONL only), record id, problems, and whether to remember them."""

    file: str
    number: int
    digest: bytes | None
    record_id: str | None = None
    problems: list[Problem] = field(default_factory=list)
    keep: bool = False  # an outcome owed to this line alone, with no error in it
    duplicate: str | None = None  # the id repeats an earlier line's: a finding of this run only


class _Validation:
    """One pass over the files: unchanged lines from the memo, the rest parsed, checked and gated."""

    def __init__(self, outcome: Outcome, memo: LineMemo | None, gate: CompileGate | None) -> None:
        self.outcome, self.memo, self.gate = outcome, memo, gate
        self.files: list[tuple[str, list[_Line], dict[bytes, Remembered]]] = []
        self.first: dict[str, str] = {}  # id -> "file:line" of its first occurrence (all files)
        self.pending: list[tuple[_Line, LoadedRecord]] = []
        self.loaded: list[LoadedRecord] = []  # what reached the gate (what ``schema_findings`` returns)
        self.to_judge: list[tuple[_Line, LoadedRecord]] = []
        self.judging = False
        self.unreadable: set[str] = set()

    def read(self, path: str | Path) -> None:
        name = str(path)
        lines: list[_Line] = []
        seen: dict[str, int] = {}
        try:
            if self.memo is not None and detect_format(path) == "jsonl":
                known = self.memo.load(path)
                for number, raw in iter_raw_lines(path):
                    digest = line_hash(raw)
                    line = _Line(name, number, digest)
                    lines.append(line)
                    hit = known.get(digest)
                    if hit is not None:
                        line.record_id, line.problems, line.keep = hit.record_id, hit.problems, True
                        self.outcome.cached += 1
                        self._register(line, seen)
                    else:
                        self._parsed(line, parse_line(raw, name, number), seen)
                self.files.append((name, lines, known))
            else:
                for parsed in iter_records(path):
                    line = _Line(name, parsed.line, None)
                    lines.append(line)
                    self._parsed(line, parsed, seen)
                self.files.append((name, lines, {}))
        except (OSError, ValueError) as exc:
            self.outcome.findings.append(Finding(name, 0, "-", "schema", f"cannot read: {exc}"))
            self.files.append((name, lines, {}))
            self.unreadable.add(name)

    def _register(self, line: _Line, seen: dict[str, int]) -> bool:
        """Record the line's id; False (and a finding) when an earlier line has it."""
        rid = line.record_id
        if rid is None:
            return True
        if rid in seen:
            line.duplicate = f"duplicate id (first seen on line {seen[rid]})"
            return False
        seen[rid] = line.number
        if rid in self.first:
            line.duplicate = f"duplicate id (also at {self.first[rid]})"
            return False
        self.first[rid] = f"{line.file}:{line.number}"
        return True

    def _parsed(self, line: _Line, parsed: LoadedRecord | InputError, seen: dict[str, int]) -> None:
        if isinstance(parsed, InputError):
            line.problems, line.keep = [(parsed.record_id or "<no id>", "schema", parsed.message)], True
            return
        record = parsed.record
        line.record_id = record.id
        if not self._register(line, seen):
            return
        empty = [m.role for m in record.messages if m.role != "system" and not m.content.strip()]
        stale = record.stale_gates()
        if empty:
            line.problems, line.keep = [(record.id, "schema", f"empty {empty[0]} message")], True
        elif stale:
            # A verdict carried on the row for other content: an edit after gating, or a copy.
            message = f"the {', '.join(stale)} verdict(s) on this row were given to other content: "
            message += "re-run the gates on it"
            line.problems, line.keep = [(record.id, "stale", message)], True
        elif self.gate is None:
            self.loaded.append(parsed)
        else:
            self.pending.append((line, parsed))
            if len(self.pending) >= CHUNK:
                self.compile()

    def compile(self) -> None:
        """The compile gate on the records read so far (unchanged code comes from the ledger)."""
        batch, self.pending = self.pending, []
        if self.gate is None or not batch:
            return
        results = self.gate.check([item.record for _, item in batch])
        for (line, item), result in zip(batch, results, strict=True):
            if result.cached:
                self.outcome.cached += 1
            elif result.verdict not in ("rejected", "error"):
                self.outcome.compiled += 1
            line.keep = result.verdict != "error"
            if not result.passed:
                line.problems = [(item.record.id, result.verdict, result.first_problem())]
            elif self.judging:
                self.to_judge.append((line, LoadedRecord(item.record.with_gate(result), item.file, item.line)))

    def judge(self, gate: Gate) -> None:
        """The judge on what compiled, in one go (its calls are cached in the ledger)."""
        results = asyncio.run(gate.evaluate([item.record for _, item in self.to_judge]))
        self.outcome.judged = len(results)
        for (line, item), result in zip(self.to_judge, results, strict=True):
            if result.verdict == "error":
                line.keep = False
            if not result.passed:
                line.problems = [(item.record.id, f"judge {result.verdict}", result.reason or "no reason given")]
        self.to_judge = []

    def finish(self) -> None:
        """Findings in file order; the memo of each file read whole, rewritten where it changed."""
        for name, lines, known in self.files:
            self.outcome.records += len(lines)
            for line in lines:
                if line.duplicate is not None:  # a repeated id is all there is to say about the row
                    self.outcome.findings.append(Finding(name, line.number, line.record_id or "-", "schema",
                                                         line.duplicate))  # fmt: skip
                    continue
                for rid, verdict, message in line.problems:
                    self.outcome.findings.append(Finding(name, line.number, rid, verdict, message))
            if self.memo is None or any(line.digest is None for line in lines) or name in self.unreadable:
                continue
            kept = [(line.digest, Remembered(line.record_id, line.problems)) for line in lines if line.keep]
            if [digest for digest, _ in kept] != list(known):
                self.memo.save(name, [(digest, memo) for digest, memo in kept if digest is not None])
        self.outcome.findings.sort(key=lambda f: (f.file, f.line))


def schema_findings(paths: Sequence[str | Path]) -> tuple[list[LoadedRecord], list[Finding]]:
    """Rows that read as records, plus every schema problem (per file and across files)."""
    outcome = Outcome()
    run = _Validation(outcome, None, None)
    for path in paths:
        run.read(path)
    run.finish()
    return run.loaded, outcome.findings


def validate(
    paths: Sequence[str | Path],
    *,
    ledger: Ledger,
    compile_settings: CompileSettings | None = None,
    judge: JudgeSettings | None = None,
    judge_base_url: str | None = None,
) -> Outcome:
    """Schema, then the compile gate, then (with ``judge`` and its key) the judge on what compiled.

    Lines unchanged since the last run under the same context (see ``rustgate.memo``) are not
    parsed again: their outcome comes from the ledger.
    """
    outcome = Outcome()
    settings = compile_settings or CompileSettings()
    gate = settings.build(StageContext(ledger))
    assert isinstance(gate, CompileGate)
    judge_gate = _judge_gate(judge, ledger, judge_base_url, outcome) if judge is not None else None
    memo = None
    context = gate.context() if settings.use_cache else None
    if context is not None:
        memo = LineMemo(ledger, stable_hash("hook/1", context, judge_gate.identity() if judge_gate else None))
    run = _Validation(outcome, memo, gate)
    run.judging = judge_gate is not None
    for path in paths:
        run.read(path)
    run.compile()
    if judge_gate is not None:
        run.judge(judge_gate)
    run.finish()
    return outcome


def _judge_gate(settings: JudgeSettings, ledger: Ledger, base_url: str | None, outcome: Outcome) -> Gate | None:
    """The judge when its key is present; without one, say so and skip it."""
    from rustgate.llm.client import LLMClient
    from rustgate.llm.errors import LLMConfigError

    try:
        return settings.build(StageContext(ledger, lambda model: LLMClient(model, ledger=ledger, base_url=base_url)))
    except LLMConfigError as exc:
        outcome.notes.append(f"judge skipped: {exc}")
        return None
