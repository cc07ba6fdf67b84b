"""Which profile definitions the pre-commit hook trusts: never the change it is validating.

A profile names crates, and warming it builds them (their build scripts included, inside the
sandbox). A dataset change that adds or edits a ``rustgate.toml`` must not choose what the hook
builds or which crates its records may use. So the hook reads no project file it finds; it uses
the built-in profiles, plus the file the repository owner names (``--config`` in the hook's
``args``, or ``$RUSTGATE_CONFIG``):

- a named file outside the repository is the owner's, and is read as it is;
- a named file inside the repository is read as the base revision has it (``HEAD`` for a
  commit, ``$PRE_COMMIT_FROM_REF`` when pre-commit checks a range), with that revision's
  ``rustgate-locks/``: what the change does to it takes effect once it is committed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rustgate.cargo.project import CONFIG_ENV, LOCK_DIR, NO_PROJECT_FILE, PROJECT_FILE


@contextlib.contextmanager
def trusted_profiles(named: str | None, root: Path | None, notes: list[str]) -> Iterator[None]:
    """Inside, ``load_profiles`` sees only the built-ins and what the owner named (see above)."""
    with tempfile.TemporaryDirectory(prefix="rustgate-hook-config-") as staging:
        chosen = _choose(named, root, Path(staging), notes)
        before = os.environ.get(CONFIG_ENV)
        os.environ[CONFIG_ENV] = str(chosen) if chosen is not None else NO_PROJECT_FILE
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(CONFIG_ENV, None)
            else:
                os.environ[CONFIG_ENV] = before


def _choose(named: str | None, root: Path | None, staging: Path, notes: list[str]) -> Path | None:
    if not named or named.lower() == NO_PROJECT_FILE:
        if root is not None and (root / PROJECT_FILE).is_file():
            notes.append(
                f"{PROJECT_FILE} in this repository is not read by the hook: to use its profiles, name it "
                f"with `--config {PROJECT_FILE}` in the hook's args (its committed version is used)"
            )
        return None
    path = Path(named).expanduser()
    if not path.is_absolute():
        path = (root or Path.cwd()) / path
    named_path = Path(os.path.normpath(path))
    if root is None or not named_path.is_relative_to(root):
        return path  # the owner's own file; load_profiles names it when it is missing or broken
    return _from_revision(root, named_path.relative_to(root), staging, notes)


def base_revision() -> str:
    return os.environ.get("PRE_COMMIT_FROM_REF") or "HEAD"


def _from_revision(root: Path, relative: Path, staging: Path, notes: list[str]) -> Path | None:
    """``relative`` and its lockfiles as the base revision holds them, copied into ``staging``."""
    revision = base_revision()
    text = _git_show(root, revision, relative.as_posix())
    if text is None:
        notes.append(
            f"{relative} is not in {revision} (this change adds it): its profiles are not used until it is "
            "committed; records that need them are not validated against them"
        )
        return None
    target = staging / PROJECT_FILE
    target.write_text(text)
    locks = (relative.parent / LOCK_DIR).as_posix()
    listing = _git(root, "ls-tree", "--name-only", f"{revision}:{locks}") if locks else None
    if listing is not None:
        (staging / LOCK_DIR).mkdir()
        for name in listing.splitlines():
            lock = _git_show(root, revision, f"{locks}/{name}")
            if name.endswith(".lock") and "/" not in name and lock is not None:
                (staging / LOCK_DIR / name).write_text(lock)
    working = root / relative
    if not working.is_file() or working.read_text(errors="replace") != text:
        notes.append(f"{relative} differs from {revision}: validating with the profiles {revision} defines")
    return target


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_show(root: Path, revision: str, path: str) -> str | None:
    return _git(root, "show", f"{revision}:{path}")
