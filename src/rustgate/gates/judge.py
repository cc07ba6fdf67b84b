"""``JudgeGate``: an LLM scores each pair on five dimensions, 1-10, rationale first.

Raw scores are stored apart from the threshold (``details["samples"]``, ``scores``), and the
verdict is derived from them by ``apply_threshold``: changing the threshold needs no new call,
and since every call is cached in the ledger, re-running the gate with another threshold is free.
Malformed output is retried, then becomes ``error``; it is never a pass.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rustgate.gates.base import Gate, GateSettings, StageContext
from rustgate.gates.prompts import (
    DIMENSIONS,
    JUDGE_PROMPT_HASH,
    JUDGE_SYSTEM,
    JUDGE_USER,
    fence,
    pins_text,
    rubric_text,
)
from rustgate.llm.client import LLMClient
from rustgate.llm.errors import LLMError
from rustgate.llm.types import LLMRequest
from rustgate.records import GateResult, Message, Record, Verdict
from rustgate.validation import format_validation_error


class JudgeScores(BaseModel):
    """Checked on our side: providers do not all enforce numeric ranges server-side."""

    model_config = ConfigDict(extra="forbid")

    correctness: int = Field(ge=1, le=10)
    completeness: int = Field(ge=1, le=10)
    idiomatic: int = Field(ge=1, le=10)
    crate_knowledge: int = Field(ge=1, le=10)
    explanation: int = Field(ge=1, le=10)


class JudgeOutput(BaseModel):
    """The judge's structured reply; ``rationale`` comes first so the scores follow from it."""

    rationale: str = Field(min_length=1)
    scores: JudgeScores


class _Malformed(Exception):
    pass


def verdict_for(
    scores: Mapping[str, float], threshold: float, min_scores: Mapping[str, float] | None = None
) -> tuple[Verdict, str]:
    """(verdict, reason) from mean scores: pass at overall mean >= threshold and every minimum met."""
    overall = statistics.fmean(scores.values())
    for dim, minimum in (min_scores or {}).items():
        if scores.get(dim, 0.0) < minimum:
            return "fail", f"{dim} {scores.get(dim, 0.0):.2f} < minimum {minimum:g}"
    if overall < threshold:
        return "fail", f"mean {overall:.2f} < threshold {threshold:g}"
    return "pass", f"mean {overall:.2f} >= threshold {threshold:g}"


def apply_threshold(result: GateResult, threshold: float, min_scores: Mapping[str, float] | None = None) -> GateResult:
    """Re-derive a judge verdict from its stored scores: no LLM call, no ledger access."""
    if result.verdict == "error" or not result.scores:
        return result
    verdict, reason = verdict_for(result.scores, threshold, min_scores)
    details = {**result.details, "threshold": threshold, "min_scores": dict(min_scores or {})}
    return result.model_copy(update={"verdict": verdict, "reason": reason, "details": details})


