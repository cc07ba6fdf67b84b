"""Providers over the real SDKs, driven against the local wire-format server."""

from __future__ import annotations

import pytest
from llm_helpers import call, make_client
from pydantic import BaseModel

from rustgate.ledger import Ledger
from rustgate.llm import LLMClient, LLMConfigError, LLMRequest, ModelSpec
from rustgate.records import Message
from rustgate.testing.llm_server import LLMServer, Reply, judge_scores

pytest_plugins = ["llm_fixtures"]


class Pair(BaseModel):
    rationale: str
    scores: dict[str, int]


def ask(text: str = "hello", **kw: object) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)], **kw)  # type: ignore[arg-type]


def test_model_strings() -> None:
    assert ModelSpec.parse("anthropic:claude-sonnet-4-5").id == "anthropic:claude-sonnet-4-5"
    assert ModelSpec.parse("openai:gpt-4.1").provider == "openai"
    vllm = ModelSpec.parse("vllm:qwen2.5-coder", base_url="http://gpu:8000/v1")
    assert (vllm.provider, vllm.model, vllm.base_url) == ("openai", "qwen2.5-coder", "http://gpu:8000/v1")
    with pytest.raises(LLMConfigError, match="unknown provider 'gemini'"):
        ModelSpec.parse("gemini:pro")
    with pytest.raises(LLMConfigError, match="base_url"):
        ModelSpec.parse("ollama:llama3")
    with pytest.raises(LLMConfigError, match="must look like"):
        ModelSpec.parse("claude-sonnet")


def test_missing_key_fails_at_construction(monkeypatch: pytest.MonkeyPatch, ledger: Ledger) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMConfigError, match=r"\$ANTHROPIC_API_KEY"):
        LLMClient("anthropic:claude-sonnet-4-5", ledger=ledger)
    with pytest.raises(LLMConfigError, match=r"\$OPENAI_API_KEY"):
        LLMClient("openai:gpt-4.1", ledger=ledger)
    with pytest.raises(LLMConfigError, match=r"\$MY_KEY"):
        LLMClient("vllm:qwen", ledger=ledger, base_url="http://127.0.0.1:1/v1", api_key_env="MY_KEY")
    # A self-hosted OpenAI-compatible server needs no key.
    assert LLMClient("vllm:qwen", ledger=ledger, base_url="http://127.0.0.1:1/v1").model_id == "openai:qwen"


@pytest.mark.usefixtures("api_keys")
@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_text_and_structured_calls(api: str, llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, api)
    llm_server.script(Reply.ok_text("plain words"), Reply.ok_data(judge_scores(9, "fine")))
    text = call(client, ask(system="be brief"), "t")
    data = call(client, ask("score it", output=Pair, output_name="submit_scores"), "t")
    assert text.text == "plain words" and text.data is None
    assert data.data == judge_scores(9, "fine") and data.reply.data_error is None
    assert text.reply.input_tokens > 0 and data.reply.output_tokens > 0
    first, second = llm_server.requests
    assert first.system == "be brief" and first.api == api
    assert second.structured
    if api == "anthropic":  # forced tool use
        assert second.tool_name == "submit_scores"
        assert "$ref" not in str(second.body["tools"][0]["input_schema"])  # self-contained schema
        assert second.body["tool_choice"] == {"type": "tool", "name": "submit_scores"}
    else:  # chat.completions.parse sends a json_schema response_format named after the model
        assert second.tool_name == "Pair" and "max_completion_tokens" in second.body
        assert second.body["response_format"]["type"] == "json_schema"


@pytest.mark.usefixtures("api_keys")
def test_openai_malformed_structured_output_is_reported_not_raised(llm_server: LLMServer, ledger: Ledger) -> None:
    client = make_client(llm_server, ledger, "openai")
    llm_server.script(Reply.ok_text("{not json"))
    response = call(client, ask(output=Pair), "t")
    assert response.data is None
    assert response.reply.data_error is not None and "not JSON" in response.reply.data_error


def test_openai_compatible_server_without_key(
    monkeypatch: pytest.MonkeyPatch,
    llm_server: LLMServer,
    ledger: Ledger,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = LLMClient("vllm:qwen2.5-coder", ledger=ledger, base_url=llm_server.openai_url)
    llm_server.script(Reply.ok_text("from vllm"))
    assert call(client, ask(), "t").text == "from vllm"
    assert llm_server.requests[0].model == "qwen2.5-coder"
    assert "max_tokens" in llm_server.requests[0].body  # the name compatible servers know
