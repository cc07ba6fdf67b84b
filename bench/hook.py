"""Benchmark: the pre-commit hook on a 1,000-record (or 100,000-record) dataset where 10 records changed.

Builds a git repo with ``--records`` distinct ``rust``-profile records, commits them through the
real hook (``pre-commit`` with a ``repo: local`` / ``language: system`` hook running the venv's
``rustgate-validate``), then, for each round, edits 10 records and times ``git commit`` (the
hook as a maintainer meets it). The baseline is the same command checking only those 10
records, from a file of their own with an empty ledger. The last line is
``hook_overhead=X`` = hook time / 10-alone time (medians over the rounds); the goals are
X <= 1.25 at 1,000 records and X <= 1.5 at 100,000.

Each edited file is dated two seconds back before ``git add``, as a file saved a moment before
it is staged would be. Without that, a file written and staged within the same second is
"racily clean" to git: each of the five git commands a commit and pre-commit run then re-hashes
the whole file (about 60 ms each for a 35 MB file, seen with ``GIT_TRACE_PERFORMANCE``), a cost
of git's that ``--no-verify`` pays in part too and that no hook can avoid.

Every record is distinct (its id and prompt); their code repeats over ``--distinct`` programs
(default: all distinct up to 1,000), so the first commit of 100,000 records compiles 1,000
programs, not 100,000. An edited record gets a program of its own.

    RUSTGATE_CACHE_DIR=/path/to/warm/cache python bench/hook.py [--rounds 5] [--records 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "rustgate-validate"


def code(i: int, variant: int) -> str:
    """A distinct small program per (i, variant): each is its own compile."""
    return (
        f"pub struct Acc{i}V{variant} {{ pub total: u64 }}\n\n"
        f"pub fn fold_{i}_{variant}(xs: &[u64]) -> u64 {{\n"
        f"    xs.iter().map(|x| x.rotate_left({i % 61 + 1})).fold({variant}, |a, b| a.wrapping_add(b ^ {i}))\n"
        f"}}\n"
    )


def record(i: int, variant: int, distinct: int | None = None) -> dict[str, object]:
    program = code(i % distinct if distinct and not variant else i, variant)
    return {
        "id": f"rust-{i:06d}",
        "crate": "rust",
        "messages": [
            {"role": "user", "content": f"Fold a slice of u64 (task {i})."},
            {"role": "assistant", "content": f"Like this:\n\n```rust\n{program}```\n"},
        ],
    }


def write(path: str | Path, rows: Iterable[dict[str, object]]) -> None:
    with Path(path).open("w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)


def saved_earlier(path: Path) -> None:
    """Date the file two seconds back, as if saved a moment before ``git add`` (see the docstring)."""
    then = time.time() - 2
    os.utime(path, (then, then))


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, text=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started, done


def peak_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and peak resident memory (MiB) of one command."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {child.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def ensure_warm() -> None:
    from rustgate.cargo.templates import get_profile
    from rustgate.cargo.toolchain import detect_toolchain
    from rustgate.cargo.warm import warm_profile

    warm_profile(get_profile("rust"), detect_toolchain())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=1000, help="distinct programs among the records")
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    ensure_warm()
    work = Path(tempfile.mkdtemp(prefix="rustgate-hook-bench-"))
    try:
        return measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> int:
    import yaml

    repo, ledger = work / "repo", work / "ledger.sqlite3"
    repo.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(work / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    hook = dict(yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0])
    hook.update(
        language="system", entry=str(ENTRY), args=["--ledger", str(ledger), "--jobs", str(args.jobs)], verbose=True
    )
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))
    for cmd in (["git", "init", "-q", "-b", "main"], [sys.executable, "-m", "pre_commit", "install"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)

    variants = [0] * args.records
    data = repo / "data.jsonl"
    write(data, (record(i, 0, args.distinct) for i in range(args.records)))
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    seconds, done = run(["git", "commit", "-q", "-m", "dataset"], repo, env)
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        return 1
    print(f"initial commit, {args.records} records ({args.distinct} programs) through the hook: {seconds:.1f}s")
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

    hook_times, alone_times = [], []
    step = max(1, args.records // args.changed)
    for round_no in range(1, args.rounds + 1):
        changed = [(k * step + round_no) % args.records for k in range(args.changed)]
        for i in changed:
            variants[i] = round_no
        write(data, (record(i, variants[i], args.distinct) for i in range(args.records)))
        saved_earlier(data)
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        hook_s, done = run(["git", "commit", "-q", "-m", f"edit {round_no}"], repo, env)
        if done.returncode != 0 or f"{args.changed} compiled" not in done.stdout + done.stderr:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        alone = work / f"alone-{round_no}.jsonl"
        write(alone, [record(i, variants[i], args.distinct) for i in changed])
        alone_s, done = run(
            [str(ENTRY), str(alone), "--ledger", str(work / f"alone-{round_no}.sqlite3"), "--jobs", str(args.jobs)],
            work,
            env,
        )
        if done.returncode != 0 or f"{args.changed} compiled" not in done.stderr:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        hook_times.append(hook_s)
        alone_times.append(alone_s)
        print(
            f"round {round_no}: hook (git commit, {args.records} records, {args.changed} changed) {hook_s:.3f}s; "
            f"{args.changed} records alone {alone_s:.3f}s"
        )
    unchanged_s, peak_mib = peak_run([str(ENTRY), str(data), "--ledger", str(ledger), "--jobs", str(args.jobs)], env)
    print(f"rustgate-validate, all {args.records} records unchanged: {unchanged_s:.3f}s, peak {peak_mib:.0f} MiB")
    (repo / "NOTES.md").write_text("no dataset file in this commit\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    floor_s, _ = run(["git", "commit", "-q", "-m", "notes"], repo, env)
    print(f"git commit + pre-commit with no dataset file staged (the hook's fixed floor): {floor_s:.3f}s")
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    hook_med, alone_med = statistics.median(hook_times), statistics.median(alone_times)
    print(f"hook_s={hook_med:.3f}")
    print(f"alone_s={alone_med:.3f}")
    print(f"hook_own_overhead={(hook_med - floor_s) / alone_med:.2f}  (less the floor: rustgate's part)")
    print(f"hook_overhead={hook_med / alone_med:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
