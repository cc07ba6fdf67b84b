"""The test and run tiers (issue 21, items 2, 3, 5): real builds with code, real runs in the sandbox.

Each rule has a case that must pass and a near twin that must fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_helpers import answer, check, main_rs, tier

from rustgate.cargo.execute import RunLimits
from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.isolation import choose_isolation
from rustgate.cargo.run_reading import outside_world, panic_message
from rustgate.cargo.templates import load_profiles
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.gates.compile import CompileGate, chosen_tiers

pytestmark = pytest.mark.cargo

LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
WRONG_LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n"
UNIT_TESTS = """
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_plus_one() {
        assert_eq!(add(1, 1), 2);
    }

    #[test]
    fn zero() {
        assert_eq!(add(0, 0), 0);
    }
}
"""
INTEGRATION = """
use rustgate_probe::add;

#[test]
fn adds_up() {
    assert_eq!(add(2, 3), 5, "two and three");
}
"""


def test_a_program_that_exits_0_passes_and_its_non_zero_twin_fails(build_cache: Path) -> None:
    ok, bad = check(
        [main_rs("ok", 'fn main() { println!("hi"); }'), main_rs("bad", "fn main() { std::process::exit(3); }")]
    )
    assert ok.verdict == "pass", ok.reason
    assert tier(ok, "run")["verdict"] == "pass" and tier(ok, "run")["runs"][0]["exit"] == 0  # type: ignore[index]
    assert bad.verdict == "fail" and bad.reason is not None and "exit 3" in bad.reason
    assert tier(bad, "compile")["verdict"] == "pass"  # it compiles: only running it shows the fault


def test_a_panic_fails_with_its_message(build_cache: Path) -> None:
    code = 'fn main() {\n    let v: Vec<i32> = Vec::new();\n    println!("{}", v[3]);\n}\n'
    (panics,) = check([main_rs("panics", code)])
    assert panics.verdict == "fail"
    assert (
        panics.reason is not None and "index out of bounds" in panics.reason and "src/main.rs:4" in panics.reason
    )  # the block names its file on line 1
    assert panics.diagnostics[0].code == "RG-EXIT"


def test_a_failing_unit_test_fails_naming_it_and_the_passing_twin_passes(build_cache: Path) -> None:
    good, bad = check(
        [answer("good", {"src/lib.rs": LIB + UNIT_TESTS}), answer("bad", {"src/lib.rs": WRONG_LIB + UNIT_TESTS})]
    )
    assert good.verdict == "pass", good.reason
    assert tier(good, "test")["tests"] == {"passed": 2, "failed": 0, "ignored": 0}
    assert tier(good, "run")["verdict"] == "not applicable"  # a library: nothing to run
    assert bad.verdict == "fail"
    failures = tier(bad, "test")["failures"]
    assert [f["test"] for f in failures] == ["tests::one_plus_one"]  # type: ignore[index,union-attr]
    assert "left: 0" in failures[0]["message"] and "src/lib.rs" in failures[0]["message"]  # type: ignore[index]
    assert bad.reason is not None and "tests::one_plus_one" in bad.reason and bad.diagnostics[0].code == "RG-TEST"


def test_a_failing_integration_test_fails(build_cache: Path) -> None:
    good, bad = check([
        answer("good", {"src/lib.rs": LIB, "tests/api.rs": INTEGRATION}),
        answer("bad", {"src/lib.rs": WRONG_LIB, "tests/api.rs": INTEGRATION}),
    ])  # fmt: skip
    assert good.verdict == "pass", good.reason
    assert tier(good, "test")["tests"] == {"passed": 1, "failed": 0, "ignored": 0}
    assert (
        bad.verdict == "fail" and bad.reason is not None and "adds_up" in bad.reason and "two and three" in bad.reason
    )


def test_an_answer_without_tests_keeps_its_verdict_and_says_why(build_cache: Path) -> None:
    (plain,) = check([answer("plain", {"src/lib.rs": LIB})], tiers=("compile", "test"))
    assert plain.verdict == "pass"
    test = tier(plain, "test")
    assert test["verdict"] == "not applicable" and test["reason"] == "the answer has no tests"
    assert "build_s" not in test  # nothing was built for a tier that does not apply


def test_a_test_that_ends_the_process_itself_is_not_a_pass(build_cache: Path) -> None:
    exits = (
        LIB + "\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn quits() {\n        std::process::exit(0);\n    }\n}\n"
    )
    (quits,) = check([answer("quits", {"src/lib.rs": exits})], tiers=("compile", "test"))
    assert quits.verdict == "fail" and quits.reason is not None and "before reporting" in quits.reason


def test_a_program_that_needs_the_network_is_inconclusive_never_fail(build_cache: Path) -> None:
    dns = 'use std::net::TcpStream;\nfn main() {\n    TcpStream::connect("example.com:80").unwrap();\n}\n'
    key = 'fn main() {\n    let key = std::env::var("SERVICE_API_KEY").expect("SERVICE_API_KEY must be set");\n}\n'
    wrong = 'fn main() {\n    let n: Option<u8> = None;\n    n.expect("the config has a port");\n}\n'
    net, needs_key, own_bug = check(
        [main_rs("dns", dns), main_rs("key", key), main_rs("own", wrong)], tiers=("compile", "run")
    )
    assert net.verdict == "inconclusive" and net.diagnostics[0].code == "RG-OUTSIDE", net.reason
    assert needs_key.verdict == "inconclusive", needs_key.reason
    assert own_bug.verdict == "fail"  # the near twin: a panic of the program's own making


def test_the_tiers_after_a_failed_compile_do_not_run(build_cache: Path) -> None:
    """Nothing runs, but each tier says whether it would have applied: a program that does not
    compile fails the run tier (what eval's run pass@1 counts); tests it does not have, not."""
    broken, library = check([
        main_rs("broken", 'fn main() { let x: u8 = "no"; }'),
        answer("lib", {"src/lib.rs": 'pub fn f() -> u8 { "no" }'}),
    ])  # fmt: skip
    assert broken.verdict == "fail" and broken.details["tiers"]["compile"]["verdict"] == "fail"
    assert broken.details["tiers"]["run"] == {"verdict": "fail", "reason": "not reached: the compile tier gave fail"}
    assert broken.details["tiers"]["test"] == {"verdict": "not applicable", "applies": False}
    assert library.verdict == "fail" and library.details["tiers"]["run"]["verdict"] == "not applicable"
    assert "duration_s" not in broken.details["tiers"]["run"]  # nothing ran


def test_tiers_windows_and_limits_are_part_of_the_key() -> None:
    profiles = load_profiles()
    source = extract_crate(main_rs("ok", "fn main() {}"), profiles)
    assert isinstance(source, CrateSource)
    toolchain = detect_toolchain()
    isolation = choose_isolation("none", toolchain)
    gates = [
        CompileGate(),
        CompileGate(tiers=("compile", "run")),
        CompileGate(tiers=("compile", "run"), run_window_s=10),
        CompileGate(tiers=("compile", "run"), max_processes=8),
        CompileGate(tiers=("compile", "test")),
        CompileGate(tiers=("compile", "test"), test_window_s=60),
    ]
    keys = {gate.cache_key(source, profiles["rust"], toolchain, isolation) for gate in gates}
    assert len(keys) == len(gates)
    assert CompileGate(tiers=("compile", "run")).identity()["run_limits"] == vars(RunLimits())
    assert "run_limits" not in CompileGate(tiers=("compile", "clippy")).identity()
    assert chosen_tiers(["run", "clippy", "test"]) == ("compile", "clippy", "test", "run")


def test_reading_a_panic_and_the_outside_world() -> None:
    new = "thread 'main' (3) panicked at src/main.rs:4:5:\nboom\nnote: run with `RUST_BACKTRACE=1`"
    old = "thread 'main' panicked at 'boom', src/main.rs:4:5\nnote: run with"
    assert panic_message(new) == "boom (thread 'main', src/main.rs:4:5)"
    assert panic_message(old) == "boom (thread 'main', src/main.rs:4:5)"
    assert panic_message("error: boom") is None
    assert outside_world("Connection refused (os error 111)") == "network"
    assert outside_world("failed to lookup address information") == "dns"
    assert outside_world("OPENAI_API_KEY not set") == "api key"
    assert outside_world("index out of bounds: the len is 0 but the index is 3") is None
    assert outside_world("attempt to subtract with overflow") is None


def test_run_and_test_are_registered_stages_of_their_own(tmp_path: Path, build_cache: Path) -> None:
    from rustgate.gates.base import StageContext
    from rustgate.gates.registry import GATES
    from rustgate.gates.run import RunGate
    from rustgate.gates.test import TestGate
    from rustgate.pipeline_config import PipelineConfig

    config = PipelineConfig.model_validate(
        {
            "input": str(tmp_path / "in.jsonl"),
            "output": str(tmp_path / "out.jsonl"),
            "order": ["test", "run"],
            "run": {"run_window_s": 2},
        }
    )
    run_gate = config.gate_settings("run").build(StageContext(None))
    test_gate = config.gate_settings("test").build(StageContext(None))
    assert isinstance(run_gate, RunGate) and isinstance(test_gate, TestGate) and {"run", "test"} <= set(GATES)
    assert run_gate.tiers == ("compile", "run") and run_gate.run_limits.window_s == 2
    ok, bad = run_gate.check([main_rs("ok", "fn main() {}"), main_rs("bad", 'fn main() { panic!("no"); }')])
    assert (ok.gate, ok.verdict, bad.verdict) == ("run", "pass", "fail")
    (failing,) = test_gate.check([answer("bad", {"src/lib.rs": WRONG_LIB + UNIT_TESTS})])
    assert (failing.gate, failing.verdict) == ("test", "fail")


def test_the_command_line_runs_the_tiers(tmp_path: Path, build_cache: Path) -> None:
    import json
    import subprocess
    import sys

    rows = tmp_path / "rows.jsonl"
    dns = 'fn main() {\n    std::net::TcpStream::connect("example.com:80").unwrap();\n}\n'
    records = [main_rs("ok", 'fn main() { println!("hi"); }'), main_rs("bad", 'fn main() { panic!("boom"); }')]
    records.append(main_rs("dns", dns))
    rows.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "rustgate", "check", str(rows), "--no-cache", "--tiers", "compile,run",
         "--run-window", "2", "--report-json", str(report)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    written = json.loads(report.read_text())
    assert written["summary"]["by_crate"]["rust"]["inconclusive"] == 1  # counted apart, not as a fail
    assert written["summary"]["by_crate"]["rust"]["fail"] == 1
    rows_out = {row["id"]: row for row in written["records"]}
    assert rows_out["ok"]["verdict"] == "pass" and rows_out["bad"]["verdict"] == "fail"
    assert rows_out["bad"]["tiers"]["run"]["verdict"] == "fail" and "boom" in rows_out["bad"]["tiers"]["run"]["reason"]


def test_build_keeps_only_answers_that_ran_and_refuses_verdicts_made_without_the_tier(
    tmp_path: Path, build_cache: Path
) -> None:
    import json

    from data_fixtures import gated, write_records, write_rows

    from rustgate.cli.main import main

    def build(root: Path, trust: bool, tiers: str = '["compile", "run"]') -> list[str]:
        (root / "build.toml").write_text(
            f'[build]\ntrust_row_verdicts = {"true" if trust else "false"}\ninputs = ["rows.jsonl"]\noutput = "out"\n'
            f'seed = 1\ngate_missing = ["compile"]\nledger = "{root / "ledger.sqlite3"}"\n'
            f"compile_tiers = {tiers}\n[build.split]\ntest = 0.25\n"
        )
        main(["build", str(root / "build.toml")])
        out = root / "out"
        return sorted(
            json.loads(line)["id"]
            for f in ("train", "test")
            if (out / f"{f}.jsonl").is_file()
            for line in (out / f"{f}.jsonl").open()
        )

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    ok = [main_rs(f"ok-{i}", f'fn main() {{ println!("{i}"); }}').model_dump(mode="json") for i in range(3)]
    bad = [main_rs(f"bad-{i}", f'fn main() {{ panic!("{i}"); }}').model_dump(mode="json") for i in range(2)]
    write_rows(fresh / "rows.jsonl", ok + bad)
    assert build(fresh, trust=False) == ["ok-0", "ok-1", "ok-2"]  # the panicking twins compile, and are dropped
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    write_records(trusted / "rows.jsonl", [gated(f"r-{i}", f"pub fn f{i}() {{}}\n") for i in range(4)])
    assert build(trusted, trust=True) == []  # compile-only passes, taken on trust: not run, so not kept
    assert not (trusted / "out").exists()  # nothing to write: nothing written
    assert len(build(trusted, trust=True, tiers='["compile"]')) == 4  # the twin: a compile-only dataset keeps them
