"""Checkpoints and resume, as a user meets them: kill -9 mid-run, ``--resume``, Ctrl-C, ``--resume`` again.


The real ``arcwright-train`` runs in a subprocess on a tiny Gemma 4 and saves a checkpoint every 2 steps;
the test kills it once a checkpoint is complete, and the resumed runs must end on the configured step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

from test_train_support import build_tiny_gemma4, make_record, write_config, write_dataset  # noqa: E402

from arcwright_train.cli import main  # noqa: E402
from arcwright_train.outputs import checkpoints  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.timeout(600)]
SRC = Path(__file__).resolve().parents[1] / "src"
TOTAL = 8


def _start(config: Path, log: Path, *flags: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    with open(log, "wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "arcwright_train.cli", "train", "--config", str(config), *flags],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            # A shell's background job may inherit SIGINT ignored; a user's terminal never does.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def _wait_for_checkpoint(process: subprocess.Popen[bytes], out: Path, after: int) -> int:
    """Poll until a complete checkpoint newer than ``after`` exists; return its step."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        complete, _ = checkpoints(out)
        if complete and complete[0].step > after:
            return complete[0].step
        assert process.poll() is None, "the run ended before it saved a checkpoint"
        time.sleep(0.02)
    raise AssertionError("no checkpoint within 240 s")


def test_kill_then_resume_ends_on_the_configured_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    torch.manual_seed(0)
    model = build_tiny_gemma4(tmp_path / "model")
    data = write_dataset(tmp_path / "ds", [make_record(i) for i in range(8)], [])
    out = tmp_path / "run"
    config = write_config(
        tmp_path / "t.toml", model, data, out, max_steps=TOTAL, save_steps=2, save_total_limit=0,
    )  # fmt: skip
    config.write_text(config.read_text().replace('eval_split = "test"', 'eval_split = ""'))

    first = _start(config, tmp_path / "first.log")
    saved = _wait_for_checkpoint(first, out, 0)
    first.send_signal(signal.SIGKILL)
    assert first.wait() == -signal.SIGKILL
    assert not (out / "metrics.json").exists()
    resumed_at = checkpoints(out)[0][0].step  # a kill may leave a newer, incomplete checkpoint: not this one
    assert saved <= resumed_at < TOTAL

    second = _start(config, tmp_path / "second.log", "--resume")
    _wait_for_checkpoint(second, out, resumed_at)
    second.send_signal(signal.SIGINT)  # Ctrl-C
    assert second.wait(timeout=120) == 130
    log = (tmp_path / "second.log").read_text()
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    last = log.strip().splitlines()[-1]
    assert last.startswith("arcwright-train: interrupted at step ") and f" of {TOTAL}: the last checkpoint is " in last
    assert last.endswith("re-run the same command with --resume to continue from it")
    assert f"resume from {out / f'checkpoint-{resumed_at}'} (step {resumed_at})" in log

    assert "resuming with settings that differ" not in log
    # In-process (one fewer start-up); a changed setting is allowed on resume, and the plan says so.
    assert main(["train", "--config", str(config), "--resume", "--logging-steps", "2"]) == 0
    assert "resuming with settings that differ from the interrupted run: logging_steps" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == TOTAL == metrics["steps"]  # the step count of an uninterrupted run
    assert metrics["resumed"] is True and metrics["resumed_at_step"] > resumed_at
    assert metrics["resumed_from"] == str(out / f"checkpoint-{metrics['resumed_at_step']}")
    assert max(entry.get("step", 0) for entry in metrics["log_history"]) == TOTAL
    assert json.loads((out / "arcwright-train.run.json").read_text())["status"] == "finished"
