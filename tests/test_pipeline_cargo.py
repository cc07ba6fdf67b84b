"""The whole generate -> compile -> judge run with the real compile gate (real cargo, warm cache),
including the repair loop turning an answer rustc rejects into one it accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_helpers import make_client

from rustgate.gates.compile import CompileGate
from rustgate.gates.generate import Generator, Topic, make_specs
from rustgate.gates.judge import JudgeGate
from rustgate.ledger import Ledger
from rustgate.pipeline import Pipeline
from rustgate.testing.llm_server import LLMServer, Reply, judge_scores

pytest_plugins = ["llm_fixtures"]
pytestmark = [pytest.mark.cargo, pytest.mark.usefixtures("api_keys")]

SERVER_GOOD = """A minimal axum 0.8 server:

```rust
use axum::{routing::get, Router};

async fn hello() -> &'static str {
    "hello"
}

#[tokio::main]
async fn main() {
    let app: Router = Router::new().route("/", get(hello));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
```
"""
SERVER_BROKEN = SERVER_GOOD.replace('"hello"\n}', '"hello"\n}\n\nfn port() -> u16 {\n    "3000"\n}')

TOPICS = [
    Topic(id="hello", title="Hello server", focus="Router::new and axum::serve"),
    Topic(id="second", title="Second server", focus="the same, again"),
]


def pair(answer: str, *, when: str | None = None, instruction: str = "Write a hello world axum server.") -> Reply:
    return Reply.ok_data({"instruction": instruction, "answer": answer}, when=when)


def test_generate_compile_repair_judge_with_real_cargo(
    warm_cache: Path, llm_server: LLMServer, ledger: Ledger, tmp_path: Path
) -> None:
    llm_server.script(
        pair(SERVER_BROKEN, when="Topic: Hello server", instruction="Write a hello world axum server (1)."),
        pair(SERVER_GOOD, when="attempt 1", instruction="Write a hello world axum server (1)."),
        pair(SERVER_GOOD, when="Topic: Second server", instruction="Write a hello world axum server (2)."),
        Reply.ok_data(judge_scores(8), when="Compile result (fact): pass"),
        Reply.ok_data(judge_scores(4), when="Compile result (fact): pass"),
    )
    specs = make_specs("axum", TOPICS)
    pipeline = Pipeline(
        [CompileGate(ledger=ledger, jobs=2), JudgeGate(make_client(llm_server, ledger, "openai"))],
        generator=Generator(make_client(llm_server, ledger)),
        specs=specs,
        output=tmp_path / "out.jsonl",
        ledger=ledger,
        progress=False,
    )
    summary = pipeline.run()
    out = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    repaired = out["axum-hello-00"]
    assert repaired["gates"]["compile"]["verdict"] == "pass"
    assert repaired["meta"]["provenance"]["attempt"] == 1
    (attempt,) = repaired["meta"]["repairs"]
    assert attempt["verdict"] == "fail" and any("E0308" in d for d in attempt["diagnostics"])
    repair_request = next(r for r in llm_server.requests if "attempt 1" in r.last_user)
    assert "E0308" in repair_request.last_user or "mismatched types" in repair_request.last_user
    assert {r["gates"]["judge"]["verdict"] for r in out.values()} == {"pass", "fail"}
    assert (summary.repairs_tried, summary.repairs_fixed, summary.accepted) == (1, 1, 1)
