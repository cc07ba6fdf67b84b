"""The compile gate on Ray (a local 2-CPU instance, shared by the module): the same verdicts as the
local executor, the ledger kept by the driver, a worker killed mid-batch, and nodes that must refuse."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from corpus import ALL, RUST, Sample
from hostile import cases

from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import GateResult, Record

ray = pytest.importorskip("ray")

from rustgate.executors.ray import RayExecutor  # noqa: E402

pytestmark = pytest.mark.cargo

HOSTILE_IDS = ("read-file-alias", "read-file-include-as-code", "env-macro", "option-env", "only-bin-file",
               "toml-deps-number", "blank-lines")  # fmt: skip
TASK_TITLE = "ray::rustgate_compile_batch"
SCRATCH = re.compile(r"\S*rustgate-\w+/crate/out/\S*long-type-\d+\.txt")


@pytest.fixture(scope="module")
def cluster(warm_cache: Path) -> Iterator[str]:
    """One local Ray for the module (starting one costs seconds): its address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def _records(rows: list[dict[str, Any]]) -> list[Record]:
    return [Record.model_validate(row) for row in rows]


def _comparable(result: GateResult) -> tuple[Any, ...]:
    """Everything a verdict says; a rendered note may name the sample's random scratch folder."""
    diagnostics = [
        d.model_copy(update={"rendered": SCRATCH.sub("<scratch>", d.rendered or "")}) for d in result.diagnostics
    ]
    return result.verdict, result.reason, diagnostics, result.details, result.content_hash


def test_ray_gives_the_local_verdicts_on_the_corpus(cluster: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("canary-not-for-eyes\n")
    hostile = [c for c in cases(str(canary), os.getpid()) if c.id in HOSTILE_IDS]
    assert len(hostile) == len(HOSTILE_IDS)
    samples = [s for s in ALL if s.id != "hostile-macro-bomb"]
    records = _records([s.row() for s in samples] + [c.row() for c in hostile])
    with Ledger(tmp_path / "local.sqlite3") as ledger:
        local = CompileGate(timeout_s=60, ledger=ledger).check(records)
    with Ledger(tmp_path / "ray.sqlite3") as ledger:
        remote = CompileGate(timeout_s=60, ledger=ledger, executor=RayExecutor()).check(records)
        again = CompileGate(timeout_s=60, ledger=ledger, executor=RayExecutor()).check(records)
    assert [_comparable(r) for r in remote] == [_comparable(r) for r in local]
    assert [r.verdict for r in remote[: len(samples)]] == [s.expect for s in samples]
    for case, result in zip(hostile, remote[len(samples) :], strict=True):
        assert result.verdict in case.verdicts, (case.id, result.reason)
        assert "canary-not-for-eyes" not in result.model_dump_json()
    # The driver stored every compiled verdict under the keys the local run uses; a rerun is served from them.
    assert _stored(tmp_path / "ray.sqlite3") == _stored(tmp_path / "local.sqlite3") != {}
    assert all(r.cached for r in again if r.verdict != "rejected")
    assert [_comparable(r) for r in again] == [_comparable(r) for r in remote]


def _stored(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, result FROM gate_results").fetchall()
    return {key: GateResult.model_validate_json(blob).verdict for key, blob in rows}


def _slow(i: int) -> Record:
    """A sample whose const evaluation keeps rustc busy for a second or two (and then passes)."""
    code = (
        "#![allow(long_running_const_eval)]\n"
        f"pub const N{i}: u64 = {{ let mut i = 0u64; let mut s = {i + 1}u64;\n"
        "    while i < 700_000 { s = s.wrapping_mul(6364136223846793005).wrapping_add(i); i += 1; } s };\n"
    )
    return Record.model_validate(
        {
            "id": f"slow-{i}",
            "crate": "rust",
            "messages": [
                {"role": "user", "content": "A constant computed at compile time."},
                {"role": "assistant", "content": f"```rust\n{code}```\n"},
            ],
        }
    )


def _task_workers() -> list[int]:
    """Ray worker processes running a compile batch now (Ray titles them after the task)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(TASK_TITLE):
            found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_batch_loses_nothing(cluster: str, tmp_path: Path) -> None:
    records = [_slow(i) for i in range(6)]
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            workers = _task_workers()
            if workers:
                time.sleep(0.5)  # into the batch: its first rustc is running
                if workers[0] in _task_workers():  # still in it
                    os.kill(workers[0], signal.SIGKILL)
                    killed.append(workers[0])
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        killer.start()
        results = CompileGate(ledger=ledger, executor=RayExecutor(batch_size=3, threads=1)).check(records)
        killer.join()
        stored = ledger.count("gate_results")
    assert killed, "no worker was running a compile batch"
    assert not Path(f"/proc/{killed[0]}").exists()
    # The killed batch ran again elsewhere: every sample has its real verdict, none lost or wrong.
    assert [r.verdict for r in results] == ["pass"] * 6, [r.reason for r in results]
    assert stored == 6


def test_a_worker_without_a_warm_cache_says_error(cluster: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    executor = RayExecutor(runtime_env={"env_vars": {"RUSTGATE_CACHE_DIR": str(empty)}})
    records = _records([s.row() for s in RUST])
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        results = CompileGate(ledger=ledger, warm_missing=False, executor=executor).check(records)
        assert ledger.count("gate_results") == 0  # errors are never stored
    assert {r.verdict for r in results} == {"error"}
    reason = results[0].reason or ""
    assert "is not warm on node" in reason and "run `rustgate warm rust` there" in reason, reason
    assert str(empty) in reason


FAKE_RUSTC = """#!/bin/sh
# A different compiler: rustc -vV names another build.
case "$*" in
  *--print*sysroot*) echo "{sysroot}" ;;
  *-vV*) echo "rustc 1.0.0-other (000000000 2015-05-15)"; echo "binary: rustc"; echo "commit-hash: 0000" ;;
  *) exit 1 ;;
