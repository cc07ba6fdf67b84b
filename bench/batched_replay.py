"""Batched replay (the default) against single replay, side by side in one run.

    python bench/batched_replay.py [--per-crate 20]

Two sets from ``bench/compile_gate.py``'s samples: all of them (axum, leptos, rig; about two in
three pass) and only those that pass (what validation and re-imports of gated data see). Each
set is checked with ``method="single"`` and ``method="replay"`` in alternating rounds, cache off;
verdicts must agree. Prints how the batches decided (done in a batch / batched again / alone)
and the last line ``ratio_mixed=X ratio_passing=Y`` (single seconds / batched seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_gate import samples  # noqa: E402

from rustgate.executors.local import LocalExecutor  # noqa: E402
from rustgate.gates.compile import CompileGate, Method  # noqa: E402
from rustgate.records import Record  # noqa: E402


def timed(records: list[Record], method: Method) -> tuple[float, list[str], dict[str, int]]:
    executor = LocalExecutor()
    started = time.perf_counter()
    results = CompileGate(use_cache=False, method=method, executor=executor).check(records)
    return time.perf_counter() - started, [r.verdict for r in results], dict(executor.batch_counts)


def compare(name: str, records: list[Record], rounds: int) -> float:
    best: dict[str, float] = {}
    verdicts: dict[str, list[str]] = {}
    for _ in range(rounds):
        for method in ("single", "replay"):
            seconds, verdicts[method], counts = timed(records, method)  # type: ignore[arg-type]
            best[method] = min(best.get(method, seconds), seconds)
        assert verdicts["single"] == verdicts["replay"], "batched and single verdicts differ"
    n = len(records)
    print(f"{name}: batches decided {counts}")
    print(f"{name}: {n} samples  single {n / best['single']:.1f} samples/s  replay {n / best['replay']:.1f} samples/s")
    return best["single"] / best["replay"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-crate", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    records = samples(args.per_crate)
    verdicts = [r.verdict for r in CompileGate(use_cache=False).check(records)]
    passing = [r for r, v in zip(records, verdicts, strict=True) if v == "pass"]
    mixed = compare("mixed", records, args.rounds)
    clean = compare("passing", passing, args.rounds)
    print(f"ratio_mixed={mixed:.2f} ratio_passing={clean:.2f}")


if __name__ == "__main__":
    main()
