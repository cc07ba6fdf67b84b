"""A user's own profile, end to end with real cargo: declared, locked, warmed, used by ``rustgate check``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rustgate.cargo.templates import built_in_profiles

pytestmark = pytest.mark.cargo

ROOT = Path(__file__).resolve().parents[1]
# ``either`` is already in the rust profile's lockfile (itertools uses it), but not one of its
# direct dependencies: code that names it is outside the plain profile.
EITHER = next(
    line.split('"')[1]
    for block in built_in_profiles()["rust"].lock_text.split("[[package]]")
    if 'name = "either"' in block
    for line in block.splitlines()
    if line.startswith("version")
)
PROJECT = f"""
[profiles.rust-either]
extends = "rust"
description = "the rust profile plus either"
markers = ["either"]
dependencies = {{ either = {{ version = "={EITHER}", features = ["serde"] }} }}
"""
ANSWER = """```rust
use either::Either;

pub fn parse(text: &str) -> Either<i64, String> {
    text.parse().map(Either::Left).unwrap_or_else(|_| Either::Right(text.to_owned()))
}

pub fn describe(text: &str) -> String {
    either::for_both!(parse(text), value => format!("{value:?}"))
}
```"""


def _rustgate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUSTGATE_CONFIG": str(project), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "rustgate", *args], cwd=project.parent, env=env, capture_output=True, text=True
    )


def _check(project: Path, data: Path, profile: str) -> dict[str, object]:
    report = data.parent / f"report-{profile}.json"
    done = _rustgate(project, "check", str(data), "--no-cache", "--profile", profile, "--report-json", str(report))
    assert report.is_file(), done.stderr
    row: dict[str, object] = json.loads(report.read_text())["records"][0]
    return row


def test_user_profile_is_locked_warmed_and_used(tmp_path: Path, warm_cache: Path) -> None:
    project = tmp_path / "rustgate.toml"
    project.write_text(PROJECT)
    data = tmp_path / "data.jsonl"
    row = {"id": "uses-either", "crate": "rust", "messages": [
        {"role": "user", "content": "Parse a number or keep the text."}, {"role": "assistant", "content": ANSWER}]}
    data.write_text(json.dumps(row) + "\n")  # fmt: skip

    # Not locked yet: an infrastructure error that says what to run, never a verdict on the code.
    before = _check(project, data, "rust-either")
    assert before["verdict"] == "error", before
    assert "rustgate warm rust-either" in str(before["reason"])

    warmed = _rustgate(project, "warm", "rust-either")
    assert warmed.returncode == 0, warmed.stderr
    lock = tmp_path / "rustgate-locks" / "rust-either.lock"
    assert f"wrote {lock}" in warmed.stderr
    text = lock.read_text()
    assert f'name = "either"\nversion = "{EITHER}"' in text
    # Resolved from the rust profile's lockfile: its pins are kept, not re-resolved.
    assert built_in_profiles()["rust"].lock_text.split("[[package]]")[1] in text

    listed = json.loads(_rustgate(project, "templates", "--json").stdout)
    assert listed["rust-either"]["source"] == str(project)
    assert listed["rust-either"]["pins"]["either"] == EITHER and listed["rust-either"]["warm"]
    assert listed["rust"]["source"] == "built-in"

    after = _check(project, data, "rust-either")
    assert after["verdict"] == "pass", after
    plain = _check(project, data, "rust")
    assert plain["verdict"] != "pass", plain

    # A second warm finds the lock current and the profile warm: nothing rewritten.
    again = _rustgate(project, "warm", "rust-either")
    assert again.returncode == 0 and "already warm" in again.stderr and "wrote" not in again.stderr
    assert lock.read_text() == text

    # The profile edited without re-locking: cargo's --locked refusal is an error naming the command.
    project.write_text(PROJECT.replace('features = ["serde"] }', 'features = ["serde"] }, semver = "=1.0.26"'))
    stale = _check(project, data, "rust-either")
    assert stale["verdict"] == "error", stale
    assert f"{lock} no longer fits the profile: run `rustgate warm rust-either`" in str(stale["reason"]), stale
