"""The GRPO reward curve's page and its reading back on resume (the training run that writes
them is in test_train_grpo.py)."""

from __future__ import annotations

import json
from pathlib import Path

from arcwright_train.reward_report import CURVE, MAX_ROWS, read_curve, render_report, sparkline


def _write(folder: Path, lines: list[str]) -> None:
    (folder / CURVE).write_text("".join(line + "\n" for line in lines))


def test_a_resumed_run_keeps_the_points_up_to_its_checkpoint_and_skips_a_torn_line(tmp_path: Path) -> None:
    points = [{"step": s, "reward": s / 10} for s in (1, 2, 3)]
    _write(tmp_path, [json.dumps(points[0]), '{"step": 2, "rew', json.dumps(points[1]), json.dumps(points[2])])
    assert read_curve(tmp_path, up_to_step=2) == points[:2]
    assert read_curve(tmp_path) == points
    assert read_curve(tmp_path / "missing") == []


def test_the_page_shows_first_last_and_every_logged_column(tmp_path: Path) -> None:
    points = [
        {"step": 1, "reward": 0.1, "compile_reward/pass_rate": 0.25, "compile_reward/avoided_rate": 0.5},
        {"step": 2, "reward": 0.4, "compile_reward/pass_rate": 0.75, "compile_reward/avoided_rate": 0.0},
    ]
    page = render_report(points, {"model": "tiny"})
    assert "- model: tiny" in page
    assert "| mean reward | 0.100 | 0.400 | ▁█ |" in page
    assert "| pass rate | 0.250 | 0.750 | ▁█ |" in page
    assert "| avoided | 0.500 | 0.000 | █▁ |" in page
    assert "judge reward" not in page  # a column no step logged is left out
    assert "| 2 | 0.400 | 0.750 | 0.000 |" in page


def test_a_long_run_shows_every_nth_step_and_always_the_last() -> None:
    points = [{"step": s, "reward": float(s)} for s in range(1, 202)]
    page = render_report(points, {})
    rows = [line for line in page.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert len(rows) <= MAX_ROWS + 1 and rows[-1].startswith("| 201 |") and rows[0].startswith("| 1 |")
    assert "holds all 201" in page


def test_no_logged_step_says_so_and_a_flat_series_is_flat() -> None:
    assert "No step was logged" in render_report([], {"model": "m"})
    assert sparkline([0.5, 0.5]) == "▁▁" and sparkline([]) == ""
