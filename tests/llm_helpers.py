"""Helpers for the LLM and pipeline tests (fixtures live in ``llm_fixtures``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rustgate.gates.base import Gate
from rustgate.ledger import Ledger
from rustgate.llm import LLMClient, PriceTable, RetryPolicy
from rustgate.records import Diagnostic, GateResult, Record
from rustgate.testing.llm_server import LLMServer

# One million tokens cost 1 USD each way for the test models: costs are easy to predict.
TEST_PRICES = PriceTable(
    {"anthropic:test-*": {"input": 1.0, "output": 1.0}, "openai:test-*": {"input": 1.0, "output": 1.0}}
)
FAST_RETRY = RetryPolicy(max_attempts=4, base_s=0.01, max_s=0.05)


def make_client(server: LLMServer, ledger: Ledger, api: str = "anthropic", **kw: Any) -> LLMClient:
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("prices", TEST_PRICES)
    base = server.url if api == "anthropic" else server.openai_url
    return LLMClient(f"{api}:test-model", ledger=ledger, base_url=base, **kw)


def sample_record(rid: str = "axum-0001", answer: str | None = None, crate: str = "axum") -> Record:
    answer = answer or 'Use a router:\n\n```rust\nfn main() {\n    println!("hi");\n}\n```\n'
    return Record.model_validate(
        {
            "id": rid,
            "crate": crate,
            "messages": [
                {"role": "user", "content": "Write a hello world."},
                {"role": "assistant", "content": answer},
            ],
        }
    )


class MarkerGate(Gate):
    """A small real gate for pipeline-mechanics tests (not the compile gate, and named apart):
    it fails an answer containing ``BROKEN`` with a rustc-like diagnostic, passes the rest."""

    name = "marker"
    version = "marker/1"

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        self.batches.append(len(records))
        results = []
        for record in records:
            if "BROKEN" in record.answer:
                diag = Diagnostic(
                    level="error",
                    code="E0425",
                    message="cannot find value `BROKEN` in this scope",
                    line=2,
                    column=5,
                )
                results.append(GateResult(gate=self.name, verdict="fail", version=self.version, diagnostics=[diag]))
            else:
                results.append(GateResult(gate=self.name, verdict="pass", version=self.version))
        return results


def call(client: LLMClient, request: Any, gate: str = "g") -> Any:
    """One ``complete`` in its own event loop, closing the HTTP pool before the loop ends."""
    import asyncio

    async def go() -> Any:
        try:
            return await client.complete(request, gate=gate)
        finally:
            await client.aclose()

    return asyncio.run(go())


def write_pipeline_config(
    tmp_path: Path, server: LLMServer, *, limit: int, crates: tuple[str, ...] = ("axum", "rig"), extra: str = ""
) -> Path:
    """A generate -> judge ``pipeline.toml`` against the local server (priced test models)."""
    config = tmp_path / "pipeline.toml"
    config.write_text(f"""
output = "out/records.jsonl"
ledger = "ledger.sqlite3"
order = ["generate", "judge"]
{extra}

[generate]
model = "anthropic:test-gen"
crates = {json.dumps(list(crates))}
limit = {limit}

[judge]
model = "openai:test-judge"
threshold = 7.0

[models."anthropic:test-gen"]
base_url = "{server.url}"
concurrency = 4

[models."openai:test-judge"]
base_url = "{server.openai_url}"
concurrency = 4

[prices]
"anthropic:test-*" = {{ input = 3.0, output = 15.0 }}
"openai:test-*" = {{ input = 1.0, output = 4.0 }}
""")
    return config
