"""A GRPO run's reward curve: kept across resumes, and written as a page a reviewer reads as is.

The curve is what says whether the compile reward moved the model at all (mean reward and pass
rate per logged step) and whether it was gamed (the avoided rate: code that compiles by not
doing the task) or starved (the unscored rate: completions the gate could not score).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CURVE = "reward_curve.jsonl"
REPORT = "reward_report.md"
MAX_ROWS = 40  # a longer run shows every n-th logged step; the jsonl keeps them all
COLUMNS = (
    ("reward", "mean reward"),
    ("reward_std", "reward std"),
    ("rewards/compile_reward/mean", "compile reward"),
    ("rewards/judge_reward/mean", "judge reward"),
    ("compile_reward/pass_rate", "pass rate"),
    ("compile_reward/rejected_rate", "rejected"),
    ("compile_reward/avoided_rate", "avoided"),
    ("compile_reward/unscored_rate", "unscored"),
    ("compile_reward/cache_hit_rate", "cache hits"),
)
_BARS = "▁▂▃▄▅▆▇█"


def read_curve(folder: Path, *, up_to_step: int | None = None) -> list[dict[str, float]]:
    """The points already logged in ``folder`` (those up to ``up_to_step``: a resumed run goes on
    from its checkpoint, and what was logged after it is logged again)."""
    path = folder / CURVE
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            point = json.loads(line)
        except ValueError:
            continue  # a line this run did not write whole; the steps around it still count
        stepped = isinstance(point, dict) and isinstance(point.get("step"), int | float)
        if stepped and (up_to_step is None or point["step"] <= up_to_step):
            points.append(point)
    return points


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(_BARS[int((v - low) / span * (len(_BARS) - 1)) if span else 0] for v in values)


def _cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else ""


def render_report(points: list[dict[str, float]], facts: dict[str, str]) -> str:
    """The page: what ran, first against last, a sparkline per column and the table."""
    lines = ["# GRPO reward curve", ""]
    lines += [f"- {name}: {value}" for name, value in facts.items()]
    if not points:
        return "\n".join([*lines, "", "No step was logged (set `logging_steps` to log rewards).", ""])
    columns = [(key, title) for key, title in COLUMNS if any(key in p for p in points)]
    first, last = points[0], points[-1]
    lines += ["", f"| | first (step {int(first['step'])}) | last (step {int(last['step'])}) | per logged step |"]
    lines += ["|---|---|---|---|"]
    for key, title in columns:
        series = [float(p[key]) for p in points if key in p]
        lines.append(f"| {title} | {_cell(first.get(key))} | {_cell(last.get(key))} | {sparkline(series)} |")
    every = max(1, -(-len(points) // MAX_ROWS))
    shown = points[::every] if points[::every][-1] is last else [*points[::every], last]
    lines += ["", "| step | " + " | ".join(title for _, title in columns) + " |"]
    lines += ["|---|" + "---|" * len(columns)]
    lines += [f"| {int(p['step'])} | " + " | ".join(_cell(p.get(key)) for key, _ in columns) + " |" for p in shown]
    if every > 1:
        lines += ["", f"Every {every}th logged step is shown; `{CURVE}` holds all {len(points)}."]
    return "\n".join([*lines, ""])
