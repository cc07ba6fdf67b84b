"""The leaderboard's numbers, from every scored answer: one ``ModelResult`` per model, ranked by the
Overall judge mean, plus the paired comparisons. ``render.py`` turns it into markdown and HTML."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from rustgate.eval.metrics import (
    OVERALL,
    Estimate,
    PromptMetric,
    Scored,
    column_estimates,
    invented_value,
    judge_value,
    paired_difference,
    pass_value,
    tier_value,
)
from rustgate.gates.prompts import DIMENSIONS

FORMAT = "rustgate-eval/1"


class ModelResult(BaseModel):
    label: str
    rank: int = 0
    settings: dict[str, Any] = Field(default_factory=dict)
    judge: dict[str, Estimate]
    pass_at: dict[str, dict[str, Estimate]]  # "k" -> column -> estimate
    invented_api: dict[str, Estimate]
    tiers: dict[str, dict[str, Estimate]] = Field(default_factory=dict)  # "run"/"test" -> column -> pass@1
    inconclusive: dict[str, int] = Field(default_factory=dict)  # tier -> answers it could not decide
    dimensions: dict[str, float | None] = Field(default_factory=dict)
    answers: int = 0
    errors: int = 0
    top_invented: list[tuple[str, int]] = Field(default_factory=list)


class Comparison(BaseModel):
    """``a - b`` per column on the prompts both answered (positive: ``a`` is better, except invented-API)."""

    a: str
    b: str
    judge: dict[str, Estimate]
    pass_at_1: dict[str, Estimate]
    invented_api: dict[str, Estimate]
    tiers: dict[str, dict[str, Estimate]] = Field(default_factory=dict)


class Leaderboard(BaseModel):
    format: str = FORMAT
    created_at: str
    suite: dict[str, Any]
    crates: list[str]
    samples: int
    pass_k: list[int]
    judge: dict[str, Any]
    compile: dict[str, Any]
    bootstrap: dict[str, Any]
    models: list[ModelResult]
    comparisons: list[Comparison] = Field(default_factory=list)
    accounting: dict[str, Any] = Field(default_factory=dict)

    def model(self, label: str) -> ModelResult:
        return next(m for m in self.models if m.label == label)


@dataclass
class Collected:
    """The answer rows of ``answers.jsonl``, reduced per model to what the numbers need."""

    scored: dict[str, list[Scored]]
    dimensions: dict[str, dict[str, list[float]]]
    invented: dict[str, list[str]]
    errors: Counter[str] = field(default_factory=Counter)
    inconclusive: dict[str, Counter[str]] = field(default_factory=dict)  # label -> tier -> answers


def tier_outcome(entry: Mapping[str, Any] | None) -> bool | None:
    """A test/run tier's result as a pass@1 value: None where it does not apply, could not decide
    (``inconclusive``: the program needed the outside world) or broke (``error``)."""
    if not entry or entry.get("applies") is False:
        return None
    verdict = entry.get("verdict")
    if verdict in (None, "error", "inconclusive", "not applicable"):
        return None
    return verdict == "pass"


def collect(rows: Iterable[Mapping[str, Any]], labels: Sequence[str], tiers: Sequence[str] = ()) -> Collected:
    """An answer with an ``error`` verdict (generation, compile or judge) carries no value there.
    With ``tiers`` (test, run), each answer's own result of each; compile pass@1 stays the compile
    tier's, whatever the later tiers said."""
    got = Collected({k: [] for k in labels}, {k: {} for k in labels}, {k: [] for k in labels})
    got.inconclusive = {k: Counter() for k in labels}
    for row in rows:
        meta, gates = row["meta"]["eval"], row.get("gates", {})
        label = meta["model"]
        judge, compiled = gates.get("judge", {}), gates.get("compile", {})
        ran = (compiled.get("details") or {}).get("tiers") or {}
        compile_verdict = (ran.get("compile") or {}).get("verdict", compiled.get("verdict"))
        ok_judge = judge.get("verdict") not in (None, "error") and bool(judge.get("scores"))
        ok_compile = compile_verdict not in (None, "error")
        outcomes = tuple((t, tier_outcome(ran.get(t)) if ok_compile else None) for t in tiers)
        got.inconclusive[label].update(t for t in tiers if (ran.get(t) or {}).get("verdict") == "inconclusive")
        if not (ok_judge and ok_compile):
            got.errors[label] += 1
        for dim, value in (judge.get("scores") or {}).items() if ok_judge else ():
            got.dimensions[label].setdefault(dim, []).append(value)
        got.invented[label] += [_without_position(d) for d in meta.get("invented_api", [])]
        got.scored[label].append(
            Scored(
                prompt_id=meta["prompt_id"],
                crate=row["crate"],
                sample=meta["sample"],
                score=meta.get("score") if ok_judge else None,
                compiled=(compile_verdict == "pass") if ok_compile else None,
                invented=bool(meta.get("invented_api")) if ok_compile else None,
                tiers=outcomes,
            )
        )
    return got


