"""The evaluation suites shipped with rustgate (JSONL files in this folder).

Kept import-free on purpose: ``rustgate.data.decontam`` reads this list so that ``rustgate
build`` never trains on the benchmark, without pulling in the evaluation machinery.
"""

from __future__ import annotations

from pathlib import Path

SUITES_DIR = Path(__file__).parent
# rustweb-15: the benchmark's shape (5 prompts each for axum, leptos, rig);
# rustweb-60: 20 per crate for tighter intervals (rustweb-15 is a subset of it).
SHIPPED_SUITES: tuple[str, ...] = ("rustweb-15", "rustweb-60")
DEFAULT_SUITE = "rustweb-15"


def shipped_suite_paths() -> list[Path]:
    return [SUITES_DIR / f"{name}.jsonl" for name in SHIPPED_SUITES]
