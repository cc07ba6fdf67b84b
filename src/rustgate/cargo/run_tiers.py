"""The test and run tiers: an answer that compiled is built with code, then executed.

``test``: every test binary of the answer (unit tests of its library and binaries, ``tests/*.rs``)
runs in the sandbox; a failing test makes the answer ``fail`` with the test's name and panic. An
answer with no tests: the tier does not apply. ``run``: every program runs for a window; a
panic, a non-zero exit or a signal is a ``fail``; exit 0, or still running at the end (a
server, which gets one GET on ``/`` and on each literal GET route it registers), passes. A
failure caused by the outside world (``run_reading``) is ``inconclusive``.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rustgate.cargo.doc_examples import doc_examples
from rustgate.cargo.execute import MAX_ROUTES, ProgramRun, RunLimits, run_env, run_program
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.isolation import Isolation
from rustgate.cargo.replay import CheckOutcome, Executable, executables
from rustgate.cargo.run_reading import failure_message, outside_world, panic_message
from rustgate.cargo.sandbox import Limits
from rustgate.cargo.toolchain import Toolchain
from rustgate.records import Diagnostic

RUN_TIERS = ("test", "run")
_TEST_ATTRIBUTE = re.compile(r"#\[\s*(?:[\w:]+::)?test\b")
_GET_ROUTE = re.compile(r"\.route\(\s*\"(/[^\"]*)\"\s*,\s*(?:[\w:]+::)?get\s*\(")
_TEST_LINE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)", re.M)
_SUMMARY = re.compile(r"^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored", re.M)


@dataclass
class TierContext:
    """What both tiers need to execute one built sample."""

    source: CrateSource
    root: Path  # the built package: ``out/<crate_name>`` are its executables
    env: dict[str, str]
    limits: Limits
    run_limits: RunLimits
    isolation: Isolation
    toolchain: Toolchain
    runs_natively: bool = True  # False for wasm-only profiles (leptos csr): the run tier does not apply


def has_tests(source: CrateSource) -> bool:
    return any(_TEST_ATTRIBUTE.search(text) for path, text in source.files.items() if path.endswith(".rs"))


def literal_routes(source: CrateSource) -> tuple[str, ...]:
    """``/`` and the answer's literal GET routes (no captures, no wildcards), at most ``MAX_ROUTES``."""
    routes = ["/"]
    for path, text in source.files.items():
        if path.endswith(".rs"):
            routes += [r for r in _GET_ROUTE.findall(text) if not any(c in r for c in "{}:*")]
    return tuple(dict.fromkeys(routes))[:MAX_ROUTES]


def not_applicable(why: str) -> CheckOutcome:
    return CheckOutcome("pass", reason=why, details={"applies": False})


def tier_applies(tier: str, source: CrateSource, runs_natively: bool) -> bool:
    """Whether ``test``/``run`` has anything to execute in this answer, built or not."""
    if tier == "test":
        return has_tests(source) or bool(doc_examples(source))
    return runs_natively and any(not e.test for e in executables(source))


def unreached_tiers(
    compiled: CheckOutcome, asked: Sequence[str], source: CrateSource, runs_natively: bool
) -> CheckOutcome:
    """An answer that did not compile, with the test/run tiers it never reached: where a tier
    applies it carries the compile verdict (a program that does not compile does not run, so
    run and test pass@1 count it), where it would not apply it says so. The verdict is unchanged."""
    if compiled.verdict == "pass" or not asked:
        return compiled
    tiers = compiled.details.setdefault("tiers", {})
    tiers.setdefault("compile", {"verdict": compiled.verdict, "duration_s": round(compiled.duration_s, 4)})
    earlier = "compile" if tiers["compile"]["verdict"] != "pass" else "clippy"
    for tier in asked:
        if tier_applies(tier, source, runs_natively):
            reason = f"not reached: the {earlier} tier gave {compiled.verdict}"
            tiers[tier] = {"verdict": compiled.verdict, "reason": reason}
        else:
            tiers[tier] = {"verdict": "not applicable", "applies": False}
    return compiled


def run_executable(
    ctx: TierContext, exe: Executable, args: list[str], window_s: float, routes: tuple[str, ...] = ()
) -> ProgramRun:
    return run_program(
        ctx.root / "out" / exe.crate_name, args, root=ctx.root, env=run_env(ctx.env), window_s=window_s,
        limits=ctx.limits, run_limits=ctx.run_limits, isolation=ctx.isolation, toolchain=ctx.toolchain, routes=routes,
    )  # fmt: skip


