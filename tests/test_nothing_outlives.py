"""Nothing outlives rustgate (issue 20, item 6). kill -9 of a real `rustgate check` while real
rustc runs in the real sandbox: afterwards the process table holds nothing of it, and the next
run removes the dead run's scratch folder. The sandbox keeps its own wall clock, which holds
when no rustgate is left to enforce one. Each case has a twin: what a live run still holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kill_helpers import kill_when, processes_mentioning, wait_until_gone
from test_faults import record, slow_const

from rustgate.cargo.diagnostics import parse_rustc_json
from rustgate.cargo.isolation import Isolation, choose_isolation
from rustgate.cargo.replay import outcome_from_run
from rustgate.cargo.sandbox import Limits, run_limited, which
from rustgate.cargo.toolchain import detect_toolchain

BACKENDS = ["namespaces", "bwrap", "none"]


def _isolation(backend: str) -> Isolation:
    if backend == "bwrap" and which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    return choose_isolation(backend, detect_toolchain())


def _sleeper(marker: str) -> list[str]:
    """A shell and its sleep, both findable by ``marker`` (a duration no other process uses)."""
    return [which("sh") or "/bin/sh", "-c", f"sleep {marker}; echo done"]


def _marker(salt: int) -> str:
    return f"{600 + salt}.{os.getpid():07d}"


def _scratch_runs(tmpdir: Path) -> list[Path]:
    base = tmpdir / f"rustgate-scratch-{os.getuid()}"
    return sorted(base.glob("run-*")) if base.is_dir() else []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_sandbox_keeps_its_own_wall_clock(backend: str, tmp_path: Path) -> None:
    """rustgate's timer is set far off (600 s): the sandbox's clock of 1 s must end the run, and
    the run is read as a timeout, not as a fault of the machine."""
    isolation = _isolation(backend)
    marker = _marker(BACKENDS.index(backend))
    work, root = tmp_path / "work", tmp_path / "root"
    work.mkdir()
    root.mkdir()
    argv = isolation.wrap(_sleeper(marker), cwd=work, env={}, read_only=[], writable=[work], scratch=root, wall_s=1)
    started = time.monotonic()
    result = run_limited(argv, cwd=work, env={"PATH": "/usr/bin:/bin"}, limits=Limits(timeout_s=600))
    assert time.monotonic() - started < 30, "the sandbox's wall clock did not end the run"
    assert not result.timed_out  # rustgate's own timer never fired
    outcome = outcome_from_run(result, parse_rustc_json([]), Limits(timeout_s=1), set())
    assert outcome.verdict == "timeout", (result.returncode, result.stderr[-400:], outcome.reason)
    assert not processes_mentioning(marker)


def test_the_twin_without_a_wall_clock_the_sandbox_waits_for_its_command(tmp_path: Path) -> None:
    isolation = _isolation("namespaces")
    work, root = tmp_path / "work", tmp_path / "root"
    work.mkdir()
    root.mkdir()
    argv = isolation.wrap(["/bin/sh", "-c", "sleep 2"], cwd=work, env={}, read_only=[], writable=[work], scratch=root)
    result = run_limited(argv, cwd=work, env={"PATH": "/usr/bin:/bin"}, limits=Limits(timeout_s=60))
    assert result.returncode == 0 and result.duration_s >= 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sandboxed_command_dies_with_the_process_that_started_it(backend: str, tmp_path: Path) -> None:
    """A stand-in for rustgate (a Python process running ``run_limited`` with a 600 s limit) is
    killed with -9; what it started must be gone: at once for the launcher and bubblewrap (a
    parent-death signal), and at the sandbox's wall clock (3 s here) for the others."""
    isolation = _isolation(backend)
    marker = _marker(10 + BACKENDS.index(backend))
    work, root = tmp_path / "work", tmp_path / "root"
    work.mkdir()
    root.mkdir()
    argv = isolation.wrap(_sleeper(marker), cwd=work, env={}, read_only=[], writable=[work], scratch=root, wall_s=3)
    stand_in = (
        "import sys\nfrom pathlib import Path\nfrom rustgate.cargo.sandbox import Limits, run_limited\n"
        f"run_limited({argv!r}, cwd=Path({str(work)!r}), env={{'PATH': '/usr/bin:/bin'}}, limits=Limits(timeout_s=600))"
    )
    kill_when([sys.executable, "-c", stand_in], dict(os.environ), lambda: any(
        line.startswith("sleep ") for line in processes_mentioning(marker).values()
    ))  # fmt: skip
    left = wait_until_gone(marker, within_s=10)
    assert not left, f"still running after rustgate was killed: {left}"


