"""Pipeline throughput: N samples through generate -> compile (real cargo) -> judge against the
local wire-format server with a fixed latency per call.

    RUSTGATE_CACHE_DIR=<warm cache> .venv/bin/python bench/pipeline.py [--samples 300]

The ideal is what perfect overlap would take: every LLM call at full concurrency
(calls x latency / concurrency) plus the compile time measured alone (same answers, cold compile
cache, warm templates). ``efficiency = ideal / wall`` is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rustgate.gates.compile import CompileGate
from rustgate.gates.generate import Generator, load_topics, make_specs
from rustgate.gates.judge import JudgeGate
from rustgate.ledger import Ledger
from rustgate.llm import LLMClient
from rustgate.pipeline import Pipeline
from rustgate.records import Record


def start_server(latency: float, broken_every: int) -> tuple[subprocess.Popen[str], str]:
    """The server in its own process, so its threads do not share our GIL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rustgate.testing.llm_server",
            "--latency",
            str(latency),
            "--broken-every",
            str(broken_every),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def compile_floor(records: list[Record], jobs: int) -> float:
    """Seconds the compile gate alone needs for these answers (cold compile cache)."""
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "floor.sqlite3") as ledger:
        gate = CompileGate(ledger=ledger, jobs=jobs)
        started = time.monotonic()
        asyncio.run(gate.evaluate(records))
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--broken-every", type=int, default=10, help="about 1 in N answers needs a repair")
    parser.add_argument("--jobs", type=int, default=2, help="compile jobs")
    args = parser.parse_args()

    import os

    os.environ.setdefault("ANTHROPIC_API_KEY", "bench")
    per_crate = -(-args.samples // 3)
    specs = []
    for crate in ("axum", "leptos", "rig"):
        topics = load_topics(crate)
        specs += make_specs(crate, topics, per_topic=-(-per_crate // len(topics)), limit=per_crate)
    specs = specs[: args.samples]

    proc, url = start_server(args.latency, args.broken_every)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ledger = Ledger(Path(tmp) / "ledger.sqlite3")
            client = LLMClient("anthropic:bench-model", ledger=ledger, base_url=url, concurrency=args.concurrency)
            pipeline = Pipeline(
                [CompileGate(ledger=ledger, jobs=args.jobs), JudgeGate(client)],
                generator=Generator(client),
                specs=specs,
                output=Path(tmp) / "out.jsonl",
                ledger=ledger,
                progress=False,
            )
            started, cpu0 = time.monotonic(), time.process_time()
            summary = pipeline.run()
            wall, cpu = time.monotonic() - started, time.process_time() - cpu0
            rows = [Record.model_validate_json(line) for line in (Path(tmp) / "out.jsonl").read_text().splitlines()]
            # Requests really sent (retries included; identical concurrent ones are sent once).
            usage = [u for models in summary.accounting["by_gate"].values() for u in models.values()]
            calls = sum(u["calls"] + u["retries"] for u in usage)
            # The distinct answers the compile gate had to check (first and repaired versions).
            distinct: dict[tuple[str | None, str], Record] = {}
            for record in rows:
                distinct.setdefault((record.crate, record.answer), record)
                for step in record.meta.get("repairs", []):
                    broken = record.model_copy(
                        update={
                            "messages": [
                                record.messages[0],
                                record.messages[1].model_copy(update={"content": step["answer"]}),
                            ]
                        }
                    )
                    distinct.setdefault((record.crate, step["answer"]), broken)
            ledger.close()
        compile_s = compile_floor(list(distinct.values()), args.jobs)
    finally:
        proc.terminate()
        proc.wait()

    llm_ideal = calls * args.latency / args.concurrency
    ideal = llm_ideal + compile_s
    print(
        f"samples={len(specs)} accepted={summary.accepted} repairs={summary.repairs_tried}"
        f" fixed={summary.repairs_fixed} errors={len(summary.errors)}"
    )
    print(f"llm_calls={calls} latency={args.latency}s concurrency={args.concurrency} distinct_compiles={len(distinct)}")
    print(f"pipeline process cpu={cpu:.2f}s")
    print(f"wall={wall:.2f}s ideal={ideal:.2f}s (llm {llm_ideal:.2f}s + compile {compile_s:.2f}s)")
    print(f"efficiency={ideal / wall:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
