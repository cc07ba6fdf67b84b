"""CompileReward throughput for one GRPO call, side by side in one run.

    python bench/reward.py [--completions 64] [--cargo-sample 8]

cold    ``CompileReward`` on ``--completions`` distinct answers (rust, axum, rig corpus answers made
        unique), a fresh ledger: every completion compiled (sandboxed rustc replay, jobs = cores + 1).
        Completions that pass the batch screen share a rustc (the gate's default batched replay).
single  the cold call on a gate with ``method="single"``: one sandboxed rustc per completion.
cached  the same call again: the ledger serves every verdict (a repeat across steps or runs).
cargo   what published Rust GRPO recipes do: a fresh Cargo project and ``cargo build`` per
        completion, sequential, sharing the profile's warm build-with-code target dir (so no
        dependency is rebuilt), on ``--cargo-sample`` of the completions (its rate is per completion).

The last line is ``reward_completions_per_s cold=X single=S cached=Y cargo=Z ratio_vs_cargo_per_completion=R``
(R: cold completions/s over cargo's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from compile_gate import sources, write_project  # noqa: E402
from corpus import AXUM, RIG, RUST, Sample  # noqa: E402

from rustgate.cargo.templates import load_profiles  # noqa: E402
from rustgate.cargo.toolchain import detect_toolchain  # noqa: E402
from rustgate.cargo.warm import warm_profile  # noqa: E402
from rustgate.gates.compile import CompileGate, Method  # noqa: E402
from rustgate.ledger import Ledger  # noqa: E402
from rustgate.records import Record  # noqa: E402
from rustgate.rewards import CompileReward  # noqa: E402


def completions(count: int) -> list[Record]:
    groups = [g for g in (RUST, AXUM, RIG) if g]
    records = []
    for i in range(count):
        group = groups[i % len(groups)]
        base: Sample = group[(i // len(groups)) % len(group)]
        row = base.row()
        row["id"] = f"{base.id}-{i}"
        answer = row["messages"][1]["content"]
        suffix = f"\npub fn reward_variant_{i}() -> u32 {{ {i} }}\n```\n"
        row["messages"][1]["content"] = answer.rstrip().removesuffix("```") + suffix
        records.append(Record.model_validate(row))
    return records


def phase_reward(
    records: list[Record], ledger_path: Path, method: Method = "replay"
) -> tuple[float, float, list[float | None]]:
    reward = CompileReward(CompileGate(ledger=Ledger(ledger_path), method=method))
    texts = [r.answer for r in records]
    crates = [r.crate for r in records]
    started = time.perf_counter()
    cold = reward(prompts=[r.prompt for r in records], completions=texts, crate=crates)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    cached = reward(prompts=[r.prompt for r in records], completions=texts, crate=crates)
    cached_s = time.perf_counter() - started
    assert cached == cold, "a cached call must score exactly as the cold one"
    return cold_s, cached_s, cold


def phase_cargo(records: list[Record]) -> tuple[float, int]:
    toolchain = detect_toolchain()
    profiles = load_profiles()
    work = Path(tempfile.mkdtemp(prefix="bench-reward-cargo-"))
    built = 0
    started = time.perf_counter()
    for index, source in enumerate(sources(records)):
        warm = warm_profile(profiles[source.profile], toolchain, codegen=True)
        project = write_project(work / f"p{index}", source, profiles[source.profile])
        env = {**os.environ, "CARGO_TARGET_DIR": str(warm.target_dir), "RUSTC": str(toolchain.rustc),
               "CARGO_PROFILE_DEV_DEBUG": "0"}  # fmt: skip
        done = subprocess.run(
            [str(toolchain.cargo), "build", "--offline", "--locked", "-q"], cwd=project, env=env,
            capture_output=True, check=False,
        )  # fmt: skip
        built += done.returncode == 0
    elapsed = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return elapsed, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--completions", type=int, default=64)
    parser.add_argument("--cargo-sample", type=int, default=8)
    args = parser.parse_args()
    records = completions(args.completions)
    with tempfile.TemporaryDirectory(prefix="bench-reward-") as tmp:
        single_s, _, single_scores = phase_reward(records, Path(tmp) / "single.sqlite3", "single")
        cold_s, cached_s, scores = phase_reward(records, Path(tmp) / "ledger.sqlite3")
    assert scores == single_scores, "batched and single rewards must be equal"
    passed = sum(s == 1.0 for s in scores)
    cargo_s, built = phase_cargo(records[: args.cargo_sample])
    cold_rate = len(records) / cold_s
    cached_rate = len(records) / cached_s
    cargo_rate = args.cargo_sample / cargo_s
    print(f"cores={os.cpu_count()} completions={len(records)} full_reward={passed}")
    print(f"cold    {cold_s:8.2f} s  {cold_rate:8.1f} completions/s")
    print(f"single  {single_s:8.2f} s  {len(records) / single_s:8.1f} completions/s")
    print(f"cached  {cached_s:8.3f} s  {cached_rate:8.1f} completions/s")
    sampled = f"({args.cargo_sample} completions, {built} built)"
    print(f"cargo   {cargo_s:8.2f} s  {cargo_rate:8.2f} completions/s  {sampled}")
    print(
        f"reward_completions_per_s cold={cold_rate:.1f} single={len(records) / single_s:.1f} "
        f"cached={cached_rate:.1f} cargo={cargo_rate:.2f} "
        f"ratio_vs_cargo_per_completion={cold_rate / cargo_rate:.1f}"
    )


if __name__ == "__main__":
    main()
