"""Running the compiler on hostile code: limits, a scrubbed environment, bounded output.

Every sample is treated as an attack. The compiler sees an allow-listed environment (no API
keys, so ``env!``/``option_env!`` learn nothing), runs under ``prlimit`` (address space, file
size, no core dumps), inside the isolation backend (``cargo.isolation``), in its own process
group that is killed whole on overrun. Its output is read with a cap: a sample that makes rustc
print gigabytes is stopped, and the parent never holds more than ``max_stream_mb`` of it.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@dataclass(frozen=True)
class Limits:
    """Per-sample limits. Verdicts that depend on them (timeout, memory) are keyed with them."""

    timeout_s: float = 60.0
    memory_mb: int = 4096
    max_output_mb: int = 64  # largest file the compiler may write (RLIMIT_FSIZE)
    max_stream_mb: int = 8  # compiler output read from its pipes before it is stopped


@dataclass
class SandboxResult:
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    output_overflow: bool = False  # stopped for printing more than max_stream_mb

    @property
    def signal(self) -> int | None:
        """The signal that ended the process, if one did (and not our own timeout kill).

        A wrapper (bubblewrap) reports its child's death by signal N as exit code 128 + N.
        """
        if self.returncode < 0:
            return -self.returncode
        return self.returncode - 128 if 128 < self.returncode < 128 + 32 else None

    @property
    def out_of_memory(self) -> bool:
        text = self.stderr[-4000:]
        return "memory allocation of" in text or "failed to allocate" in text or self.signal == signal.SIGABRT


def sandbox_wall_clock(timeout_s: float) -> float:
    """The sandbox's own time limit: rustgate's, plus a grace for start-up and teardown.

    rustgate's timer normally fires first; this one holds when rustgate was killed (kill -9).
    """
    return timeout_s + max(5.0, 0.1 * timeout_s)


WALL_CLOCK_EXIT = 124  # coreutils ``timeout``: the command ran past the sandbox's wall clock


def which(tool: str) -> str | None:
    """System tools are looked up on PATH and in the standard places, whatever PATH holds."""
    return shutil.which(tool, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/bin"]))


def _with_rlimits(argv: Sequence[str], limits: Limits, extra: Sequence[str] = ()) -> list[str]:
    """Prefix ``prlimit`` so the limits are set in the child itself.

    (``preexec_fn`` is not safe in a threaded parent, and we check from a thread pool.)
    """
    memory = limits.memory_mb * 1024 * 1024
    output = limits.max_output_mb * 1024 * 1024
    prlimit = which("prlimit")
    if prlimit is None:
        raise FileNotFoundError("prlimit (util-linux) is required to limit the compiler's memory")
    return [prlimit, f"--as={memory}", "--core=0", f"--fsize={output}", *extra, "--", *argv]


def run_limited(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    limits: Limits,
    rlimits: Sequence[str] = (),
    pass_fds: Sequence[int] = (),
) -> SandboxResult:
    """Run ``argv`` in its own process group, reading at most ``max_stream_mb`` of output.

    ``rlimits``: more ``prlimit`` options (a run's CPU time); ``pass_fds``: descriptors the
    child keeps (the run probe's report pipe).

    On timeout or output overflow the whole group is killed. Never raises for what the
    process does; raises ``OSError`` only when it cannot be started.
    """
    start = time.monotonic()
    deadline = start + limits.timeout_s
    cap = limits.max_stream_mb * 1024 * 1024
    proc = subprocess.Popen(
        _with_rlimits(argv, limits, rlimits),
        cwd=cwd,
        pass_fds=tuple(pass_fds),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    total = 0
    timed_out = overflow = False
    with selectors.DefaultSelector() as selector:
        for stream in (proc.stdout, proc.stderr):
            os.set_blocking(stream.fileno(), False)
            selector.register(stream.fileno(), selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in selector.select(timeout=min(left, 0.5)):
                fd = int(key.fd)
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not data:
                    selector.unregister(fd)
                    continue
                total += len(data)
                if total > cap:
                    overflow = True
                    break
                chunks[fd].append(data)
            if overflow:
                break
    if timed_out or overflow:
        _kill_group(proc.pid)
    try:
        # Both pipes closed: the process is exiting (or a child kept them open past its death).
        proc.wait(timeout=max(1.0, deadline - time.monotonic()) if not (timed_out or overflow) else 10.0)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait()
        timed_out = True
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return SandboxResult(
        returncode=proc.returncode,
        stdout=b"".join(chunks[out_fd]).decode("utf-8", "replace"),
        stderr=b"".join(chunks[err_fd]).decode("utf-8", "replace"),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        output_overflow=overflow,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
