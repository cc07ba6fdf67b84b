"""Benchmark: the compile gate's local executor against its Ray executor, same samples, same machine.

    python bench/ray_scaling.py [--per-crate 20] [--rounds 3] [--workers 1,2,4,...]

Samples are ``bench/compile_gate.py``'s (corpus answers over axum, leptos and rig made distinct),
cache off. One local Ray instance with every core is started once (its start-up is printed
apart: a cluster is started once, not per check); rounds alternate local and Ray and medians are
compared. The ``ray_vs_local`` line is local time / Ray time (1.0: as fast; goal >= 0.85 on one
2-core node). Then, for 1, 2, 4, ... worker CPUs up to the cores here (``--workers``), Ray is
restarted with that many CPUs and its throughput printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_gate import samples  # noqa: E402

from rustgate.cargo.templates import load_profiles  # noqa: E402
from rustgate.cargo.toolchain import detect_toolchain  # noqa: E402
from rustgate.cargo.warm import warm_profile  # noqa: E402
from rustgate.executors.ray import RayExecutor  # noqa: E402
from rustgate.gates.compile import CompileGate  # noqa: E402
from rustgate.records import Record  # noqa: E402


def timed(gate: CompileGate, records: list[Record]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    results = gate.check(records)
    return time.perf_counter() - started, [r.verdict for r in results]


def start_ray(cpus: int) -> float:
    import ray

    if ray.is_initialized():
        ray.shutdown()
    started = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-crate", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default=None, help="comma-separated worker CPU counts (default 1, 2, 4 ... cores)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    toolchain = detect_toolchain()
    for profile in load_profiles().values():
        warm_profile(profile, toolchain)
    records = samples(args.per_crate)
    print(f"{len(records)} samples, {cores} cores, load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

    startup = start_ray(cores)
    print(f"ray start-up (local instance, {cores} CPUs): {startup:.1f}s (not counted below)")
    timed(CompileGate(executor=RayExecutor()), records[:4])  # worker processes up, once
    local_times, ray_times = [], []
    for round_no in range(1, args.rounds + 1):
        local_s, local_verdicts = timed(CompileGate(), records)
        ray_s, ray_verdicts = timed(CompileGate(executor=RayExecutor()), records)
        if ray_verdicts != local_verdicts:
            print("verdicts differ between the executors", file=sys.stderr)
            return 1
        local_times.append(local_s)
        ray_times.append(ray_s)
        passed = sum(v == "pass" for v in ray_verdicts)
        print(f"round {round_no}: local {local_s:.2f}s, ray {ray_s:.2f}s ({passed} pass)")
    local_med, ray_med = statistics.median(local_times), statistics.median(ray_times)
    print(f"local: {len(records) / local_med:.2f} samples/s; ray: {len(records) / ray_med:.2f} samples/s")

    counts = [int(w) for w in args.workers.split(",")] if args.workers else []
    if not counts:
        counts = [1]
        while counts[-1] * 2 <= cores:
            counts.append(counts[-1] * 2)
    for workers in counts:
        start_ray(workers)
        timed(CompileGate(executor=RayExecutor()), records[:2])
        seconds, _ = timed(CompileGate(executor=RayExecutor()), records)
        print(f"ray with {workers} worker CPU(s): {len(records) / seconds:.2f} samples/s ({seconds:.2f}s)")
    import ray

    ray.shutdown()
    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"ray_vs_local={local_med / ray_med:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
