"""The hostile corpus through `rustgate check` in every sandbox mode (real rustc, real crates).

A canary secret sits in a host file and in another process's environment (as an API key
would). For each mode -- bubblewrap, rustgate's namespaces launcher, and no isolation at all
(explicit opt-in) -- the run must give every record a verdict of the kind it deserves, keep
within its limits, bound its memory and output, and leak the canary nowhere: not in stdout,
stderr, the report, the ledger, nor any prompt the judge or the repair loop would send.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from data_fixtures import write_rows
from hostile import cases
from llm_helpers import make_client

from rustgate.cargo.isolation import IsolationError, choose_isolation
from rustgate.cargo.sandbox import which
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.gates.compile import CompileGate
from rustgate.gates.generate import GenerationSpec, Generator, Topic
from rustgate.gates.judge import JudgeGate
from rustgate.ledger import Ledger
from rustgate.records import Record
from rustgate.testing.llm_server import LLMServer

pytest_plugins = ["llm_fixtures"]
pytestmark = [pytest.mark.cargo, pytest.mark.timeout(900)]

TIMEOUT_S = 10
SLACK_S = 5  # a record may overrun its limit by the time it takes to kill and reap it
PEAK_RSS_MB = 200  # the parent process, whatever the answers hold (72 MB measured)
REPORT_MB = 2  # the report of the whole corpus (diagnostics are capped per record; 24 KB measured)

# Peak RSS of the `rustgate check` process itself: VmHWM belongs to the process's own address
# space (ru_maxrss would count what a forking parent held before exec).
RSS_WRAPPER = """
import runpy, sys
out = sys.argv.pop(1)
try:
    runpy.run_module("rustgate", run_name="__main__", alter_sys=True)
finally:
    peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    with open(out, "w") as handle:
        handle.write(peak)
"""


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A secret in a host file and in a running process's environment."""
    folder = tmp_path_factory.mktemp("canary")
    value = "canary-" + secrets.token_hex(12)
    secret = folder / "secret.txt"
    secret.write_text(f'pub const LEAKED: &str = "{value}"; {value}\n')
    holder = subprocess.Popen(["sleep", "3600"], env={"RUSTGATE_CANARY_ENV": value, "PATH": "/usr/bin:/bin"})
    try:
        yield {"value": value, "file": str(secret), "pid": holder.pid}
    finally:
        holder.kill()
        holder.wait()


def modes() -> list[str]:
    return ["bwrap", "namespaces", "none"]


@pytest.fixture(params=modes())
def mode(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    if request.param != "none":
        try:
            choose_isolation(request.param, detect_toolchain())
        except IsolationError as exc:
            pytest.skip(str(exc))
    return str(request.param)


def _run_check(tmp_path: Path, data: Path, mode: str, canary: dict[str, Any], cache: Path) -> dict[str, Any]:
    report, ledger, rss = tmp_path / "report.json", tmp_path / "ledger.sqlite3", tmp_path / "rss"
    env = {**os.environ, "RUSTGATE_CACHE_DIR": str(cache), "RUSTGATE_CANARY_ENV": canary["value"]}
    argv = [sys.executable, "-c", RSS_WRAPPER, str(rss), "check", str(data), "--report-json", str(report)]
    argv += ["--ledger", str(ledger), "--timeout", str(TIMEOUT_S), "--sandbox", mode, "--jobs", "3"]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1200)
    return {
        "returncode": done.returncode,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "wall_s": time.monotonic() - started,
        "report_path": report,
        "report": json.loads(report.read_text()) if report.exists() else None,
        "ledger": ledger,
        "rss_mb": int(rss.read_text()) / 1024 if rss.exists() else None,
    }


def _prompts_for(records: list[Record], mode: str, run_ledger: Path, llm_ledger: Path) -> str:
    """Every prompt the judge and the repair loop would send for these records' verdicts.

    The verdicts come back from the run's own ledger (the same keys, so nothing recompiles).
    """
    with Ledger(run_ledger) as ledger:
        results = CompileGate(ledger=ledger, sandbox=mode, timeout_s=TIMEOUT_S).check(records)
    with LLMServer() as server, Ledger(llm_ledger) as ledger:
        judge = JudgeGate(make_client(server, ledger))
        generator = Generator(make_client(server, ledger, api="openai"))
        spec = GenerationSpec(crate="rust", topic=Topic(id="t", title="t", focus="f"))
        gated = [r.with_gate(result) for r, result in zip(records, results, strict=True)]

        async def send() -> None:
            try:
                await judge.evaluate(gated)
                for record in gated:
                    if record.gates["compile"].verdict in ("fail", "rejected"):
                        await generator.repair(spec, record, record.gates["compile"])
            finally:
                await judge.client.aclose()
                await generator.client.aclose()

        asyncio.run(send())
        return "\n".join(r.text for r in server.requests)


