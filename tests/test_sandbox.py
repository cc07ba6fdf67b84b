"""The sandbox: include refusal, scrubbed environment, no network, limits, group kill."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rustgate.cargo.sandbox import SAFE_ENV, Limits, bubblewrap, run_limited, unsafe_includes, wrap


def test_identifiers_named_include_are_not_refused() -> None:
    assert unsafe_includes({"src/lib.rs": "pub fn include(include_tests: bool) -> bool { include_tests }"}) == []


def test_plain_relative_includes_inside_the_crate_are_allowed() -> None:
    files = {
        "src/lib.rs": 'const A: &str = include_str!("data.rs");\n#[path = "x/y.rs"] mod y;',
        "src/data.rs": "",
        "src/x/y.rs": "",
    }
    assert unsafe_includes(files) == []


@pytest.mark.parametrize(
    "code",
    [
        'include_str!("/etc/passwd")',
        'include_bytes!("../../secret")',
        'include!(concat!(env!("HOME"), "/x"))',
        'include_str!(r#"/etc/shadow"#)',
        'include_bytes! { "/dev/zero" }',
        '#[path = "/etc/hostname"] mod h;',
        "macro_rules! m { ($p:expr) => { include_str!($p) } }",
        'include_str!("missing.txt")',
        'use std::include_str as read; const P: &str = read!("/etc/passwd");',
        "use core::{include_bytes};",
    ],
)
def test_includes_reaching_outside_are_refused(code: str) -> None:
    problems = unsafe_includes({"src/lib.rs": code})
    assert problems and problems[0].startswith("src/lib.rs:1:")


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild-alive"
    script = f"(sleep 3; touch {marker}) & sleep 30"
    started = time.monotonic()
    result = run_limited(["/bin/sh", "-c", script], cwd=tmp_path, env=dict(SAFE_ENV), limits=Limits(timeout_s=1))
    assert result.timed_out
    assert time.monotonic() - started < 10
    time.sleep(3.5)
    assert not marker.exists(), "a grandchild survived the group kill"


def test_memory_limit_applies(tmp_path: Path) -> None:
    grab = "x = bytearray(512 * 1024 * 1024)"
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else None
    if python is None:
        pytest.skip("no system python to allocate with")
    result = run_limited([python, "-c", grab], cwd=tmp_path, env=dict(SAFE_ENV), limits=Limits(memory_mb=256))
    assert result.returncode != 0 and "MemoryError" in result.stderr


needs_bwrap = pytest.mark.skipif(bubblewrap() is None, reason="bubblewrap not installed")


@needs_bwrap
def test_bubblewrap_hides_host_files_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = Path.home() / ".rustgate-test-secret"
    secret.write_text("s3cret")
    try:
        monkeypatch.setenv("RUSTGATE_LEAK", "leaked")
        work = tmp_path / "work"
        work.mkdir()
        argv = wrap(
            ["/bin/sh", "-c", f"cat {secret}; env"], cwd=work, env=dict(SAFE_ENV), read_only=[], writable=[work]
        )
        result = run_limited(argv, cwd=work, env=dict(SAFE_ENV), limits=Limits(timeout_s=20))
    finally:
        secret.unlink()
    assert "s3cret" not in result.stdout
    assert "No such file" in result.stderr
    assert "RUSTGATE_LEAK" not in result.stdout
    assert set(result.stdout.split()) == {f"{k}={v}" for k, v in SAFE_ENV.items()} | {"PWD=" + str(work)}


@needs_bwrap
def test_bubblewrap_has_no_network(tmp_path: Path) -> None:
    argv = wrap(["/bin/cat", "/proc/net/dev"], cwd=tmp_path, env=dict(SAFE_ENV), read_only=[], writable=[tmp_path])
    result = run_limited(argv, cwd=tmp_path, env=dict(SAFE_ENV), limits=Limits(timeout_s=20))
    interfaces = [line.split(":")[0].strip() for line in result.stdout.splitlines()[2:]]
    assert interfaces == ["lo"]
    assert os.path.exists("/proc/net/dev")
