"""The hostile run-time corpus (issue 21, item 4): what an LLM wrote is executed, so the sandbox
must hold at run time. Each program gets a verdict within its limits; nothing it read from the
host reaches the verdict, and nothing it started survives the window."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from run_helpers import check, main_rs, survivors, tier

pytestmark = pytest.mark.cargo

CANARY = "rustgate-canary-7f3a91"
WINDOW = 3.0


@pytest.fixture()
def canary_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A host secret in the environment and in a file of the home folder."""
    monkeypatch.setenv("RUSTGATE_TEST_SECRET", CANARY)
    secret = Path.home() / ".rustgate-canary-secret"
    secret.write_text(CANARY)
    try:
        yield secret
    finally:
        secret.unlink(missing_ok=True)


def _run(name: str, code: str, **kwargs: object):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    (result,) = check([main_rs(name, code)], tiers=("compile", "run"), run_window_s=WINDOW, **kwargs)
    return result, time.monotonic() - started


def test_a_fork_bomb_is_stopped_at_the_process_limit(build_cache: Path) -> None:
    code = """
use std::process::Command;
fn main() {
    loop {
        let _ = Command::new("/proc/self/exe").spawn();
    }
}
"""
    result, took = _run("forkbomb", code, max_processes=32)
    assert result.verdict == "fail", result.reason
    assert result.diagnostics[0].code == "RG-PROCESSES" and "32 processes" in (result.reason or "")
    assert took < 30
    assert survivors("rustgate_probe") == [] or all("pytest" in line for line in survivors("rustgate_probe"))


def test_a_memory_bomb_fails_at_the_memory_limit(build_cache: Path) -> None:
    code = """
fn main() {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        kept.push(vec![7u8; 16 << 20]);
    }
}
"""
    result, took = _run("membomb", code, memory_mb=512)
    assert result.verdict == "fail", result.reason
    assert result.diagnostics[0].code == "RG-MEMORY"
    assert took < 30


def test_a_disk_writer_is_held_to_the_sandbox_tmp(build_cache: Path) -> None:
    code = """
use std::io::Write;
fn main() {
    let mut written: u64 = 0;
    let block = vec![0u8; 1 << 20];
    'files: for i in 0..64 {
        for target in [format!("/tmp/fill{i}"), format!("fill{i}"), format!("/fill{i}")] {
            if let Ok(mut file) = std::fs::File::create(&target) {
                for _ in 0..16 {
                    if file.write_all(&block).is_err() { continue 'files; }
                    written += 1 << 20;
                }
            }
        }
    }
    eprintln!("wrote {} MiB", written >> 20);
    std::process::exit(if written > (128 << 20) { 0 } else { 9 });
}
"""
    result, _ = _run("diskfill", code)
    # The only writable place is the sandbox's own small /tmp (64 MiB): never 128 MiB.
    assert result.verdict == "fail" and "exit 9" in (result.reason or ""), result.reason
    assert "wrote" in (result.reason or "")
    big = 'use std::io::Write;\nfn main() {\n    let mut f = std::fs::File::create("/tmp/big").unwrap();\n'
    big += "    loop {\n        f.write_all(&[0u8; 1 << 16]).unwrap();\n    }\n}\n"
    one_file, _ = _run("bigfile", big, max_output_mb=8)
    assert one_file.verdict == "fail" and one_file.diagnostics[0].code == "RG-FILESIZE", one_file.reason


def test_a_reader_of_home_proc_and_environment_learns_nothing(build_cache: Path, canary_home: Path) -> None:
    code = f"""
fn main() {{
    let mut seen = String::new();
    for (key, value) in std::env::vars() {{
        seen.push_str(&format!("{{key}}={{value}};"));
    }}
    for path in ["{canary_home}", "/root/.ssh/id_rsa", "/proc/1/environ", "/proc/self/environ", "/etc/passwd",
                 "/etc/shadow", "/proc/1/cmdline"] {{
        match std::fs::read(path) {{
            Ok(bytes) => seen.push_str(&format!("{{path}}: {{}};", String::from_utf8_lossy(&bytes))),
            Err(e) => seen.push_str(&format!("{{path}}: {{e}};")),
        }}
    }}
    eprintln!("{{seen}}");
    std::process::exit(1);
}}
"""
    result, _ = _run("reader", code)
    assert result.verdict in ("fail", "inconclusive"), result.reason
    text = json.dumps(result.model_dump(mode="json"))
    assert CANARY not in text
    assert os.environ["RUSTGATE_TEST_SECRET"] == CANARY  # the secret was there to be stolen


def test_a_client_of_a_host_loopback_service_reaches_nothing(build_cache: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    connections: list[object] = []

    def serve() -> None:
        server.settimeout(15)
        try:
            conn, _ = server.accept()
            connections.append(conn)
            conn.sendall(CANARY.encode())
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    code = f"""
use std::io::Read;
use std::net::TcpStream;
fn main() {{
    let mut stream = TcpStream::connect("127.0.0.1:{port}").unwrap();
    let mut got = String::new();
    stream.read_to_string(&mut got).unwrap();
    panic!("{{got}}");
}}
"""
    try:
        result, _ = _run("loopback", code)
    finally:
        server.close()
    assert result.verdict == "inconclusive", result.reason  # connection refused: the host is not there
    assert connections == [] and CANARY not in json.dumps(result.model_dump(mode="json"))


def test_a_sleeper_that_ignores_signals_and_an_escaping_daemon_are_gone(build_cache: Path) -> None:
    code = """
extern "C" {
    fn signal(sig: i32, handler: usize) -> usize;
}
fn main() {
    unsafe {
        signal(15, 1); // SIG_IGN for SIGTERM
        signal(1, 1); // and SIGHUP
    }
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("trap '' TERM HUP; (setsid sleep 4242 &) ; sleep 4343 &")
        .spawn()
        .unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
"""
    result, took = _run("sleeper", code)
    assert result.verdict == "pass", result.reason  # still running at the end of its window
    assert tier(result, "run")["runs"][0]["running"] is True  # type: ignore[index]
    assert took < WINDOW + 20
    time.sleep(0.5)
    assert survivors("sleep 4242") == [] and survivors("sleep 4343") == []


def test_an_output_flood_is_cut_and_fails(build_cache: Path) -> None:
    code = 'fn main() {\n    loop {\n        println!("flood flood flood flood flood flood flood flood");\n    }\n}\n'
    result, took = _run("flood", code)
    assert result.verdict == "fail" and result.diagnostics[0].code == "RG-OUTPUT", result.reason
    assert took < 30
    assert len(json.dumps(result.model_dump(mode="json"))) < 200_000  # the flood is not kept
