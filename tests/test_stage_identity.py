"""One identity per stage: caches and run ids key on everything that changes a verdict and on
nothing that does not; repair in any order; provenance that arrives where it is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from data_fixtures import bad_code, distinct_code, row, write_rows
from hostile import rust
from kill_helpers import kill_when, run_rows
from llm_helpers import make_client, write_pipeline_config

from rustgate.cli.main import main
from rustgate.gates.compile import CompileGate
from rustgate.gates.generate import Generator, Topic, make_specs
from rustgate.gates.judge import JudgeGate
from rustgate.gates.prompts import GENERATOR_PROMPT_HASH
from rustgate.ledger import Ledger
from rustgate.llm import LLMClient
from rustgate.llm.types import LLMRequest
from rustgate.pipeline import Pipeline
from rustgate.records import Message, Record
from rustgate.testing.llm_server import LLMServer, Reply, repairing_responder

pytest_plugins = ["llm_fixtures"]

SLOW = rust(
    "macro_rules! bomb { () => { 1 }; ($x:tt $($rest:tt)*) => { bomb!($($rest)*) + bomb!($($rest)*) }; }\n"
    "pub const N: u64 = bomb!(" + "a " * 40 + ");"
)


def record(rid: str, answer: str) -> Record:
    return Record.model_validate(
        {
            "id": rid,
            "crate": "rust",
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}],
        }
    )


@pytest.mark.cargo
def test_a_timeout_is_rechecked_when_the_limit_grows(tmp_path: Path, warm_cache: Path) -> None:
    """main served `timeout` from a --timeout 1 run to a --timeout 3 run: the key had no limits."""
    slow = record("slow", SLOW)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        (first,) = CompileGate(ledger=ledger, timeout_s=1).check([slow])
        (same,) = CompileGate(ledger=ledger, timeout_s=1).check([slow])
        (larger,) = CompileGate(ledger=ledger, timeout_s=3).check([slow])
        (smaller,) = CompileGate(ledger=ledger, timeout_s=2).check([slow])
    assert first.verdict == "timeout" and not first.cached
    assert same.cached and same.verdict == "timeout"
    assert not larger.cached and larger.verdict == "timeout" and larger.duration_s >= 2.5
    assert smaller.cached  # a 3 s timeout stands for any limit up to 3 s
    assert larger.details["limits"]["timeout_s"] == 3


@pytest.mark.usefixtures("api_keys")
def test_two_endpoints_under_one_model_name_do_not_share_answers(ledger: Ledger) -> None:
    """main keyed LLM calls on provider and model only: a base model and its adapter served under
    the same name by two servers got each other's answers."""
    request = LLMRequest(messages=[Message(role="user", content="Name your checkpoint.")])
    answers = []
    with LLMServer() as base, LLMServer() as adapter:
        base.script(Reply.ok_text("I am the base model"))
        adapter.script(Reply.ok_text("I am the adapter"))
        for server in (base, adapter, base):
            client = LLMClient("vllm:gemma", ledger=ledger, base_url=server.openai_url)
            from llm_helpers import call

            answers.append(call(client, request).text)
        assert base.request_count == 1 and adapter.request_count == 1
    assert answers == ["I am the base model", "I am the adapter", "I am the base model"]


def _pipeline_config(tmp_path: Path, server: LLMServer, *, jobs: int, timeout: float) -> Path:
    config = tmp_path / "pipeline.toml"
    config.write_text(f"""
input = "data.jsonl"
output = "out/records.jsonl"
ledger = "ledger.sqlite3"
order = ["compile", "judge"]
[compile]
jobs = {jobs}
timeout_s = {timeout}
[judge]
model = "anthropic:test-judge"
[models."anthropic:test-judge"]
base_url = "{server.url}"
concurrency = 2
""")
    return config


@pytest.mark.cargo
def test_a_killed_run_resumes_under_other_jobs_but_not_other_limits(tmp_path: Path, warm_cache: Path) -> None:
    """main's run id hashed `jobs` (cores + 1 by default) and ignored the limits."""
    write_rows(tmp_path / "data.jsonl", [row(f"r-{i}", distinct_code(400 + i)) for i in range(30)])
    env = {**os.environ, "ANTHROPIC_API_KEY": "k", "RUSTGATE_CACHE_DIR": str(warm_cache)}
    with LLMServer(latency_s=0.2) as server:
        config = _pipeline_config(tmp_path, server, jobs=2, timeout=60)
        cmd = [sys.executable, "-m", "rustgate.cli.main", "run", str(config), "--no-progress", "--json"]
        kill_when(cmd, env, lambda: run_rows(tmp_path / "ledger.sqlite3") >= 5)
        finished = run_rows(tmp_path / "ledger.sqlite3")
        assert finished < 30, "killed too late to test anything"

        _pipeline_config(tmp_path, server, jobs=3, timeout=60)  # another machine, more cores
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        resumed = json.loads(done.stdout)
        assert resumed["resumed"] >= finished and resumed["done"] == 30

        _pipeline_config(tmp_path, server, jobs=3, timeout=30)  # a limit that can change verdicts
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        other = json.loads(again.stdout)
    assert other["run_id"] != resumed["run_id"] and other["resumed"] == 0


