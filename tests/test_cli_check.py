"""``rustgate check`` end to end: the real console script, real cargo, exit codes, report file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cargo

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "answers.jsonl"


def rustgate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("rustgate", path=str(Path(sys.executable).parent)) or "rustgate"
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, cwd=cwd, env=dict(os.environ), timeout=600, check=False
    )


def test_examples_report_and_exit_code(warm_cache: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = rustgate("check", str(EXAMPLES), "--report-json", str(report), "--ledger", str(tmp_path / "l.db"))
    assert done.returncode == 1, done.stderr
    payload = json.loads(report.read_text())
    rows = {row["id"]: row for row in payload["records"]}
    expected = {json.loads(line)["id"]: json.loads(line)["meta"]["expect"] for line in EXAMPLES.open()}
    assert {rid: row["verdict"] for rid, row in rows.items()} == expected
    bad = rows["rig-bad-system-prompt"]
    assert bad["profile"] == "rig" and bad["crate"] == "rig"
    assert {"level", "code", "message", "line", "column"} <= set(bad["diagnostics"][0])
    assert bad["diagnostics"][0]["code"] == "E0599"
    summary = payload["summary"]
    assert summary["by_crate"]["all"]["total"] == len(expected)
    assert summary["top_error_codes"]["E0599"] >= 2
    assert "pass rate" in done.stdout and "E0599" in done.stdout


def test_all_passing_input_exits_zero_and_rerun_is_cached(warm_cache: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("".join(line for line in EXAMPLES.open() if '"expect": "pass"' in line))
    ledger = str(tmp_path / "l.db")
    assert rustgate("check", str(good), "--ledger", ledger).returncode == 0
    report = tmp_path / "again.json"
    again = rustgate("check", str(good), "--ledger", ledger, "--report-json", str(report))
    assert again.returncode == 0
    payload = json.loads(report.read_text())
    assert payload["summary"]["cached"] == payload["summary"]["records"] > 0


def test_malformed_lines_are_named_and_the_rest_still_checked(warm_cache: Path, tmp_path: Path) -> None:
    data = tmp_path / "mixed.jsonl"
    good_line = next(line for line in EXAMPLES.open() if '"rust-good-iter"' in line)
    data.write_bytes(
        good_line.encode()
        + b"{not json\n"
        + b'{"id": "no-answer", "messages": [{"role": "user", "content": "hi"}]}\n'
        + good_line.encode()
        + b'{"id": "bytes", "messages": "\xff"}\n'
    )
    report = tmp_path / "r.json"
    done = rustgate("check", str(data), "--report-json", str(report), "--no-cache")
    assert done.returncode == 2
    assert f"{data}:2: <no id>: invalid JSON" in done.stderr
    assert f"{data}:3: no-answer: " in done.stderr and "no assistant turn" in done.stderr
    assert f"{data}:4: rust-good-iter: duplicate id (first seen on line 1)" in done.stderr
    assert f"{data}:5: bytes: not valid UTF-8" in done.stderr
    rows = json.loads(report.read_text())["records"]
    assert [(r["id"], r["verdict"]) for r in rows] == [("rust-good-iter", "pass")]


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    assert rustgate("check").returncode == 2
    assert rustgate("check", str(tmp_path / "missing.jsonl")).returncode == 2
    assert rustgate("check", str(EXAMPLES), "--jobs", "0").returncode == 2
    assert rustgate("check", str(EXAMPLES), "--profile", "django").returncode == 2


def test_templates_lists_pins(warm_cache: Path) -> None:
    done = rustgate("templates", "--json")
    pins = json.loads(done.stdout)
    assert pins["axum"]["pins"]["axum"] == "0.8.9"
    assert pins["leptos"]["pins"]["leptos"] == "0.7.8"
    assert pins["rig"]["pins"]["rig-core"] == "0.13.0"
    assert all(profile["warm"] for profile in pins.values() if not profile["on_demand"])
