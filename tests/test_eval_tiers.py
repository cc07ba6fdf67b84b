"""``rustgate eval --tiers compile,test,run``: run and test pass@1 beside compile pass@1, with
intervals and paired differences, from real builds and real sandboxed runs of every answer.

Two models on local servers (real SDKs over HTTP) answer five prompts twice. What each answer
does is planned (exits 0, panics, fails a test, does not compile, needs the network), the
verdicts are not: real cargo, the real sandbox and the real probe decide them, and the numbers
are checked against the plan computed by hand.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from eval_helpers import judge_responder

from rustgate.cli.main import main
from rustgate.eval.metrics import OVERALL
from rustgate.testing.llm_server import LLMRequestLog, LLMServer, Reply

pytestmark = pytest.mark.usefixtures("build_cache", "api_keys")
pytest_plugins = ["llm_fixtures"]

CODE = {
    "runs": 'fn main() {\n    let total: u32 = (1..=4).sum();\n    println!("{total}");\n}',
    "panics": 'fn main() {\n    let n: u32 = "x".parse().expect("a number");\n    println!("{n}");\n}',
    "tested": (
        'fn double(x: i32) -> i32 {\n    x * 2\n}\n\nfn main() {\n    println!("{}", double(2));\n}\n\n'
        "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn doubles() {\n"
        "        assert_eq!(double(3), 6);\n    }\n}"
    ),
    "test-fails": (
        'fn double(x: i32) -> i32 {\n    x + 2\n}\n\nfn main() {\n    println!("{}", double(2));\n}\n\n'
        "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn doubles() {\n"
        "        assert_eq!(double(3), 6);\n    }\n}"
    ),
    "broken": 'fn main() {\n    let n: u32 = "four";\n    println!("{n}");\n}',
    "network": (
        "use std::net::TcpStream;\n\nfn main() {\n"
        '    let _stream = TcpStream::connect("example.com:80").expect("connect to example.com");\n}'
    ),
}
PROMPTS = {
    "sum": "Print the sum of 1 to 4.",
    "parse": "Parse a number from a string and print it.",
    "double": "Write a function that doubles a number, with a unit test.",
    "typed": "Declare a u32 and print it.",
    "fetch": "Open a TCP connection to example.com.",
}
# (model, prompt) -> the two answers' kinds. Per answer: compiles? runs? (None: no value) tests?
PLANS = {
    "model-a": {
        "sum": ("runs", "runs"),
        "parse": ("panics", "runs"),
        "double": ("tested", "test-fails"),
        "typed": ("broken", "runs"),
        "fetch": ("network", "runs"),
    },
    "model-b": {
        "sum": ("runs", "panics"),
        "parse": ("panics", "panics"),
        "double": ("tested", "tested"),
        "typed": ("broken", "broken"),
        "fetch": ("network", "network"),
    },
}
COMPILES = {"runs": 1, "panics": 1, "tested": 1, "test-fails": 1, "broken": 0, "network": 1}
RUNS = {"runs": 1, "panics": 0, "tested": 1, "test-fails": 1, "broken": 0, "network": None}
TESTS = {"runs": None, "panics": None, "tested": 1, "test-fails": 0, "broken": None, "network": None}


def responder(model: str):  # type: ignore[no-untyped-def]
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    by_text = {text: pid for pid, text in PROMPTS.items()}

    def respond(request: LLMRequestLog) -> Reply:
        pid = by_text.get(request.last_user)
        if pid is None:
            return Reply.ok_text("unknown prompt")
        with lock:
            turn = seen[pid]
            seen[pid] += 1
        kind = PLANS[model][pid][turn % 2]
        return Reply.ok_text(f"Answer from {model}.\nQuality: 7\n\n```rust\n{CODE[kind]}\n```\n")

    return respond


@pytest.fixture
def servers() -> Iterator[dict[str, LLMServer]]:
    with (
        LLMServer(responder=responder("model-a")) as a,
        LLMServer(responder=responder("model-b")) as b,
        LLMServer(responder=judge_responder()) as judge,
    ):
        yield {"model-a": a, "model-b": b, "judge": judge}


def by_hand(model: str, table: dict[str, int | None]) -> float:
    """The Overall mean of the prompts' pass@1 (prompts with no value left out)."""
    per_prompt = []
    for kinds in PLANS[model].values():
        values = [table[k] for k in kinds if table[k] is not None]
        if values:
            per_prompt.append(statistics.fmean(v for v in values if v is not None))
    return statistics.fmean(per_prompt)


def test_eval_reports_run_and_test_pass_at_1_with_intervals(
    servers: dict[str, LLMServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text("".join(json.dumps({"id": k, "crate": "rust", "prompt": v}) + "\n" for k, v in PROMPTS.items()))
    out = tmp_path / "board"
    argv = [
        "eval", "--model", f"model-a=vllm:test-a@{servers['model-a'].openai_url}",
        "--model", f"model-b=openai:test-b@{servers['model-b'].openai_url}",
        "--judge", "openai:test-judge", "--judge-base-url", servers["judge"].openai_url,
        "--suite", str(suite), "--samples", "2", "--compare", "model-a,model-b",
        "--tiers", "compile,test,run", "--run-window", "3",
        "--output", str(out), "--ledger", str(tmp_path / "l.sqlite3"), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| pass@2 | Test pass@1 | Run pass@1 | Invented API |" in printed
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["compile"]["tiers"] == ["compile", "test", "run"] and board["compile"]["run_window_s"] == 3
    models = {m["label"]: m for m in board["models"]}
    for label in ("model-a", "model-b"):
        m = models[label]
        assert m["pass_at"]["1"][OVERALL]["mean"] == pytest.approx(by_hand(label, COMPILES))
        assert m["tiers"]["run"][OVERALL]["mean"] == pytest.approx(by_hand(label, RUNS))
        assert m["tiers"]["test"][OVERALL]["mean"] == pytest.approx(by_hand(label, TESTS))
        run = m["tiers"]["run"][OVERALL]
        assert run["low"] <= run["mean"] <= run["high"]
    # Inconclusive answers (the network) are counted apart, never as failures.
    assert models["model-a"]["inconclusive"] == {"test": 0, "run": 1}
    assert models["model-b"]["inconclusive"] == {"test": 0, "run": 2}
    assert models["model-b"]["tiers"]["run"][OVERALL]["n"] == 4  # "fetch" has no value for model-b

    (paired,) = board["comparisons"]
    # Paired over prompts both have a value for: sum 1-0.5, parse 0.5-0, double 1-1, typed 0.5-0.
    assert paired["tiers"]["run"][OVERALL]["mean"] == pytest.approx(statistics.fmean([0.5, 0.5, 0.0, 0.5]))
    assert paired["tiers"]["test"][OVERALL]["mean"] == pytest.approx(0.5 - 1.0)

    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    tiers_of = {
        (r["meta"]["eval"]["model"], r["meta"]["eval"]["prompt_id"], r["meta"]["eval"]["sample"]): r["gates"][
            "compile"
        ]["details"]["tiers"]
        for r in rows
    }
    broken = tiers_of[("model-b", "typed", 0)]
    assert broken["compile"]["verdict"] == "fail" and broken["run"]["verdict"] == "fail"
    assert broken["test"]["verdict"] == "not applicable" and "not reached" in broken["run"]["reason"]
    assert "a number" in tiers_of[("model-b", "parse", 0)]["run"]["reason"]
    html = (out / "leaderboard.html").read_text()
    assert "<h2>Run pass@1</h2>" in html and "<h2>Test pass@1</h2>" in html
    assert "Run pass@1" in (out / "leaderboard.md").read_text()
