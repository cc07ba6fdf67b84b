"""``CompileReward``: TRL's reward contract on real cargo (warm profiles), every verdict scored,
outages unscored (``None``, never 0.0), repeats served by the real SQLite ledger, and the
task-avoiding stubs a compile-only reward would pay for scored low -- each rule beside a near twin
that keeps the full reward."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from rustgate.cargo.toolchain import detect_toolchain
from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.llm.retry import RetryPolicy
from rustgate.rewards import CompileReward, RewardScores, avoidance

pytestmark = pytest.mark.usefixtures("warm_cache")

AXUM = """```rust
use axum::{routing::get, Router};

fn main() {
    let _app: Router = Router::new().route("/", get(|| async { "hi" }));
}
```"""
WRONG = """```rust
fn main() {
    let port: u16 = "3000";
}
```"""
INVENTED = AXUM.replace('get(|| async { "hi" }));', 'get(|| async { "hi" })).with_cors();')
PLAIN = "I would explain this in words."
FAST = RetryPolicy(max_attempts=1)


def fenced(code: str) -> str:
    return f"```rust\n{code}\n```"


def test_the_reward_contract_standard_and_conversational(tmp_path: Path) -> None:
    reward = CompileReward(CompileGate(ledger=Ledger(tmp_path / "l.sqlite3")))
    assert reward.__name__ == "compile_reward"
    metrics: dict[str, float] = {}
    extra: dict[str, list[object]] = {}
    prompts = ["Write an axum router."] * 4
    scores = reward(
        prompts=prompts, completions=[AXUM, WRONG, PLAIN, fenced("fn main() {}")], completion_ids=[[1]] * 4,
        crate=["axum", "rust", "axum", "axum"], trainer_state=None,
        log_metric=metrics.__setitem__, log_extra=extra.__setitem__,
    )  # fmt: skip
    assert scores == [1.0, 0.0, -1.0, 0.1]  # pass, fail, no code, avoids axum
    assert [e["verdict"] for e in reward.last] == ["pass", "fail", "no code", "avoided"]
    assert metrics["compile_reward/pass_rate"] == 0.25 and metrics["compile_reward/cache_hit_rate"] == 0.0
    assert extra["compile_codes"][1] == "E0308"

    conversational = [[{"role": "assistant", "content": AXUM}], [{"role": "assistant", "content": WRONG}]]
    asked = [[{"role": "user", "content": "Write an axum router."}]] * 2
    again = reward(prompts=asked, completions=conversational, crate=["axum", "rust"], log_metric=metrics.__setitem__)
    assert again == [1.0, 0.0] and metrics["compile_reward/cache_hit_rate"] == 1.0  # the ledger served both


def test_scores_partial_credit_and_the_invented_api_penalty_are_configurable(tmp_path: Path) -> None:
    scores = RewardScores(passed=2.0, failed=-1.0, partial=0.5, invented_penalty=0.25)
    reward = CompileReward(CompileGate(use_cache=False), scores=scores, crate="axum")
    assert reward(completions=[AXUM, WRONG, INVENTED]) == [2.0, -1.0 + 0.5 / 2, -1.0 + 0.5 / 2 - 0.25]
    assert reward.last[2].get("invented") is True and "invented" not in reward.last[1]


def test_an_outage_is_unscored_never_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toolchain gone (a real failed lookup, not a faked verdict): no score, not 0.0."""
    monkeypatch.setenv("RUSTC", "/nonexistent/rustc")
    detect_toolchain.cache_clear()
    try:
        reward = CompileReward(CompileGate(use_cache=False))
        assert reward(completions=[AXUM, WRONG]) == [None, None]
        assert {e["verdict"] for e in reward.last} == {"error"}
    finally:
        detect_toolchain.cache_clear()


def test_a_hostile_completion_scores_low_and_leaks_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "rg-canary-5f1d0c"
    monkeypatch.setenv("RUSTGATE_TEST_CANARY", canary)
    hostile = [
        fenced('const SECRET: &str = env!("RUSTGATE_TEST_CANARY");\nfn main() { println!("{SECRET}"); }'),
        fenced('const KEY: &str = include_str!("/proc/self/environ");\nfn main() { println!("{KEY}"); }'),
    ]
    reward = CompileReward(CompileGate(use_cache=False), crate="rust")
    extra: dict[str, list[object]] = {}
    with caplog.at_level(logging.DEBUG):
        scores = reward(completions=hostile, log_extra=extra.__setitem__)
    assert all(s is not None and s <= 0.0 for s in scores), reward.last
    assert canary not in repr(reward.last) + repr(extra) + caplog.text


