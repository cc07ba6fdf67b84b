"""Evaluation: run models under test over a prompt suite, score every answer with the compile
gate and the judge, and write a leaderboard.

    from rustgate.eval import EvalConfig, evaluate

    result = evaluate(EvalConfig.model_validate({...}))   # or EvalConfig.from_toml("eval.toml")

Names load on first use: the runner pulls in the LLM SDKs, and ``rustgate.data.decontam`` only
needs the shipped suite list (``rustgate.eval.suites``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rustgate.eval.config import EvalConfig, JudgeConfig, ModelConfig
    from rustgate.eval.runner import EvalResult, aevaluate, evaluate
    from rustgate.eval.suite import EvalPrompt, Suite, load_suite

_HOMES = {
    "EvalConfig": "config",
    "JudgeConfig": "config",
    "ModelConfig": "config",
    "EvalResult": "runner",
    "aevaluate": "runner",
    "evaluate": "runner",
    "EvalPrompt": "suite",
    "Suite": "suite",
    "load_suite": "suite",
}

__all__ = [
    "EvalConfig",
    "EvalPrompt",
    "EvalResult",
    "JudgeConfig",
    "ModelConfig",
    "Suite",
    "aevaluate",
    "evaluate",
    "load_suite",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'rustgate.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rustgate.eval.{_HOMES[name]}"), name)
