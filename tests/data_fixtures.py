"""Builders for dataset tests: canonical rows, gated records, and distinct cheap Rust samples."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rustgate.records import GateResult, Record

FENCE = "```"


def rust_answer(code: str, prose: str = "Here is one way:") -> str:
    return f"{prose}\n\n{FENCE}rust\n{code.strip()}\n{FENCE}\n"


def distinct_code(i: int) -> str:
    """A small, valid, lib-only Rust function; each ``i`` a different program and a distinct compile."""
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "lambda", "zeta"]
    name = f"{words[i % len(words)]}_{i}"
    return (
        f"pub struct {name.title().replace('_', '')} {{ pub value: u64 }}\n\n"
        f"pub fn {name}(values: &[u64]) -> u64 {{\n"
        f"    values.iter().map(|v| v.wrapping_mul({i + 3})).fold({i}, |a, b| a ^ b)\n"
        f"}}\n"
    )


def bad_code(i: int) -> str:
    return f'pub fn broken_{i}() -> u32 {{\n    "not a number"\n}}\n'


def row(rid: str, code: str, *, crate: str = "rust", prompt: str | None = None, **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid,
        "crate": crate,
        "messages": [
            {"role": "user", "content": prompt or f"Write the function for task {rid}."},
            {"role": "assistant", "content": rust_answer(code)},
        ],
    }
    if meta:
        out["meta"] = meta
    return out


def write_rows(path: Path, rows: Iterable[dict[str, Any] | str]) -> Path:
    """One line per row; a ``str`` is written verbatim (to plant malformed lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for item in rows:
            handle.write((item if isinstance(item, str) else json.dumps(item)) + "\n")
    return path


def gated(
    rid: str,
    code: str,
    *,
    crate: str = "rust",
    compile_verdict: str = "pass",
    judge_scores: dict[str, float] | None = None,
    prompt: str | None = None,
) -> Record:
    """A record with gate results attached, as a pipeline run would leave it."""
    record = Record.model_validate(row(rid, code, crate=crate, prompt=prompt))
    record = record.with_gate(
        GateResult(
            gate="compile",
            verdict=compile_verdict,  # type: ignore[arg-type]
            version="1",
            details={"toolchain": "rustc 1.95.0 (59807616e 2026-04-14)", "profile": crate},
        )
    )
    if judge_scores is not None:
        mean = sum(judge_scores.values()) / len(judge_scores)
        record = record.with_gate(
            GateResult(
                gate="judge",
                verdict="pass" if mean >= 7 else "fail",
                version="judge/1:abc123",
                scores=judge_scores,
                details={"model": "anthropic:claude-test", "samples": [{"cost_usd": 0.002}]},
            )
        )
    return record


def write_records(path: Path, records: Iterable[Record]) -> Path:
    return write_rows(path, (r.to_row(with_gates=True) for r in records))
