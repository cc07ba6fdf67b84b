"""Providers over the real ``anthropic`` and ``openai`` async SDKs.

The SDKs' own retries are off (``max_retries=0``): retries happen in ``LLMClient`` so the rate
limiter, the ledger and the cost figures see every attempt. Each SDK failure is mapped to
``TransientError`` (retry) or ``LLMError`` (give up, verdict ``error``).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
import openai

from rustgate.llm.errors import LLMConfigError, LLMError, TransientError
from rustgate.llm.types import LLMRequest, ProviderReply, inline_schema_of

ProviderName = Literal["anthropic", "openai"]
_KEY_ENV: dict[str, str] = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
_DEFAULT_ENDPOINTS: dict[str, str] = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}
# Names that mean "an OpenAI-compatible server" (vLLM, Ollama, llama.cpp): need a base_url.
_COMPATIBLE = {"openai-compatible", "vllm", "ollama", "llamacpp", "llama.cpp"}


@dataclass(frozen=True)
class ModelSpec:
    """``anthropic:<model>``, ``openai:<model>``, or ``vllm:<model>`` (etc.) with a ``base_url``."""

    provider: ProviderName
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    compatible: bool = False  # an OpenAI-compatible server (vLLM, Ollama, llama.cpp), not OpenAI

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def endpoint(self) -> str:
        """Where calls go: two servers under one model name (a base model and its adapter) differ here."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return _DEFAULT_ENDPOINTS[self.provider]

    @classmethod
    def parse(cls, name: str, *, base_url: str | None = None, api_key_env: str | None = None) -> ModelSpec:
        prefix, sep, model = name.partition(":")
        if not sep or not model:
            raise LLMConfigError(
                f"model {name!r} must look like 'anthropic:<model>', 'openai:<model>' or 'vllm:<model>'"
            )
        if prefix in _COMPATIBLE:
            if not base_url:
                raise LLMConfigError(f"model {name!r} names an OpenAI-compatible server: set base_url")
            return cls("openai", model, base_url, api_key_env, compatible=True)
        if prefix not in _KEY_ENV:
            known = ", ".join(sorted([*_KEY_ENV, *_COMPATIBLE]))
            raise LLMConfigError(f"unknown provider {prefix!r} in model {name!r} (known: {known})")
        return cls(prefix, model, base_url, api_key_env)  # type: ignore[arg-type]

    def api_key(self) -> str:
        """The key from the environment; a clear error when it is missing.

        A self-hosted OpenAI-compatible server usually wants no key, so one is not required there.
        """
        env = self.api_key_env or _KEY_ENV[self.provider]
        key = os.environ.get(env)
        if key:
            return key
        if self.compatible and not self.api_key_env:
            return "not-needed"
        raise LLMConfigError(f"{self.id}: the API key is missing: set ${env}")


