"""``LLMClient``: one model with its concurrency limit, rate limiter, retries, costs and call cache.

Every call is looked up in the ledger by a hash of (provider, model, parameters, messages) first:
a rerun costs nothing for work already done, and a run killed mid-way repeats no finished call.
"""

from __future__ import annotations

import asyncio

from rustgate.ledger import Ledger, stable_hash
from rustgate.llm.costs import Accounting, PriceTable
from rustgate.llm.errors import LLMError, TransientError
from rustgate.llm.providers import ModelSpec, Provider, make_provider
from rustgate.llm.ratelimit import PrioritySlots, RateLimiter
from rustgate.llm.retry import RetryPolicy
from rustgate.llm.types import LLMRequest, LLMResponse, ProviderReply

CACHE_VERSION = "llm-call/2"


class LLMClient:
    """Calls one model. Construct it before any work starts: a missing key or unknown provider
    raises ``LLMConfigError`` here, not halfway through a run."""

    def __init__(
        self,
        model: str | ModelSpec,
        *,
        ledger: Ledger,
        base_url: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 16,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        prices: PriceTable | None = None,
        accounting: Accounting | None = None,
        provider: Provider | None = None,
    ) -> None:
        self.spec = (
            model
            if isinstance(model, ModelSpec)
            else ModelSpec.parse(model, base_url=base_url, api_key_env=api_key_env)
        )
        self.provider = provider or make_provider(self.spec, timeout_s=timeout_s)
        self.ledger = ledger
        self.concurrency = concurrency
        self.limiter = RateLimiter(requests_per_minute=requests_per_minute, tokens_per_minute=tokens_per_minute)
        self.retry = retry or RetryPolicy()
        self.prices = prices or PriceTable()
        self.accounting = accounting or Accounting()
        self._semaphore: PrioritySlots | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[str, asyncio.Future[None]] = {}

    @property
    def model_id(self) -> str:
        return self.spec.id

    @property
    def endpoint(self) -> str:
        return self.spec.endpoint

    def cache_key(self, request: LLMRequest) -> str:
        """Provider, model, endpoint and every request field: what decides the reply."""
        return stable_hash(CACHE_VERSION, self.spec.provider, self.spec.model, self.endpoint, request.cache_fields())

    def _slots(self) -> PrioritySlots:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore, self._loop = PrioritySlots(self.concurrency), loop
            self._inflight = {}
        return self._semaphore

    def _account(self, gate: str, reply: ProviderReply, usd: float, *, cached: bool, retries: int = 0) -> None:
        self.accounting.record(
            gate,
            self.model_id,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            usd=usd,
            cached=cached,
            retries=retries,
        )

    def _cached(self, key: str, gate: str) -> LLMResponse | None:
        hit = self.ledger.get_call(key)  # ~10 µs: a thread hop would cost more than it saves
        if hit is None:
            return None
        reply = ProviderReply.from_json(hit)
        cost = self.prices.cost(self.model_id, reply.input_tokens, reply.output_tokens)
        self._account(gate, reply, cost, cached=True)
        return LLMResponse(reply=reply, model=self.model_id, cost_usd=0.0, cached=True, attempts=0)

    async def complete(self, request: LLMRequest, *, gate: str, priority: int = 0) -> LLMResponse:
        """The reply to ``request``, from the ledger when it was asked before.

        Identical requests in flight at the same time are sent once (the others wait for it
        and read the ledger). Raises ``LLMError`` when retries are spent or the API refuses for
        good, and ``BudgetExceeded`` (before calling) when the budget has no room for this call.
        Waiting calls get their turn by ``priority`` (lower first).
        """
        key = self.cache_key(request)
        self._slots()  # binds the per-loop state, the in-flight table included
        while True:
            cached = self._cached(key, gate)
            if cached is not None:
                return cached
            leader = self._inflight.get(key)
            if leader is None:
                break
            await asyncio.shield(leader)  # then re-read the ledger; call ourselves if it failed
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = done
        try:
            return await self._call(key, request, gate, priority)
        finally:
            del self._inflight[key]
            done.set_result(None)

    async def _call(self, key: str, request: LLMRequest, gate: str, priority: int) -> LLMResponse:
        estimate_in = request.estimated_input_tokens()
        worst = self.prices.cost(self.model_id, estimate_in, request.max_tokens)
        slots = self._slots()
        await slots.acquire(priority)
        try:
            # Reserve only once we hold a slot: the budget counts calls in flight, not queued.
            self.accounting.reserve(worst)
            try:
                reply, attempts = await self._call_with_retries(request, estimate_in)
            finally:
                self.accounting.release(worst)
        finally:
            slots.release()
        cost = self.prices.cost(self.model_id, reply.input_tokens, reply.output_tokens)
        self.ledger.put_call(  # ~50 µs in WAL mode; on the loop, in order, before anyone sees the reply
            key,
            provider=self.spec.provider,
            model=self.spec.model,
            response=reply.to_json(),
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cost_usd=cost,
        )
        self._account(gate, reply, cost, cached=False, retries=attempts - 1)
        return LLMResponse(reply=reply, model=self.model_id, cost_usd=cost, cached=False, attempts=attempts)

    async def _call_with_retries(self, request: LLMRequest, estimate_in: int) -> tuple[ProviderReply, int]:
        last: TransientError | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            await self.limiter.acquire(estimate_in + request.max_tokens)
            try:
                reply = await self.provider.complete(request)
            except TransientError as exc:
                last = exc
                if exc.retry_after is not None:
                    self.limiter.pause(exc.retry_after)
                if attempt < self.retry.max_attempts:
                    await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
                continue
            self.limiter.settle(estimate_in + request.max_tokens, reply.input_tokens + reply.output_tokens)
            return reply, attempt
        raise LLMError(f"{self.model_id}: gave up after {self.retry.max_attempts} attempts: {last}")

    async def aclose(self) -> None:
        await self.provider.aclose()
