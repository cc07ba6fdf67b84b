"""Where the compiler runs: hidden from the host, on any stock Linux.

Three backends, chosen by ``RUSTGATE_SANDBOX`` (or ``CompileGate(sandbox=...)``):

- ``bwrap``: bubblewrap, when installed.
- ``namespaces``: rustgate's own launcher (``isolate.rs``, built once with the rustc the gate
  already needs), over the user, mount, pid, network, ipc and uts namespaces a stock kernel has.
  Same view as bwrap: only the toolchain, the prebuilt dependencies, the crate sources and the
  sample's own folder; a private /proc; no network; no capabilities.
- ``none``: no isolation at all. Only ever by explicit choice (``RUSTGATE_SANDBOX=none``), and
  every run says so: the text check and the dep-info check are then the only walls.

``auto`` (the default) takes the first of namespaces and bwrap that works here, and when neither
does, refuses to compile (an infrastructure ``error`` on every sample, with what to do).
The backend is part of every verdict's cache key.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import math
import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from rustgate.cargo.sandbox import which
from rustgate.cargo.scratch import run_folder
from rustgate.cargo.toolchain import Toolchain
from rustgate.paths import cache_dir

Backend = Literal["bwrap", "namespaces", "none"]
CHOICES = ("auto", "bwrap", "namespaces", "none")
ENV_VAR = "RUSTGATE_SANDBOX"
TMP_MB = 64
UNSAFE_WARNING = (
    "compiling untrusted code WITHOUT isolation (RUSTGATE_SANDBOX=none): the compiler can read "
    "this machine's files; only the text and dep-info checks stand in the way"
)
LAUNCHER_FAILED = "rustgate-isolate:"


class IsolationError(RuntimeError):
    """No isolation is available and none was not chosen: an infrastructure failure."""


@dataclass(frozen=True)
class Isolation:
    backend: Backend
    program: str | None = None  # bwrap, or the built launcher

    @property
    def isolated(self) -> bool:
        return self.backend != "none"

    def wrap(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        read_only: Iterable[Path],
        writable: Iterable[Path],
        scratch: Path,
        wall_s: float | None = None,
        host_uid: int | None = None,
    ) -> list[str]:
        """``argv`` run inside this backend, seeing only ``read_only``, ``writable`` and the system.

        ``scratch`` is an empty folder the namespaces backend mounts its new root on. ``wall_s``:
        the sandbox's own wall clock, which holds even when rustgate itself was killed (the
        launcher's alarm; ``timeout`` around bubblewrap). Both also die with their parent.
        ``host_uid`` (namespaces, started by root): the host uid the command runs as (``isolate.rs``).
        """
        seconds = None if wall_s is None else max(1, math.ceil(wall_s))  # whole seconds, as both clocks take them
        clock = [] if seconds is None or self.backend == "namespaces" else _wall_clock(seconds)
        if self.backend == "none":
            return [*clock, *argv]
        assert self.program is not None
        read_only, writable = list(read_only), list(writable)
        if self.backend == "bwrap":
            args = [*clock, self.program, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
            args += ["--clearenv", *_system_view("bwrap")]
            args += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_MB * 1024 * 1024), "--tmpfs", "/tmp"]
            for path in read_only:
                args += ["--ro-bind", str(path), str(path)]
            for path in writable:
                args += ["--bind", str(path), str(path)]
            for key, value in env.items():
                args += ["--setenv", key, value]
            return [*args, "--chdir", str(cwd), "--", *argv]
        args = [self.program, "--root", str(scratch), "--tmp-mb", str(TMP_MB), *_system_view("namespaces")]
        if seconds is not None:
            args += ["--timeout-s", str(seconds)]
        if host_uid is not None:
            args += ["--host-uid", str(host_uid)]
        for path in read_only:
            args += ["--ro", str(path)]
        for path in writable:
            args += ["--rw", str(path)]
        return [*args, "--chdir", str(cwd), "--", *argv]


@functools.cache
def _timeout_program() -> str | None:
    return which("timeout")  # looked up once: wrap() runs once per compile


def _wall_clock(seconds: int) -> list[str]:
    """coreutils ``timeout``, for backends without a clock of their own ([] where it is missing)."""
    program = _timeout_program()
    # TERM first (exit 124, which rustgate reads as its timeout), KILL a second later.
    return [program, "-k", "1", str(seconds)] if program else []


def _system_view(backend: Backend) -> list[str]:
    """The host's system folders (read-only): what rustc and the dynamic linker need."""
    args: list[str] = []
    for top in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top] if backend == "bwrap" else ["--ro", top]
    # The loader's cache, and the alternatives links through which /usr/bin/cc reaches the linker
    # (build scripts are linked when a profile is warmed inside the sandbox).
    for system in ("/etc/ld.so.cache", "/etc/alternatives"):
        if Path(system).exists():
            args += ["--ro-bind", system, system] if backend == "bwrap" else ["--ro", system]
    return args


