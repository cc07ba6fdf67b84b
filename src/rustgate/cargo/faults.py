"""Which compiler failures are the machine's, and which verdicts depend on the limits.

A verdict is cached forever under (code, profile, toolchain, sandbox, gate version), so it must
be a property of the code. Two kinds of failure are not:

- **machine faults**: rustc (or its launcher) could not do its I/O — a full or read-only disk,
  an I/O error, no file descriptors or threads left, a kill from outside. Found by cause: an
  operating-system error on a diagnostic that points at no line of the sample (rustc reports
  its own I/O that way; everything a sample can provoke has a span in the sample), or a death
  by a signal nobody in rustgate sent. These are ``error``: never cached, with what to fix.
- **limit failures**: a timeout, the memory limit (an allocation failure, a crash, const
  evaluation running out of memory), the output-file and output-stream caps. Stored with the
  limits they ran under (``details["limited_by"]``) and compiled again when a limit is larger.
"""

from __future__ import annotations

import errno
import os
import re
import signal
from collections.abc import Iterable

from rustgate.records import Diagnostic, Verdict

_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_PY_ERRNO = re.compile(r"\[Errno (\d+)\]")
# Signals that end a process only when something outside it sends them (or the kernel's OOM killer).
OUTSIDE_SIGNALS = frozenset(
    {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE}
)
CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT, signal.SIGTRAP})
# An OS error that is a limit rustgate set (the sample asked for it), not a fault of the machine.
_LIMIT_ERRNOS = {errno.EFBIG: "max_output_mb", errno.ENOMEM: "memory_mb"}
_MEMORY_CODES = {"RG-MEMORY", "RG-CRASH"}  # a crash under a tight address-space limit is usually memory
_CONST_EVAL_MEMORY = "more memory than available"
# A prebuilt crate's metadata could not be read (mapping it failed): never the sample's doing.
# E0786 carries a code no sample can emit; the uncoded loader messages count only beside a
# coded E0463 for a sysroot crate (loaded before any dependency; a sample cannot make one go
# missing), so a `compile_error!` that copies their wording stays the sample's own failure.
_UNREADABLE_METADATA = "E0786"
_LOADER_FAILURES = (
    "found invalid metadata files",
    "only metadata stub found",
    "failed to map",
    "couldn't read metadata",
)
_SYSROOT_MISSING = re.compile(r"can't find crate for `(?:std|core|alloc)`")


def advice(number: int) -> str:
    """What to do about an operating-system error seen while compiling."""
    if number in (errno.ENOSPC, errno.EDQUOT):
        where = os.environ.get("TMPDIR") or "/tmp"
        return f"the scratch disk is full: free space on the filesystem of {where} (or point TMPDIR elsewhere)"
    if number in (errno.EMFILE, errno.ENFILE):
        return "no file descriptors left: raise the open-files limit (ulimit -n) or lower --jobs"
    if number in (errno.EAGAIN, errno.ENOMEM):
        return "the machine could not start threads or map memory: lower --jobs or free memory"
    if number == errno.EIO:
        return "the disk reported an I/O error: check the scratch filesystem"
    if number == errno.EROFS:
        return "the scratch folder is on a read-only filesystem: point TMPDIR at a writable one"
    return f"the machine refused an operation ({os.strerror(number)}): check the scratch folder and limits"


def os_failure(exc: OSError, what: str) -> str:
    """The reason for an ``error`` when rustgate's own I/O around a compile failed."""
    fix = f": {advice(exc.errno)}" if exc.errno else ""
    return f"could not {what}: {exc}{fix}"


def os_error_number(text: str) -> int | None:
    """The errno a Rust ``io::Error`` (``(os error N)``) or a Python ``OSError`` carries."""
    match = _OS_ERROR.search(text) or _PY_ERRNO.search(text)
    return int(match.group(1)) if match else None


def machine_fault(diagnostics: Iterable[Diagnostic], stderr: str, sig: int | None) -> str | None:
    """Why this compiler run failed for reasons outside the code, or None when it did not.

    ``sig`` is a signal that ended the run which rustgate did not send (not its own timeout).
    """
    if sig is not None and sig in OUTSIDE_SIGNALS:
        return (
            f"the compiler was killed by {signal.Signals(sig).name} from outside rustgate (the kernel's "
            "out-of-memory killer, or another process): free memory or lower --jobs, then run again"
        )
    diagnostics = list(diagnostics)
    if _unloadable_metadata(diagnostics):
        return (
            "the compiler could not load a dependency's metadata: the memory limit is too small to "
            "map it (raise --memory-mb), or the warm cache is damaged (remove it and run `rustgate warm`)"
        )
    for diagnostic in diagnostics:
        if not diagnostic.level.startswith("error") or diagnostic.file or diagnostic.code:
            continue  # a diagnostic at a line of the sample is about the sample
        number = os_error_number(diagnostic.message)
        if number is not None and number not in _LIMIT_ERRNOS:
            return f"{advice(number)} (rustc: {diagnostic.message[:300]})"
    if "panicked" not in stderr:
        return None
    for line in stderr.splitlines()[-40:]:
        # Not a diagnostic: rustc's own panic while writing (an ICE whose cause is the disk).
        if line.lstrip().startswith("{"):
            continue
        number = os_error_number(line)
        if number is not None and number not in _LIMIT_ERRNOS:
            return f"{advice(number)} (rustc: {line.strip()[:300]})"
    return None


def _unloadable_metadata(diagnostics: list[Diagnostic]) -> bool:
    if any(d.code == _UNREADABLE_METADATA for d in diagnostics):
        return True
    sysroot_missing = any(d.code == "E0463" and _SYSROOT_MISSING.search(d.message) for d in diagnostics)
    return sysroot_missing and any(d.message.startswith(_LOADER_FAILURES) for d in diagnostics)


def limited_by(verdict: Verdict, diagnostics: Iterable[Diagnostic], reason: str | None) -> list[str]:
    """The limits (``Limits`` field names) a verdict depends on; empty for a property of the code."""
    text = reason or ""
    if verdict == "timeout":
        return ["timeout_s"]
    if verdict == "rejected":
        if "size limit" in text:
            return ["max_output_mb"]
        if "compiler output exceeded" in text:
            return ["max_stream_mb"]
        return []
    if verdict != "fail":
        return []
    found: list[str] = []
    for d in diagnostics:
        if d.code in _MEMORY_CODES or (d.code == "E0080" and _CONST_EVAL_MEMORY in d.message):
            found.append("memory_mb")
        elif not d.file and not d.code and d.level.startswith("error"):
            number = os_error_number(d.message)
            if number in _LIMIT_ERRNOS:
                found.append(_LIMIT_ERRNOS[number])
    return sorted(set(found))


def stale_fault(diagnostics: Iterable[Diagnostic]) -> bool:
    """A stored verdict that is really a machine fault (stored by an older rustgate): never served."""
    return machine_fault(diagnostics, "", None) is not None
