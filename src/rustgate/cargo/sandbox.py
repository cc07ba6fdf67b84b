"""Running the compiler on hostile code.

Every sample is treated as an attack: the compiler sees an allow-listed environment (no API
keys, so ``env!``/``option_env!`` learn nothing), no network, none of the host's files but the
toolchain, the prebuilt dependencies and the sample's own folder (when bubblewrap is present),
a wall-time and address-space limit, and on overrun its whole process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

_INCLUDE = re.compile(r"\binclude(?:_str|_bytes)?\s*!\s*[\(\[\{]\s*(?P<arg>[^\)\]\}]*)")
_PATH_ATTR = re.compile(r"#\s*!?\s*\[\s*path\s*=\s*(?P<arg>[^\]]*)\]")
# ``use std::include_str as read;`` would let ``read!("/etc/passwd")`` slip past _INCLUDE.
_INCLUDE_ALIAS = re.compile(r"\buse\b[^;]*\binclude(?:_str|_bytes)?\b|\binclude(?:_str|_bytes)?\s+as\b")
_STRING = re.compile(r'^(?:"(?P<plain>[^"\\]*)"|r(?P<hashes>#*)"(?P<raw>.*?)"(?P=hashes))\s*,?\s*$', re.S)

SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 60.0
    memory_mb: int = 4096
    max_output_mb: int = 64


@dataclass
class SandboxResult:
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def out_of_memory(self) -> bool:
        text = self.stderr[-4000:]
        return "memory allocation of" in text or "failed to allocate" in text or self.returncode == -signal.SIGABRT


def unsafe_includes(files: dict[str, str]) -> list[str]:
    """Why each ``include*!`` or ``#[path]`` would reach outside the sample's own files.

    Only plain string literals naming a relative path inside the crate are allowed: anything
    computed (``concat!``, ``env!``, a macro argument) could point anywhere, so it is refused.
    """
    problems: list[str] = []
    for name, text in files.items():
        base = PurePosixPath(name).parent
        for match in _INCLUDE_ALIAS.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{name}:{line}: importing or renaming an include macro is refused")
        for pattern, what in ((_INCLUDE, "include macro"), (_PATH_ATTR, "#[path] attribute")):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                literal = _STRING.match(match.group("arg").strip())
                if not literal:
                    problems.append(f"{name}:{line}: {what} with a computed path is refused")
                    continue
                target = literal.group("plain") if literal.group("plain") is not None else literal.group("raw")
                resolved = _normalise(base / target)
                if target.startswith("/") or resolved is None or resolved not in files:
                    problems.append(f"{name}:{line}: {what} of {target!r} reaches outside the sample")
    return problems


def _normalise(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def _which(tool: str) -> str | None:
    """System tools are looked up on PATH and in the standard places, whatever PATH holds."""
    return shutil.which(tool, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/bin"]))


def bubblewrap() -> str | None:
    """The bwrap binary unless disabled with ``RUSTGATE_SANDBOX=none``."""
    if os.environ.get("RUSTGATE_SANDBOX", "").lower() == "none":
        return None
    return _which("bwrap")


def _system_binds() -> list[str]:
    args: list[str] = []
    for top in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.exists():
            args += ["--ro-bind", top, top]
    if Path("/etc/ld.so.cache").exists():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def wrap(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    read_only: Iterable[Path],
    writable: Iterable[Path],
) -> list[str]:
    """``argv`` inside bubblewrap: a private, network-less view of only the paths it needs."""
    bwrap = bubblewrap()
    if bwrap is None:
        return list(argv)
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", str(cwd), "--", *argv]
    return args


def _with_rlimits(argv: Sequence[str], limits: Limits) -> list[str]:
    """Prefix ``prlimit`` so the limits are set in the child itself.

    (``preexec_fn`` is not safe in a threaded parent, and we check from a thread pool.)
    """
    memory = limits.memory_mb * 1024 * 1024
    output = limits.max_output_mb * 1024 * 1024
    prlimit = _which("prlimit")
    if prlimit is None:
        raise FileNotFoundError("prlimit (util-linux) is required to limit the compiler's memory")
    return [prlimit, f"--as={memory}", "--core=0", f"--fsize={output}", "--", *argv]


def run_limited(argv: Sequence[str], *, cwd: Path, env: dict[str, str], limits: Limits) -> SandboxResult:
    """Run ``argv`` in its own process group; on timeout kill the whole group."""
    start = time.monotonic()
    proc = subprocess.Popen(
        _with_rlimits(argv, limits),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=limits.timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        stdout, stderr = proc.communicate()
        timed_out = True
    return SandboxResult(
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
