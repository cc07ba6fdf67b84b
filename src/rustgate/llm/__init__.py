"""LLM providers over the real ``anthropic`` and ``openai`` SDKs: rate limits, retries, costs, cache.

Names are loaded on first use: importing the SDKs takes about two seconds, which every
``rustgate`` command (and the pre-commit hook) would otherwise pay even when no LLM is called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rustgate.llm.client import LLMClient
    from rustgate.llm.costs import DEFAULT_PRICES, Accounting, PriceTable, Usage
    from rustgate.llm.errors import BudgetExceeded, LLMConfigError, LLMError, TransientError
    from rustgate.llm.providers import ModelSpec
    from rustgate.llm.ratelimit import RateLimiter
    from rustgate.llm.retry import RetryPolicy
    from rustgate.llm.types import LLMRequest, LLMResponse, ProviderReply

_HOMES = {
    "LLMClient": "client",
    "DEFAULT_PRICES": "costs",
    "Accounting": "costs",
    "PriceTable": "costs",
    "Usage": "costs",
    "BudgetExceeded": "errors",
    "LLMConfigError": "errors",
    "LLMError": "errors",
    "TransientError": "errors",
    "ModelSpec": "providers",
    "RateLimiter": "ratelimit",
    "RetryPolicy": "retry",
    "LLMRequest": "types",
    "LLMResponse": "types",
    "ProviderReply": "types",
}

__all__ = [
    "Accounting",
    "BudgetExceeded",
    "DEFAULT_PRICES",
    "LLMClient",
    "LLMConfigError",
    "LLMError",
    "LLMRequest",
    "LLMResponse",
    "ModelSpec",
    "PriceTable",
    "ProviderReply",
    "RateLimiter",
    "RetryPolicy",
    "TransientError",
    "Usage",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'rustgate.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rustgate.llm.{_HOMES[name]}"), name)