@pytest.mark.parametrize(
    ("crate", "stub", "twin", "rule"),
    [
        ("axum", "fn main() {\n    println!(\"a router\");\n}", AXUM.split("\n", 1)[1].rsplit("\n", 1)[0], "no crate"),
        ("rust", "fn main() {}", 'fn main() {\n    println!("{}", 2 + 2);\n}', "empty main"),
        ("rust", "fn add(a: i32, b: i32) -> i32 {\n    todo!()\n}\nfn main() {\n    add(1, 2);\n}",
         "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\nfn main() {\n    add(1, 2);\n}", "stub body"),
        ("rust", "fn serve() {\n    loop {}\n}\nfn main() {\n    serve();\n}",
         "fn serve() {\n    loop {\n        break;\n    }\n}\nfn main() {\n    serve();\n}", "stub body"),
        ("rust", "#![allow(dead_code)]\nfn unused() {}\nfn main() {\n    println!(\"x\");\n}",
         "#[allow(dead_code)]\nfn unused() {}\nfn main() {\n    println!(\"x\");\n}", "silenced"),
        ("rust", "macro_rules! hidden {\n    () => { let x: u8 = \"no\"; };\n}\nfn main() {\n    println!(\"x\");\n}",
         "macro_rules! shown {\n    () => { println!(\"x\") };\n}\nfn main() {\n    shown!();\n}", "uninvoked macro"),
    ],
)  # fmt: skip
def test_task_avoiding_stubs_score_low_and_their_twins_do_not(crate: str, stub: str, twin: str, rule: str) -> None:
    assert (avoidance(stub, crate) or "").startswith(rule)
    assert avoidance(twin, crate) is None
    reward = CompileReward(CompileGate(use_cache=False), crate=crate)
    low, full = reward(completions=[fenced(stub), fenced(twin)])
    assert (low, full) == (0.1, 1.0), reward.last


def test_the_judge_reward_is_the_mean_score_over_ten_and_an_outage_is_unscored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real OpenAI SDK against the local server; the compile verdict reaches the judge as a fact."""
    import asyncio

    from rustgate.gates.judge import JudgeGate
    from rustgate.llm.client import LLMClient
    from rustgate.rewards import JudgeReward
    from rustgate.testing.llm_server import LLMServer, Reply, judge_scores

    seen: list[str] = []

    def respond(request: Any) -> Reply:
        seen.append(request.text)
        return Reply.server_error() if "OUTAGE" in request.text else Reply.ok_data(judge_scores(7))

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    ledger = Ledger(tmp_path / "l.sqlite3")
    with LLMServer(responder=respond) as server:
        client = LLMClient("openai:test-judge", ledger=ledger, base_url=server.openai_url, retry=FAST)
        reward = JudgeReward(JudgeGate(client), compile_gate=CompileGate(ledger=ledger), crate="axum")
        assert reward.__name__ == "judge_reward"
        scores = asyncio.run(reward(prompts=["Write a router."] * 2, completions=[AXUM, WRONG + "\nOUTAGE"]))
    assert scores == [pytest.approx(0.7), None]
    assert any("pass" in text and "Router::new()" in text for text in seen)  # the compile fact and the answer


def test_a_test_reward_needs_a_test_that_ran_and_passed(tmp_path: Path) -> None:
    lib = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
    tests = "mod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 2), 4);\n    }\n}\n"
    tested = lib + "\n#[cfg(test)]\n" + tests
    ignored = tested.replace("#[test]", "#[test]\n    #[ignore]")
    failing = tested.replace("2), 4)", "2), 5)")
    completions = [fenced(code) for code in (tested, ignored, lib, failing)]
    gate = CompileGate(ledger=Ledger(tmp_path / "l.sqlite3"), tiers=["compile", "test"])
    metrics: dict[str, float] = {}
    reward = CompileReward(gate, scores=RewardScores(untested=0.2))
    scores = reward(prompts=["Write add with a test."] * 4, completions=completions, crate=["rust"] * 4,
                    log_metric=metrics.__setitem__)  # fmt: skip
    assert [e["verdict"] for e in reward.last] == ["pass", "untested", "untested", "fail"]
    assert scores == [1.0, 0.2, 0.2, 0.0]
    assert metrics["compile_reward/untested_rate"] == 0.5
    # The twin: without ``untested`` the gate's pass is paid in full, tests or none (served by the ledger).
    plain = CompileReward(gate)(prompts=["Write add."] * 2, completions=completions[1:3], crate=["rust"] * 2)
    assert plain == [1.0, 1.0]
