"""Configuration is trusted only from where the user put it (issue 20, item 8).

A real crate with a hostile build script, served by a real cargo directory source (a private
``CARGO_HOME`` whose registry is a folder of this test): warming a profile that uses it runs the
script inside the sandbox (no host files, no host environment, no network), and the crate still
builds and serves the compile gate. The pre-commit hook, under real ``pre-commit`` in a temp git
repository, never loads a ``rustgate.toml`` that the change under validation adds or edits.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from rustgate.records import Record

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "rustgate-validate"
FENCE = "```"
SECRET = "rg-host-secret-7f3a"

BUILD_SCRIPT = r"""
use std::io::Write;
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let secret = std::env::var("RG_HOST_SECRET").unwrap_or_default();
    let escaped = std::fs::write("__ESCAPE__", "written by a build script").is_ok();
    let read_host = std::fs::read_to_string("__HOST_FILE__").is_ok();
    let poisoned = std::fs::write("__POISON__", "a build script edited the crate registry").is_ok();
    let network = std::net::TcpStream::connect("127.0.0.1:__PORT__").is_ok();
    let home = std::env::var("HOME").unwrap_or_default();
    let mut report = std::fs::File::create(format!("{out}/rg-report.json")).unwrap();
    write!(report, "{{\"secret\":\"{secret}\",\"escaped\":{escaped},\"read_host\":{read_host},\
        \"network\":{network},\"poisoned\":{poisoned},\"home\":\"{home}\"}}").unwrap();
    let code = "pub const VALUE: u32 = __VALUE__;\npub fn generated() -> u32 { VALUE }";
    std::fs::write(format!("{out}/gen.rs"), code).unwrap();
}
"""


class Listener:
    """A TCP port on the host's loopback that counts who connects (the build script must not)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def vendor_crate(home: Path, version: str, value: int, *, escape: Path, host_file: Path, port: int) -> None:
    """``rg-probe`` ``version`` in the directory source of ``home``: its build script probes the host."""
    crate = home / "vendor" / f"rg-probe-{version}"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "rg-probe"\nversion = "{version}"\nedition = "2021"\nbuild = "build.rs"\n'
    )
    script = BUILD_SCRIPT.replace("__ESCAPE__", str(escape)).replace("__HOST_FILE__", str(host_file))
    script = script.replace("__POISON__", str(home / "vendor" / "poison.txt"))
    (crate / "build.rs").write_text(script.replace("__PORT__", str(port)).replace("__VALUE__", str(value)))
    (crate / "src" / "lib.rs").write_text('include!(concat!(env!("OUT_DIR"), "/gen.rs"));\n')
    (crate / ".cargo-checksum.json").write_text('{"files":{},"package":null}')


@pytest.fixture
def world(tmp_path: Path, warm_cache: Path):  # type: ignore[no-untyped-def]
    """A private CARGO_HOME with ``rg-probe`` 0.1.0 and 0.2.0, a host secret, a host port."""
    home = tmp_path / "cargo-home"
    (home / "vendor").mkdir(parents=True)
    (home / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "vendored"\n[source.vendored]\ndirectory = "{home / "vendor"}"\n'
    )
    host_file = tmp_path / "host-only.txt"
    host_file.write_text("only the host can read this")
    listener = Listener()
    escape_one, escape_two = tmp_path / "escaped-0.1.txt", tmp_path / "escaped-0.2.txt"
    vendor_crate(home, "0.1.0", 42, escape=escape_one, host_file=host_file, port=listener.port)
    vendor_crate(home, "0.2.0", 7, escape=escape_two, host_file=host_file, port=listener.port)
    env = {
        **os.environ,
        "CARGO_HOME": str(home),
        "RUSTGATE_CACHE_DIR": str(tmp_path / "cache"),
        "RG_HOST_SECRET": SECRET,
        "TMPDIR": str(tmp_path),
    }
    env.pop("RUSTGATE_CONFIG", None)
    yield {"env": env, "listener": listener, "escapes": [escape_one, escape_two], "tmp": tmp_path}
    listener.close()


def profile_file(version: str, name: str = "probe") -> str:
    return f'[profiles.{name}]\ncrates = ["{name}"]\ndependencies = {{ rg-probe = "={version}" }}\n'


def probe_row(rid: str, code: str, crate: str = "probe") -> str:
    answer = f"{FENCE}rust\n{code}\n{FENCE}"
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    record = Record(id=rid, crate=crate, messages=messages)  # type: ignore[arg-type]
    return record.model_dump_json() + "\n"


def env_home(env: dict[str, str]) -> Path:
    return Path(env["CARGO_HOME"])


def reports(cache: Path) -> list[dict[str, object]]:
    """What every run of the build script reported (it writes into its OUT_DIR)."""
    return [json.loads(path.read_text()) for path in sorted(cache.rglob("rg-report.json"))]


