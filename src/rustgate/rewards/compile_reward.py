"""The compile gate as a verifiable reward for TRL's GRPOTrainer.

TRL (1.16) calls a reward function as ``f(prompts=, completions=, completion_ids=, **columns,
trainer_state=, log_extra=, log_metric=)`` and wants one float per completion, ``None`` for one
it cannot score (left out of the sum). So: every completion of a call is checked in one
``CompileGate.check`` (parallel, identical completions compiled once, repeats across steps and
runs served by the ledger); the verdict becomes a score; an infrastructure failure -- toolchain
missing, sandbox down, a timeout under load -- is ``None``, never 0.0, which would punish
correct code for an outage. A completion never makes it raise.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from rustgate.eval.invented import invented_diagnostics
from rustgate.eval.leaderboard import tier_outcome
from rustgate.gates.compile import CompileGate
from rustgate.records import GateResult
from rustgate.rewards.avoidance import avoidance, rust_code
from rustgate.rewards.completions import as_records

log = logging.getLogger(__name__)


class RewardScores(BaseModel):
    """What each outcome is worth. ``avoided``: compiles, but by avoiding the task (see
    ``avoidance``). ``partial``: with it, a failing answer earns up to this much more, less for
    each error (``partial / (1 + errors)``). ``invented_penalty``: taken off a failure that calls
    an API the pinned crates do not have. ``untested``: with the gate's test tier, what a passing
    answer earns when none of its tests ran and passed (none written, all ``#[ignore]``): a test
    reward then needs ``N passed``, N >= 1; None pays it as ``passed``."""

    model_config = ConfigDict(extra="forbid")

    passed: float = 1.0
    failed: float = 0.0
    rejected: float = -0.5
    no_code: float = -1.0
    avoided: float = 0.1
    partial: float = 0.0
    invented_penalty: float = 0.0
    untested: float | None = None


def tests_passed(result: GateResult) -> bool:
    """Whether the test tier passed where it applies: it applies only when N passed >= 1
    (``cargo.run_tiers.tests_verdict``), the rule eval's test pass@1 reads too."""
    return tier_outcome((result.details.get("tiers") or {}).get("test")) is True


class CompileReward:
    """``reward(prompts=..., completions=..., **columns) -> list[float | None]``.

    ``crate`` (a dataset column, else the constructor's) names what each prompt is about and
    picks its profile; without one the gate chooses from the code. ``gate`` is any configured
    ``CompileGate`` (tiers, limits, ledger); the default checks ``compile`` alone with the user
    cache's ledger off.
    """

    __name__ = "compile_reward"

    def __init__(
        self,
        gate: CompileGate | None = None,
        *,
        scores: RewardScores | None = None,
        crate: str | None = None,
        history: int = 64,
    ) -> None:
        self.gate = gate or CompileGate()
        self.scores = scores or RewardScores()
        self.crate = crate
        self.last: list[dict[str, Any]] = []  # per completion of the last call: verdict, reward, why
        self.history: deque[dict[str, Any]] = deque(maxlen=history)  # the last calls: texts, rewards, verdicts

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        completion_ids: Any = None,
        *,
        log_metric: Callable[[str, float], None] | None = None,
        log_extra: Callable[[str, list[Any]], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        texts, records = as_records(prompts, completions, columns.get("crate"), self.crate)
        crates = [r.crate for r in records]
        try:
            results = self.gate.check(records)
        except Exception as exc:  # noqa: BLE001 - an outage is no completion's fault: no reward, said why
            log.error("compile reward: the gate failed (%s); no completion is scored", exc)
            self.last = [{"verdict": "error", "reward": None, "why": str(exc)} for _ in records]
            return [None] * len(records)
        scored = [self._score(text, crate, result) for text, crate, result in zip(texts, crates, results, strict=True)]
        self.last = scored
        self.history.append(
            {"texts": texts, "rewards": [e["reward"] for e in scored], "verdicts": [e["verdict"] for e in scored]}
        )
        self._report(scored, results, log_metric, log_extra)
        return [s["reward"] for s in scored]

    def _score(self, text: str, crate: str | None, result: GateResult) -> dict[str, Any]:
        s = self.scores
        verdict = result.verdict
        entry: dict[str, Any] = {"verdict": verdict, "why": result.reason or ""}
        code = rust_code(text)
        if verdict in ("error", "timeout", "inconclusive"):
            entry["reward"] = None  # not the completion's doing, or not decided: left out of the sum
        elif verdict == "rejected" and not code.strip():
            entry.update(reward=s.no_code, verdict="no code")
        elif verdict == "rejected":
            entry["reward"] = s.rejected
        elif verdict == "fail":
            errors = sum(d.level.startswith("error") for d in result.diagnostics)
            reward = s.failed + s.partial / (1 + errors)
            if invented_diagnostics(result, text):
                reward -= s.invented_penalty
                entry["invented"] = True
            entry["reward"] = reward
        else:
            avoided = avoidance(code or text, crate)  # unfenced code the gate read: the text itself
            entry["reward"] = s.avoided if avoided else s.passed
            if avoided:
                entry.update(verdict="avoided", why=avoided)
            elif s.untested is not None and "test" in self.gate.tiers and not tests_passed(result):
                entry.update(reward=s.untested, verdict="untested", why="no test of the answer ran and passed")
        entry["cached"] = result.cached
        entry["codes"] = sorted({d.code for d in result.diagnostics if d.code and d.level.startswith("error")})
        return entry

    @staticmethod
    def _report(
        scored: list[dict[str, Any]],
        results: list[GateResult],
        log_metric: Callable[[str, float], None] | None,
        log_extra: Callable[[str, list[Any]], None] | None,
    ) -> None:
        n = max(1, len(scored))
        verdicts = Counter(s["verdict"] for s in scored)
        if log_metric is not None:
            log_metric("compile_reward/pass_rate", verdicts["pass"] / n)
            log_metric("compile_reward/fail_rate", verdicts["fail"] / n)
            log_metric("compile_reward/rejected_rate", (verdicts["rejected"] + verdicts["no code"]) / n)
            log_metric("compile_reward/avoided_rate", verdicts["avoided"] / n)
            log_metric("compile_reward/untested_rate", verdicts["untested"] / n)
            log_metric("compile_reward/unscored_rate", sum(s["reward"] is None for s in scored) / n)
            log_metric("compile_reward/cache_hit_rate", sum(r.cached for r in results) / n)
        if log_extra is not None:
            log_extra("compile_verdict", [s["verdict"] for s in scored])
            log_extra("compile_codes", [",".join(s["codes"]) for s in scored])
        top = Counter(code for s in scored for code in s["codes"]).most_common(3)
        if top:
            log.info("compile reward: top error codes %s", ", ".join(f"{c} x{k}" for c, k in top))
