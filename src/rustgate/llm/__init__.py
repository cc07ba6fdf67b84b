"""LLM providers over the real ``anthropic`` and ``openai`` SDKs: rate limits, retries, costs, cache."""

from rustgate.llm.client import LLMClient
from rustgate.llm.costs import DEFAULT_PRICES, Accounting, PriceTable, Usage
from rustgate.llm.errors import BudgetExceeded, LLMConfigError, LLMError, TransientError
from rustgate.llm.providers import ModelSpec
from rustgate.llm.ratelimit import RateLimiter
from rustgate.llm.retry import RetryPolicy
from rustgate.llm.types import LLMRequest, LLMResponse, ProviderReply

__all__ = [
    "DEFAULT_PRICES",
    "Accounting",
    "BudgetExceeded",
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
