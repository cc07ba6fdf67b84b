"""What the generator is told when its answer failed a code gate, so its next attempt can fix it.

An answer that did not compile gets the compiler's errors. One that compiled but failed a later
tier gets that tier's evidence instead: the failing tests with their panics, the program's panic
or exit with the requests it was sent, or the lints clippy denied. The kind picks the repair
prompt (``prompts.REPAIR_PROMPTS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rustgate.records import Diagnostic, GateResult

FEEDBACK_CHARS = 6000
_LATER_TIERS = ("run", "test", "clippy")  # the last tier of the gate first: the one that decided


@dataclass(frozen=True)
class Feedback:
    kind: str  # "compile", "clippy", "test" or "run": which repair prompt tells it
    text: str


def repair_feedback(result: GateResult) -> Feedback:
    tiers: Mapping[str, Any] = result.details.get("tiers") or {}
    compiled = (tiers.get("compile") or {}).get("verdict", result.verdict)
    if compiled == "pass":
        for tier in _LATER_TIERS:
            entry = tiers.get(tier) or {}
            if entry.get("verdict") == result.verdict:
                text = _test_text(entry) if tier == "test" else _run_text(entry) if tier == "run" else None
                return Feedback(tier, (text or _errors(result))[:FEEDBACK_CHARS])
    return Feedback("compile", _errors(result)[:FEEDBACK_CHARS])


def _errors(result: GateResult) -> str:
    """The error-level diagnostics as rustc rendered them; the reason when there are none."""
    diagnostics = result.diagnostics or [Diagnostic(level="error", message=result.reason or "")]
    errors = [d.rendered or d.short() for d in diagnostics if d.level.startswith("error")]
    return "\n".join(errors)[:FEEDBACK_CHARS] or result.reason or "(no output)"


def _test_text(entry: Mapping[str, Any]) -> str | None:
    failures = entry.get("failures") or []
    if not failures:
        return entry.get("reason")
    counts = entry.get("tests") or {}
    lines = [f"{counts.get('failed', len(failures))} failed, {counts.get('passed', 0)} passed:"]
    lines += [f"---- {f['test']} ----\n{f['message']}" for f in failures]
    return "\n".join(lines)


def _run_text(entry: Mapping[str, Any]) -> str | None:
    reason = entry.get("reason")
    if not reason:
        return None
    lines = [reason]
    for run in entry.get("runs") or []:
        sent = [f"GET {r['path']} -> {r.get('status') or 'no response'}" for r in run.get("requests") or []]
        if sent:
            lines.append(f"{run.get('program', 'the program')} was sent: " + "; ".join(sent))
    return "\n".join(lines)
