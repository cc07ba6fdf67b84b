"""What each tier costs: seconds per sample on the shipped corpus, compile alone against
compile + clippy, measured side by side in one run, at each ``--jobs``.

    python bench/tiers.py [--jobs 1 2] [--repeat 2] [--run-tiers]

No cache (every sample compiles); the hostile samples are left out (one of them spends its whole
memory limit, ~20 s, and would be most of the time of both); profiles must be warm (`rustgate
warm`). The clippy tier needs no warm-up of its own: clippy-driver replays against the same
dependency metadata. The last line is ``clippy_over_compile=X`` (time with clippy / time
without, at the highest --jobs).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from corpus import ALL  # noqa: E402

from rustgate.gates.compile import CompileGate  # noqa: E402
from rustgate.records import Record  # noqa: E402


def timed(tiers: tuple[str, ...], jobs: int, records: list[Record]) -> tuple[float, Counter[str], Counter[str], float]:
    started = time.perf_counter()
    results = CompileGate(tiers=tiers, jobs=jobs, use_cache=False).check(records)
    elapsed = time.perf_counter() - started
    verdicts = Counter(r.verdict for r in results)
    lints: Counter[str] = Counter()
    clippy_s = 0.0  # the clippy runs' own time, from each record's details
    for r in results:
        tier = (r.details.get("tiers") or {}).get("clippy") or {}
        clippy_s += float(tier.get("duration_s", 0.0))
        for name, levels in tier.get("lints", {}).items():
            lints[name] += sum(levels.values())
    return elapsed, verdicts, lints, clippy_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (the best is kept)")
    parser.add_argument("--run-tiers", action="store_true", help="also time compile+test+run (rust, axum, rig)")
    args = parser.parse_args()
    records = [Record.model_validate(s.row()) for s in ALL if not s.id.startswith("hostile-")]
    ratio = 0.0
    for jobs in args.jobs:
        best: dict[tuple[str, ...], float] = {}
        for _ in range(args.repeat):
            for tiers in (("compile",), ("compile", "clippy")):  # interleaved: both see the same load
                elapsed, verdicts, lints, own = timed(tiers, jobs, records)
                best[tiers] = min(best.get(tiers, elapsed), elapsed)
                linted = verdicts["pass"] if tiers[-1] == "clippy" else 0
        compile_s, clippy_s = best[("compile",)], best[("compile", "clippy")]
        ratio = clippy_s / compile_s
        print(
            f"jobs={jobs} samples={len(records)} compile={compile_s / len(records) * 1000:.0f}ms/sample "
            f"compile+clippy={clippy_s / len(records) * 1000:.0f}ms/sample ratio={ratio:.2f} verdicts={dict(verdicts)} "
            f"clippy_run={own / max(1, linted) * 1000:.0f}ms per linted sample"
        )
    print(f"lints on the corpus: {dict(lints.most_common(8))}")
    if args.run_tiers:
        run_tiers(args.jobs, [r for r in records if r.crate in ("rust", "axum", "rig")])
    print(f"clippy_over_compile={ratio:.2f}")


def run_tiers(jobs_list: list[int], records: list[Record]) -> None:
    """compile alone against compile+test+run on the samples whose profiles have a codegen build
    (``rustgate warm --tiers test,run rust axum rig``), side by side at each --jobs."""
    for jobs in jobs_list:
        compile_s, _, _, _ = timed(("compile",), jobs, records)
        started = time.perf_counter()
        results = CompileGate(tiers=("compile", "test", "run"), jobs=jobs, use_cache=False).check(records)
        tiers_s = time.perf_counter() - started
        applied: Counter[str] = Counter()
        for r in results:
            for name in ("test", "run"):
                entry = (r.details.get("tiers") or {}).get(name) or {}
                if entry and entry.get("applies") is not False:
                    applied[name] += 1
        verdicts = Counter(r.verdict for r in results)
        n = len(records)
        print(
            f"jobs={jobs} samples={n} compile={compile_s / n * 1000:.0f}ms/sample "
            f"compile+test+run={tiers_s / n * 1000:.0f}ms/sample ratio={tiers_s / compile_s:.2f} "
            f"tiers_applied={dict(applied)} verdicts={dict(verdicts)}"
        )


if __name__ == "__main__":
    main()
