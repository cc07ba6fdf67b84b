"""The pre-commit hook under the real ``pre-commit`` in a temporary git repository.

The hook definition is read from this project's ``.pre-commit-hooks.yaml`` and installed as a
``repo: local`` hook with ``language: system`` and the venv's ``rustgate-validate``: the same id,
``files`` pattern and arguments, without pre-commit pip-installing rustgate into its own env
(minutes on a small machine). ``repo:`` + ``rev:`` users get ``language: python``; see docs/datasets.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from data_fixtures import bad_code, distinct_code, row, write_rows

from rustgate.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "rustgate-validate"


def test_hooks_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    hook = hooks["rustgate-validate"]
    assert hook["entry"] == "rustgate-validate" and hook["language"] == "python"
    import re

    files = re.compile(hook["files"])
    assert files.search("data/axum.jsonl") and files.search("x.parquet") and not files.search("notes.json")


def git(repo: Path, *args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, env=env, text=True, capture_output=True, check=check, timeout=600)


@pytest.fixture
def dataset_repo(warm_cache: Path, tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    if shutil.which("git") is None or not ENTRY.exists():
        pytest.skip("needs git and the rustgate-validate entry point in this venv")
    repo = tmp_path / "repo"
    repo.mkdir()
    ledger = tmp_path / "ledger.sqlite3"
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "RUSTGATE_CACHE_DIR": str(warm_cache),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": f"{ENTRY.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    hook = dict(yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0])
    hook.update(language="system", entry=str(ENTRY), args=["--ledger", str(ledger), "--jobs", "2"], verbose=True)
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(repo, "init", "-q", "-b", "main", env=env)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=env, check=True, capture_output=True, timeout=120
    )
    git(repo, "add", ".pre-commit-config.yaml", env=env)
    git(repo, "commit", "-q", "-m", "config", env=env)
    return repo, env, ledger


def commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    git(repo, "add", "-A", env=env)
    return git(repo, "commit", "-m", message, env=env, check=False)


@pytest.mark.cargo
def test_good_commit_passes_bad_commit_is_blocked_unchanged_costs_nothing(
    dataset_repo: tuple[Path, dict[str, str], Path],
) -> None:
    repo, env, ledger_path = dataset_repo
    data = repo / "data" / "axum.jsonl"
    good = [row(f"rust-{i:02d}", distinct_code(300 + i)) for i in range(6)]
    write_rows(data, good)
    first = commit(repo, env, "add good records")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "6 compiled" in first.stdout + first.stderr
    with Ledger(ledger_path) as ledger:
        after_good = ledger.count("gate_results")
    assert after_good == 6

    write_rows(data, [*good, row("rust-bad", bad_code(1))])
    blocked = commit(repo, env, "add a bad record")
    assert blocked.returncode != 0
    assert "data/axum.jsonl:7: rust-bad: fail: 2:5: error: [E0308] mismatched types" in blocked.stdout + blocked.stderr
    assert "6 unchanged (ledger), 1 compiled" in blocked.stdout + blocked.stderr
    assert git(repo, "log", "--format=%s", env=env).stdout.splitlines()[0] == "add good records"

    # Fix the PR: drop the bad record, edit an unrelated file. The data file is back to its
    # committed state; re-checking it costs no compile.
    write_rows(data, good)
    (repo / "NOTES.md").write_text("notes\n")
    with Ledger(ledger_path) as ledger:
        before = ledger.count("gate_results")
    rerun = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo,
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stdout
    assert "6 unchanged (ledger), 0 compiled" in rerun.stdout + rerun.stderr
    with Ledger(ledger_path) as ledger:
        assert ledger.count("gate_results") == before
    assert commit(repo, env, "notes").returncode == 0


@pytest.mark.cargo
def test_try_repo_installs_the_published_hook_and_blocks_a_bad_record(warm_cache: Path, tmp_path: Path) -> None:
    """What a dataset repo with ``repo:`` + ``rev:`` gets: pre-commit pip-installs this project
    into its own env (``language: python``) and runs ``rustgate-validate`` from there."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "RUSTGATE_CACHE_DIR": str(warm_cache),
    }
    git(repo, "init", "-q", "-b", "main", env=env)
    data = repo / "data.jsonl"
    write_rows(data, [row("rust-ok", distinct_code(900)), row("rust-bad", bad_code(2))])
    git(repo, "add", "data.jsonl", env=env)
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "rustgate-validate", "--files", "data.jsonl"],
        cwd=repo,
        env=env,
        text=True,
        capture_output=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "data.jsonl:2: rust-bad: fail:" in output and "E0308" in output
    assert "rust-ok:" not in output, "a passing record is not a finding"


@pytest.mark.cargo
def test_a_dataset_symlinked_out_of_the_repository_is_refused_unread(
    dataset_repo: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    """A change that adds ``data/x.jsonl -> /somewhere/else`` cannot make the hook read and echo that
    file; the twin, a symlink to a file inside the repository, is validated as usual."""
    repo, env, _ = dataset_repo
    outside = tmp_path / "elsewhere.jsonl"
    write_rows(outside, [row("SECRET-CANARY-7", bad_code(7))])
    (repo / "data").mkdir()
    (repo / "data" / "leak.jsonl").symlink_to(outside)
    blocked = commit(repo, env, "add a symlink out")
    printed = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert "data/leak.jsonl:0: -: refused: resolves outside the repository" in printed
    assert "SECRET-CANARY" not in printed and "E0308" not in printed
    (repo / "data" / "leak.jsonl").unlink()
    write_rows(repo / "data" / "real.jsonl", [row("inside-1", distinct_code(9301))])
    (repo / "data" / "alias.jsonl").symlink_to("real.jsonl")
    done = commit(repo, env, "a symlink inside")
    assert done.returncode == 0, done.stdout + done.stderr
