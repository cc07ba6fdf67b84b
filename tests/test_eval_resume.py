"""A ``rustgate eval`` killed with SIGKILL mid-run, then rerun: no finished call is asked again
(counted on the servers), and the outputs hold every answer once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eval_helpers import PROMPTS, judge_responder, model_responder, write_suite
from kill_helpers import kill_when, ledger_count, wait_until_gone

from rustgate.testing.llm_server import LLMServer

pytestmark = pytest.mark.usefixtures("warm_cache")


def write_config(tmp_path: Path, a: LLMServer, b: LLMServer, judge: LLMServer) -> Path:
    write_suite(tmp_path / "suite.jsonl")
    config = tmp_path / "eval.toml"
    config.write_text(f"""
suite = "suite.jsonl"
output = "out"
ledger = "ledger.sqlite3"
samples = 2

[[models]]
name = "model-a"
model = "vllm:test-a"
base_url = "{a.openai_url}"
concurrency = 2

[[models]]
name = "model-b"
model = "anthropic:test-b"
base_url = "{b.url}"
concurrency = 2

[judge]
model = "openai:test-judge"
base_url = "{judge.openai_url}"
samples = 2
concurrency = 2
""")
    return config


def test_sigkill_then_rerun_asks_no_finished_call_again(tmp_path: Path) -> None:
    answers = 2 * len(PROMPTS) * 2
    with (
        LLMServer(latency_s=0.1, responder=model_responder("model-a")) as a,
        LLMServer(latency_s=0.1, responder=model_responder("model-b")) as b,
        LLMServer(latency_s=0.1, responder=judge_responder()) as judge,
    ):
        servers = (a, b, judge)
        config = write_config(tmp_path, a, b, judge)
        scratch = tmp_path / "tmp"  # the compiles' scratch: every process of the run names it
        scratch.mkdir()
        env = {**os.environ, "ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k", "TMPDIR": str(scratch)}
        cmd = [sys.executable, "-m", "rustgate.cli.main", "eval", str(config), "--no-progress"]
        kill_when(cmd, env, lambda: ledger_count(tmp_path / "ledger.sqlite3") >= 12)
        left = wait_until_gone(str(scratch), within_s=5)
        assert not left, f"still running after kill -9 of rustgate eval: {left}"
        finished_at_kill = ledger_count(tmp_path / "ledger.sqlite3")
        asked_before_kill = sum(s.request_count for s in servers)
        partial = tmp_path / "out/answers.jsonl"
        if partial.exists():  # written atomically: whatever is there parses
            [json.loads(line) for line in partial.read_text().splitlines()]

        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert not list(scratch.glob("rustgate-scratch-*/run-*")), "a scratch folder outlived its run"
        asked_after = sum(s.request_count for s in servers) - asked_before_kill

    total_calls = ledger_count(tmp_path / "ledger.sqlite3")
    assert finished_at_kill < total_calls, "killed too late to test anything"
    # Only calls without a stored answer at the kill (those in flight, and those not yet made) were asked.
    assert asked_after == total_calls - finished_at_kill
    rows = [json.loads(line) for line in (tmp_path / "out/answers.jsonl").read_text().splitlines()]
    ids = [r["id"] for r in rows]
    assert len(ids) == answers and len(set(ids)) == answers
    assert all(r["gates"]["judge"]["verdict"] in {"pass", "fail"} for r in rows)
    board = json.loads((tmp_path / "out/leaderboard.json").read_text())
    assert [m["label"] for m in board["models"]] == ["model-a", "model-b"]
    assert f"{answers} answers" in done.stdout

    # Killed after a periodic write of answers.jsonl but before the first leaderboard: the rerun
    # recognises the folder as its own, and everything comes from the ledger.
    for name in ("leaderboard.json", "leaderboard.md", "leaderboard.html"):
        (tmp_path / "out" / name).unlink()
    (tmp_path / "out/answers.jsonl").write_text(json.dumps(rows[0]) + "\n")
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len((tmp_path / "out/answers.jsonl").read_text().splitlines()) == answers
    assert ledger_count(tmp_path / "ledger.sqlite3") == total_calls
