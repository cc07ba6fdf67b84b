"""The repair loop past compile: an answer that compiles but panics when run, or fails its own
test, goes back to the generator with that evidence (the panic and where, the failing test and
its assertion), not with "the compiler rejected it", and the repaired answer is run again.

Real cargo builds and the real sandbox runs every answer; the generator and judge are the real
SDKs against the local server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_helpers import make_client
from run_helpers import check, main_rs

from rustgate.gates.feedback import repair_feedback
from rustgate.gates.generate import Generator, Topic, make_specs
from rustgate.gates.run import RunGate
from rustgate.ledger import Ledger
from rustgate.pipeline import Pipeline
from rustgate.testing.llm_server import LLMServer, Reply

pytest_plugins = ["llm_fixtures"]
pytestmark = pytest.mark.usefixtures("build_cache", "api_keys")

PANICS = """Pick the third item:

```rust
fn main() {
    let items = vec![1, 2];
    let third = items.iter().nth(2).copied().expect("there is a third item");
    println!("{third}");
}
```
"""
RUNS = PANICS.replace('.expect("there is a third item")', ".unwrap_or(0)")
TEST_FAILS = """Doubling, with a test:

```rust
fn double(x: i32) -> i32 {
    x + 2
}

fn main() {
    println!("{}", double(4));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_three() {
        assert_eq!(double(3), 6);
    }
}
```
"""
TEST_PASSES = TEST_FAILS.replace("x + 2", "x * 2")
TOPICS = [
    Topic(id="third", title="Third item", focus="Iterator::nth"),
    Topic(id="double", title="Doubling", focus="a unit test"),
]


def pair(answer: str, when: str) -> Reply:
    return Reply.ok_data({"instruction": "Write this small Rust program.", "answer": answer}, when=when)


def test_run_and_test_failures_are_repaired_with_their_own_evidence(
    llm_server: LLMServer, ledger: Ledger, tmp_path: Path
) -> None:
    llm_server.script(
        pair(PANICS, "Topic: Third item"),
        pair(TEST_FAILS, "Topic: Doubling"),
        pair(RUNS, "failed when it was run (attempt 1)"),
        pair(TEST_PASSES, "its own tests fail (attempt 1)"),
    )
    pipeline = Pipeline(
        [RunGate(ledger=ledger, tiers=("test",), jobs=2)],  # no repair_gate: the last code gate, "run"
        generator=Generator(make_client(llm_server, ledger)),
        specs=make_specs("rust", TOPICS),
        output=tmp_path / "out.jsonl",
        ledger=ledger,
        progress=False,
    )
    assert pipeline.repair_gate == "run"
    summary = pipeline.run()
    out = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert {r["gates"]["run"]["verdict"] for r in out.values()} == {"pass"}
    assert (summary.repairs_tried, summary.repairs_fixed) == (2, 2)

    run_ask = next(r.last_user for r in llm_server.requests if "failed when it was run" in r.last_user)
    assert "there is a third item" in run_ask and "src/main.rs:3" in run_ask and "compiler rejected" not in run_ask
    test_ask = next(r.last_user for r in llm_server.requests if "its own tests fail" in r.last_user)
    assert "tests::doubles_three" in test_ask and "left: 5" in test_ask and "right: 6" in test_ask
    (step,) = out["rust-double-00"]["meta"]["repairs"]
    assert step["kind"] == "test" and step["verdict"] == "fail"


def test_a_compile_failure_is_still_told_as_one() -> None:
    """The twin: a verdict the compile tier decided gets the compiler's errors, even with the
    later tiers asked for (they were never reached); the same answer fixed to compile but still
    panicking is told as a run failure."""
    broken, panics = check([
        main_rs("broken", 'fn main() {\n    let n: u32 = "four";\n    assert!(n > 9, "too small");\n}'),
        main_rs("panics", 'fn main() {\n    let n: u32 = 4;\n    assert!(n > 9, "too small");\n}'),
    ])  # fmt: skip
    told = repair_feedback(broken)
    assert told.kind == "compile" and "E0308" in told.text and "not reached" not in told.text
    told = repair_feedback(panics)  # line 4: the block names its file on line 1
    assert told.kind == "run" and "too small" in told.text and "src/main.rs:4" in told.text