def _without_position(short: str) -> str:
    """``12:5: error: [E0599] no method ...`` -> ``E0599 no method ...`` (counted across answers)."""
    text = short.split("error: ", 1)[-1]
    return text.replace("[", "", 1).replace("] ", " ", 1)


def pass_ks(samples: int) -> list[int]:
    return sorted({1, samples})


def model_result(
    label: str,
    answers: Sequence[Scored],
    crates: Sequence[str],
    *,
    samples: int,
    dimensions: Mapping[str, list[float]],
    invented_names: Sequence[str],
    errors: int,
    settings: dict[str, Any],
    resamples: int,
    seed: int,
    tiers: Sequence[str] = (),
    inconclusive: Mapping[str, int] | None = None,
) -> ModelResult:
    def columns(metric: PromptMetric, offset: int) -> dict[str, Estimate]:
        return column_estimates(answers, metric, crates, resamples=resamples, seed=seed + offset)

    return ModelResult(
        label=label,
        settings=settings,
        judge=columns(judge_value, 0),
        pass_at={str(k): columns(pass_value(k), 100 * k) for k in pass_ks(samples)},
        invented_api=columns(invented_value, 10_000),
        tiers={t: columns(tier_value(t), 20_000 + 100 * i) for i, t in enumerate(tiers)},
        inconclusive={t: (inconclusive or {}).get(t, 0) for t in tiers},
        dimensions={d: (statistics.fmean(dimensions[d]) if dimensions.get(d) else None) for d in DIMENSIONS},
        answers=len(answers),
        errors=errors,
        top_invented=Counter(invented_names).most_common(5),
    )


def rank(models: list[ModelResult]) -> list[ModelResult]:
    """Highest Overall judge mean first (ties: higher pass@1); models without scores last."""

    def key(m: ModelResult) -> tuple[float, float]:
        judge = m.judge[OVERALL].mean
        compiled = m.pass_at["1"][OVERALL].mean
        return (-(judge if judge is not None else float("-inf")), -(compiled or 0.0))

    ordered = sorted(models, key=key)
    return [m.model_copy(update={"rank": i}) for i, m in enumerate(ordered, start=1)]


def compare(
    a: str,
    b: str,
    scored: Mapping[str, Sequence[Scored]],
    crates: Sequence[str],
    *,
    resamples: int,
    seed: int,
    tiers: Sequence[str] = (),
) -> Comparison:
    def diff(metric: PromptMetric) -> dict[str, Estimate]:
        out: dict[str, Estimate] = {}
        for index, column in enumerate([*crates, OVERALL]):
            pick_a = [s for s in scored[a] if column == OVERALL or s.crate == column]
            pick_b = [s for s in scored[b] if column == OVERALL or s.crate == column]
            out[column] = paired_difference(pick_a, pick_b, metric, resamples=resamples, seed=seed + index)
        return out

    return Comparison(
        a=a, b=b, judge=diff(judge_value), pass_at_1=diff(pass_value(1)), invented_api=diff(invented_value),
        tiers={t: diff(tier_value(t)) for t in tiers},
    )  # fmt: skip