class JudgeGate(Gate):
    name: ClassVar[str] = "judge"
    version: ClassVar[str] = f"judge/1:{JUDGE_PROMPT_HASH}"

    def __init__(
        self,
        client: LLMClient,
        *,
        threshold: float = 7.0,
        min_scores: Mapping[str, float] | None = None,
        samples: int = 1,
        temperature: float | None = None,
        max_tokens: int = 1500,
        malformed_retries: int = 2,
    ) -> None:
        unknown = set(min_scores or {}) - set(DIMENSIONS)
        if unknown:
            raise ValueError(f"unknown judge dimensions in min_scores: {sorted(unknown)}")
        if samples < 1:
            raise ValueError("samples must be >= 1")
        self.client = client
        self.threshold = threshold
        self.min_scores = dict(min_scores or {})
        self.samples = samples
        self.temperature = temperature if temperature is not None else (0.0 if samples == 1 else 0.7)
        self.max_tokens = max_tokens
        self.malformed_retries = malformed_retries

    def identity(self) -> dict[str, Any]:
        """What changes a verdict: the model and endpoint, sampling, the prompt version, the pass mark."""
        return {
            "name": self.name,
            "version": self.version,
            "model": self.client.model_id,
            "endpoint": self.client.endpoint,
            "threshold": self.threshold,
            "min_scores": self.min_scores,
            "samples": self.samples,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        return list(await asyncio.gather(*(self.judge(record) for record in records)))

    def request(self, record: Record, *, sample: int, retry: int) -> LLMRequest:
        compile_result = record.gates.get("compile")
        if compile_result is None:
            fact = "not checked"
        else:
            fact = compile_result.verdict
            shown = [d.short() for d in compile_result.diagnostics[:10]]
            if shown:
                fact += "\n" + "\n".join(shown)
        user = JUDGE_USER.format(
            crate=record.crate or "rust",
            instruction=fence(record.prompt, "INSTRUCTION"),
            answer=fence(record.answer, "ANSWER"),
            compile_fact=fact,
        )
        return LLMRequest(
            system=JUDGE_SYSTEM.format(pins=pins_text(record.crate), rubric=rubric_text()),
            messages=[Message(role="user", content=user)],
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            output=JudgeOutput,
            output_name="submit_scores",
            output_description="Submit the rationale and the five 1-10 scores.",
            nonce=sample * 100 + retry,
        )

    async def _sample(self, record: Record, sample: int) -> tuple[JudgeOutput, dict[str, Any]]:
        problems: list[str] = []
        spent = 0.0  # this sample's calls, the malformed ones included: the report sums what was spent
        for retry in range(self.malformed_retries + 1):
            response = await self.client.complete(self.request(record, sample=sample, retry=retry), gate=self.name)
            spent += response.cost_usd
            if response.data is None:
                problems.append(response.reply.data_error or "no structured output")
                continue
            try:
                parsed = JudgeOutput.model_validate(response.data)
            except ValidationError as exc:
                problems.append(format_validation_error(exc))
                continue
            meta = {"retries": retry, "cached": response.cached, "cost_usd": spent}
            return parsed, meta
        raise _Malformed(f"malformed judge output after {self.malformed_retries + 1} tries: {problems[-1]}")

    async def judge(self, record: Record) -> GateResult:
        started = time.monotonic()
        try:
            outputs = await asyncio.gather(*(self._sample(record, i) for i in range(self.samples)))
        except _Malformed as exc:
            return self.error(str(exc))
        except LLMError as exc:
            return self.error(f"judge call failed: {exc}")
        per_dim: dict[str, list[int]] = {dim: [] for dim in DIMENSIONS}
        for parsed, _ in outputs:
            for dim, value in parsed.scores.model_dump().items():
                per_dim[dim].append(value)
        scores = {dim: statistics.fmean(values) for dim, values in per_dim.items()}
        spread = {dim: max(values) - min(values) for dim, values in per_dim.items()}
        verdict, reason = verdict_for(scores, self.threshold, self.min_scores)
        return GateResult(
            gate=self.name,
            verdict=verdict,
            version=self.version,
            reason=reason,
            scores=scores,
            duration_s=time.monotonic() - started,
            cached=all(meta["cached"] for _, meta in outputs),
            content_hash=record.content_hash(),
            details={
                "model": self.client.model_id,
                "samples": [{"scores": p.scores.model_dump(), "rationale": p.rationale, **m} for p, m in outputs],
                "spread": spread,
                "rationale": outputs[0][0].rationale,
                "threshold": self.threshold,
                "min_scores": self.min_scores,
            },
        )


class JudgeSettings(GateSettings):
    """``[judge]`` in a pipeline config, the hook's ``--judge`` flags, or Python."""

    model: str
    threshold: float = Field(default=7.0, ge=1, le=10)
    min_scores: dict[str, float] = Field(default_factory=dict)
    samples: int = Field(default=1, ge=1)
    temperature: float | None = None
    max_tokens: int = Field(default=1500, ge=1)

    def build(self, context: StageContext) -> JudgeGate:
        return JudgeGate(context.client(self.model), **self.model_dump(exclude={"model"}))
