"""Compile-gate throughput, side by side in one run: naive cargo, rustgate, and the rustc floor.

    python bench/compile_gate.py [--per-crate 20] [--set mixed|passing] [--skip-naive]

naive     a fresh scratch Cargo project per sample, one shared (warm) target dir, sequential
          ``cargo check``: what a script around cargo does.
rustgate  ``CompileGate`` (the default: batched rustc replay, sandboxed, jobs = cores + 1), cache off.
single    the same gate with ``method="single"``: one sandboxed rustc per sample.
floor     the bare rustc time of the sample crates alone (no sandbox, no Python), one rustc per
          sample, summed and divided by the cores: the floor of checking samples one by one.

``--set passing`` keeps the samples the corpus expects to pass (gated data: what validation, the
hook and re-imports check); ``--per-crate 334 --skip-naive`` is the 1k-sample run. Each phase
runs in its own child process so peak memory (max RSS of any process it spawned) is measured
per phase. The last line is ``ratio_vs_naive=X ratio_vs_floor=Y`` (naive is 0 when skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from corpus import AXUM, LEPTOS, RIG, Sample  # noqa: E402

from rustgate.cargo.extract import CrateSource, extract_crate  # noqa: E402
from rustgate.cargo.replay import replay_argv, sample_env, write_sample  # noqa: E402
from rustgate.cargo.templates import Profile, load_profiles  # noqa: E402
from rustgate.cargo.toolchain import Toolchain, detect_toolchain  # noqa: E402
from rustgate.cargo.warm import WarmProfile, warm_profile  # noqa: E402
from rustgate.executors.local import LocalExecutor  # noqa: E402
from rustgate.gates.compile import CompileGate, Method  # noqa: E402
from rustgate.ledger import Ledger  # noqa: E402
from rustgate.records import Record  # noqa: E402


def samples(per_crate: int, which: str = "mixed") -> list[Record]:
    """``per_crate`` distinct records per framework: corpus samples made unique by a suffix
    (``which="passing"``: only those the corpus expects to pass)."""
    records = []
    for group in (AXUM, LEPTOS, RIG):
        kept = [s for s in group if which == "mixed" or s.expect == "pass"]
        for i in range(per_crate):
            base: Sample = kept[i % len(kept)]
            row = base.row()
            row["id"] = f"{base.id}-{i}"
            answer = row["messages"][1]["content"]  # type: ignore[index]
            suffix = f"\npub fn bench_variant_{i}() -> u32 {{ {i} }}\n```\n"
            row["messages"][1]["content"] = answer.rstrip().removesuffix("```") + suffix  # type: ignore[index]
            records.append(Record.model_validate(row))
    return records


def sources(records: list[Record]) -> list[CrateSource]:
    profiles = load_profiles()
    out = []
    for record in records:
        source = extract_crate(record, profiles)
        assert isinstance(source, CrateSource), source
        out.append(source)
    return out


def warm_states(toolchain: Toolchain, profiles: dict[str, Profile]) -> dict[str, WarmProfile]:
    """Each profile's warm state, looked up once per phase rather than once per sample."""
    return {name: warm_profile(profile, toolchain) for name, profile in profiles.items()}


def write_project(project: Path, source: CrateSource, profile: Profile) -> Path:
    """The sample as a fresh Cargo project on the profile's manifest and lock (what a script does)."""
    for relative, text in source.files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    manifest = profile.manifest_text
    if source.lib is None:
        manifest = manifest.replace('[lib]\npath = "src/lib.rs"\n', "")
    (project / "Cargo.toml").write_text(manifest)
    (project / "Cargo.lock").write_text(profile.lock_text)
    return project


