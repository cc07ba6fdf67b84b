"""Helpers for the eval tests: a small suite, answers of known kinds, and server responders.

Each model server answers a prompt with the variants its plan lists, in turn (the n samples of
one prompt are identical requests, so the k-th request of a prompt gets the k-th variant). The
judge server reads the ``Quality: q`` line of the answer it is shown and scores every dimension
q on the first request for that answer and q + 1 on the second (two judge samples: mean q + 0.5).
Compile verdicts are not scripted: real cargo decides them.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path

from rustgate.testing.llm_server import LLMRequestLog, Reply, Responder, judge_scores

PROMPTS = {
    "axum-hello": ("axum", "Write an axum handler that greets the caller by name taken from the path."),
    "axum-json": ("axum", "Return a JSON list of three books from an axum route."),
    "leptos-hello": ("leptos", "Render a heading saying hello from a Leptos component."),
    "leptos-count": ("leptos", "Show a number that doubles on each click in Leptos."),
    "rig-client": ("rig", "Create an OpenAI client with rig from an explicit key."),
    "rig-agent": ("rig", "Build a rig agent with a pirate preamble."),
}

# Code per kind and crate. "good" compiles; "invented" calls an API that does not exist at the
# pinned versions (counted by the invented-API rule); "typo" is a type error (E0308: fails, not
# invented); "own" calls a missing method on the answer's own struct (E0599 on its own type: not
# invented); "none" has no code at all (rejected).
CODE = {
    ("good", "axum"): """use axum::{extract::Path, routing::get, Router};

async fn hello(Path(name): Path<String>) -> String {
    format!("hello {name}")
}

fn main() {
    let _app: Router = Router::new().route("/hello/{name}", get(hello));
}""",
    ("good", "leptos"): """use leptos::prelude::*;

#[component]
fn App() -> impl IntoView {
    let (count, set_count) = signal(1);
    view! { <button on:click=move |_| set_count.update(|n| *n *= 2)>{count}</button> }
}

fn main() {
    leptos::mount::mount_to_body(App)
}""",
    ("good", "rig"): """use rig::providers::openai;

fn main() {
    let _client = openai::Client::new("sk-test");
}""",
    ("invented", "axum"): """use axum::{routing::get, Router};

fn main() {
    let _app: Router = Router::new().route("/", get(|| async { "hi" })).with_cors();
}""",
    ("invented", "leptos"): """use leptos::prelude::*;

fn main() {
    let _thing = leptos::widgets::Spinner::new();
}""",
    ("invented", "rig"): """use rig::providers::openai;

fn main() {
    // from_env needs the ProviderClient trait in scope in rig 0.13
    let _client = openai::Client::from_env();
}""",
    ("typo", "axum"): """fn main() {
    let port: u16 = "3000";
    println!("{port}");
}""",
    ("typo", "leptos"): """fn main() {
    let count: i32 = "one";
    println!("{count}");
}""",
    ("typo", "rig"): """fn main() {
    let tokens: usize = 1.5;
    println!("{tokens}");
}""",
    ("own", "axum"): """struct Greeter;

fn main() {
    let greeter = Greeter;
    greeter.greet();
}""",
    ("own", "leptos"): """struct Counter;

fn main() {
    Counter.bump();
}""",
    ("own", "rig"): """struct Agent;

fn main() {
    Agent.ask("hi");
}""",
}
KINDS = ("good", "invented", "typo", "own", "none")
COMPILES = {"good": True, "invented": False, "typo": False, "own": False, "none": False}
INVENTED = {"good": False, "invented": True, "typo": False, "own": False, "none": False}

Variant = tuple[str, int]  # (kind, judge quality)

# Two models, each prompt answered twice (samples = 2).
PLANS: dict[str, dict[str, tuple[Variant, Variant]]] = {
    "model-a": {
        "axum-hello": (("good", 8), ("good", 8)),
        "axum-json": (("good", 7), ("typo", 5)),
        "leptos-hello": (("good", 9), ("good", 9)),
        "leptos-count": (("invented", 4), ("good", 7)),
        "rig-client": (("good", 8), ("invented", 3)),
        "rig-agent": (("invented", 4), ("invented", 4)),
    },
    "model-b": {
        "axum-hello": (("typo", 5), ("own", 5)),
        "axum-json": (("good", 6), ("good", 6)),
        "leptos-hello": (("none", 2), ("invented", 3)),
        "leptos-count": (("good", 7), ("none", 2)),
        "rig-client": (("invented", 3), ("invented", 3)),
        "rig-agent": (("good", 6), ("own", 4)),
    },
}


def answer_text(model: str, kind: str, crate: str, quality: int) -> str:
    """The markdown answer; the prose names the model so two models never share an answer."""
    prose = f"Answer from {model}.\nQuality: {quality}\n"
    if kind == "none":
        return prose + "I would rather explain this in words than write code."
    return prose + "\n```rust\n" + CODE[(kind, crate)] + "\n```\n"


def write_suite(path: Path) -> Path:
    rows = [{"id": pid, "crate": crate, "prompt": text} for pid, (crate, text) in PROMPTS.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def model_responder(model: str) -> Responder:
    """Answers each prompt with the plan's variants in turn."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    by_text = {text: pid for pid, (_, text) in PROMPTS.items()}

    def respond(request: LLMRequestLog) -> Reply:
        pid = by_text.get(request.last_user)
        if pid is None:
            return Reply.ok_text("unknown prompt")
        with lock:
            turn = seen[pid]
            seen[pid] += 1
        kind, quality = PLANS[model][pid][turn % 2]
        return Reply.ok_text(answer_text(model, kind, PROMPTS[pid][0], quality))

    return respond


_QUALITY = re.compile(r"Quality: (\d+)")


def judge_responder() -> Responder:
    """Scores the answer it is shown by its ``Quality: q`` line: q, then q + 1 for the same answer."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(request: LLMRequestLog) -> Reply:
        found = _QUALITY.search(request.text)
        if not request.structured or found is None:
            return Reply.ok_text("not a judge request")
        with lock:
            turn = seen[request.text]
            seen[request.text] += 1
        return Reply.ok_data(judge_scores(int(found.group(1)) + turn % 2))

    return respond
