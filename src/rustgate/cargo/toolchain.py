"""The Rust toolchain on PATH, pinned down to the exact ``rustc`` binary and its hash.

Every verdict records the toolchain and every cache key includes it, so a new compiler never
serves stale verdicts. We resolve the real binary in the sysroot so rustup's proxy (which wants
``HOME`` and ``RUSTUP_HOME``) is not needed inside the sandbox.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class ToolchainError(RuntimeError):
    """No usable Rust toolchain: an infrastructure failure, never a verdict on a sample."""


@dataclass(frozen=True)
class Toolchain:
    rustc: Path
    cargo: Path
    sysroot: Path
    version: str
    verbose_version: str

    @property
    def key(self) -> str:
        """A short stable id of this exact compiler build, used in cache paths and keys."""
        return hashlib.sha256(self.verbose_version.encode()).hexdigest()[:16]

    @property
    def commit_hash(self) -> str:
        for line in self.verbose_version.splitlines():
            if line.startswith("commit-hash:"):
                return line.split(":", 1)[1].strip()
        return "unknown"


def cargo_home() -> Path:
    """Where cargo keeps the downloaded crates (``$CARGO_HOME``, else ``~/.cargo``)."""
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"could not run {argv[0]}: {exc}") from exc
    if done.returncode != 0:
        raise ToolchainError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


@functools.lru_cache(maxsize=4)
def detect_toolchain(rustc: str | None = None, cargo: str | None = None) -> Toolchain:
    """The toolchain of the ``rustc``/``cargo`` on PATH (or ``$RUSTC``/``$CARGO``)."""
    rustc_cmd = rustc or os.environ.get("RUSTC") or shutil.which("rustc")
    cargo_cmd = cargo or os.environ.get("CARGO") or shutil.which("cargo")
    if not rustc_cmd:
        raise ToolchainError("rustc not found on PATH: install Rust (rustup) to run the compile gate")
    if not cargo_cmd:
        raise ToolchainError("cargo not found on PATH: install Rust (rustup) to run the compile gate")
    sysroot = Path(_run([rustc_cmd, "--print", "sysroot"]).strip())
    real_rustc = sysroot / "bin" / "rustc"
    if not real_rustc.exists():
        real_rustc = Path(rustc_cmd)
    real_cargo = sysroot / "bin" / "cargo"
    if not real_cargo.exists():
        real_cargo = Path(cargo_cmd)
    verbose = _run([str(real_rustc), "-vV"]).strip()
    version = verbose.splitlines()[0] if verbose else "rustc unknown"
    return Toolchain(
        rustc=real_rustc,
        cargo=real_cargo,
        sysroot=sysroot,
        version=version,
        verbose_version=verbose,
    )
