"""Leaderboard numbers: judge means, compile pass@k, invented-API rate, bootstrap intervals, paired
differences.

The unit is the prompt. A model answers each prompt ``n`` times (``samples``); each answer gets
a judge score (the mean of the five dimensions, each averaged over the judge's k samples), a
compile verdict, an invented-API flag and, when the test/run tiers were asked for, their
outcomes (an inconclusive run, or a tier that does not apply, carries no value). Per prompt:
the mean score, ``pass@k`` by the unbiased estimator ``1 - C(n-c, k) / C(n, k)`` (c = answers
that compile; pass@1 = c / n), each tier's pass@1 and the share of invented-API answers. A
column (a crate, or Overall) is the mean of its prompts' values.

Intervals are percentile bootstraps over prompts, resampled with replacement within each crate
(Overall keeps each crate's prompt count), seeded so a rerun prints the same bounds. A paired
comparison resamples the prompts both models answered and takes the mean of the per-prompt
differences. Answers with an infrastructure error carry no value and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

OVERALL = "overall"


@dataclass(frozen=True)
class Scored:
    """One answer, reduced to what the metrics need (``None``: no value, e.g. an error)."""

    prompt_id: str
    crate: str
    sample: int
    score: float | None
    compiled: bool | None
    invented: bool | None
    tiers: tuple[tuple[str, bool | None], ...] = ()  # ("run", passed), ("test", passed): asked tiers only

    def tier(self, name: str) -> bool | None:
        return dict(self.tiers).get(name)


class Estimate(BaseModel):
    """A mean with its 95% bootstrap interval; ``n`` is the number of prompts behind it."""

    mean: float | None
    low: float | None
    high: float | None
    n: int


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k from n samples of which c pass (Chen et al., 2021)."""
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n and 0 <= c <= n (n={n}, c={c})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


PromptMetric = Callable[[list[Scored]], float | None]


def judge_value(answers: list[Scored]) -> float | None:
    values = [a.score for a in answers if a.score is not None]
    return sum(values) / len(values) if values else None


def pass_value(k: int) -> PromptMetric:
    def value(answers: list[Scored]) -> float | None:
        checked = [a.compiled for a in answers if a.compiled is not None]
        if len(checked) < k:
            return None
        return pass_at_k(len(checked), sum(checked), k)

    return value


def tier_value(tier: str) -> PromptMetric:
    """pass@1 of a tier after compile (``run``, ``test``): the share of the prompt's answers that
    passed it, among those where it applies and ended in a pass or a fail."""

    def value(answers: list[Scored]) -> float | None:
        results = [r for r in (a.tier(tier) for a in answers) if r is not None]
        return sum(results) / len(results) if results else None

    return value


def invented_value(answers: list[Scored]) -> float | None:
    flags = [a.invented for a in answers if a.invented is not None]
    return sum(flags) / len(flags) if flags else None


def per_prompt(answers: Sequence[Scored], metric: PromptMetric) -> dict[str, tuple[str, float]]:
    """prompt id -> (crate, the prompt's value), prompts without a value left out."""
    grouped: dict[str, list[Scored]] = {}
    for answer in answers:
        grouped.setdefault(answer.prompt_id, []).append(answer)
    values = {}
    for prompt_id, group in grouped.items():
        value = metric(group)
        if value is not None:
            values[prompt_id] = (group[0].crate, value)
    return values


def _strata(values: dict[str, tuple[str, float]]) -> list[np.ndarray]:
    by_crate: dict[str, list[float]] = {}
    for _, (crate, value) in sorted(values.items()):  # sorted: the same draw on every run
        by_crate.setdefault(crate, []).append(value)
    return [np.asarray(v, dtype=float) for _, v in sorted(by_crate.items())]


def bootstrap(strata: list[np.ndarray], *, resamples: int, seed: int) -> Estimate:
    """Mean of all values and its percentile 95% interval, resampling within each stratum."""
    strata = [s for s in strata if len(s)]
    n = sum(len(s) for s in strata)
    if n == 0:
        return Estimate(mean=None, low=None, high=None, n=0)
    total = float(sum(s.sum() for s in strata))
    rng = np.random.default_rng(seed)
    sums = np.zeros(resamples)
    for values in strata:
        picks = rng.integers(0, len(values), size=(resamples, len(values)))
        sums += values[picks].sum(axis=1)
    means = sums / n
    low, high = np.percentile(means, [2.5, 97.5])
    return Estimate(mean=total / n, low=float(low), high=float(high), n=n)


def column_estimates(
    answers: Sequence[Scored], metric: PromptMetric, crates: Sequence[str], *, resamples: int, seed: int
) -> dict[str, Estimate]:
    """One estimate per crate and for Overall."""
    values = per_prompt(answers, metric)
    out: dict[str, Estimate] = {}
    for index, crate in enumerate(crates):
        only = {k: v for k, v in values.items() if v[0] == crate}
        out[crate] = bootstrap(_strata(only), resamples=resamples, seed=seed + index)
    out[OVERALL] = bootstrap(_strata(values), resamples=resamples, seed=seed + len(crates))
    return out


def paired_difference(
    a: Sequence[Scored], b: Sequence[Scored], metric: PromptMetric, *, resamples: int, seed: int
) -> Estimate:
    """Mean over shared prompts of (a's value - b's value), with its stratified bootstrap interval."""
    va, vb = per_prompt(a, metric), per_prompt(b, metric)
    shared = {pid: (va[pid][0], va[pid][1] - vb[pid][1]) for pid in sorted(va.keys() & vb.keys())}
    return bootstrap(_strata(shared), resamples=resamples, seed=seed)