def abnormal_run(run: ProgramRun, ctx: TierContext) -> CheckOutcome | None:
    """The verdict of a run that hit a wall of ours (sandbox, processes, output, clock), if it did."""
    if run.sandbox_failed:
        return CheckOutcome("error", reason=run.sandbox_failed, duration_s=run.duration_s)
    if run.too_many_processes:
        return _failed(f"started more than {ctx.run_limits.max_processes} processes", "RG-PROCESSES", run)
    if run.output_overflow:
        return _failed(f"printed more than {ctx.limits.max_stream_mb} MiB of output", "RG-OUTPUT", run)
    if run.host_timed_out or not run.report:
        return CheckOutcome("timeout", reason="the sandboxed run did not end in its window", duration_s=run.duration_s)
    return None


def _failed(message: str, code: str, run: ProgramRun, verdict: str = "fail") -> CheckOutcome:
    note = Diagnostic(level="error", code=code, message=message[:1000])
    return CheckOutcome(verdict, [note], message[:1000], run.duration_s)  # type: ignore[arg-type]


def _death(run: ProgramRun) -> tuple[str, str] | None:
    """(message, code) for a program that died or exited non-zero; None for exit 0."""
    sig = run.signal
    if sig is not None:
        if sig == signal.SIGABRT and "memory allocation of" in run.stderr:
            return "the program exceeded the memory limit", "RG-MEMORY"
        if sig == signal.SIGXCPU:
            return "the program exceeded its CPU time", "RG-CPU"
        if sig == signal.SIGXFSZ:
            return "the program wrote a file past the file-size limit", "RG-FILESIZE"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        panic = panic_message(run.stderr)
        return (f"{panic} ({name})" if panic else f"the program was killed by {name}"), "RG-SIGNAL"
    if run.exit_code not in (0, None):
        said = failure_message(run.stderr)
        return (f"exit {run.exit_code}: {said}" if said else f"exit {run.exit_code}"), "RG-EXIT"
    return None


def run_tier(ctx: TierContext) -> CheckOutcome:
    """Each program of the answer, run for the window; the first that fails decides."""
    programs = [e for e in executables(ctx.source) if not e.test]
    if not ctx.runs_natively:
        return not_applicable("the profile builds for the browser (wasm): nothing runs here")
    if not programs:
        return not_applicable("the answer has no binary to run")
    routes = literal_routes(ctx.source)
    runs: list[dict[str, Any]] = []
    outcome = CheckOutcome("pass")
    started = time.monotonic()
    for exe in programs:
        run = run_executable(ctx, exe, [], ctx.run_limits.window_s, routes)
        entry: dict[str, Any] = {"program": exe.label, "duration_s": round(run.duration_s, 3)}
        entry.update({k: run.report[k] for k in ("running", "exit", "signal", "port", "requests") if k in run.report})
        runs.append(entry)
        outcome = program_verdict(run, ctx, exe)
        if outcome.verdict != "pass":
            break
    outcome.duration_s = time.monotonic() - started
    outcome.details["runs"] = runs
    return outcome


def program_verdict(run: ProgramRun, ctx: TierContext, exe: Executable) -> CheckOutcome:
    abnormal = abnormal_run(run, ctx)
    if abnormal is not None:
        return abnormal
    death = _death(run)
    panic = panic_message(run.stderr)
    if death is None and panic is None:
        return CheckOutcome("pass", duration_s=run.duration_s)
    message, code = death or (f"panicked: {panic}", "RG-PANIC")
    why = outside_world(panic or failure_message(run.stderr))
    if why is not None:
        return _failed(f"{exe.label}: needs the outside world ({why}): {message}", "RG-OUTSIDE", run, "inconclusive")
    return _failed(f"{exe.label}: {message}", code, run)