def requested_backend(explicit: str | None = None) -> str:
    choice = (explicit or os.environ.get(ENV_VAR) or "auto").lower()
    if choice not in CHOICES:
        raise IsolationError(f"{ENV_VAR}={choice!r} is not one of {', '.join(CHOICES)}")
    return choice


def _helper_source(file: str) -> str:
    return resources.files("rustgate.cargo").joinpath(file).read_text(encoding="utf-8")


def build_launcher(toolchain: Toolchain) -> Path:
    """The namespaces launcher for this toolchain, compiled once (under a lock) into the cache."""
    return build_helper(toolchain, "isolate.rs", "rustgate-isolate")


def build_helper(toolchain: Toolchain, file: str, program: str) -> Path:
    """One of rustgate's std-only Rust helpers (``isolate.rs``, ``probe.rs``), built once per
    toolchain and source into the cache, under a lock."""
    source = _helper_source(file)
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    folder = cache_dir() / "sandbox"
    target = folder / f"{program}-{toolchain.key}-{digest}"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(dir=folder) as work:
            src = Path(work) / file
            src.write_text(source, encoding="utf-8")
            out = Path(work) / program
            argv = [str(toolchain.rustc), "--edition", "2021", "-O", "-C", "panic=abort", "-C", "strip=symbols"]
            done = subprocess.run(
                [*argv, "--crate-name", program.replace("-", "_"), str(src), "-o", str(out)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise IsolationError(f"could not build {program}: {done.stderr.strip()[-600:]}")
            os.replace(out, target)
    return target


def _probe(isolation: Isolation) -> str | None:
    """None when ``true`` runs inside the backend here; else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="probe-", dir=run_folder()) as scratch:
        work = Path(scratch) / "work"
        root = Path(scratch) / "root"
        work.mkdir()
        root.mkdir()
        true = which("true") or "/bin/true"
        argv = isolation.wrap([true], cwd=work, env={}, read_only=[], writable=[work], scratch=root)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")[-400:]


@functools.lru_cache(maxsize=8)
def choose_isolation(requested: str, toolchain: Toolchain) -> Isolation:
    """The backend to compile with; raises ``IsolationError`` when the request cannot be met."""
    if requested == "none":
        return Isolation("none")
    failures: list[str] = []
    # auto: rustgate's own launcher first (the same view as bubblewrap, a third cheaper to start:
    # docs/benchmarks.md), then bubblewrap where user namespaces are closed to it but not to bwrap.
    for backend in (("namespaces", "bwrap") if requested == "auto" else (requested,)):
        isolation, problem = _try(backend, toolchain)
        if isolation is not None:
            return isolation
        failures.append(f"{backend}: {problem}")
    raise IsolationError(
        "no sandbox can run here (" + "; ".join(failures) + "). Install bubblewrap, or allow unprivileged "
        f"user namespaces, or set {ENV_VAR}=none to compile untrusted code without isolation (unsafe)"
    )


def _try(backend: str, toolchain: Toolchain) -> tuple[Isolation | None, str]:
    """The backend if it runs here, else None and why not."""
    if backend == "bwrap":
        bwrap = which("bwrap")
        if bwrap is None:
            return None, "not installed"
        isolation = Isolation("bwrap", bwrap)
    else:
        try:
            isolation = Isolation("namespaces", str(build_launcher(toolchain)))
        except (IsolationError, OSError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
    try:
        problem = _probe(isolation)
    except subprocess.TimeoutExpired as exc:
        problem = str(exc)
    return (isolation, "") if problem is None else (None, problem)