esac
"""


def test_a_worker_with_another_toolchain_is_refused(cluster: str, tmp_path: Path) -> None:
    fake = tmp_path / "rustc"
    fake.write_text(FAKE_RUSTC.format(sysroot=tmp_path / "sysroot"))
    fake.chmod(0o755)
    executor = RayExecutor(runtime_env={"env_vars": {"RUSTC": str(fake)}})
    results = CompileGate(executor=executor).check(_records([s.row() for s in RUST]))
    assert {r.verdict for r in results} == {"error"}
    assert "every node must run the same toolchain" in (results[0].reason or "")
    assert "rustc 1.0.0-other" in (results[0].reason or "")


def test_a_worker_with_another_lockfile_is_refused(cluster: str, tmp_path: Path) -> None:
    from rustgate.cargo.templates import templates_root

    other = tmp_path / "templates"
    shutil.copytree(templates_root(), other)
    with open(other / "rust" / "Cargo.lock", "a") as lock:
        lock.write("\n# not the driver's lockfile\n")
    executor = RayExecutor(runtime_env={"env_vars": {"RUSTGATE_TEMPLATES_DIR": str(other)}})
    results = CompileGate(executor=executor).check(_records([s.row() for s in RUST]))
    assert {r.verdict for r in results} == {"error"}
    assert "every node needs the same templates and lockfiles" in (results[0].reason or "")


def test_check_command_runs_on_a_cluster(cluster: str, tmp_path: Path) -> None:
    data = tmp_path / "answers.jsonl"
    samples: list[Sample] = RUST[:4]
    data.write_text("".join(__import__("json").dumps(s.row()) + "\n" for s in samples))
    done = subprocess.run(
        [sys.executable, "-m", "rustgate", "check", str(data), "--executor", "ray", "--ray-address", cluster,
         "--ledger", str(tmp_path / "ledger.sqlite3"), "--report-json", str(tmp_path / "report.json")],
        capture_output=True, text=True, timeout=600, env={**os.environ},
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report = __import__("json").loads((tmp_path / "report.json").read_text())
    assert [row["verdict"] for row in report["records"]] == [s.expect for s in samples]


def test_pipeline_compile_stage_on_ray(cluster: str, tmp_path: Path) -> None:
    from rustgate.pipeline_config import pipeline_from_toml

    data = tmp_path / "in.jsonl"
    samples = RUST[:3]
    data.write_text("".join(__import__("json").dumps(s.row()) + "\n" for s in samples))
    config = tmp_path / "pipeline.toml"
    config.write_text(
        f'input = "{data}"\noutput = "{tmp_path / "out.jsonl"}"\nledger = "{tmp_path / "l.sqlite3"}"\n'
        f'order = ["compile"]\n[compile]\nexecutor = "ray"\nray_address = "{cluster}"\n'
    )
    pipeline = pipeline_from_toml(config)
    gate = pipeline.gates[0]
    assert isinstance(gate, CompileGate) and isinstance(gate.executor, RayExecutor)
    local_id = pipeline_from_toml(config).run_id
    config.write_text(config.read_text().replace('executor = "ray"', 'executor = "local"').replace(
        f'ray_address = "{cluster}"\n', ""))  # fmt: skip
    assert pipeline_from_toml(config).run_id == local_id  # where it runs is no part of the run's identity
    pipeline.progress = False
    summary = pipeline.run()
    assert summary.verdicts["compile"] == {s.expect: sum(1 for x in samples if x.expect == s.expect) for s in samples}
