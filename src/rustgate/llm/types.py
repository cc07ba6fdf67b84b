"""The provider-neutral request and response of one LLM call."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rustgate.records import Message


@functools.cache
def json_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, built once (pydantic takes milliseconds per build, per call adds up)."""
    return model.model_json_schema()


@functools.cache
def inline_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The schema with ``$defs`` references inlined: a tool's ``input_schema`` stays self-contained."""
    schema = json_schema_of(model)
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


class LLMRequest(BaseModel):
    """Everything that decides an LLM's answer, so its hash is a sound cache key.

    ``output`` names a pydantic model for structured output (Anthropic forced tool use, OpenAI
    ``chat.completions.parse``); ``nonce`` separates deliberate repeats (judge samples, retries
    after malformed output) that would otherwise share a cache entry.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    messages: list[Message] = Field(min_length=1)
    system: str | None = None
    max_tokens: int = 2048
    temperature: float = 0.0
    output: type[BaseModel] | None = None
    output_name: str = "submit"
    output_description: str = "Submit the structured result."
    nonce: int = 0

    def cache_fields(self) -> dict[str, Any]:
        return {
            "messages": [[m.role, m.content] for m in self.messages],
            "system": self.system,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "output": None if self.output is None else [self.output_name, json_schema_of(self.output)],
            "nonce": self.nonce,
        }

    def estimated_input_tokens(self) -> int:
        chars = len(self.system or "") + sum(len(m.content) for m in self.messages)
        return chars // 4 + 16


@dataclass(frozen=True)
class ProviderReply:
    """What a provider got back, in the JSON-able shape the ledger caches.

    ``data`` is the structured payload as sent (unvalidated: callers validate with pydantic);
    ``None`` with ``data_error`` set when the model's structured output was not parseable.
    """

    text: str
    data: dict[str, Any] | None
    data_error: str | None
    input_tokens: int
    output_tokens: int
    stop_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "data": self.data,
            "data_error": self.data_error,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_json(cls, blob: dict[str, Any]) -> ProviderReply:
        return cls(
            text=str(blob.get("text") or ""),
            data=blob.get("data"),
            data_error=blob.get("data_error"),
            input_tokens=int(blob.get("input_tokens") or 0),
            output_tokens=int(blob.get("output_tokens") or 0),
            stop_reason=blob.get("stop_reason"),
        )


@dataclass(frozen=True)
class LLMResponse:
    """A reply plus what it cost and whether it came from the ledger."""

    reply: ProviderReply
    model: str
    cost_usd: float
    cached: bool
    attempts: int = 1

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def data(self) -> dict[str, Any] | None:
        return self.reply.data
