"""The generator: instruction/answer pairs for a crate from a curated topic list, plus the
repair call that feeds rustc diagnostics back for another attempt.

Each record carries provenance in ``meta["provenance"]`` (model, prompt hash, parameters,
attempt) and its repair history in ``meta["repairs"]``; a ``generate`` gate result rides along
so the dataset shows which model and prompt version wrote it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rustgate.gates.feedback import repair_feedback
from rustgate.gates.prompts import (
    GENERATOR_PROMPT_HASH,
    GENERATOR_SYSTEM,
    GENERATOR_USER,
    REPAIR_PROMPTS,
    pins_text,
)
from rustgate.llm.client import LLMClient
from rustgate.llm.errors import LLMError
from rustgate.llm.types import LLMRequest
from rustgate.records import Crate, GateResult, Message, Provenance, Record

# Records under way go first: a repair before a judgement before a fresh generation.
PRIORITY_REPAIR, PRIORITY_NEW = 0, 2


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    title: str
    focus: str


class GenerationSpec(BaseModel):
    """One sample to write: the record id is derived from it, so resumes line up."""

    model_config = ConfigDict(frozen=True)

    crate: Crate
    topic: Topic
    variant: int = 0

    @property
    def record_id(self) -> str:
        return f"{self.crate}-{self.topic.id}-{self.variant:02d}"


class GeneratedPair(BaseModel):
    instruction: str = Field(min_length=10)
    answer: str = Field(min_length=20)


class GenerationError(Exception):
    """The generator produced nothing usable (API down, or malformed output after retries)."""


def load_topics(crate: str, path: str | Path | None = None) -> list[Topic]:
    """The shipped topic list for ``crate`` (``gates/topics/<crate>.toml``), or a user's file."""
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
    else:
        source = resources.files("rustgate.gates").joinpath("topics", f"{crate}.toml")
        if not source.is_file():
            raise ValueError(f"no shipped topic list for crate {crate!r}")
        text = source.read_text(encoding="utf-8")
    doc = tomlkit.parse(text).unwrap()
    return [Topic.model_validate(t) for t in doc.get("topic", [])]


def make_specs(
    crate: Crate, topics: Sequence[Topic], *, per_topic: int = 1, limit: int | None = None
) -> list[GenerationSpec]:
    specs = [GenerationSpec(crate=crate, topic=t, variant=v) for v in range(per_topic) for t in topics]
    return specs[:limit] if limit is not None else specs


