"""The compile gate: does the answer's Rust pass ``cargo check`` against the pinned crates?"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from rustgate.cargo.execute import RunLimits
from rustgate.cargo.extract import DEFAULT_MAX_ANSWER_BYTES, CrateSource, Rejection, extract_crate
from rustgate.cargo.faults import limited_by, stale_fault
from rustgate.cargo.isolation import UNSAFE_WARNING, Isolation, IsolationError, choose_isolation, requested_backend
from rustgate.cargo.replay import CheckOutcome
from rustgate.cargo.run_tiers import RUN_TIERS
from rustgate.cargo.sandbox import Limits
from rustgate.cargo.templates import Profile, TemplateError, load_profiles
from rustgate.cargo.toolchain import Toolchain, ToolchainError, detect_toolchain
from rustgate.executors import CompileJob, Executor, ExecutorName, LocalExecutor, RunSpec, default_jobs, make_executor
from rustgate.gates.base import Gate, GateSettings, StageContext
from rustgate.ledger import Ledger, stable_hash
from rustgate.memo import code_fingerprint
from rustgate.records import TIERS, Diagnostic, GateResult, Record

log = logging.getLogger(__name__)

Method = Literal["replay", "single", "batch"]
OnResult = Callable[[int, GateResult], None]
_CHUNK = 16  # answers read (and looked up) before their compiles are handed on


def chosen_tiers(tiers: Sequence[str]) -> tuple[str, ...]:
    """``compile`` first, then the others asked for, each once, in ``TIERS`` order; a clear error
    for unknown ones."""
    names = [t.strip() for t in tiers if t.strip()]
    for name in names:
        if name not in TIERS:
            raise ValueError(f"unknown tier {name!r}; the tiers are: {', '.join(TIERS)}")
    return tuple(t for t in TIERS if t == "compile" or t in names)


class CompileGate(Gate):
    """Checks each record's answer with the real compiler, in parallel, sandboxed, cached.

    ``method="replay"`` (default, fastest) replays cargo's rustc call, several screened samples
    to a rustc as modules of one crate (``cargo.module_batch``) with exactly the verdicts of
    ``method="single"``, one rustc per sample (they share ledger entries); ``method="batch"`` runs
    one ``cargo check`` over a package with a target per sample.
    ``sandbox`` is ``auto`` (rustgate's namespaces launcher, else bubblewrap, else refuse),
    ``bwrap``, ``namespaces`` or ``none`` (no isolation: explicit opt-in only).
    """

    name = "compile"
    version = "4"  # 4: each target gets the environment cargo gives it

    def __init__(
        self,
        *,
        profile: str | None = None,
        jobs: int | None = None,
        timeout_s: float = 60.0,
        memory_mb: int = 4096,
        max_output_mb: int = 64,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        ledger: Ledger | None = None,
        use_cache: bool = True,
        method: Method = "replay",
        sandbox: str | None = None,
        warm_missing: bool = True,
        cache_root: Path | None = None,
        executor: Executor | ExecutorName = "local",
        ray_address: str | None = None,
        tiers: Sequence[str] = ("compile",),
        clippy_deny: Sequence[str] = (),
        run_window_s: float = 5.0,
        test_window_s: float = 30.0,
        max_processes: int = 64,
    ) -> None:
        self.tiers = chosen_tiers(tiers)
        self.run_limits = RunLimits(window_s=run_window_s, test_window_s=test_window_s, max_processes=max_processes)
        self.clippy_deny = tuple(sorted(set(clippy_deny)))
        if self.clippy_deny and "clippy" not in self.tiers:
            raise ValueError('clippy_deny needs the clippy tier (tiers = ["compile", "clippy"])')
        self.profile = profile
        self.jobs = max(1, jobs or default_jobs())
        self.limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb, max_output_mb=max_output_mb)
        self.max_answer_bytes = max_answer_bytes
        self.ledger = ledger
        self.use_cache = use_cache and ledger is not None
        self.method = method
        self.sandbox = sandbox
        self.warm_missing = warm_missing
        self.cache_root = cache_root
        # Where misses compile: never part of a verdict, so never of ``identity`` or a cache key.
        self.executor = (
            executor if isinstance(executor, Executor) else make_executor(executor, jobs=jobs, ray_address=ray_address)
        )
        self.isolation: Isolation | None = None  # the backend the last check used
        self.toolchain: Toolchain | None = None  # the toolchain the last check keyed with

    @property
    def verdict_method(self) -> str:
        """How a verdict was reached, as the ledger keys it: batched and single replay give the same."""
        return "replay" if self.method == "single" else self.method

    def identity(self) -> dict[str, Any]:
        """What can change a verdict (the run id and the report use it; jobs and caching cannot)."""
        identity = {
            "version": self.version,
            "profile": self.profile,
            "method": self.verdict_method,
            "sandbox": requested_backend(self.sandbox),
            "limits": vars(self.limits),
            "max_answer_bytes": self.max_answer_bytes,
        }
        identity.update(self._tier_identity())
        return identity

    def _tier_identity(self) -> dict[str, Any]:
        """The tiers beyond compile (absent for compile alone, so its keys are what they were);
        with the test or run tier, their windows and limits (a longer window re-runs them)."""
        if self.tiers == ("compile",):
            return {}
        identity: dict[str, Any] = {"tiers": list(self.tiers), "clippy_deny": list(self.clippy_deny)}
        if any(t in RUN_TIERS for t in self.tiers):
            identity["run_limits"] = vars(self.run_limits)
        return identity

    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        return await asyncio.to_thread(self.check, records)

    def context(self) -> dict[str, Any] | None:
        """Everything outside a record that decides its verdict: ``identity`` plus the sandbox backend,
        toolchain and profiles this machine resolves them to, and rustgate's own code. None when the
        toolchain, templates or sandbox cannot be resolved (then nothing may be remembered)."""
        try:
            toolchain = detect_toolchain()
            profiles = load_profiles()
            isolation = choose_isolation(requested_backend(self.sandbox), toolchain)
        except (ToolchainError, TemplateError, IsolationError):
            return None
        return self._context(toolchain, profiles, isolation)

    def _context(self, toolchain: Toolchain, profiles: dict[str, Profile], isolation: Isolation) -> dict[str, Any]:
        return {
            **self.identity(),
            "backend": isolation.backend,
            "toolchain": toolchain.verbose_version,
            "profiles": {name: p.fingerprint for name, p in sorted(profiles.items())},
            "code": code_fingerprint(),
        }

    def cache_key(
        self,
        source: CrateSource,
        profile: Profile,
        toolchain: Toolchain,
        isolation: Isolation,
        client: Profile | None = None,
    ) -> str:
        """Everything a verdict depends on, except limits (see ``_fresh``)."""
        parts: list[Any] = [
            "compile",
            self.version,
            self.verdict_method,
            source.profile,
            source.identity(),
            toolchain.verbose_version,
            profile.fingerprint,
            isolation.backend,
        ]
        if client is not None:  # the client side's pins decide the verdict too
            parts += [client.name, client.fingerprint]
        if self._tier_identity():
            parts.append(self._tier_identity())
        return stable_hash(*parts)

    @staticmethod
    def client_of(source: CrateSource, profiles: dict[str, Profile]) -> Profile | None:
        """The profile that checks ``source``'s library as the client side, if it has one."""
        client = profiles[source.profile].client
        return profiles[client] if client and source.lib is not None else None

    def _fresh(self, cached: GateResult) -> bool:
        """A cached verdict stands unless larger limits now could change it (see ``cargo.faults``),
        or it is a machine fault an older rustgate stored as the code's."""
        if stale_fault(cached.diagnostics):
            return False
        used = cached.details.get("limits") or {}
        now = vars(self.limits)
        names = set(limited_by(cached.verdict, cached.diagnostics, cached.reason))
        names.update(n for n in cached.details.get("limited_by") or [] if n in now)
        if any(float(used.get(name, 0)) < float(now[name]) for name in names):
            return False
        return cached.verdict == "timeout" or cached.duration_s <= self.limits.timeout_s

    def check(self, records: Sequence[Record], on_result: OnResult | None = None) -> list[GateResult]:
        """One result per record, in order; ``on_result(index, result)`` as each lands."""
        results: list[GateResult | None] = [None] * len(records)
        hashes = [record.content_hash() for record in records]

        readings: dict[int, list[dict[str, Any]]] = {}  # how each record's own answer was read

        def land(index: int, result: GateResult, cached: bool = False) -> None:
            # One compile may serve many records (same code): each gets the verdict bound to its own content.
            update: dict[str, Any] = {"content_hash": hashes[index]}
            if cached:
                update["cached"] = True
            if index in readings and result.details.get("reading") != readings[index]:
                update["details"] = {**result.details, "reading": readings[index]}
            result = result.model_copy(update=update)
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        try:
            toolchain = detect_toolchain()
            profiles = load_profiles()
            self.isolation = choose_isolation(requested_backend(self.sandbox), toolchain)
            self.toolchain = toolchain
        except (ToolchainError, TemplateError, IsolationError) as exc:
            for index in range(len(records)):
                land(index, self.error(str(exc)))
            return [r for r in results if r is not None]
        isolation = self.isolation
        if not isolation.isolated:
            log.warning("compile gate: %s", UNSAFE_WARNING)

        pending: dict[str, list[int]] = {}
        sources: dict[str, CrateSource] = {}
        finished: dict[str, GateResult] = {}
        memo: str | None = None  # the ledger namespace of this context's content memo
        todo: list[int] = list(range(len(records)))
        if self.use_cache and self.ledger is not None:
            memo = "compile-content/" + stable_hash(self._context(toolchain, profiles, isolation))[:24]
            todo = self._recall(memo, hashes, land, readings)

        def finish(key: str, outcome: CheckOutcome) -> None:
            source = sources[key]
            result = self._result(outcome, source, toolchain, isolation)
            finished[key] = result
            if self.use_cache and self.ledger is not None:
                self.ledger.put_result(key, result, records[pending[key][0]].id)
            for index in pending[key]:
                land(index, result)

        def jobs() -> Iterator[CompileJob]:
            """Extract, key and look up a chunk at a time, yielding its misses at once: the first
            compilers start while later answers are still being read."""
            for start in range(0, len(todo), _CHUNK):
                chunk: dict[str, tuple[CrateSource, float]] = {}
                learned: dict[str, Any] = {}
                for index in todo[start : start + _CHUNK]:
                    began = time.monotonic()
                    extracted = self._extract(records[index], profiles)
                    if isinstance(extracted, Rejection):
                        rejected = self._rejected(extracted, toolchain, isolation)
                        land(index, rejected)
                        learned[hashes[index]] = {"rejected": rejected.model_dump(mode="json", exclude_defaults=True)}
                        continue
                    client = self.client_of(extracted, profiles)
                    key = self.cache_key(extracted, profiles[extracted.profile], toolchain, isolation, client)
                    learned[hashes[index]] = {"key": key, "reading": extracted.reading}
                    readings[index] = extracted.reading
                    if key in finished:  # the same code, already compiled in this check
                        land(index, finished[key])
                        continue
                    known = key in pending
                    pending.setdefault(key, []).append(index)
                    if not known:
                        spent = time.monotonic() - began
                        chunk[key] = (extracted, max(spent, chunk[key][1] if key in chunk else 0.0))
                        sources[key] = extracted
                if memo is not None and self.ledger is not None:
                    self.ledger.put_values(memo, learned)
                if self.use_cache and self.ledger is not None and chunk:
                    for key, cached in self.ledger.get_results(list(chunk)).items():
                        if self._fresh(cached):
                            finished[key] = cached
                            for index in pending[key]:
                                land(index, cached, cached=True)
                            del chunk[key]
                for key, (source, spent) in chunk.items():
                    profile = profiles[source.profile]
                    # Time spent reading the answer counts against the sample's own limit.
                    limits = Limits(
                        max(0.1, self.limits.timeout_s - spent),
                        self.limits.memory_mb,
                        self.limits.max_output_mb,
                        self.limits.max_stream_mb,
                    )
                    client = self.client_of(source, profiles)
                    issued[key] = CompileJob(
                        key, source, profile.name, profile.fingerprint, limits,
                        client.name if client else None, client.fingerprint if client else "",
                    )  # fmt: skip
                    yield issued[key]

        spec = RunSpec(
            toolchain_key=toolchain.key,
            toolchain_version=toolchain.version,
            sandbox=isolation.backend,
            limits=self.limits,
            method=self.method,
            warm_missing=self.warm_missing,
            cache_root=str(self.cache_root) if self.cache_root is not None else None,
            tiers=self.tiers,
            clippy_deny=self.clippy_deny,
            run_limits=self.run_limits,
        )
        issued: dict[str, CompileJob] = {}
        suspects: list[str] = []  # timeouts while other compiles competed for the cores
        for key, outcome in self.executor.run(jobs(), spec):
            if key in pending and key not in finished:
                if outcome.verdict == "timeout" and self._competed():
                    suspects.append(key)
                else:
                    finish(key, outcome)
        for key, outcome in self._confirm_alone([issued[k] for k in suspects], spec):
            finish(key, outcome)
        return [r if r is not None else self.error("no result") for r in results]

    def _competed(self) -> bool:
        """Whether a compile of this check may have shared the machine with others of it."""
        return not (isinstance(self.executor, LocalExecutor) and self.executor.jobs == 1)

    def _confirm_alone(self, suspects: list[CompileJob], spec: RunSpec) -> Iterator[tuple[str, CheckOutcome]]:
        """Each timeout under load compiled again with nothing else of ours running, so a load
        spike never becomes a stored verdict. Past a budget of confirmation time the rest are
        ``error`` (not stored: the next run confirms them)."""
        budget = max(4 * self.limits.timeout_s, 120.0)
        began = time.monotonic()
        for job in suspects:
            if time.monotonic() - began > budget:
                reason = (
                    f"timed out ({self.limits.timeout_s:g}s) while other compiles competed, and this run's "
                    f"time to confirm timeouts alone ({budget:g}s) is spent: run again to confirm it"
                )
                yield job.key, CheckOutcome("error", reason=reason)
                continue
            for key, outcome in self.executor.run(iter([job]), spec):
                outcome.details.update(first_try="timeout", confirmed_alone=True)
                yield key, outcome

    def _recall(
        self,
        memo: str,
        hashes: list[str],
        land: Callable[[int, GateResult, bool], None],
        readings: dict[int, list[dict[str, Any]]],
    ) -> list[int]:
        """Land what the content memo and the ledger already know; the indexes still to extract.

        The memo maps a record's content hash (under this gate's whole ``context``) to what
        extraction made of it: a cache key, or the rejection. A large unchanged file then costs
        lookups, not a re-parse of every answer.
        """
        assert self.ledger is not None
        known = self.ledger.get_values(memo, sorted(set(hashes)))
        todo: list[int] = []
        by_key: dict[str, list[int]] = {}
        for index, content in enumerate(hashes):
            entry = known.get(content)
            if not isinstance(entry, dict):
                todo.append(index)
            elif "rejected" in entry:
                land(index, GateResult.model_validate(entry["rejected"]), False)
            else:
                by_key.setdefault(str(entry["key"]), []).append(index)
                if isinstance(entry.get("reading"), list):
                    readings[index] = entry["reading"]
        cached = self.ledger.get_results(list(by_key)) if by_key else {}
        for key, indexes in by_key.items():
            result = cached.get(key)
            if result is not None and self._fresh(result):
                for index in indexes:
                    land(index, result, True)
            else:  # compiled under a smaller limit, or never stored (an error): compile again
                todo.extend(indexes)
        return sorted(todo)

    def _extract(self, record: Record, profiles: dict[str, Profile]) -> CrateSource | Rejection:
        """Never raises: an unexpected failure on one record rejects that record, with the cause."""
        try:
            return extract_crate(record, profiles, self.profile, max_answer_bytes=self.max_answer_bytes)
        except Exception as exc:  # a bug of ours must not cost every other record its verdict
            log.error("compile gate: reading record %r failed:\n%s", record.id[:200], traceback.format_exc())
            return Rejection(f"the answer could not be read ({type(exc).__name__}: {str(exc)[:200]})")

    def _details(self, profile: str | None, toolchain: Toolchain, isolation: Isolation) -> dict[str, Any]:
        return {
            "profile": profile or "",
            "toolchain": toolchain.version,
            "toolchain_hash": toolchain.commit_hash,
            "sandbox": isolation.backend,
            "limits": vars(self.limits),
        }

    def _rejected(self, rejection: Rejection, toolchain: Toolchain, isolation: Isolation) -> GateResult:
        details = self._details(rejection.profile, toolchain, isolation)
        if rejection.missing_crates:
            details["missing_crates"] = list(rejection.missing_crates)
        # A coded refusal always carries its code, so reports can count refusals by kind.
        problems = rejection.problems[:20] or ((rejection.reason,) if rejection.code != "RG-REJECTED" else ())
        return GateResult(
            gate=self.name,
            verdict="rejected",
            version=self.version,
            reason=rejection.reason[:1000],
            diagnostics=[Diagnostic(level="error", code=rejection.code, message=p[:1000]) for p in problems],
            details=details,
        )

    def _result(
        self, outcome: CheckOutcome, source: CrateSource, toolchain: Toolchain, isolation: Isolation
    ) -> GateResult:
        details = {
            **self._details(source.profile, toolchain, isolation),
            "kind": source.kind,
            "method": self.verdict_method,
            **outcome.details,
        }
        if source.notes:
            details["notes"] = source.notes[:20]
        if source.reading:
            details["reading"] = source.reading
        if source.synthesized:
            details["synthesized"] = source.synthesized
        return GateResult(
            gate=self.name,
            verdict=outcome.verdict,
            version=self.version,
            reason=outcome.reason[:1000] if outcome.reason else None,
            diagnostics=outcome.diagnostics,
            duration_s=round(outcome.duration_s, 4),
            details=details,
        )


class CompileSettings(GateSettings):
    """``[compile]`` in a pipeline config, ``rustgate check``/``validate`` flags, or Python."""

    EXECUTION: ClassVar[frozenset[str]] = frozenset({"jobs", "use_cache", "executor", "ray_address"})

    profile: str | None = None
    jobs: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=60.0, gt=0)
    memory_mb: int = Field(default=4096, ge=64)
    max_output_mb: int = Field(default=64, ge=1)
    max_answer_bytes: int = Field(default=DEFAULT_MAX_ANSWER_BYTES, ge=1024)
    use_cache: bool = True
    method: Method = "replay"
    sandbox: str | None = None
    executor: ExecutorName = "local"  # where misses compile: this machine, or a Ray cluster
    ray_address: str | None = None  # with executor = "ray": the cluster (None: RAY_ADDRESS, else a local Ray)
    tiers: list[str] = Field(default_factory=lambda: ["compile"])  # "compile", "clippy", "test", "run"
    clippy_deny: list[str] = Field(default_factory=list)  # clippy lints (or "warnings") that fail an answer
    run_window_s: float = Field(default=5.0, gt=0, le=600)  # the run tier: how long each program runs
    test_window_s: float = Field(default=30.0, gt=0, le=3600)  # the test tier: all of an answer's tests
    max_processes: int = Field(default=64, ge=2, le=4096)  # live processes a run may hold

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, tiers: list[str]) -> list[str]:
        return list(chosen_tiers(tiers))

    @model_validator(mode="after")
    def _deny_needs_clippy(self) -> CompileSettings:
        if self.clippy_deny and "clippy" not in self.tiers:
            raise ValueError("clippy_deny (--clippy-deny) needs the clippy tier: tiers = compile,clippy")
        return self

    def build(self, context: StageContext) -> CompileGate:
        return CompileGate(ledger=context.ledger, **self.model_dump())
