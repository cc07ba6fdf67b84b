"""The test tier's doc examples: each built example run as a program in the sandbox, counted
with the answer's own tests (``doc_examples`` makes the programs).

An example passes when its program ends well (exit 0, or still running at the end of its run
window, as a server does); a ``should_panic`` one when it panics; a ``no_run`` one by being
built. A failure the outside world caused (no network, no API key) is inconclusive, as in the
run tier. An example that does not compile fails with the compiler's first error.
"""

from __future__ import annotations

import time
from typing import Any

from rustgate.cargo.doc_examples import DocExample
from rustgate.cargo.replay import CheckOutcome, executables
from rustgate.cargo.run_reading import panic_message
from rustgate.cargo.run_tiers import (
    TierContext,
    abnormal_run,
    program_verdict,
    run_executable,
    test_timeout,
    tests_verdict,
)


def run_doc_examples(ctx: TierContext, examples: list[DocExample], window_s: float) -> CheckOutcome:
    """Every example in order, within ``window_s`` (what the answer's tests left of the test window)."""
    programs = {e.label: e for e in executables(ctx.source) if not e.test}
    counts = {"passed": 0, "failed": 0, "ignored": 0}
    failures: list[dict[str, str]] = []
    started = time.monotonic()
    for index, example in enumerate(examples):
        if not example.built:
            counts["ignored"] += 1
            continue
        if example.no_run:
            counts["passed"] += 1
            continue
        left = window_s - (time.monotonic() - started)
        if left <= 0.5:
            return test_timeout(ctx, started)
        exe = programs[example.path(index)]
        run = run_executable(ctx, exe, [], min(ctx.run_limits.window_s, left))
        abnormal = abnormal_run(run, ctx)
        if abnormal is not None:
            return abnormal
        outcome = program_verdict(run, ctx, exe)
        panicked = panic_message(run.stderr) is not None and run.exit_code == 101
        if example.should_panic:
            ok = panicked
            message = "the example did not panic (should_panic)" if not ok else ""
        else:
            ok = outcome.verdict == "pass"
            message = (outcome.reason or "").replace(f"{exe.label}: ", "", 1)
        if ok:
            counts["passed"] += 1
        else:
            counts["failed"] += 1
            failures.append({"test": example.label, "message": message})
    return tests_verdict(counts, failures, time.monotonic() - started, doc_examples=len(examples))


def unbuilt_doc_examples(built: CheckOutcome, examples: list[DocExample]) -> CheckOutcome:
    """The examples' build failed: each example with an error in its program fails with it."""
    counts = {"passed": 0, "failed": 0, "ignored": sum(not e.built for e in examples)}
    failures: list[dict[str, str]] = []
    for index, example in enumerate(examples):
        errors = [d for d in built.diagnostics if d.level.startswith("error") and d.file == example.path(index)]
        if example.built and errors:
            counts["failed"] += 1
            failures.append({"test": example.label, "message": f"does not compile: {errors[0].short()}"})
    if not failures:  # the library itself, or something of ours: the build's own verdict stands
        built.reason = f"the doc examples' build failed: {built.reason}"
        return built
    return tests_verdict(counts, failures, built.duration_s, doc_examples=len(examples))


def with_doc_examples(tests: CheckOutcome, docs: CheckOutcome) -> CheckOutcome:
    """The answer's tests and its doc examples as one test tier: counts added, failures joined."""
    ours, theirs = tests.details.get("tests"), docs.details.get("tests")
    if tests.verdict in ("timeout", "error") or (tests.verdict != "pass" and ours is None):
        return tests  # the tests' own run broke: nothing to add to
    if theirs is None:
        return docs
    counts = {k: (ours or {}).get(k, 0) + theirs.get(k, 0) for k in ("passed", "failed", "ignored")}
    failures = [*tests.details.get("failures", []), *docs.details.get("failures", [])]
    extra: dict[str, Any] = {"doc_examples": docs.details.get("doc_examples", 0)}
    return tests_verdict(counts, failures, tests.duration_s + docs.duration_s, **extra)
