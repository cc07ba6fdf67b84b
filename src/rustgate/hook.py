"""The dataset check behind the pre-commit hook: schema, the compile gate, and (optionally) the judge.

It fails closed: a bad row, a failed or errored gate, anything but a pass, is a finding and a
non-zero exit. Unchanged records cost next to nothing: a run of lines unchanged since the last run
is matched by one hash of its bytes and neither split nor parsed (``rustgate.memo``,
``rustgate.linescan``: under the same toolchain, profiles, settings and code, it names its
outcome); an edited record's code is looked up in the ledger by a hash of its code, toolchain,
lockfile and gate version before compiling, and the judge's calls are cached there too, so only
new or edited code reaches rustc or an API. Files are read as a stream and gated in chunks, so
memory does not grow with their size.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rustgate.data.formats import detect_format, iter_records
from rustgate.data.jsonl import InputError, LoadedRecord, overlong_error, parse_line
from rustgate.display import one_line
from rustgate.gates.base import Gate, StageContext
from rustgate.gates.compile import CompileGate, CompileSettings
from rustgate.hooklines import FileLines, IdRegistry
from rustgate.ledger import Ledger, stable_hash
from rustgate.linescan import Known, Line, LineScanner, Overlong, Span
from rustgate.memo import LineMemo

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


class _Validation:
    """One pass over the files: unchanged lines from the memo, the rest parsed, checked and gated."""

    def __init__(self, outcome: Outcome, memo: LineMemo | None, gate: CompileGate | None) -> None:
        self.outcome, self.memo, self.gate = outcome, memo, gate
        self.files: list[FileLines] = []
        self.ids = IdRegistry(self.files)
        self.pending: list[tuple[FileLines, int, LoadedRecord]] = []
        self.loaded: list[LoadedRecord] = []  # what would reach the gate (``schema_findings``)
        self.to_judge: list[tuple[FileLines, int, LoadedRecord]] = []
        self.judging = False

    def read(self, path: str | Path) -> None:
        name = str(path)
        try:
            remembered = self.memo is not None and detect_format(path) == "jsonl"
        except ValueError as exc:
            self.outcome.findings.append(Finding(name, 0, "-", "schema", f"cannot read: {exc}"))
            return
        file = FileLines(name, self.memo.load(path) if self.memo is not None and remembered else None)
        self.files.append(file)
        try:
            if file.snapshot is not None:
                scanner = LineScanner(path, file.snapshot)
                for item in scanner:
                    if isinstance(item, Span):
                        self._group(file, item)
                    elif isinstance(item, Known):
                        self._known(file, item)
                    elif isinstance(item, Overlong):
                        pos = file.line()
                        self._parse(file, pos, overlong_error(file.name, pos + 1, item.size))
                        file.forget.add(pos)  # not read, so not remembered either
                    else:
                        self._line(file, item)
                file.spans = scanner.spans
            else:
                for parsed in iter_records(path):
                    file.blank += parsed.line - 1 - file.count  # blank lines are not rows
                    file.count = parsed.line - 1
                    pos = file.line()
                    self._parse(file, pos, parsed)
                    self.ids.add(file, pos, file.own[pos])
                    self._gate(file, pos, parsed)
        except (OSError, ValueError) as exc:
            self.outcome.findings.append(Finding(name, 0, "-", "schema", f"cannot read: {exc}"))
            file.snapshot = None  # a file read in part is never remembered

    def _group(self, file: FileLines, span: Span) -> None:
        """A remembered group, unchanged: nothing parsed, its ids not even decoded."""
        assert span.group is not None
        base = file.take(span.group)
        self.outcome.cached += span.group.count - span.group.blank
        self.ids.add_group(file, base, span.group)

    def _known(self, file: FileLines, known: Known) -> None:
        """Lines the snapshot has elsewhere (an edit or a move beside them): outcomes as they were."""
        assert file.snapshot is not None
        for group, start, count in file.snapshot.segments(known.place, known.count):
            base, ids, blank = file.known(group, start, count)
            self.outcome.cached += count - blank
            self.ids.add_many(file, base, ids)

    def _line(self, file: FileLines, line: Line) -> None:
        """A line the snapshot does not have: parsed, checked, queued for the gates."""
        pos = file.line()
        raw = line.raw.rstrip(b"\r")
        if not raw.strip():
            file.blank += 1
            return
        parsed = parse_line(raw, file.name, pos + 1)
        self._parse(file, pos, parsed)
        self.ids.add(file, pos, file.own[pos])
        self._gate(file, pos, parsed)

    def _parse(self, file: FileLines, pos: int, parsed: LoadedRecord | InputError) -> None:
        """The line's id and its schema problems (a row that is no record has no id)."""
        if isinstance(parsed, InputError):
            file.problems[pos] = [(parsed.record_id or "<no id>", "schema", parsed.message)]
            return
        record = parsed.record
        file.own[pos] = record.id
        empty = [m.role for m in record.messages if m.role != "system" and not m.content.strip()]
        stale = record.stale_gates()
        if empty:
            file.problems[pos] = [(record.id, "schema", f"empty {empty[0]} message")]
        elif stale:
            # A verdict carried on the row for other content: an edit after gating, or a copy.
            message = f"the {', '.join(stale)} verdict(s) on this row were given to other content: "
            file.problems[pos] = [(record.id, "stale", message + "re-run the gates on it")]

    def _gate(self, file: FileLines, pos: int, parsed: LoadedRecord | InputError) -> None:
        """Queue a parsed record for the gates, unless the schema or a repeated id already stopped it."""
        if isinstance(parsed, InputError) or pos in file.problems:
            return
        if pos in file.duplicates:
            file.forget.add(pos)  # its own outcome is unknown: it never reached a gate
            return
        if self.gate is None:
            self.loaded.append(parsed)
            return
        file.forget.add(pos)  # until its verdicts are in
        self.pending.append((file, pos, parsed))
        if len(self.pending) >= CHUNK:
            self.compile()

    def compile(self) -> None:
        """The compile gate on the records queued so far (unchanged code comes from the ledger)."""
        batch, self.pending = self.pending, []
        if self.gate is None or not batch:
            return
        results = self.gate.check([item.record for _, _, item in batch])
        for (file, pos, item), result in zip(batch, results, strict=True):
            if result.cached:
                self.outcome.cached += 1
            elif result.verdict not in ("rejected", "error"):
                self.outcome.compiled += 1
            if result.verdict != "error":
                file.forget.discard(pos)
            if not result.passed:
                file.problems[pos] = [(item.record.id, result.verdict, result.first_problem())]
            elif self.judging:
                self.to_judge.append((file, pos, LoadedRecord(item.record.with_gate(result), item.file, item.line)))

    def judge(self, gate: Gate) -> None:
        """The judge on what compiled, in one go (its calls are cached in the ledger)."""
        results = asyncio.run(gate.evaluate([item.record for _, _, item in self.to_judge]))
        self.outcome.judged = len(results)
        for (file, pos, item), result in zip(self.to_judge, results, strict=True):
            if result.verdict == "error":
                file.forget.add(pos)
            if not result.passed:
                file.problems[pos] = [(item.record.id, f"judge {result.verdict}", result.reason or "no reason given")]
        self.to_judge = []

    def finish(self) -> None:
        """Findings in file order; the memo of each file read whole, rewritten where it changed."""
        saved = False
        for file in self.files:
            self.outcome.records += file.count - file.blank
            for pos, message in file.duplicates.items():  # a repeated id is all there is to say about the row
                self.outcome.findings.append(Finding(file.name, pos + 1, file.id_at(pos) or "-", "schema", message))
            for pos, found in file.problems.items():
                if pos not in file.duplicates:
                    for rid, verdict, message in found:
                        self.outcome.findings.append(Finding(file.name, pos + 1, rid, verdict, message))
            if self.memo is not None and file.snapshot is not None:
                groups = file.groups_now()
                if [group.key for group in groups] != file.snapshot.keys:
                    self.memo.save(file.name, groups, set(file.snapshot.keys))
                    saved = True
        if saved and self.memo is not None:
            self.memo.prune()
        self.outcome.findings.sort(key=lambda f: (f.file, f.line))


