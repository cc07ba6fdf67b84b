"""Kill-and-resume helpers: count what a run has stored in its ledger, SIGKILL it mid-way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def ledger_count(path: Path, sql: str = "SELECT COUNT(*) FROM llm_calls") -> int:
    """``sql``'s count on a ledger another process writes (0 before its tables exist)."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def run_rows(path: Path) -> int:
    """Finished records a pipeline run has stored (its resume state)."""
    return ledger_count(path, "SELECT COUNT(*) FROM kv WHERE namespace LIKE 'run:%'")


def kill_when(cmd: Sequence[str], env: dict[str, str], ready: Callable[[], bool], timeout_s: float = 120) -> None:
    """Start ``cmd``, SIGKILL it as soon as ``ready()``; fail if it ends or stalls first."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def processes_mentioning(marker: str) -> dict[int, str]:
    """Live processes whose command line contains ``marker`` (pid -> command line), from /proc.

    Zombies are left out: they hold no memory, run nothing and only wait for their parent.
    """
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2 :].startswith("Z"):
            continue
        line = raw.replace(b"\0", b" ").decode("utf-8", "replace")
        if marker in line:
            found[int(entry.name)] = line
    return found


def wait_until_gone(marker: str, within_s: float) -> dict[int, str]:
    """Wait up to ``within_s`` for every process mentioning ``marker`` to end; what is left."""
    deadline = time.monotonic() + within_s
    left = processes_mentioning(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_mentioning(marker)
    return left
