"""The sandbox: refusal of reads outside the sample, isolation backends, limits, group kill."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rustgate.cargo.file_access import unsafe_includes
from rustgate.cargo.isolation import Isolation, IsolationError, choose_isolation
from rustgate.cargo.sandbox import SAFE_ENV, Limits, run_limited, which
from rustgate.cargo.toolchain import detect_toolchain


def test_identifiers_named_include_are_not_refused() -> None:
    assert unsafe_includes({"src/lib.rs": "pub fn include(include_tests: bool) -> bool { include_tests }"}) == []


def test_plain_relative_includes_inside_the_crate_are_allowed() -> None:
    files = {
        "src/lib.rs": 'const A: &str = include_str!("data.rs");\n#[path = "x/y.rs"] mod y;\n'
        'const B: &str = include_str!("../chat.html"); const C: &str = include_str!("missing.txt");',
        "src/data.rs": "",
        "src/x/y.rs": "",
        "chat.html": "<p>hi</p>",
    }
    assert unsafe_includes(files) == []


def test_include_only_in_a_comment_or_string_is_not_refused() -> None:
    code = '// include_str!("/etc/passwd")\n/* include!("/x") */\nconst S: &str = "include_str!(\\"/etc\\")";'
    assert unsafe_includes({"src/lib.rs": code}) == []


@pytest.mark.parametrize(
    "code",
    [
        'include_str!("/etc/passwd")',
        'include_bytes!("../../secret")',
        'include!(concat!(env!("HOME"), "/x"))',
        'include_str!(r#"/etc/shadow"#)',
        'include_bytes! { "/dev/zero" }',
        'include_str!("\\x2fetc\\x2fpasswd")',
        '#[path = "/etc/hostname"] mod h;',
        "macro_rules! m { ($p:expr) => { include_str!($p) } }",
        'use std::include_str as read; const P: &str = read!("/etc/passwd");',
        "use core::{include_bytes};",
        'macro_rules! m { ($i:ident) => { $i!("/etc/passwd") } } const X: &str = m!(include_str);',
        'const X: &str = include_str/**/!("/etc/passwd");',
        'const X: &str = include_str /* c */ ! /* d */ ("/etc/passwd");',
        '#[cfg_attr(all(), path = "/etc/hostname")] mod h;',
        'macro_rules! m { ($m:meta) => { #[$m] mod h; } } m!(path = "/etc/hostname");',
        '#[path = /* hi */ "/etc/hostname"] mod h;',
        'const X: &str = include_str!("/proc/1/environ");',
        'const X: &str = r#include_str!("/etc/passwd");',
    ],
)
def test_reads_reaching_outside_are_refused(code: str) -> None:
    problems = unsafe_includes({"src/lib.rs": code})
    assert problems and problems[0].startswith("src/lib.rs:1:"), problems


def test_a_macro_include_resolves_from_every_call_site() -> None:
    # The macro lives deep in the tree; invoked from src/lib.rs, "../../x" climbs out of the crate.
    files = {
        "src/a/b/mod.rs": 'macro_rules! grab { () => { include_str!("../../secret") } }',
        "src/lib.rs": "mod a; const S: &str = grab!();",
    }
    problems = unsafe_includes(files)
    assert problems and problems[0].startswith("src/a/b/mod.rs:1:")


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


def test_output_beyond_the_cap_stops_the_process(tmp_path: Path) -> None:
    limits = Limits(timeout_s=30, max_stream_mb=1)
    result = run_limited(["/bin/sh", "-c", "yes spam >&2"], cwd=tmp_path, env=dict(SAFE_ENV), limits=limits)
    assert result.output_overflow and not result.timed_out
    assert len(result.stderr) <= 1024 * 1024


def backends() -> list[str]:
    return ["bwrap", "namespaces"]


@pytest.fixture(params=backends())
def isolation(request: pytest.FixtureRequest) -> Isolation:
    if request.param == "bwrap" and which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    try:
        return choose_isolation(request.param, detect_toolchain())
    except IsolationError as exc:
        pytest.skip(f"{request.param} unavailable here: {exc}")


def _run_isolated(isolation: Isolation, work: Path, script: str) -> tuple[str, str]:
    scratch = work.parent / "mount-root"
    scratch.mkdir(exist_ok=True)
    argv = isolation.wrap(
        ["/bin/sh", "-c", script], cwd=work, env=dict(SAFE_ENV), read_only=[], writable=[work], scratch=scratch
    )
    result = run_limited(argv, cwd=work, env=dict(SAFE_ENV), limits=Limits(timeout_s=20))
    return result.stdout, result.stderr


def test_isolation_hides_host_files_and_environment(
    isolation: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = Path.home() / ".rustgate-test-secret"
    secret.write_text("s3cret")
    try:
        monkeypatch.setenv("RUSTGATE_LEAK", "leaked")
        work = tmp_path / "work"
        work.mkdir()
        out, err = _run_isolated(isolation, work, f"cat {secret}; cat /proc/1/environ /proc/{os.getpid()}/environ; env")
    finally:
        secret.unlink()
    assert "s3cret" not in out and "leaked" not in out
    assert "No such file" in err
    assert "RUSTGATE_LEAK" not in out
    names = {line.split("=", 1)[0] for line in out.splitlines() if "=" in line}
    assert names <= set(SAFE_ENV) | {"PWD", "SHLVL", "_"}


def test_isolation_has_no_network_and_a_read_only_root(isolation: Isolation, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    out, err = _run_isolated(
        isolation, work, "cat /proc/net/dev; echo END; touch /usr/x /x 2>&1; touch ok && echo wrote"
    )
    net = out.split("END")[0]
    interfaces = [line.split(":")[0].strip() for line in net.splitlines()[2:] if ":" in line]
    assert interfaces == ["lo"]
    assert "wrote" in out and (work / "ok").exists()
    assert out.count("Read-only file system") + err.count("Read-only file system") >= 1
    assert not Path("/usr/x").exists()


def test_a_proc_macros_own_path_key_is_not_a_file() -> None:
    code = (
        '#[utoipa::path(get, path = "/api/todos", responses((status = 200)))]\nasync fn list() {}\n'
        '#[derive(Template)]\n#[template(path = "hello.html")]\nstruct Hello;'
    )
    assert unsafe_includes({"src/lib.rs": code}) == []
    escaping = unsafe_includes({"src/lib.rs": '#[derive(Template)]\n#[template(path = "/etc/passwd")]\nstruct H;'})
    assert escaping and "reaches outside" in escaping[0]


def test_thousands_of_attributes_and_reads_are_each_checked() -> None:
    code = '#[inline]\nfn f() {}\n#[path = "a.rs"] mod a;\n' * 20_000 + '#[path = "/etc/hostname"] mod h;\n'
    problems = unsafe_includes({"src/lib.rs": code})
    assert len(problems) == 1 and problems[0].startswith("src/lib.rs:60001:")
