"""The clippy tier: the answer's code replayed through ``clippy-driver``, lints counted.

clippy-driver is rustc with clippy's lints registered, from the same toolchain, so it reads the
same warm dependency metadata the compile gate replays against: no cargo, no second build of
the dependencies, the same sandbox and limits. It runs only on code that compiled. Clippy is a
score by default (lint counts by name and level in ``details.tiers.clippy``); ``deny`` names the
lints (or ``warnings``: every clippy lint) that make the answer ``fail``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rustgate.cargo.replay import CheckOutcome
from rustgate.cargo.toolchain import Toolchain
from rustgate.records import Diagnostic

CLIPPY = "RG-CLIPPY"


def clippy_driver(toolchain: Toolchain) -> Path | None:
    """The toolchain's own clippy-driver (a driver of another toolchain could not read the metadata)."""
    path = toolchain.sysroot / "bin" / "clippy-driver"
    return path if path.is_file() else None


def missing_clippy(toolchain: Toolchain) -> str:
    return (
        f"the clippy tier was asked for, but this toolchain ({toolchain.version}) has no clippy-driver in "
        f"{toolchain.sysroot / 'bin'}: run `rustup component add clippy`, or leave clippy out of the tiers"
    )


def lint_name(diagnostic: Diagnostic) -> str | None:
    code = diagnostic.code or ""
    return code if code.startswith("clippy::") else None


def lint_counts(diagnostics: list[Diagnostic]) -> dict[str, dict[str, int]]:
    """``{"clippy::needless_return": {"warning": 2}}``, names sorted."""
    counts: Counter[tuple[str, str]] = Counter()
    for d in diagnostics:
        name = lint_name(d)
        if name is not None:
            counts[(name, d.level)] += 1
    out: dict[str, dict[str, int]] = {}
    for (name, level), n in sorted(counts.items()):
        out.setdefault(name, {})[level] = n
    return out


def _denied(name: str, deny: tuple[str, ...]) -> bool:
    return "warnings" in deny or name in deny or name.removeprefix("clippy::") in deny


def apply_clippy(compiled: CheckOutcome, clippy: CheckOutcome, deny: tuple[str, ...]) -> CheckOutcome:
    """The answer's outcome with the clippy tier's: lints in the details; a denied lint fails it.
    A clippy run that could not finish (a crash, a timeout, a sandbox fault) is that verdict:
    an asked-for tier is never silently passed."""
    lints = lint_counts(clippy.diagnostics)
    tier: dict[str, Any] = {"verdict": "pass", "duration_s": round(clippy.duration_s, 4), "lints": lints}
    tiers = compiled.details.setdefault("tiers", {})
    tiers["compile"] = {"verdict": compiled.verdict, "duration_s": round(compiled.duration_s, 4)}
    tiers["clippy"] = tier
    compiled.duration_s += clippy.duration_s
    found = [d for d in clippy.diagnostics if lint_name(d) is not None]
    errors = [d for d in clippy.diagnostics if d.level.startswith("error") and lint_name(d) is None]
    if clippy.verdict != "pass" and (errors or not found):
        tier["verdict"] = clippy.verdict
        reason = f"clippy tier: {clippy.reason or clippy.verdict}"
        verdict = clippy.verdict if clippy.verdict in ("error", "timeout") else "error"
        return CheckOutcome(verdict, compiled.diagnostics, reason, compiled.duration_s, compiled.details)
    denied = [d for d in found if _denied(lint_name(d) or "", deny)]
    compiled.diagnostics = [*compiled.diagnostics, *found]
    if not denied:
        return compiled
    first = denied[0]
    where = f" ({first.file}:{first.line}:{first.column})" if first.file else ""
    reason = f"clippy: `{lint_name(first)}` is denied: {first.message}{where}"
    tier["verdict"] = "fail"
    tier["denied"] = sorted({lint_name(d) or "" for d in denied})
    note = Diagnostic(level="error", code=CLIPPY, message=reason, file=first.file, line=first.line, column=first.column)
    return CheckOutcome("fail", [note, *compiled.diagnostics], reason, compiled.duration_s, compiled.details)