class Provider(ABC):
    """One model behind one SDK client per event loop (an async HTTP pool is bound to its loop)."""

    def __init__(self, spec: ModelSpec, *, timeout_s: float) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self.key = spec.api_key()  # fail now, before any work, when the key is missing
        self._clients: dict[int, Any] = {}

    def sdk(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            self._clients = {id(loop): (client := self.make_sdk_client())}
        return client

    async def aclose(self) -> None:
        """Close this loop's HTTP pool (so it is not left for the garbage collector)."""
        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.close()

    @abstractmethod
    def make_sdk_client(self) -> Any:
        """A fresh async SDK client with ``max_retries=0``."""

    @abstractmethod
    async def complete(self, request: LLMRequest) -> ProviderReply:
        """One attempt. Raises ``TransientError`` or ``LLMError``; never retries itself."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def wire_text(text: str) -> str:
    """Text as JSON over HTTP can carry it: a lone surrogate (not Unicode) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def make_provider(spec: ModelSpec, *, timeout_s: float = 120.0) -> Provider:
    if spec.provider == "anthropic":
        return AnthropicProvider(spec, timeout_s=timeout_s)
    return OpenAIProvider(spec, timeout_s=timeout_s)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if value is None:
        ms = headers.get("retry-after-ms") if headers is not None else None
        return float(ms) / 1000 if ms else None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _map_status(provider: str, status: int, message: str, headers: Any) -> LLMError:
    if status == 429 or status == 408 or status == 409 or status >= 500:
        return TransientError(f"{provider} HTTP {status}: {message}", retry_after=_retry_after(headers), status=status)
    return LLMError(f"{provider} HTTP {status}: {message}")


class AnthropicProvider(Provider):
    """Messages API; structured output through a forced tool call.

    The installed SDK (2.x) has no ``temperature`` parameter on ``messages.create``: Claude
    samples at its default, and ``LLMRequest.temperature`` only shapes the cache key here.
    """

    def make_sdk_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=self.key, base_url=self.spec.base_url, max_retries=0, timeout=self.timeout_s
        )

    async def complete(self, request: LLMRequest) -> ProviderReply:
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "max_tokens": request.max_tokens,
            "messages": [
                {"role": m.role, "content": wire_text(m.content)} for m in request.messages if m.role != "system"
            ],
        }
        if request.system:
            kwargs["system"] = wire_text(request.system)
        if request.output is not None:
            kwargs["tools"] = [
                {
                    "name": request.output_name,
                    "description": request.output_description,
                    "input_schema": inline_schema_of(request.output),
                }
            ]
            kwargs["tool_choice"] = {"type": "tool", "name": request.output_name}
        try:
            message = await self.sdk().messages.create(**kwargs)
        except anthropic.APIStatusError as exc:
            raise _map_status("anthropic", exc.status_code, str(exc), exc.response.headers) from exc
        except anthropic.APIConnectionError as exc:  # includes APITimeoutError
            raise TransientError(f"anthropic: {type(exc).__name__}: {exc}") from exc
        except (ValueError, anthropic.APIResponseValidationError) as exc:  # garbled body on the wire
            raise TransientError(f"anthropic: unreadable response: {exc}") from exc
        text_parts: list[str] = []
        data: dict[str, Any] | None = None
        for block in message.content:
            if block.type == "text":
                text_parts.append(block.text)
            elif block.type == "tool_use" and data is None:
                data = dict(block.input) if isinstance(block.input, dict) else None
        error = None
        if request.output is not None and data is None:
            error = f"no {request.output_name} tool call in the reply (stop_reason={message.stop_reason})"
        return ProviderReply(
            text="".join(text_parts),
            data=data,
            data_error=error,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            stop_reason=message.stop_reason,
        )


class OpenAIProvider(Provider):
    """Chat Completions (OpenAI or a compatible server); structured output via ``parse``."""

    def make_sdk_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=self.key, base_url=self.spec.base_url, max_retries=0, timeout=self.timeout_s)

    async def complete(self, request: LLMRequest) -> ProviderReply:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": wire_text(request.system)})
        messages += [{"role": m.role, "content": wire_text(m.content)} for m in request.messages]
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "messages": messages,
            # Compatible servers (llama.cpp, older vLLM) know only the older name.
            ("max_tokens" if self.spec.compatible else "max_completion_tokens"): request.max_tokens,
            "temperature": request.temperature,
        }
        try:
            if request.output is not None:
                raw = await self.sdk().chat.completions.with_raw_response.parse(
                    response_format=request.output, **kwargs
                )
            else:
                raw = await self.sdk().chat.completions.with_raw_response.create(**kwargs)
            body = raw.http_response.json()
        except openai.APIStatusError as exc:
            raise _map_status("openai", exc.status_code, str(exc), exc.response.headers) from exc
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            raise TransientError(f"openai: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            raise TransientError(f"openai: unreadable response: {exc}") from exc
        try:
            choice = body["choices"][0]
            content = choice["message"].get("content") or ""
            usage = body.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TransientError(f"openai: response without choices: {exc}") from exc
        data: dict[str, Any] | None = None
        error = None
        if request.output is not None:
            # Parse the raw body ourselves so malformed output is cached and judged the same way
            # whether it comes from the wire or the ledger; the SDK's own parse only adds a check.
            try:
                loaded = json.loads(content)
                data = loaded if isinstance(loaded, dict) else None
                error = None if data is not None else "structured output is not a JSON object"
            except json.JSONDecodeError as exc:
                error = f"structured output is not JSON: {exc}"
            if choice["message"].get("refusal"):
                error = f"refused: {choice['message']['refusal']}"
        return ProviderReply(
            text=content if request.output is None else "",
            data=data,
            data_error=error,
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            stop_reason=choice.get("finish_reason"),
        )
