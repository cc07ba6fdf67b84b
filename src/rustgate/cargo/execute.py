"""Running what an LLM wrote: one built program or test binary, in the sandbox, for a window.

The compile sandbox holds at run time too, and more: the program sees the sample's folder
read-only, the system's libraries, a private size-limited /tmp and nothing else of the host (no
home, no host /proc, an allow-listed environment whose provider keys are placeholders); its own
network namespace with only its own loopback up; prlimit's address space, file size and CPU
time. Inside, ``probe.rs`` starts it, counts the namespace's processes (a fork bomb is stopped
at ``max_processes``), calls a server once on each route, and at the end of the window kills
every process of the namespace: whatever double-forked or ignored SIGTERM is gone with it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate.cargo.isolation import Isolation, build_helper
from rustgate.cargo.sandbox import SAFE_ENV, Limits, SandboxResult, run_limited
from rustgate.cargo.scratch import scratch_dir
from rustgate.cargo.toolchain import Toolchain

PLACEHOLDER_KEY = "rustgate-sandbox-no-key"
# Providers an answer's SDK may read a key for: set to a placeholder, so the program gets as far
# as its first request (which the sandbox's network refuses: ``inconclusive``, never a fail).
PROVIDER_KEYS = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY", "GEMINI_API_KEY", "PERPLEXITY_API_KEY",
    "XAI_API_KEY", "DEEPSEEK_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY", "HUGGINGFACE_API_KEY",
    "OPENROUTER_API_KEY", "TOGETHER_API_KEY", "GALADRIEL_API_KEY", "HYPERBOLIC_API_KEY", "MOONSHOT_API_KEY",
)  # fmt: skip
_GRACE_S = 5.0  # sandbox start and teardown, beyond the program's own window
_REQUEST_S = 3.0  # the probe's connect and read timeouts (probe.rs REQUEST_TIMEOUT)
MAX_ROUTES = 4
_FIRST_RUN_UID, _RUN_UIDS = 1 << 20, 1 << 24  # run uids: far above any real account


@dataclass(frozen=True)
class RunLimits:
    """What a run may take. Part of every test/run verdict's cache key."""

    window_s: float = 5.0  # the run tier: how long a program runs (a server: until it answered)
    test_window_s: float = 30.0  # the test tier: all test binaries of one answer together
    max_processes: int = 64  # live processes in the sandbox before the run is stopped


@dataclass
class ProgramRun:
    """What one execution did: the probe's report plus the output the host read."""

    stdout: str
    stderr: str
    duration_s: float
    report: dict[str, Any] = field(default_factory=dict)
    output_overflow: bool = False
    host_timed_out: bool = False
    sandbox_failed: str | None = None  # the sandbox could not start: an infrastructure error

    @property
    def exit_code(self) -> int | None:
        code = self.report.get("exit")
        return code if isinstance(code, int) else None

    @property
    def signal(self) -> int | None:
        number = self.report.get("signal")
        return number if isinstance(number, int) else None

    @property
    def still_running(self) -> bool:
        return bool(self.report.get("running"))

    @property
    def too_many_processes(self) -> bool:
        return bool(self.report.get("too_many_processes"))


def probe_program(toolchain: Toolchain) -> Path:
    return build_helper(toolchain, "probe.rs", "rustgate-probe")


def run_env(extra: dict[str, str]) -> dict[str, str]:
    """The program's whole environment: the allow-list, cargo's package variables, placeholders."""
    env = {**SAFE_ENV, "HOME": "/tmp", "TMPDIR": "/tmp", "USER": "sandbox", "RUST_BACKTRACE": "0"}
    env.update({key: PLACEHOLDER_KEY for key in PROVIDER_KEYS})
    env.update({k: v for k, v in extra.items() if k.startswith("CARGO_")})
    return env