@pytest.mark.cargo
@pytest.mark.usefixtures("api_keys")
def test_the_reference_order_repairs_too(
    llm_server: LLMServer, ledger: Ledger, tmp_path: Path, warm_cache: Path
) -> None:
    """main repaired only when compile came right after generate: generate -> judge -> compile
    ran with repair_attempts = 2 and tried none."""
    llm_server.responder = repairing_responder(broken_every=1)  # every first answer fails to compile
    specs = make_specs("rust", [Topic(id="add", title="Adding", focus="two numbers")])
    summary = Pipeline(
        [JudgeGate(make_client(llm_server, ledger)), CompileGate(ledger=ledger)],
        generator=Generator(make_client(llm_server, ledger)),
        specs=specs,
        output=tmp_path / "o.jsonl",
        ledger=ledger,
        progress=False,
        repair_attempts=2,
    ).run()
    assert summary.repairs_tried == 1 and summary.repairs_fixed == 1 and summary.accepted == 1
    (out,) = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert out["meta"]["provenance"]["attempt"] == 1
    assert {g: v["verdict"] for g, v in out["gates"].items()} == {
        "generate": "pass",
        "judge": "pass",
        "compile": "pass",
    }


@pytest.mark.usefixtures("api_keys")
def test_a_repair_gate_outside_the_order_is_refused(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repairs could never run"):
        Pipeline(
            [],
            generator=Generator(make_client(llm_server, ledger)),
            specs=make_specs("rust", [Topic(id="a", title="A", focus="f")]),
            output=tmp_path / "o.jsonl",
            ledger=ledger,
            repair_attempts=2,
        )


@pytest.mark.usefixtures("api_keys")
def test_report_cost_equals_what_the_run_spent(
    tmp_path: Path, llm_server: LLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """main's report read generation cost from a field no writer wrote (0.0011 of 0.0018)."""
    llm_server.script(Reply.ok_data({"instruction": "too short"}, when="Topic:"))  # one malformed generation
    config = write_pipeline_config(tmp_path, llm_server, limit=3, crates=("axum",))
    assert main(["run", str(config), "--no-progress", "--json"]) == 0
    spent = json.loads(capsys.readouterr().out)["accounting"]["spent_usd"]
    assert main(["report", str(tmp_path / "out/records.jsonl"), "--markdown-only"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cost: "))
    assert line.startswith(f"cost: ${spent:.4f} total") and spent > 0


@pytest.mark.usefixtures("api_keys")
def test_the_generators_prompt_hash_reaches_the_manifest(tmp_path: Path, llm_server: LLMServer) -> None:
    """main's manifest read meta.prompt_hash; the generator writes meta.provenance.prompt_hash."""
    config = write_pipeline_config(tmp_path, llm_server, limit=3, crates=("axum",))
    assert main(["run", str(config), "--no-progress", "--json"]) == 0
    (tmp_path / "build.toml").write_text(
        '[build]\ninputs = ["out/records.jsonl"]\noutput = "ds"\nrequired_gates = ["judge"]\n'
        "[build.dedupe]\nnear = false\nexact = false\n[build.split]\ntest = 1\n"
    )
    assert main(["build", str(tmp_path / "build.toml")]) == 0
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert GENERATOR_PROMPT_HASH in manifest["prompt_hashes"]
    assert "anthropic:test-gen" in manifest["models"]


@pytest.mark.cargo
def test_compile_method_in_the_config_takes_effect(tmp_path: Path, warm_cache: Path) -> None:
    """main accepted [compile] method = "batch" and never passed it to the gate."""
    write_rows(tmp_path / "data.jsonl", [row("ok", distinct_code(1)), row("bad", bad_code(1))])
    (tmp_path / "pipeline.toml").write_text(
        'input = "data.jsonl"\noutput = "out.jsonl"\nledger = "l.sqlite3"\norder = ["compile"]\n'
        '[compile]\nmethod = "batch"\n'
    )
    assert main(["run", str(tmp_path / "pipeline.toml"), "--no-progress", "--json"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["gates"]["compile"]["details"]["method"] for r in rows] == ["batch", "batch"]
    assert [r["gates"]["compile"]["verdict"] for r in rows] == ["pass", "fail"]


def test_an_unknown_stage_or_setting_is_an_error_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rows(tmp_path / "data.jsonl", [row("ok", distinct_code(1))])
    for body in ('order = ["lint"]\n', 'order = ["compile"]\n[compile]\nmethd = "batch"\n'):
        (tmp_path / "p.toml").write_text('input = "data.jsonl"\noutput = "o.jsonl"\n' + body)
        assert main(["run", str(tmp_path / "p.toml")]) == 2
    err = capsys.readouterr().err
    assert "unknown stage 'lint'" in err and "methd" in err