OUTSIDE = "resolves outside the repository (a symlink?): not read; commit the dataset file itself"


def repository_root(start: Path) -> Path | None:
    """The git work tree holding ``start`` (where ``.git`` is, a folder or a worktree's file), else None."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _leaves(path: Path, root: Path) -> bool:
    """A path named inside the repository that resolves outside it. A path the user names outside
    the repository (``rustgate validate /data/x.jsonl``) is their choice, and read."""
    named = Path(os.path.normpath(path.absolute()))
    if not named.is_relative_to(root):
        return False
    try:
        return not path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return True


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
    root: Path | None = None,
) -> Outcome:
    """Schema, then the compile gate, then (with ``judge`` and its key) the judge on what compiled.

    With ``root`` (the repository, see ``repository_root``), a path that resolves outside it
    (a symlink to a file elsewhere on the machine) is refused unread: a change cannot make the
    hook read, and echo, a file that is not in the repository.

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
        memo = LineMemo(ledger, stable_hash("hook/2", context, judge_gate.identity() if judge_gate else None))
    run = _Validation(outcome, memo, gate)
    run.judging = judge_gate is not None
    seen: set[Path] = set()
    for path in paths:
        if root is not None and _leaves(Path(path), root):  # a symlink out of the repository: not read
            outcome.findings.append(Finding(str(path), 0, "-", "refused", OUTSIDE))
            continue
        real = Path(path).resolve()
        if real not in seen:  # a symlink to a file also named: one file, read once
            seen.add(real)
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
