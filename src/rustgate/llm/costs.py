"""Token and cost accounting per gate and per model, from a price table the user can override,
and the ``max_usd`` budget.

The budget reserves each call's worst case (estimated input + ``max_tokens`` output) before it
starts and settles the true cost after, so concurrent calls cannot jointly overrun ``max_usd``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rustgate.llm.errors import BudgetExceeded

# USD per million tokens (input, output). Patterns are fnmatch globs over "provider:model";
# the first match wins, so list specific names before general ones. Override per run.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "anthropic:claude-opus-4*": (15.0, 75.0),
    "anthropic:claude-sonnet-4*": (3.0, 15.0),
    "anthropic:claude-3-7-sonnet*": (3.0, 15.0),
    "anthropic:claude-3-5-sonnet*": (3.0, 15.0),
    "anthropic:claude-haiku-4*": (1.0, 5.0),
    "anthropic:claude-3-5-haiku*": (0.8, 4.0),
    "openai:gpt-4.1-nano*": (0.1, 0.4),
    "openai:gpt-4.1-mini*": (0.4, 1.6),
    "openai:gpt-4.1*": (2.0, 8.0),
    "openai:gpt-4o-mini*": (0.15, 0.6),
    "openai:gpt-4o*": (2.5, 10.0),
    "openai:o4-mini*": (1.1, 4.4),
}


class PriceTable:
    """Looks up (input, output) USD per million tokens; unknown models cost 0 (self-hosted)."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        table: dict[str, tuple[float, float]] = {}
        for pattern, price in (overrides or {}).items():
            if isinstance(price, Mapping):
                table[pattern] = (float(price["input"]), float(price["output"]))
            else:
                inp, out = price
                table[pattern] = (float(inp), float(out))
        self.table = {**table, **{k: v for k, v in DEFAULT_PRICES.items() if k not in table}}

    def price(self, model_id: str) -> tuple[float, float] | None:
        for pattern, price in self.table.items():
            if fnmatch.fnmatchcase(model_id, pattern):
                return price
        return None

    def cost(self, model_id: str, input_tokens: int, output_tokens: int) -> float:
        price = self.price(model_id)
        if price is None:
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


@dataclass
class Usage:
    calls: int = 0
    cached_calls: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    saved_usd: float = 0.0  # what the cache hits would have cost

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "retries": self.retries,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "usd": round(self.usd, 6),
            "saved_usd": round(self.saved_usd, 6),
        }


@dataclass
class Accounting:
    """Spend so far, by (gate, model), plus the optional ``max_usd`` budget."""

    max_usd: float | None = None
    usage: dict[tuple[str, str], Usage] = field(default_factory=dict)
    reserved_usd: float = 0.0

    def of(self, gate: str, model: str) -> Usage:
        return self.usage.setdefault((gate, model), Usage())

    @property
    def spent_usd(self) -> float:
        return sum(u.usd for u in self.usage.values())

    def reserve(self, usd: float) -> None:
        """Claim room for one call or raise ``BudgetExceeded`` (nothing is spent then)."""
        if self.max_usd is not None and self.spent_usd + self.reserved_usd + usd > self.max_usd:
            raise BudgetExceeded(
                f"budget max_usd={self.max_usd:g} reached (spent {self.spent_usd:.4f},"
                f" in flight {self.reserved_usd:.4f}, next call up to {usd:.4f})"
            )
        self.reserved_usd += usd

    def release(self, usd: float) -> None:
        self.reserved_usd = max(0.0, self.reserved_usd - usd)

    def record(
        self,
        gate: str,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        usd: float,
        cached: bool,
        retries: int = 0,
    ) -> None:
        usage = self.of(gate, model)
        usage.retries += retries
        if cached:
            usage.cached_calls += 1
            usage.saved_usd += usd
            return
        usage.calls += 1
        usage.input_tokens += input_tokens
        usage.output_tokens += output_tokens
        usage.usd += usd

    def to_json(self) -> dict[str, Any]:
        by_gate: dict[str, dict[str, Any]] = {}
        for (gate, model), usage in sorted(self.usage.items()):
            by_gate.setdefault(gate, {})[model] = usage.to_json()
        return {"spent_usd": round(self.spent_usd, 6), "max_usd": self.max_usd, "by_gate": by_gate}