class Generator:
    name: ClassVar[str] = "generate"
    version: ClassVar[str] = f"generate/1:{GENERATOR_PROMPT_HASH}"

    def __init__(
        self,
        client: LLMClient,
        *,
        temperature: float = 0.7,
        max_tokens: int = 4096,
        malformed_retries: int = 2,
    ) -> None:
        self.client = client
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.malformed_retries = malformed_retries

    def identity(self) -> dict[str, Any]:
        """What changes the answers: model, endpoint, sampling and the prompt version."""
        return {
            "name": self.name,
            "version": self.version,
            "model": self.client.model_id,
            "endpoint": self.client.endpoint,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def _conversation(self, spec: GenerationSpec) -> list[Message]:
        user = GENERATOR_USER.format(
            crate=spec.crate, title=spec.topic.title, focus=spec.topic.focus, variant=spec.variant + 1
        )
        return [Message(role="user", content=user)]

    async def _ask(
        self, spec: GenerationSpec, messages: list[Message], priority: int
    ) -> tuple[GeneratedPair, dict[str, Any]]:
        problems: list[str] = []
        spent = {"cost_usd": 0.0, "input_tokens": 0, "output_tokens": 0}
        for retry in range(self.malformed_retries + 1):
            request = LLMRequest(
                system=GENERATOR_SYSTEM.format(pins=pins_text(spec.crate)),
                messages=messages,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                output=GeneratedPair,
                output_name="submit_pair",
                output_description="Submit the instruction and the markdown answer.",
                nonce=retry,
            )
            try:
                response = await self.client.complete(request, gate=self.name, priority=priority)
            except LLMError as exc:
                raise GenerationError(f"generator call failed: {exc}") from exc
            # What this answer cost, the malformed tries before it included (cache hits cost nothing).
            spent["cost_usd"] += response.cost_usd
            spent["input_tokens"] += 0 if response.cached else response.reply.input_tokens
            spent["output_tokens"] += 0 if response.cached else response.reply.output_tokens
            try:
                if response.data is None:
                    raise ValueError(response.reply.data_error or "no structured output")
                pair = GeneratedPair.model_validate(response.data)
            except (ValidationError, ValueError) as exc:
                problems.append(str(exc).splitlines()[0])
                continue
            return pair, {"cached": response.cached, "retries": retry, **spent}
        raise GenerationError(f"malformed generator output after {self.malformed_retries + 1} tries: {problems[-1]}")

    def _record(
        self,
        spec: GenerationSpec,
        pair: GeneratedPair,
        attempt: int,
        repairs: list[dict[str, Any]],
        started: float,
        call: dict[str, Any],
        earlier: Provenance | None = None,
    ) -> Record:
        provenance = Provenance(
            model=self.client.model_id,
            endpoint=self.client.endpoint,
            prompt_hash=GENERATOR_PROMPT_HASH,
            params={"temperature": self.temperature, "max_tokens": self.max_tokens},
            attempt=attempt,
            cost_usd=(earlier.cost_usd if earlier else 0.0) + call["cost_usd"],
            input_tokens=(earlier.input_tokens if earlier else 0) + call["input_tokens"],
            output_tokens=(earlier.output_tokens if earlier else 0) + call["output_tokens"],
        )
        result = GateResult(
            gate=self.name,
            verdict="pass",
            version=self.version,
            duration_s=time.monotonic() - started,
            cached=bool(call["cached"]),
            details={"model": provenance.model, "attempt": attempt, "retries": call["retries"]},
        )
        record = Record(
            id=spec.record_id,
            crate=spec.crate,
            messages=[
                Message(role="user", content=pair.instruction),
                Message(role="assistant", content=pair.answer),
            ],
            meta={
                "topic": spec.topic.id,
                "variant": spec.variant,
                "provenance": provenance.model_dump(),
                "repairs": repairs,
            },
        )
        return record.with_gate(result)

    async def generate(self, spec: GenerationSpec) -> Record:
        started = time.monotonic()
        pair, call = await self._ask(spec, self._conversation(spec), PRIORITY_NEW)
        return self._record(spec, pair, 0, [], started, call)

    async def repair(self, spec: GenerationSpec, record: Record, compile_result: GateResult) -> Record:
        """Attempt ``n + 1``: the whole conversation so far plus what the code gate found -- the
        compiler's errors, or, past compile, the failing tests, the panic or the denied lints.

        The conversation is rebuilt from the record's repair history, so a resumed run asks the
        very same questions and hits the call cache.
        """
        started = time.monotonic()
        repairs: list[dict[str, Any]] = list(record.meta.get("repairs", []))
        attempt = len(repairs) + 1
        feedback = repair_feedback(compile_result)
        step: dict[str, Any] = {
            "attempt": attempt,
            "verdict": compile_result.verdict,
            "diagnostics": [d.short() for d in compile_result.diagnostics[:20]],
            "feedback": feedback.text,
            "instruction": record.prompt,
            "answer": record.answer,
        }
        if feedback.kind != "compile":  # absent for compile: older histories replay unchanged
            step["kind"] = feedback.kind
        repairs.append(step)
        messages = self._conversation(spec)
        for step in repairs:
            template = REPAIR_PROMPTS[step.get("kind", "compile")]
            messages.append(Message(role="assistant", content=_as_submission(step["instruction"], step["answer"])))
            messages.append(
                Message(role="user", content=template.format(attempt=step["attempt"], diagnostics=step["feedback"]))
            )
        pair, call = await self._ask(spec, messages, PRIORITY_REPAIR)
        return self._record(spec, pair, attempt, repairs, started, call, record.provenance())


def _as_submission(instruction: str, answer: str) -> str:
    return f"Instruction:\n{instruction}\n\nAnswer:\n{answer}"
