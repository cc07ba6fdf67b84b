"""Warm-up cost of building a profile inside the sandbox against the same build without it.

Each round warms the profile from an empty cache folder twice, once per mode, in alternating
order (the crates are already downloaded). Prints seconds per mode and the ratio.

    .venv/bin/python bench/warm_sandbox.py --profile rust --rounds 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def warm_once(profile: str, sandbox: str) -> float:
    cache = tempfile.mkdtemp(prefix="rustgate-bench-warm-")
    try:
        env = {**os.environ, "RUSTGATE_CACHE_DIR": cache, "RUSTGATE_SANDBOX": sandbox}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "rustgate", "warm", profile], env=env, capture_output=True, text=True, check=False
        )
        spent = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"warm {profile} ({sandbox}) failed:\n{done.stderr[-2000:]}")
        return spent
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="rust")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sandbox", default="namespaces", help="the isolated backend to compare with none")
    args = parser.parse_args()
    times: dict[str, list[float]] = {args.sandbox: [], "none": []}
    for round_no in range(args.rounds):
        order = [args.sandbox, "none"] if round_no % 2 == 0 else ["none", args.sandbox]
        for mode in order:
            times[mode].append(warm_once(args.profile, mode))
            print(f"round {round_no + 1}: {mode:>10} {times[mode][-1]:.1f}s", flush=True)
    isolated, bare = (sum(times[m]) / len(times[m]) for m in (args.sandbox, "none"))
    print(f"profile {args.profile}: {args.sandbox} {isolated:.1f}s, none {bare:.1f}s, ratio {isolated / bare:.2f}")


if __name__ == "__main__":
    main()