def run_program(
    executable: Path,
    args: list[str],
    *,
    root: Path,
    env: dict[str, str],
    window_s: float,
    limits: Limits,
    run_limits: RunLimits,
    isolation: Isolation,
    toolchain: Toolchain,
    routes: tuple[str, ...] = (),
) -> ProgramRun:
    """Run ``executable`` (inside ``root``, which it sees read-only) for at most ``window_s``."""
    probe = probe_program(toolchain)
    read_end, write_end = os.pipe()
    argv = [str(probe), "--window-ms", str(int(window_s * 1000)), "--report-fd", str(write_end)]
    if isolation.isolated:
        argv += ["--own-pid-namespace", "--max-processes", str(run_limits.max_processes)]
    for route in routes:
        argv += ["--route", route]
    argv += ["--", str(executable), *args]
    host_uid = _run_uid(isolation)
    nproc = _process_limit(run_limits, host_uid)
    _world_readable(root)
    mount_root = scratch_dir("run-")
    wall = window_s + _GRACE_S + 2 * _REQUEST_S * len(routes)  # each request: a connect and a read
    try:
        wrapped = isolation.wrap(
            argv, cwd=root, env=env, read_only=[root, probe], writable=[], scratch=mount_root, wall_s=wall + _GRACE_S,
            host_uid=host_uid,
        )  # fmt: skip
        cpu = max(1, math.ceil(window_s) + 1)
        rlimits = [f"--cpu={cpu}", *([f"--nproc={nproc}"] if nproc else [])]
        try:
            result = run_limited(
                wrapped, cwd=root, env=env, limits=dataclasses.replace(limits, timeout_s=wall),
                rlimits=rlimits, pass_fds=[write_end],
            )  # fmt: skip
        finally:
            os.close(write_end)
        report = _read_report(read_end)
    finally:
        os.close(read_end)
        shutil.rmtree(mount_root, ignore_errors=True)
    return _program_run(result, report)


def _run_uid(isolation: Isolation) -> int | None:
    """A fresh host uid for the run when rustgate runs as root under its own launcher: root is
    exempt from the process limit, a uid that owns nothing is not."""
    if isolation.backend != "namespaces" or os.geteuid() != 0:
        return None
    return _FIRST_RUN_UID + secrets.randbelow(_RUN_UIDS)


def _process_limit(run_limits: RunLimits, host_uid: int | None) -> int | None:
    """RLIMIT_NPROC for the run. The kernel counts a uid's processes host-wide: a fresh uid holds
    only the run's own; the user's own uid also holds everything else the user runs now. Root
    is exempt (under bubblewrap the probe's count is then the only process wall)."""
    allowed = run_limits.max_processes + 2  # the probe and the sandbox's init
    if host_uid is not None:
        return allowed
    if os.geteuid() == 0:
        return None
    return allowed + _processes_of(os.geteuid())


def _processes_of(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def _world_readable(root: Path) -> None:
    """The sample's folder readable by a run's own uid: it owns nothing, and sees it read-only."""
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, os.stat(folder).st_mode | 0o755)
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | 0o444)


def _read_report(fd: int) -> dict[str, Any]:
    os.set_blocking(fd, False)
    chunks = []
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
    except BlockingIOError:
        pass
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    try:
        report = json.loads(text.splitlines()[-1]) if text else {}
    except json.JSONDecodeError:
        report = {}
    return report if isinstance(report, dict) else {}


def _program_run(result: SandboxResult, report: dict[str, Any]) -> ProgramRun:
    failed = None
    if not report and (result.returncode == 125 or result.stderr.startswith("bwrap:")):
        failed = "the sandbox could not start: " + result.stderr.strip()[-400:]
    elif "spawn_error" in report:
        failed = f"the program could not be started: {report['spawn_error']}"
    return ProgramRun(
        stdout=result.stdout,
        stderr=result.stderr,
        duration_s=result.duration_s,
        report=report,
        output_overflow=result.output_overflow,
        host_timed_out=result.timed_out,
        sandbox_failed=failed,
    )
