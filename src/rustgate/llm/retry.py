"""Exponential backoff with jitter, overridden by the server's ``Retry-After`` when it sends one."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_s: float = 0.5
    max_s: float = 60.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(retry_after, self.max_s * 5)
        backoff = min(self.max_s, self.base_s * (2 ** (attempt - 1)))
        return backoff * (1 + random.uniform(-self.jitter, self.jitter))
