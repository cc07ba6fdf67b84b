"""The LLM layer's failures, split by what the caller should do about them."""

from __future__ import annotations


class LLMError(Exception):
    """An infrastructure failure (API down, auth refused, retries spent): a gate turns it into
    verdict ``error``, never a pass or a fail of the sample."""


class LLMConfigError(LLMError):
    """Unknown provider, missing API key, bad model string: raised before any work starts."""


class TransientError(LLMError):
    """429, 5xx, timeouts, garbled wire bodies: worth retrying, after ``retry_after`` if the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class BudgetExceeded(Exception):
    """The run's ``max_usd`` would be passed by the next call: the pipeline stops cleanly.

    Deliberately not an ``LLMError``: running out of budget is not an infrastructure failure.
    """
