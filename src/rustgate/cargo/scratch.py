"""Scratch folders that do not outlive their run, even when the run is killed with -9.

Every process gets one run folder, ``$TMPDIR/rustgate-scratch-<uid>/run-<pid>-<random>``, and
holds an exclusive ``flock`` on its ``.lock`` file for as long as it lives; the kernel drops the
lock when the process dies, however it dies. Each sample's scratch folder is made inside the run
folder and removed when its compile ends; the run folder goes when the process exits. A run
folder whose lock nobody holds belongs to a dead run: the next process to make a run folder
removes it. Only folders of this exact shape, inside a base folder this user owns, are removed.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

LOCK_NAME = ".lock"
RUN_PREFIX = "run-"
# A run folder without its lock file was not made by this module; left alone unless it is old.
_UNLOCKED_GRACE_S = 60.0

_guard = threading.Lock()
_current: tuple[int, Path, int] | None = None  # (pid, run folder, fd holding the lock)


def base_folder() -> Path:
    """This user's folder of run folders (made 0700, refused when someone else owns it)."""
    base = Path(tempfile.gettempdir()) / f"rustgate-scratch-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700)
    info = base.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{base} is not a private folder of this user: remove it, or point TMPDIR elsewhere")
    return base


def run_folder() -> Path:
    """This process's run folder, made (and dead runs' folders swept) on first use."""
    global _current
    with _guard:
        if _current is not None and _current[0] == os.getpid() and _current[1].is_dir():
            return _current[1]
        base = base_folder()
        # Locked before it gets its run- name, so no sweep ever sees it unlocked while we live.
        making = Path(tempfile.mkdtemp(prefix=f".new-{os.getpid()}-", dir=base))
        fd = os.open(making / LOCK_NAME, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        folder = base / f"{RUN_PREFIX}{making.name.removeprefix('.new-')}"
        making.rename(folder)
        if _current is not None and _current[0] == os.getpid():
            os.close(_current[2])  # our own earlier folder was removed from under us
        _current = (os.getpid(), folder, fd)
        sweep(base, keep=folder)
        return folder


@atexit.register
def _remove_own_run_folder() -> None:
    """A run that ends normally leaves nothing; one killed is swept by the next (``sweep``)."""
    if _current is not None and _current[0] == os.getpid():
        shutil.rmtree(_current[1], ignore_errors=True)


def scratch_dir(prefix: str) -> Path:
    """A fresh private folder for one compile; the caller removes it when the compile ends."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=run_folder()))


def sweep(base: Path, keep: Path | None = None) -> list[Path]:
    """Remove the run folders under ``base`` whose process is gone; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        making = entry.name.startswith(".new-")  # a run killed before its folder got its name
        if not (entry.name.startswith(RUN_PREFIX) or making) or entry == keep:
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if making and time.time() - info.st_mtime <= _UNLOCKED_GRACE_S:
            continue
        if _abandoned(entry, info.st_mtime):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _abandoned(folder: Path, made: float) -> bool:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return time.time() - made > _UNLOCKED_GRACE_S
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live process holds it
    finally:
        os.close(fd)  # closing our descriptor drops the lock we may have taken
    return True
