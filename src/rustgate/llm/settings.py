"""How to reach a model and how hard to push it: the keys every config that names a model shares
(a pipeline's ``[models."..."]``, an eval's models and its judge), and the client they make."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rustgate.ledger import Ledger
from rustgate.llm.client import LLMClient
from rustgate.llm.costs import Accounting, PriceTable
from rustgate.llm.retry import RetryPolicy


class ClientSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = Field(default=16, ge=1)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)

    def client(
        self,
        model: str,
        *,
        ledger: Ledger,
        prices: PriceTable | None = None,
        accounting: Accounting | None = None,
    ) -> LLMClient:
        """The client for ``model``; raises ``LLMConfigError`` (before any work) on a missing key."""
        return LLMClient(
            model,
            ledger=ledger,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            concurrency=self.concurrency,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
            timeout_s=self.timeout_s,
            retry=RetryPolicy(max_attempts=self.max_attempts),
            prices=prices,
            accounting=accounting,
        )