@pytest.mark.usefixtures("api_keys")
def test_hostile_corpus(tmp_path: Path, mode: str, canary: dict[str, Any], warm_cache: Path) -> None:
    corpus = cases(canary["file"], canary["pid"])
    data = write_rows(tmp_path / "hostile.jsonl", [c.row() for c in corpus])
    run = _run_check(tmp_path, data, mode, canary, warm_cache)
    report = run["report"]
    assert report is not None, run["stderr"][-3000:]
    rows = {row["id"]: row for row in report["records"]}

    # Every record has a verdict, of the kind it deserves; nothing is an infrastructure error.
    assert set(rows) == {c.id for c in corpus}
    wrong = {c.id: rows[c.id]["verdict"] for c in corpus if rows[c.id]["verdict"] not in c.allowed(mode)}
    assert not wrong, {k: (v, rows[k]["reason"]) for k, v in wrong.items()}

    # Limits hold: no record runs past its time limit by more than the time to kill it.
    slow = {k: r["duration_s"] for k, r in rows.items() if r["duration_s"] > TIMEOUT_S + SLACK_S}
    assert not slow
    assert run["wall_s"] < 600

    # Memory and output stay bounded.
    assert run["rss_mb"] is not None and run["rss_mb"] < PEAK_RSS_MB, run["rss_mb"]
    assert run["report_path"].stat().st_size < REPORT_MB * 1024 * 1024
    assert len(run["stdout"]) + len(run["stderr"]) < 1024 * 1024
    truncated = rows["many-errors"]
    assert len(truncated["diagnostics"]) <= 50

    # The canary is nowhere: outputs, report, ledger, prompts.
    secret = canary["value"]
    assert secret not in run["stdout"] and secret not in run["stderr"]
    assert secret not in run["report_path"].read_text()
    ledger_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite3*"))
    assert secret.encode() not in ledger_bytes
    records = [Record.model_validate(c.row()) for c in corpus]
    prompts = _prompts_for(records, mode, run["ledger"], tmp_path / "llm.sqlite3")
    assert prompts and secret not in prompts

    # Terminal escapes in a record id are shown escaped, never sent raw to the terminal.
    assert "\x1b" not in run["stdout"] and "\x1b" not in run["stderr"]
    if mode == "none":
        assert "WITHOUT isolation" in run["stderr"]


def test_cache_keys_on_the_sandbox_mode(tmp_path: Path, warm_cache: Path) -> None:
    """A verdict from an unisolated run is not served to an isolated one (or back)."""
    record = Record.model_validate(
        {
            "id": "x",
            "crate": "rust",
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "```rust\npub fn f() -> u8 { 1 }\n```"},
            ],
        }  # fmt: skip
    )
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        (first,) = CompileGate(ledger=ledger, sandbox="none").check([record])
        (second,) = CompileGate(ledger=ledger, sandbox="namespaces").check([record])
        (third,) = CompileGate(ledger=ledger, sandbox="none").check([record])
    assert not first.cached and not second.cached and third.cached
    assert (first.details["sandbox"], second.details["sandbox"]) == ("none", "namespaces")


def test_no_isolation_is_refused_unless_chosen(
    tmp_path: Path, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no sandbox can run, every record is an infrastructure error saying what to do."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    import rustgate.cargo.isolation as isolation

    monkeypatch.setattr(isolation, "which", lambda tool: None)
    monkeypatch.setattr(isolation, "build_launcher", _launcher_refused)
    isolation.choose_isolation.cache_clear()
    try:
        record = Record.model_validate(
            {
                "id": "x",
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "```rust\npub fn f() {}\n```"},
                ],
            }  # fmt: skip
        )
        (result,) = CompileGate().check([record])
    finally:
        isolation.choose_isolation.cache_clear()
    assert result.verdict == "error"
    assert "RUSTGATE_SANDBOX=none" in (result.reason or "") and "bubblewrap" in (result.reason or "")


def _launcher_refused(toolchain: object) -> Path:
    raise IsolationError("user namespaces are not allowed here")


def test_output_file_over_its_size_limit_is_rejected_not_an_error(warm_cache: Path) -> None:
    code = (
        "macro_rules! gen { ($($i:ident)*) => { $( pub mod $i { pub fn f<T: Clone>(x: T) -> (T, T, T) "
        "{ (x.clone(), x.clone(), x) } } )* } }\n"
        "macro_rules! deeper { ($($i:ident)*) => { $( pub mod $i { gen!(ALPHABET); } )* } }\n"
        "macro_rules! deepest { ($($i:ident)*) => { $( pub mod $i { deeper!(ALPHABET); } )* } }\n"
        "deepest!(a b c d);"
    ).replace("ALPHABET", " ".join("abcdefghijklmnopqrstuvwxyz"))
    record = Record.model_validate(
        {
            "id": "x",
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": f"```rust\n{code}\n```"}],
        }
    )
    (result,) = CompileGate(max_output_mb=1).check([record])
    assert result.verdict == "rejected" and "size limit" in (result.reason or ""), result
