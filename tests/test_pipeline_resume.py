"""``rustgate run``: the TOML config, clear errors before work, and SIGKILL-then-resume counted
by the server's requests (no finished call repeated, no record lost or duplicated)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kill_helpers import kill_when, ledger_count
from llm_helpers import write_pipeline_config

from rustgate.cli.main import main
from rustgate.pipeline import Pipeline
from rustgate.testing.llm_server import LLMServer

pytest_plugins = ["llm_fixtures"]


def out_rows(tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (tmp_path / "out/records.jsonl").read_text().splitlines()]


@pytest.mark.usefixtures("api_keys")
def test_run_command_end_to_end(tmp_path: Path, llm_server: LLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_pipeline_config(tmp_path, llm_server, limit=3)
    assert main(["run", str(config), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "6/6 records" in printed and "6 accepted" in printed and "per accepted sample" in printed
    assert len(out_rows(tmp_path)) == 6 and llm_server.request_count == 12
    assert Pipeline.from_toml(config).run_id in printed


def test_missing_key_is_a_clear_error_before_any_work(
    tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert main(["run", str(write_pipeline_config(tmp_path, llm_server, limit=3))]) == 2
    assert "$ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert llm_server.request_count == 0 and not (tmp_path / "out").exists()


@pytest.mark.usefixtures("api_keys")
def test_bad_config_is_refused(tmp_path: Path, llm_server: LLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_pipeline_config(tmp_path, llm_server, limit=3, extra='max_usd = -1\nsurprise = "x"')
    assert main(["run", str(config)]) == 2
    err = capsys.readouterr().err
    assert "max_usd" in err and "surprise" in err


def test_sigkill_then_resume_repeats_no_finished_call(tmp_path: Path) -> None:
    n_records = 40  # 20 axum + 20 rig, each one generation and one judgement
    with LLMServer(latency_s=0.1) as server:
        config = write_pipeline_config(tmp_path, server, limit=20)
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "k",
            "OPENAI_API_KEY": "k",
            "RUSTGATE_CACHE_DIR": str(tmp_path / "cache"),
        }
        cmd = [sys.executable, "-m", "rustgate.cli.main", "run", str(config), "--no-progress"]
        kill_when(cmd, env, lambda: ledger_count(tmp_path / "ledger.sqlite3") >= 30, timeout_s=60)
        finished_at_kill = ledger_count(tmp_path / "ledger.sqlite3")
        asked_before_kill = server.request_count
        assert finished_at_kill < 2 * n_records, "killed too late to test anything"
        partial = tmp_path / "out/records.jsonl"
        if partial.exists():  # written atomically: whatever is there parses
            [json.loads(line) for line in partial.read_text().splitlines()]

        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        asked_after = server.request_count - asked_before_kill

    total_calls = ledger_count(tmp_path / "ledger.sqlite3")
    assert total_calls == 2 * n_records
    # Only calls without a stored answer at the kill (those in flight) were asked again.
    assert asked_after == total_calls - finished_at_kill
    rows = out_rows(tmp_path)
    ids = [r["id"] for r in rows]
    assert len(ids) == n_records and len(set(ids)) == n_records
    assert all(r["gates"]["judge"]["verdict"] == "pass" for r in rows)
    assert "resumed" in done.stdout


@pytest.mark.usefixtures("api_keys")
def test_run_over_an_existing_dataset(tmp_path: Path, llm_server: LLMServer) -> None:
    from llm_helpers import sample_record

    data = tmp_path / "data.jsonl"
    data.write_text("".join(sample_record(f"axum-{i}").model_dump_json() + "\n" for i in range(4)))
    config = tmp_path / "judge.toml"
    config.write_text(f"""
input = "data.jsonl"
output = "judged.jsonl"
ledger = "ledger.sqlite3"
order = ["judge"]
[judge]
model = "anthropic:test-judge"
threshold = 8.5
[models."anthropic:test-judge"]
base_url = "{llm_server.url}"
""")
    assert main(["run", str(config), "--no-progress", "--json"]) == 0
    judged = [json.loads(line) for line in (tmp_path / "judged.jsonl").read_text().splitlines()]
    assert [r["gates"]["judge"]["verdict"] for r in judged] == ["fail"] * 4  # 8.0 < 8.5
    assert llm_server.request_count == 1  # one pair under four ids: judged once, read back thrice
