"""The one record type that flows record -> gates -> ledger -> dataset -> trainer.

A dataset row is Hugging Face chat form (``id``, ``messages``, optional ``crate`` and ``meta``);
gate outcomes ride along on the same record under ``gates`` so nothing downstream has to
re-join them by id.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from rustgate.safejson import check_value

# What a record is about: any crate label ("axum", "tokio", "my-sdk"). Which Cargo world it compiles
# in is a separate question, answered by the profile registry (``rustgate.cargo.templates``).
Crate = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
# The labels rustgate ships topics, prompts and profiles for.
CRATES: tuple[str, ...] = ("axum", "leptos", "rig", "rust")
Role = Literal["system", "user", "assistant"]
# ``inconclusive``: the test or run tier could not judge the answer (it needs the outside world).
Verdict = Literal["pass", "fail", "rejected", "timeout", "error", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "rejected", "timeout", "error", "inconclusive")
# The compile gate's tiers, in order (``cargo.clippy``, ``cargo.run_tiers``).
TIERS = ("compile", "clippy", "test", "run")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str

    @field_validator("content")
    @classmethod
    def _encodable(cls, value: str) -> str:
        check_value(value)  # a lone surrogate (from a lenient reader) could never be hashed or written
        return value


class Diagnostic(BaseModel):
    """One compiler (or gate) message, positioned in the sample's own code."""

    level: str
    code: str | None = None
    message: str
    line: int | None = None
    column: int | None = None
    file: str | None = None
    rendered: str | None = None

    def short(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line is not None else ""
        code = f"[{self.code}] " if self.code else ""
        return f"{where}{self.level}: {code}{self.message}"


class Provenance(BaseModel):
    """Who wrote a record and what it cost: written by the generator into ``meta["provenance"]``,
    read by the manifest and the report through ``Record.provenance()`` (one shape for both)."""

    model_config = ConfigDict(allow_inf_nan=False)

    model: str
    endpoint: str | None = None
    prompt_hash: str
    params: dict[str, Any] = Field(default_factory=dict)
    attempt: int = 0  # 0 for the first answer, n for the n-th repair
    cost_usd: float = 0.0  # every generation call behind this answer: malformed retries and repairs included
    input_tokens: int = 0
    output_tokens: int = 0


class GateResult(BaseModel):
    """What one gate said about one record.

    ``verdict == "error"`` means our infrastructure failed (toolchain missing, API down):
    it is never a pass and never a fail of the sample.
    """

    model_config = ConfigDict(allow_inf_nan=False)

    gate: str
    verdict: Verdict
    version: str
    reason: str | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    scores: dict[str, float] | None = None
    duration_s: float = 0.0
    cached: bool = False
    details: dict[str, Any] = Field(default_factory=dict)
    # ``Record.content_hash()`` of the record this verdict was given to: a verdict belongs to
    # the exact content it judged, so an edit after gating un-passes the record.
    content_hash: str | None = None

    @field_validator("details")
    @classmethod
    def _details_are_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_value(value, depth=1)
        return value

    @property
    def passed(self) -> bool:
        """The verdict alone; ``Record.gate_passed`` also checks it still belongs to the content."""
        return self.verdict == "pass"

    def first_problem(self) -> str:
        """The one line a person reads first: the first error, else any diagnostic, else the reason."""
        errors = [d for d in self.diagnostics if d.level.startswith("error")]
        if errors:
            return errors[0].short()
        if self.diagnostics:
            return self.diagnostics[0].short()
        return self.reason or "no reason given"


class Record(BaseModel):
    """A canonical dataset row plus the verdicts the gates gave it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    crate: Crate | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    gates: dict[str, GateResult] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id must not be blank")
        check_value(value)
        return value

    @field_validator("meta")
    @classmethod
    def _meta_is_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_value(value, depth=1)  # bounded, finite, encodable: it is written back out as JSON
        return value

    @model_validator(mode="after")
    def _has_an_answer(self) -> Record:
        if not any(m.role == "assistant" for m in self.messages):
            raise ValueError("messages has no assistant turn")
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("messages has no user turn")
        return self

    @property
    def prompt(self) -> str:
        """The last user turn: the instruction the answer responds to."""
        return next(m.content for m in reversed(self.messages) if m.role == "user")

    @property
    def answer(self) -> str:
        """The last assistant turn: the markdown answer the gates judge."""
        return next(m.content for m in reversed(self.messages) if m.role == "assistant")

    def provenance(self) -> Provenance | None:
        """The generator's provenance, when a generator wrote this record."""
        raw = self.meta.get("provenance")
        if not isinstance(raw, dict):
            return None
        try:
            return Provenance.model_validate(raw)
        except ValueError:
            return None

    def with_gate(self, result: GateResult) -> Record:
        """Attach ``result``, bound to this record's content unless it already names what it judged."""
        if result.content_hash is None:
            result = result.model_copy(update={"content_hash": self.content_hash()})
        return self.model_copy(update={"gates": {**self.gates, result.gate: result}})

    def stale_gates(self) -> list[str]:
        """Gates whose verdict was given to other content (edited after gating) or to unknown content."""
        current = self.content_hash()
        return [name for name, result in self.gates.items() if result.content_hash != current]

    def gate_passed(self, gate: str) -> bool:
        """``gate`` said pass, and said it about exactly this content."""
        result = self.gates.get(gate)
        return result is not None and result.passed and result.content_hash == self.content_hash()

    def passed(self, gates: list[str] | tuple[str, ...]) -> bool:
        current = self.content_hash()
        return all(
            g in self.gates and self.gates[g].passed and self.gates[g].content_hash == current for g in gates
        )

    def content_hash(self) -> str:
        return content_hash(self.messages, self.crate)

    def to_row(self, *, with_gates: bool = False) -> dict[str, Any]:
        """The JSON line for this record; gate results only when asked."""
        row: dict[str, Any] = {"id": self.id, "messages": [m.model_dump() for m in self.messages]}
        if self.crate is not None:
            row["crate"] = self.crate
        if self.meta:
            row["meta"] = self.meta
        if with_gates and self.gates:
            row["gates"] = {k: v.model_dump(exclude_defaults=True) for k, v in self.gates.items()}
        return row


def content_hash(messages: list[Message], crate: str | None) -> str:
    """A stable hash of what a record says (not its id, meta or verdicts).

    Manifests store it so a record edited after gating is caught.
    """
    payload = {"crate": crate, "messages": [[m.role, m.content] for m in messages]}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: a lone surrogate in an answer must hash (and be rejected by a gate), not crash.
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()
