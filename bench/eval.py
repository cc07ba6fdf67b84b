"""Eval throughput: 3 models x 60 prompts (rustweb-60) -> compile (real cargo) -> judge, against
the local wire-format server with a fixed latency per call.

    RUSTGATE_CACHE_DIR=<warm cache> .venv/bin/python bench/eval.py [--latency 0.2]

Every model writes its own answer to every prompt (so the compile gate checks 180 distinct
crates: about half compile, the rest call an invented API or mistype a value). The ideal is what
perfect overlap would take: every LLM call at full concurrency (calls x latency / concurrency,
concurrency = the slots of all clients together, sized so each client's share of the calls
matches its share of the slots) plus the compile time of the distinct answers measured alone in
the same run. ``eval_efficiency = ideal / wall`` is printed last.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import compile_floor  # noqa: E402  (the same floor as the pipeline bench)

from rustgate.eval import EvalConfig, evaluate  # noqa: E402
from rustgate.gates.compile import CompileGate
from rustgate.records import Record
from rustgate.testing.llm_server import LLMRequestLog, LLMServer, Reply, judge_scores

PINS = {"axum": "axum =0.8.9", "leptos": "leptos =0.7.8", "rig": "rig-core =0.13.0"}
CODE = {
    ("good", "axum"): 'use axum::{routing::get, Router};\n\nconst ID: &str = "IDENT";\n\n'
    "async fn handler() -> &'static str {\n    ID\n}\n\n"
    'fn main() {\n    let _app: Router = Router::new().route("/IDENT", get(handler));\n}',
    ("good", "leptos"): 'use leptos::prelude::*;\n\nconst ID: &str = "IDENT";\n\n#[component]\n'
    "fn App() -> impl IntoView {\n    let (count, set_count) = signal(0);\n"
    '    view! { <button on:click=move |_| set_count.update(|n| *n += 1)>{ID}" "{count}</button> }\n}\n\n'
    "fn main() {\n    leptos::mount::mount_to_body(App)\n}",
    ("good", "rig"): 'use rig::providers::openai;\n\nconst ID: &str = "IDENT";\n\n'
    "fn main() {\n    let _client = openai::Client::new(ID);\n}",
    ("invented", "axum"): "use axum::Router;\n\n"
    'fn main() {\n    let _app: Router = Router::new().with_cors("IDENT");\n}',
    ("invented", "leptos"): 'fn main() {\n    leptos::widgets::spinner("IDENT");\n}',
    ("invented", "rig"): "use rig::providers::openai;\n\n"
    'fn main() {\n    let _c = openai::Client::from_env_named("IDENT");\n}',
    ("typo", "axum"): 'fn main() {\n    let port: u16 = "IDENT";\n    println!("{port}");\n}',
    ("typo", "leptos"): 'fn main() {\n    let count: i32 = "IDENT";\n    println!("{count}");\n}',
    ("typo", "rig"): 'fn main() {\n    let tokens: usize = "IDENT";\n    println!("{tokens}");\n}',
}
QUALITY = {"good": 8, "invented": 4, "typo": 5}


def respond(request: LLMRequestLog) -> Reply:
    """Judge requests get a score by answer kind; model requests an answer of their own."""
    if request.structured:
        kind = next((k for k in QUALITY if f"Kind: {k}." in request.text), "typo")
        return Reply.ok_data(judge_scores(QUALITY[kind]))
    crate = next((c for c, pin in PINS.items() if pin in request.text), "axum")
    digest = hashlib.sha256(f"{request.model}\0{request.last_user}".encode()).hexdigest()
    kind = ("good", "good", "invented", "typo")[int(digest[0], 16) % 4]
    code = CODE[(kind, crate)].replace("IDENT", f"id{digest[:12]}")
    return Reply.ok_text(f"Kind: {kind}. Here is how ({request.model}):\n\n```rust\n{code}\n```\n")


def serve(latency: float) -> None:
    server = LLMServer(latency_s=latency, responder=respond).start()
    print(server.url, flush=True)
    while True:
        time.sleep(3600)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--suite", default="rustweb-60")
    parser.add_argument("--concurrency", type=int, default=16, help="per model under test")
    parser.add_argument("--jobs", type=int, default=None, help="compile jobs (default: cores + 1)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency)
        return 0

    os.environ.setdefault("ANTHROPIC_API_KEY", "bench")
    os.environ.setdefault("OPENAI_API_KEY", "bench")
    # The server in its own process, so its threads do not share our GIL.
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    # One judge call per answer: the judge's slots match the models' together.
    judge_concurrency = args.models * args.concurrency
    kinds = ["vllm", "openai", "anthropic"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            models = []
            for i in range(args.models):
                provider = kinds[i % 3]
                base = url if provider == "anthropic" else url + "/v1"
                models.append({"model": f"{provider}:bench-{i}", "base_url": base, "concurrency": args.concurrency})
            config = EvalConfig.model_validate(
                {
                    "models": models,
                    "judge": {"model": "anthropic:bench-judge", "base_url": url, "concurrency": judge_concurrency},
                    "suite": args.suite,
                    "output": str(Path(tmp) / "out"),
                    "ledger": str(Path(tmp) / "ledger.sqlite3"),
                    "compile": {"jobs": args.jobs},
                }
            )
            # Warm the OS file cache of the pinned crates for both phases alike.
            compile_floor([_record("warm", c, CODE[("good", c)].replace("IDENT", "warm")) for c in PINS], 2)
            started, cpu0 = time.monotonic(), time.process_time()
            result = evaluate(config, progress=False)
            wall, cpu = time.monotonic() - started, time.process_time() - cpu0
            rows = [json.loads(line) for line in (Path(tmp) / "out/answers.jsonl").read_text().splitlines()]
        usage = [u for gate in result.leaderboard.accounting["by_gate"].values() for u in gate.values()]
        calls = sum(u["calls"] + u["retries"] for u in usage)
        distinct = {(r["crate"], r["messages"][-1]["content"]): r for r in rows}
        records = [_record(f"d{i}", crate, text, raw=True) for i, (crate, text) in enumerate(distinct)]
        compile_s = compile_floor(records, CompileGate(jobs=args.jobs).jobs)
    finally:
        proc.terminate()
        proc.wait()

    slots = args.models * args.concurrency + judge_concurrency
    llm_ideal = calls * args.latency / slots
    ideal = llm_ideal + compile_s
    compiled = sum(r["gates"]["compile"]["verdict"] == "pass" for r in rows)
    print(
        f"models={args.models} prompts={result.leaderboard.suite['prompts']} answers={result.answers}"
        f" compiled={compiled} errors={len(result.errors)}"
    )
    print(f"llm_calls={calls} latency={args.latency}s concurrency={slots} distinct_compiles={len(distinct)}")
    print(f"eval process cpu={cpu:.2f}s")
    print(f"wall={wall:.2f}s ideal={ideal:.2f}s (llm {llm_ideal:.2f}s + compile {compile_s:.2f}s)")
    print(f"eval_efficiency={ideal / wall:.2f}")
    return 0


def _record(rid: str, crate: str, text: str, *, raw: bool = False) -> Record:
    answer = text if raw else f"```rust\n{text}\n```\n"
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    return Record.model_validate({"id": rid, "crate": crate, "messages": messages})


if __name__ == "__main__":
    sys.exit(main())