def test_kill_9_of_rustgate_check_leaves_no_compiler_and_the_next_run_sweeps_its_scratch(
    warm_cache: Path, tmp_path: Path
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    data = tmp_path / "slow.jsonl"
    data.write_text(record("slow", slow_const(50_000_000)).model_dump_json() + "\n")
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    cli = [sys.executable, "-m", "rustgate", "check", "--ledger", str(tmp_path / "ledger.sqlite3")]

    def compiling() -> bool:
        return any("rustc" in line for line in processes_mentioning(str(tmpdir)).values())

    kill_when([*cli, "--timeout", "120", str(data)], env, compiling)
    left = wait_until_gone(str(tmpdir), within_s=5)  # long before the 120 s limit
    assert not left, f"still running after kill -9 of rustgate: {left}"
    dead = _scratch_runs(tmpdir)
    assert dead, "the killed run left no scratch folder: the test did not kill it mid-compile"

    # The twin: a live run's folder is never swept. Hold one open while the next run starts.
    hold = "from rustgate.cargo.scratch import run_folder; print(run_folder(), flush=True); input()"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        live = Path(holder.stdout.readline().strip())
        quick = tmp_path / "quick.jsonl"
        quick.write_text(record("quick", "pub fn g() {}").model_dump_json() + "\n")
        done = subprocess.run([*cli, str(quick)], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert not any(path.exists() for path in dead), "the dead run's scratch folder was not removed"
        assert live.is_dir(), "a live run's scratch folder was removed"
        assert [p for p in _scratch_runs(tmpdir) if p != live] == [], "the finished run left its folder behind"
    finally:
        holder.kill()
        holder.wait()


def test_kill_9_of_rustgate_build_while_it_re_gates_leaves_no_compiler(warm_cache: Path, tmp_path: Path) -> None:
    """``build`` compiles the claims its ledger never saw (issue 20, item 5): killed in the middle
    of that compile, it leaves nothing running, and the next build finishes and sweeps."""
    from rustgate.records import GateResult

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    rows = []
    for rid, code in (("slow", slow_const(50_000_000)), ("quick", "pub fn g() {}"), ("quick-2", "pub fn h() {}")):
        claimed = record(rid, code)
        result = GateResult(gate="compile", verdict="pass", version="4", content_hash=claimed.content_hash())
        rows.append(json.dumps(claimed.with_gate(result).to_row(with_gates=True)))
    (tmp_path / "gated.jsonl").write_text("\n".join(rows) + "\n")
    config = tmp_path / "build.toml"
    config.write_text(
        '[build]\ninputs = ["gated.jsonl"]\noutput = "out"\nledger = "l.db"\n[build.split]\ntest = 1\n'
        "[build.dedupe]\nexact = false\nnear = false\n"
    )
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    cmd = [sys.executable, "-m", "rustgate", "build", str(config)]

    def compiling() -> bool:
        return any("rustc" in line for line in processes_mentioning(str(tmpdir)).values())

    kill_when(cmd, env, compiling)
    left = wait_until_gone(str(tmpdir), within_s=5)
    assert not left, f"still running after kill -9 of rustgate build: {left}"
    dead = _scratch_runs(tmpdir)
    assert dead, "the killed build left no scratch folder: the test did not kill it mid-compile"
    (config.parent / "gated.jsonl").write_text("\n".join(rows[1:]) + "\n")  # the rerun: the quick records
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not any(path.exists() for path in dead) and _scratch_runs(tmpdir) == []
