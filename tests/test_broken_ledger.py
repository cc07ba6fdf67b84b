"""A ledger that cannot be used is one line naming the file, what is wrong and what to do; never a
traceback, never a verdict, and the file is left as it was (issue 20, item 9). Twin: a healthy
ledger at the same place gives verdicts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from data_fixtures import distinct_code, row, write_rows
from test_cli_check import rustgate

from rustgate.ledger import Ledger, LedgerError


def _healthy(path: Path) -> Path:
    with Ledger(path) as ledger:
        ledger.put_value("ns", "k", {"v": 1})
    return path


def _broken(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.sqlite3"
    if kind == "garbage":
        path.write_bytes(os.urandom(6000))
    elif kind == "text":
        write_rows(path, [row("x", distinct_code(1))])
    elif kind == "truncated":
        _healthy(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3] + b"\0" * 100)
    elif kind == "header-only":
        path.write_bytes(b"SQLite format 3\0" + b"\xff" * 84)
    return path


@pytest.mark.parametrize("kind", ["garbage", "text", "truncated", "header-only"])
def test_a_broken_ledger_is_one_clear_line(warm_cache: Path, tmp_path: Path, kind: str) -> None:
    ledger = _broken(kind, tmp_path)
    before = ledger.read_bytes()
    data = write_rows(tmp_path / "d.jsonl", [row("one", distinct_code(9100))])
    for command in (["check", str(data), "--report-json", str(tmp_path / "r.json")], ["validate", str(data)]):
        done = rustgate(*command, "--ledger", str(ledger))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(ledger) in lines[0] and "move it aside" in lines[0], done.stderr
        assert ledger.read_bytes() == before
    assert not (tmp_path / "r.json").exists()
    ledger.unlink()  # the twin: a fresh ledger at the same path works
    done = rustgate("check", str(data), "--ledger", str(ledger), "--report-json", str(tmp_path / "r.json"))
    assert done.returncode == 0 and (tmp_path / "r.json").is_file(), done.stderr


def test_the_library_raises_ledger_error_naming_the_file(tmp_path: Path) -> None:
    path = _broken("garbage", tmp_path)
    with pytest.raises(LedgerError, match=str(path)):
        Ledger(path)
    _healthy(tmp_path / "ok.sqlite3")
    with Ledger(tmp_path / "ok.sqlite3") as ledger:
        assert ledger.get_value("ns", "k") == {"v": 1}


def test_a_locked_ledger_is_an_error_after_the_wait_not_a_verdict(warm_cache: Path, tmp_path: Path) -> None:
    ledger = _healthy(tmp_path / "l.sqlite3")
    holder = subprocess.Popen(  # another process holds the write lock for longer than we wait
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(ledger)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        data = write_rows(tmp_path / "d.jsonl", [row("one", distinct_code(9200))])
        env = {**os.environ, "RUSTGATE_LEDGER_LOCK_WAIT_S": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "rustgate", "check", str(data), "--ledger", str(ledger),
             "--report-json", str(tmp_path / "r.json")],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and "locked" in done.stderr, done.stderr
        assert not (tmp_path / "r.json").exists()
    finally:
        holder.kill()
        holder.wait()
    with sqlite3.connect(ledger) as conn:  # the lock gone, the ledger is whole
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