def rustgate(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rustgate", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.cargo
def test_warming_a_profile_runs_its_build_scripts_inside_the_sandbox(world) -> None:  # type: ignore[no-untyped-def]
    env, tmp = world["env"], world["tmp"]
    project = tmp / "project"
    project.mkdir()
    (project / "rustgate.toml").write_text(profile_file("0.1.0"))
    warmed = rustgate("warm", "probe", env=env, cwd=project)
    assert warmed.returncode == 0, warmed.stderr[-3000:]
    assert (project / "rustgate-locks" / "probe.lock").is_file()
    [report] = reports(tmp / "cache")
    # Inside, the script may write where it likes in its private /tmp; none of it reaches the host.
    report.pop("escaped")
    assert report == {"secret": "", "read_host": False, "network": False, "poisoned": False, "home": ""}, report
    assert not world["escapes"][0].exists() and world["listener"].connections == 0
    assert not (env_home(env) / "vendor" / "poison.txt").exists()
    # The twin: what a build script may do (generate code into OUT_DIR) still works, and serves checks.
    data = project / "rows.jsonl"
    data.write_text(
        probe_row("uses-generated", "pub fn f() -> u32 { rg_probe::generated() }")
        + probe_row("uses-missing", "pub fn f() -> u32 { rg_probe::not_generated() }")
    )
    checked = rustgate("check", str(data), "--report-json", str(tmp / "report.json"), env=env, cwd=project)
    verdicts = {r["id"]: r["verdict"] for r in json.loads((tmp / "report.json").read_text())["records"]}
    assert verdicts == {"uses-generated": "pass", "uses-missing": "fail"}, (verdicts, checked.stderr[-2000:])


def git(repo: Path, *args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, env=env, text=True, capture_output=True, check=check, timeout=600)


def hook_repo(world, args: list[str]) -> tuple[Path, dict[str, str]]:  # type: ignore[no-untyped-def]
    if shutil.which("git") is None or not ENTRY.exists():
        pytest.skip("needs git and the rustgate-validate entry point in this venv")
    tmp = world["tmp"]
    repo = tmp / "repo"
    repo.mkdir()
    env = {
        **world["env"],
        "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": f"{ENTRY.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # fmt: skip
    hook = dict(yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0])
    ledger = str(tmp / "ledger.sqlite3")
    hook.update(language="system", entry=str(ENTRY), args=["--ledger", ledger, "--jobs", "2", *args], verbose=True)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))
    git(repo, "init", "-q", "-b", "main", env=env)
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "config", env=env)
    return repo, env


def commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    git(repo, "add", "-A", env=env)
    return git(repo, "commit", "-m", message, env=env, check=False)


@pytest.mark.cargo
def test_the_hook_never_loads_a_rustgate_toml_the_change_adds(world) -> None:  # type: ignore[no-untyped-def]
    repo, env = hook_repo(world, [])
    (repo / "rustgate.toml").write_text(profile_file("0.1.0"))
    (repo / "data.jsonl").write_text(probe_row("probe-1", "pub fn f() -> u32 { rg_probe::generated() }"))
    done = commit(repo, env, "a change that brings its own profile")
    output = done.stdout + done.stderr
    assert done.returncode != 0, output  # the record's crate is not one the hook knows: not a pass
    assert "data.jsonl:1: probe-1:" in output
    assert "rustgate.toml in this repository is not read by the hook" in output
    assert reports(world["tmp"] / "cache") == [], "the change's profile was built"
    assert not any(path.exists() for path in world["escapes"])


@pytest.mark.cargo
def test_the_owner_s_named_config_is_read_as_the_base_revision_has_it(world) -> None:  # type: ignore[no-untyped-def]
    """The twin: the owner names ``rustgate.toml`` in the hook's args. Its committed profile is
    used (the record passes); a change that swaps the profile's crate for another version is
    validated with the committed one, and the other version's build script never runs."""
    tmp = world["tmp"]
    seed = tmp / "seed"
    seed.mkdir()
    (seed / "rustgate.toml").write_text(profile_file("0.1.0"))
    assert rustgate("warm", "probe", env=world["env"], cwd=seed).returncode == 0  # writes the lockfile
    repo, env = hook_repo(world, ["--config", "rustgate.toml"])
    shutil.copy(seed / "rustgate.toml", repo / "rustgate.toml")
    shutil.copytree(seed / "rustgate-locks", repo / "rustgate-locks")
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "--no-verify", "-m", "the owner's profile", env=env)

    (repo / "data.jsonl").write_text(probe_row("probe-42", "pub fn f() -> u32 { rg_probe::generated() }"))
    first = commit(repo, env, "records for the owner's profile")
    assert first.returncode == 0, first.stdout + first.stderr

    # The change edits the profile to pin 0.2.0 (its lockfile too) and adds a record that only
    # compiles against 0.2.0: the hook still validates with 0.1.0, and never builds 0.2.0.
    built_before = len(reports(tmp / "cache"))
    (repo / "rustgate.toml").write_text(profile_file("0.2.0"))
    lock = repo / "rustgate-locks" / "probe.lock"
    pinned = 'name = "rg-probe"\nversion = "0.1.0"'
    assert pinned in lock.read_text()
    lock.write_text(lock.read_text().replace(pinned, pinned.replace("0.1.0", "0.2.0")))
    with (repo / "data.jsonl").open("a") as rows:
        rows.write(probe_row("probe-7", "const _: () = assert!(rg_probe::VALUE == 7);\npub fn f() {}"))
    second = commit(repo, env, "a change that re-pins the profile")
    output = second.stdout + second.stderr
    assert second.returncode != 0, output
    assert "rustgate.toml differs from HEAD" in output
    assert "data.jsonl:2: probe-7: fail" in output and "probe-42" not in output, output
    assert len(reports(tmp / "cache")) == built_before, "the hook built the change's profile"
    assert not world["escapes"][1].exists()