def test_tier(ctx: TierContext) -> CheckOutcome:
    """Every test binary, in the time the test window leaves; failing tests named with their panics."""
    binaries = [e for e in executables(ctx.source) if e.test]
    if not binaries or not has_tests(ctx.source):
        return not_applicable("the answer has no tests")
    started = time.monotonic()
    counts = {"passed": 0, "failed": 0, "ignored": 0}
    failures: list[dict[str, str]] = []
    for exe in binaries:
        left = ctx.run_limits.test_window_s - (time.monotonic() - started)
        if left <= 0.5:
            return test_timeout(ctx, started)
        run = run_executable(ctx, exe, ["--color", "never", "--test-threads", "2"], left)
        abnormal = abnormal_run(run, ctx)
        if abnormal is not None:
            return abnormal
        if run.still_running:
            return test_timeout(ctx, started)
        summary = _SUMMARY.search(run.stdout)
        death = _death(run)
        if summary is None:
            # No summary: the binary died, or a test ended the process itself (std::process::exit).
            message = death[0] if death else "the test binary exited before reporting its results"
            failures.append({"test": exe.label, "message": message})
            break
        for key, group in (("passed", 2), ("failed", 3), ("ignored", 4)):
            counts[key] += int(summary.group(group))
        failures += [{"test": name, "message": _test_panic(run.stdout, name)} for name in _failing(run.stdout)]
    return tests_verdict(counts, failures, time.monotonic() - started)


def tests_verdict(
    counts: dict[str, int], failures: list[dict[str, str]], duration: float, **details: Any
) -> CheckOutcome:
    """The test tier's verdict from its counts and failures: a failure fails it, unless every
    failure is the outside world's (inconclusive); nothing that ran: the tier does not apply."""
    details = {"tests": counts, **details}
    if not failures:
        if counts["passed"] == 0:
            details["applies"] = False
            return CheckOutcome("pass", reason="no test ran", duration_s=duration, details=details)
        return CheckOutcome("pass", duration_s=duration, details=details)
    details["failures"] = failures[:20]
    names = ", ".join(f["test"] for f in failures[:5])
    first = failures[0]["message"]
    if all(outside_world(f["message"]) for f in failures):
        reason = f"tests need the outside world ({outside_world(first)}): {names}: {first}"
        note = Diagnostic(level="error", code="RG-OUTSIDE", message=reason[:1000])
        return CheckOutcome("inconclusive", [note], reason[:1000], duration, details)
    reason = f"{len(failures)} test(s) failed: {names}: {first}"
    note = Diagnostic(level="error", code="RG-TEST", message=reason[:1000])
    return CheckOutcome("fail", [note], reason[:1000], duration, details)


def _failing(stdout: str) -> list[str]:
    return [name for name, result in _TEST_LINE.findall(stdout) if result == "FAILED"]


def _test_panic(stdout: str, name: str) -> str:
    """The panic a failing test printed (libtest's ``---- name stdout ----`` section)."""
    head = f"---- {name} stdout ----"
    start = stdout.find(head)
    if start < 0:
        return "failed"
    section = stdout[start + len(head) :].split("\n---- ", 1)[0].split("\nfailures:", 1)[0]
    return panic_message(section) or section.strip()[:500] or "failed"


def test_timeout(ctx: TierContext, started: float) -> CheckOutcome:
    reason = f"tests still running after the test window ({ctx.run_limits.test_window_s:g}s)"
    return CheckOutcome("timeout", reason=reason, duration_s=time.monotonic() - started)


_RANK = {"pass": 0, "inconclusive": 1, "fail": 2, "rejected": 3, "timeout": 4, "error": 5}


def apply_run_tiers(
    compiled: CheckOutcome, results: Sequence[tuple[str, CheckOutcome]], build_s: float = 0.0
) -> CheckOutcome:
    """The answer's outcome with its test/run tiers: each tier's result in ``details.tiers``, the
    verdict the worst of those that apply (an inapplicable tier leaves it unchanged). ``build_s``:
    the one build with code both tiers ran (reported with each)."""
    tiers = compiled.details.setdefault("tiers", {})
    tiers.setdefault("compile", {"verdict": compiled.verdict, "duration_s": round(compiled.duration_s, 4)})
    worst = compiled
    compiled.duration_s += build_s
    for name, outcome in results:
        entry: dict[str, Any] = {"verdict": outcome.verdict, "duration_s": round(outcome.duration_s, 4)}
        if outcome.reason:
            entry["reason"] = outcome.reason
        entry.update(outcome.details)
        if build_s:
            entry["build_s"] = round(build_s, 4)
        if entry.get("applies") is False:
            entry["verdict"] = "not applicable"
        tiers[name] = entry
        compiled.duration_s += outcome.duration_s
        if entry.get("applies") is not False and _RANK[outcome.verdict] > _RANK[worst.verdict]:
            worst = CheckOutcome(
                outcome.verdict, [*outcome.diagnostics, *compiled.diagnostics], f"{name} tier: {outcome.reason}",
                compiled.duration_s, compiled.details,
            )  # fmt: skip
    worst.duration_s = compiled.duration_s
    return worst
