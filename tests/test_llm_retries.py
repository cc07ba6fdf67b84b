"""Retries on 429/5xx/timeouts/garbled bodies, Retry-After honoured, permanent errors not retried."""

from __future__ import annotations

import asyncio
import time

import pytest
from llm_helpers import call, make_client

from rustgate.ledger import Ledger
from rustgate.llm import LLMError, LLMRequest, RateLimiter, RetryPolicy
from rustgate.llm.ratelimit import PrioritySlots
from rustgate.records import Message
from rustgate.testing.llm_server import LLMServer, Reply

pytest_plugins = ["llm_fixtures"]
pytestmark = pytest.mark.usefixtures("api_keys")


def ask(text: str = "hello") -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)])


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_429_honours_retry_after(api: str, llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, api)
    llm_server.script(Reply.rate_limited(retry_after=0.4), Reply.ok_text("after the wait"))
    started = time.monotonic()
    response = call(client, ask(), "g")
    assert response.text == "after the wait" and response.attempts == 2
    assert time.monotonic() - started >= 0.4
    assert llm_server.request_count == 2
    assert client.accounting.of("g", client.model_id).retries == 1


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_5xx_and_garbled_bodies_are_retried(api: str, llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, api)
    llm_server.script(Reply.server_error(500), Reply.server_error(503), Reply.malformed_wire(), Reply.ok_text("ok"))
    assert call(client, ask(), "g").text == "ok"
    assert llm_server.request_count == 4


def test_timeouts_are_retried(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, timeout_s=1.0)
    llm_server.script(Reply(text="too late", delay_s=3.0), Reply.ok_text("in time"))
    assert call(client, ask(), "g").text == "in time"
    assert llm_server.request_count == 2


def test_retries_spent_raise_llm_error_and_cache_nothing(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, retry=RetryPolicy(max_attempts=3, base_s=0.01))
    llm_server.script(*[Reply.server_error(500) for _ in range(3)])
    with pytest.raises(LLMError, match="gave up after 3 attempts"):
        call(client, ask(), "g")
    assert llm_server.request_count == 3
    assert ledger.count("llm_calls") == 0


def test_auth_error_is_not_retried(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger)
    llm_server.script(Reply.server_error(401))
    with pytest.raises(LLMError, match="401"):
        call(client, ask(), "g")
    assert llm_server.request_count == 1


def test_retry_after_pauses_every_call_through_the_limiter(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, concurrency=4)
    llm_server.script(Reply.rate_limited(retry_after=0.5, when="first"))

    async def go() -> list[float]:
        first = asyncio.create_task(client.complete(ask("first"), gate="g"))
        while client.limiter.paused_until == 0.0:  # until the 429 has arrived and paused the limiter
            await asyncio.sleep(0.005)
        t0 = time.monotonic()
        await client.complete(ask("second"), gate="g")
        second_done = time.monotonic() - t0
        await first
        await client.aclose()
        return [second_done]

    (second_wait,) = asyncio.run(go())
    assert second_wait >= 0.25  # waited out the rest of the Retry-After instead of calling at once


def test_token_bucket_waits_for_refill() -> None:
    async def go() -> float:
        limiter = RateLimiter(tokens_per_minute=600)  # 10 tokens per second
        await limiter.acquire(600)
        t0 = time.monotonic()
        await limiter.acquire(5)
        return time.monotonic() - t0

    assert 0.4 <= asyncio.run(go()) < 2.0


def test_request_bucket_and_settle() -> None:
    async def go() -> tuple[float, float]:
        limiter = RateLimiter(requests_per_minute=120, tokens_per_minute=6000)
        limiter.requests.level = 0.0  # type: ignore[union-attr]  # drained: next request waits 0.5 s
        t0 = time.monotonic()
        await limiter.acquire(0)
        waited = time.monotonic() - t0
        limiter.settle(reserved=0, used=6000)  # the reply used a full minute of tokens
        return waited, limiter.tokens.level  # type: ignore[union-attr]

    waited, level = asyncio.run(go())
    assert waited >= 0.4 and level <= 1.0


def test_backoff_grows_and_retry_after_wins() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=8.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(1, retry_after=7.0) == 7.0


def test_waiting_calls_go_by_priority() -> None:
    order: list[str] = []

    async def go() -> None:
        slots = PrioritySlots(1)
        await slots.acquire()

        async def waiter(name: str, priority: int) -> None:
            await slots.acquire(priority)
            order.append(name)
            slots.release()

        tasks = [
            asyncio.create_task(waiter(n, p)) for n, p in [("new-1", 2), ("judge", 1), ("new-2", 2), ("repair", 0)]
        ]
        await asyncio.sleep(0.01)
        slots.release()
        await asyncio.gather(*tasks)

    asyncio.run(go())
    assert order == ["repair", "judge", "new-1", "new-2"]


def test_retry_after_forms() -> None:
    from email.utils import formatdate

    from rustgate.llm.providers import _retry_after

    assert _retry_after({"retry-after": "2.5"}) == 2.5
    assert _retry_after({"retry-after-ms": "1500"}) == 1.5
    in_ten = _retry_after({"retry-after": formatdate(time.time() + 10, usegmt=True)})
    assert in_ten is not None and 8 <= in_ten <= 10
    assert _retry_after({"retry-after": "soon"}) is None and _retry_after({}) is None
