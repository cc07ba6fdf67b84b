"""The ledger call cache, token and cost accounting, price overrides and the budget."""

from __future__ import annotations

import asyncio

import pytest
from llm_helpers import call, make_client

from rustgate.ledger import Ledger
from rustgate.llm import Accounting, BudgetExceeded, LLMRequest, PriceTable
from rustgate.records import Message
from rustgate.testing.llm_server import LLMServer, Reply

pytest_plugins = ["llm_fixtures"]
pytestmark = pytest.mark.usefixtures("api_keys")


def ask(text: str = "hello", nonce: int = 0) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)], nonce=nonce, max_tokens=100)


def test_second_identical_call_is_served_from_the_ledger(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger)
    llm_server.script(Reply.ok_text("x" * 400))  # 100 output tokens
    first = call(client, ask("y" * 400), "judge")
    second = call(client, ask("y" * 400), "judge")
    assert llm_server.request_count == 1
    assert not first.cached and second.cached and second.text == first.text
    # 1 USD per million tokens each way (TEST_PRICES): 100 in + 100 out.
    assert first.cost_usd == pytest.approx(200 / 1_000_000)
    usage = client.accounting.of("judge", "anthropic:test-model")
    assert (usage.calls, usage.cached_calls, usage.input_tokens, usage.output_tokens) == (1, 1, 100, 100)
    assert usage.usd == pytest.approx(200e-6) and usage.saved_usd == pytest.approx(200e-6)
    # A fresh client over the same ledger file (a rerun) also pays nothing.
    rerun = make_client(llm_server, ledger)
    assert call(rerun, ask("y" * 400), "judge").cached
    assert llm_server.request_count == 1


def test_cache_key_covers_model_parameters_and_nonce(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger)
    call(client, ask(), "g")
    call(client, ask(nonce=1), "g")
    warmer = LLMRequest(messages=[Message(role="user", content="hello")], max_tokens=100, temperature=0.5)
    call(client, warmer, "g")
    call(make_client(llm_server, ledger, "openai"), ask(), "g")
    assert llm_server.request_count == 4 and ledger.count("llm_calls") == 4


def test_price_table_overrides_and_globs() -> None:
    table = PriceTable({"anthropic:claude-sonnet-4*": (2.0, 10.0)})
    assert table.price("anthropic:claude-sonnet-4-5") == (2.0, 10.0)
    assert table.price("anthropic:claude-haiku-4-5") == (1.0, 5.0)  # shipped default
    assert table.cost("openai:my-local-model", 1000, 1000) == 0.0  # unknown: self-hosted, free
    assert table.cost("openai:gpt-4.1", 1_000_000, 1_000_000) == pytest.approx(10.0)


def test_budget_refuses_a_call_it_cannot_afford_before_sending(llm_server: LLMServer, ledger: Ledger) -> None:
    accounting = Accounting(max_usd=150e-6)  # less than one call's worst case (input + 100 output)
    client = make_client(llm_server, ledger, accounting=accounting)
    with pytest.raises(BudgetExceeded, match="max_usd"):
        call(client, ask("z" * 400), "g")
    assert llm_server.request_count == 0 and accounting.spent_usd == 0.0 and accounting.reserved_usd == 0.0


def test_cached_calls_are_free_even_over_budget(llm_server: LLMServer, ledger: Ledger) -> None:
    call(make_client(llm_server, ledger), ask(), "g")
    broke = make_client(llm_server, ledger, accounting=Accounting(max_usd=1e-9))
    assert call(broke, ask(), "g").cached
    assert llm_server.request_count == 1


def test_identical_concurrent_requests_are_sent_once(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger)
    llm_server.latency_s = 0.2

    async def go() -> list[bool]:
        try:
            replies = await asyncio.gather(*(client.complete(ask("same"), gate="g") for _ in range(5)))
            return [r.cached for r in replies]
        finally:
            await client.aclose()

    assert sorted(asyncio.run(go())) == [False, True, True, True, True]
    assert llm_server.request_count == 1