def phase_naive(records: list[Record]) -> dict[str, float]:
    toolchain = detect_toolchain()
    profiles = load_profiles()
    warmed = warm_states(toolchain, profiles)
    work = Path(tempfile.mkdtemp(prefix="bench-naive-"))
    passed = 0
    started = time.perf_counter()
    for index, source in enumerate(sources(records)):
        warm = warmed[source.profile]
        project = write_project(work / f"p{index}", source, profiles[source.profile])
        env = {**os.environ, "CARGO_TARGET_DIR": str(warm.target_dir), "RUSTC": str(toolchain.rustc)}
        done = subprocess.run(
            [str(toolchain.cargo), "check", "--offline", "--locked", "--message-format=json", "-q"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        passed += done.returncode == 0
    elapsed = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": elapsed, "passed": passed}


def phase_rustgate(records: list[Record], method: Method = "replay") -> dict[str, Any]:
    executor = LocalExecutor()
    gate = CompileGate(use_cache=False, method=method, executor=executor)
    started = time.perf_counter()
    results = gate.check(records)
    elapsed = time.perf_counter() - started
    sandbox = gate.isolation.backend if gate.isolation else "?"
    passed = sum(r.verdict == "pass" for r in results)
    return {"seconds": elapsed, "passed": passed, "sandbox": sandbox, "batches": dict(executor.batch_counts)}


def phase_single(records: list[Record]) -> dict[str, Any]:
    return phase_rustgate(records, "single")


def phase_floor(records: list[Record]) -> dict[str, float]:
    """Bare rustc per sample, sequential; the sum over cores is the floor."""
    toolchain = detect_toolchain()
    profiles = load_profiles()
    warmed = warm_states(toolchain, profiles)
    total = 0.0
    passed = 0
    for source in sources(records):
        warm = warmed[source.profile]
        root = Path(tempfile.mkdtemp(prefix="bench-floor-"))
        write_sample(root, source, profiles[source.profile].manifest_text)
        kind = "lib" if source.lib else "bin"
        argv = [
            str(toolchain.rustc),
            *replay_argv(warm, source.root_file, kind, root / "out", sysroot=toolchain.sysroot),
        ]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=root, env=sample_env(warm, root), capture_output=True, check=False)
        total += time.perf_counter() - started
        passed += done.returncode == 0
        shutil.rmtree(root, ignore_errors=True)
    return {"seconds": total / (os.cpu_count() or 1), "rustc_seconds": total, "passed": passed}


def phase_cache(count: int) -> dict[str, float]:
    """Check ``count`` distinct small records once, then time the unchanged re-check."""
    rows = []
    for i in range(count):
        code = f"pub fn value_{i}() -> u64 {{ {i} * 2 }}\n"
        rows.append(
            Record.model_validate(
                {
                    "id": f"cached-{i}",
                    "crate": "rust",
                    "messages": [
                        {"role": "user", "content": "q"},
                        {"role": "assistant", "content": f"```rust\n{code}```"},
                    ],
                }
            )
        )
    path = Path(tempfile.mkdtemp(prefix="bench-ledger-")) / "ledger.sqlite3"
    with Ledger(path) as ledger:
        first_started = time.perf_counter()
        CompileGate(ledger=ledger).check(rows)
        first = time.perf_counter() - first_started
    with Ledger(path) as ledger:  # a fresh process-like handle, as a rerun would have
        started = time.perf_counter()
        results = CompileGate(ledger=ledger).check(rows)
        elapsed = time.perf_counter() - started
    assert all(r.cached for r in results)
    return {"seconds": elapsed, "first_seconds": first, "passed": sum(r.verdict == "pass" for r in results)}


PHASES: dict[str, Callable[[list[Record]], dict[str, Any]]] = {
    "naive": phase_naive,
    "rustgate": phase_rustgate,
    "single": phase_single,
    "floor": phase_floor,
}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


def _rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def _tree_rss_kib(root: int) -> int:
    """Resident memory of ``root``'s descendants (compilers, cargo, sandboxes), via /proc children.

    Walking only the tree (not all of /proc) keeps the sampler's own CPU use out of the timings.
    """
    total, stack = 0, _children(root)
    while stack:
        pid = stack.pop()
        total += _rss_kib(pid)
        stack += _children(pid)
    return total


class PeakMemory(threading.Thread):
    """Samples the RSS of every process the phase spawned: concurrent compilers count together."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(os.getpid()))
            self.stop.wait(0.05)


def child(phase: str, per_crate: int, cache_records: int, which: str) -> None:
    sampler = PeakMemory()
    sampler.start()
    result = phase_cache(cache_records) if phase == "cache" else PHASES[phase](samples(per_crate, which))
    sampler.stop.set()
    sampler.join()
    result["peak_rss_mb"] = sampler.peak_kib / 1024
    print(json.dumps(result))


def run_phase(phase: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--per-crate",
        str(args.per_crate),
        "--cache-records",
        str(args.cache_records),
        "--set",
        args.set,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-crate", type=int, default=20, help="samples per framework (3 frameworks)")
    parser.add_argument("--cache-records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of rustgate and floor (median)")
    parser.add_argument("--set", choices=["mixed", "passing"], default="mixed", help="all samples, or the passing")
    parser.add_argument("--skip-naive", action="store_true", help="leave naive cargo out (the 1k-sample run)")
    parser.add_argument("--phase", choices=[*PHASES, "cache"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, args.per_crate, args.cache_records, args.set)
        return
    toolchain = detect_toolchain()
    for profile in load_profiles().values():
        warm_profile(profile, toolchain)
    n = 3 * args.per_crate
    print(f"{n} {args.set} samples (axum, leptos, rig x {args.per_crate}), {os.cpu_count()} cores, {toolchain.version}")
    # naive once (it is slow); the others alternate for --rounds, and the median counts, so a
    # burst of load on this shared machine does not decide the ratio.
    results = {} if args.skip_naive else {"naive": run_phase("naive", args)}
    rounds: dict[str, list[dict[str, Any]]] = {"rustgate": [], "single": [], "floor": []}
    for _ in range(args.rounds):
        for phase in rounds:
            rounds[phase].append(run_phase(phase, args))
    for phase, runs in rounds.items():
        runs.sort(key=lambda r: r["seconds"])
        median = dict(runs[len(runs) // 2])
        median["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        results[phase] = median
        print(f"{phase} rounds: " + ", ".join(f"{r['seconds']:.2f}s" for r in runs), flush=True)
    for phase, result in results.items():
        print(
            f"{phase:9s} {n / result['seconds']:7.2f} samples/s  {result['seconds']:7.2f}s  "
            f"passed {int(result['passed'])}/{n}  peak_rss {result['peak_rss_mb']:.0f} MiB"
        )
    batches = results["rustgate"]["batches"]
    decided = sum(batches.values())
    print(f"batch members: {batches} (a member batched again counts once per batch it was in; {decided} in all)")
    print(f"ratio_batched_vs_single={results['single']['seconds'] / results['rustgate']['seconds']:.2f}")
    cache = run_phase("cache", args)
    print(
        f"cache     re-check of {args.cache_records} unchanged records: {cache['seconds']:.3f}s "
        f"(first check {cache['first_seconds']:.1f}s)"
    )
    ratio_naive = results["naive"]["seconds"] / results["rustgate"]["seconds"] if "naive" in results else 0.0
    ratio_floor = results["rustgate"]["seconds"] / results["floor"]["seconds"]
    print(f"ratio_vs_naive={ratio_naive:.2f} ratio_vs_floor={ratio_floor:.2f}")


if __name__ == "__main__":
    main()
