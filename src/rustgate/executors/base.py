"""What an executor is handed and what it hands back: plain data, the same for every engine.

A gate decides what a verdict is; an executor decides where it is computed. The driver (the
gate) extracts, keys and looks up; only the misses become ``CompileJob`` values, which carry
nothing bound to the driver's machine: the sample's files, the profile's name and fingerprint,
the limits, the sandbox backend and the toolchain the driver keyed them with. The node that
runs a job resolves the rest on its own (``rustgate.executors.node``) and refuses a mismatch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from rustgate.cargo.execute import RunLimits
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.replay import CheckOutcome
from rustgate.cargo.sandbox import Limits


class ExecutorError(RuntimeError):
    """An executor cannot be built (its engine is not installed): a usage error, not a verdict."""


@dataclass(frozen=True)
class CompileJob:
    """One distinct sample crate to compile (``key``: its cache key, which the result is stored under)."""

    key: str
    source: CrateSource
    profile: str
    fingerprint: str  # ``Profile.fingerprint`` on the driver: a node with other templates refuses
    limits: Limits
    client: str | None = None  # the profile that compiles the library again as the client side
    client_fingerprint: str = ""


@dataclass(frozen=True)
class RunSpec:
    """What every job of one check shares: how to compile, and what the driver's verdicts assume."""

    toolchain_key: str  # ``Toolchain.key`` (a hash of ``rustc -vV``) the cache keys were made with
    toolchain_version: str
    sandbox: str  # the backend the driver resolved (bwrap, namespaces, none): never ``auto``
    limits: Limits = Limits()  # the gate's limits (a batch shares them; a job carries its own)
    method: str = "replay"
    warm_missing: bool = True  # warm a cold profile on first use (else: an ``error`` naming `rustgate warm`)
    cache_root: str | None = None  # None: the node's own cache dir (``RUSTGATE_CACHE_DIR``)
    tiers: tuple[str, ...] = ("compile",)  # the tiers after the compile gate (``cargo.clippy``)
    clippy_deny: tuple[str, ...] = ()  # clippy lints (or "warnings") that fail an answer
    run_limits: RunLimits = RunLimits()  # the test and run tiers' windows and process limit


Finished = Iterator[tuple[str, CheckOutcome]]


class Executor(ABC):
    """Runs compile jobs somewhere and yields ``(job.key, outcome)`` as each finishes, in any order.

    Every job yields exactly once. An outcome is ``error`` when the job could not be run (a node
    lost for good, a mismatched node): never a pass or fail it did not compute.
    """

    name: ClassVar[str]

    @abstractmethod
    def run(self, jobs: Iterable[CompileJob], spec: RunSpec) -> Finished:
        """Compile ``jobs``; a generator, so the caller stores each result as it lands."""

    def close(self) -> None:  # noqa: B027 (optional: most executors start nothing)
        """Release what the executor started (a local Ray instance); a no-op by default."""
