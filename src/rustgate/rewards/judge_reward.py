"""The LLM judge as a second GRPO reward, beside the compile one: what compiling cannot say
(does the code do what was asked, is it idiomatic, is the explanation right).

An ``async`` reward: TRL runs async reward functions concurrently on its own event loop, so the
judge calls overlap each other and the other rewards. The reward is the mean of the five 1-10
dimensions divided by 10 (0.1 to 1.0); a judge that could not answer (API down, malformed after
retries) is ``None``, never 0.0. With ``compile_gate``, each completion's compile verdict is given
to the judge as a fact, as in the pipeline (served by the ledger when the compile reward already
checked it).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from rustgate.gates.compile import CompileGate
from rustgate.gates.judge import JudgeGate
from rustgate.rewards.completions import as_records

log = logging.getLogger(__name__)


class JudgeReward:
    __name__ = "judge_reward"

    def __init__(self, judge: JudgeGate, *, compile_gate: CompileGate | None = None, crate: str | None = None) -> None:
        self.judge = judge
        self.compile_gate = compile_gate
        self.crate = crate
        self.last: list[dict[str, Any]] = []

    async def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        completion_ids: Any = None,
        *,
        log_metric: Callable[[str, float], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        _, records = as_records(prompts, completions, columns.get("crate"), self.crate)
        if self.compile_gate is not None:
            facts = await asyncio.to_thread(self.compile_gate.check, records)  # the loop keeps serving
            records = [r.with_gate(f) for r, f in zip(records, facts, strict=True)]
        try:
            results = await self.judge.evaluate(records)
        except Exception as exc:  # noqa: BLE001 - an outage is no completion's fault
            log.error("judge reward: the judge failed (%s); no completion is scored", exc)
            self.last = [{"verdict": "error", "reward": None} for _ in records]
            return [None] * len(records)
        rewards: list[float | None] = []
        for result in results:
            scores = result.scores or {}
            rewards.append(statistics.fmean(scores.values()) / 10 if result.verdict != "error" and scores else None)
        self.last = [{"verdict": r.verdict, "reward": w} for r, w in zip(results, rewards, strict=True)]
        if log_metric is not None:
            scored = [w for w in rewards if w is not None]
            log_metric("judge_reward/unscored_rate", (len(rewards) - len(scored)) / max(1, len(rewards)))
        return rewards
