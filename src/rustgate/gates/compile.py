"""The compile gate: does the answer's Rust pass ``cargo check`` against the pinned crates?"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rustgate.cargo.batch import check_batch
from rustgate.cargo.extract import CrateSource, Rejection, extract_crate
from rustgate.cargo.replay import CheckOutcome, check_replay
from rustgate.cargo.sandbox import Limits
from rustgate.cargo.templates import Profile, TemplateError, load_profiles
from rustgate.cargo.toolchain import Toolchain, ToolchainError, detect_toolchain
from rustgate.cargo.warm import WarmError, WarmProfile, load_warm, warm_profile
from rustgate.gates.base import Gate
from rustgate.ledger import Ledger, stable_hash
from rustgate.records import GateResult, Record

log = logging.getLogger(__name__)

Method = Literal["replay", "batch"]
MAX_DIAGNOSTICS = 50
OnResult = Callable[[int, GateResult], None]


def default_jobs() -> int:
    """One compiler per core plus one, so a core never idles while a sandbox starts up."""
    return (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class _Job:
    """One distinct sample crate to compile, with the warm profile it compiles against."""

    key: str
    source: CrateSource
    profile: Profile
    warm: WarmProfile


class CompileGate(Gate):
    """Checks each record's answer with the real compiler, in parallel, sandboxed, cached.

    ``method="replay"`` (default, fastest) replays cargo's rustc call per sample;
    ``method="batch"`` runs one ``cargo check`` over a package with a target per sample.
    """

    name = "compile"
    version = "1"

    def __init__(
        self,
        *,
        profile: str | None = None,
        jobs: int | None = None,
        timeout_s: float = 60.0,
        memory_mb: int = 4096,
        ledger: Ledger | None = None,
        use_cache: bool = True,
        method: Method = "replay",
        warm_missing: bool = True,
        cache_root: Path | None = None,
    ) -> None:
        self.profile = profile
        self.jobs = max(1, jobs or default_jobs())
        self.limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb)
        self.ledger = ledger
        self.use_cache = use_cache and ledger is not None
        self.method = method
        self.warm_missing = warm_missing
        self.cache_root = cache_root

    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        return await asyncio.to_thread(self.check, records)

    def cache_key(self, source: CrateSource, profile: Profile, toolchain: Toolchain) -> str:
        return stable_hash(
            "compile",
            self.version,
            source.profile,
            source.kind,
            sorted(source.files.items()),
            toolchain.verbose_version,
            profile.lock_hash,
        )

    def check(self, records: Sequence[Record], on_result: OnResult | None = None) -> list[GateResult]:
        """One result per record, in order; ``on_result(index, result)`` as each lands."""
        results: list[GateResult | None] = [None] * len(records)

        def land(index: int, result: GateResult) -> None:
            # One compile may serve many records (same code): each gets the verdict bound to its own content.
            result = result.model_copy(update={"content_hash": records[index].content_hash()})
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        try:
            toolchain = detect_toolchain()
            profiles = load_profiles()
        except (ToolchainError, TemplateError) as exc:
            for index in range(len(records)):
                land(index, self.error(str(exc)))
            return [r for r in results if r is not None]

        pending: dict[str, list[int]] = {}
        sources: dict[str, CrateSource] = {}
        for index, record in enumerate(records):
            extracted = extract_crate(record, profiles, self.profile)
            if isinstance(extracted, Rejection):
                land(index, self._rejected(extracted, toolchain))
                continue
            key = self.cache_key(extracted, profiles[extracted.profile], toolchain)
            pending.setdefault(key, []).append(index)
            sources[key] = extracted

        if self.use_cache and self.ledger is not None and pending:
            for key, cached in self.ledger.get_results(list(pending)).items():
                for index in pending.pop(key):
                    land(index, cached.model_copy(update={"cached": True}))

        warm: dict[str, WarmProfile | str] = {}
        for name in sorted({sources[key].profile for key in pending}):
            warm[name] = self._warm(profiles[name], toolchain)

        def finish(key: str, outcome: CheckOutcome) -> None:
            source = sources[key]
            result = self._result(outcome, source, toolchain)
            if self.use_cache and self.ledger is not None:
                self.ledger.put_result(key, result, records[pending[key][0]].id)
            for index in pending[key]:
                land(index, result)

        jobs: list[_Job] = []
        for key in pending:
            state = warm[sources[key].profile]
            if isinstance(state, str):
                finish(key, CheckOutcome("error", reason=state))
            else:
                jobs.append(_Job(key, sources[key], profiles[state.profile], state))

        run = self._run_batches if self.method == "batch" else self._run_replay
        for key, outcome in run(jobs, toolchain):
            finish(key, outcome)
        return [r if r is not None else self.error("no result") for r in results]

    def _run_replay(self, jobs: list[_Job], toolchain: Toolchain) -> Iterator[tuple[str, CheckOutcome]]:
        """One sandboxed rustc per sample, ``self.jobs`` at a time, yielded as each finishes."""

        def one(job: _Job) -> tuple[str, CheckOutcome]:
            try:
                outcome = check_replay(job.source, job.warm, toolchain, job.profile.manifest_text, self.limits)
            except OSError as exc:
                outcome = CheckOutcome("error", reason=f"could not run the compiler: {exc}")
            return job.key, outcome

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            for future in as_completed([pool.submit(one, job) for job in jobs]):
                yield future.result()

    def _run_batches(self, jobs: list[_Job], toolchain: Toolchain) -> Iterator[tuple[str, CheckOutcome]]:
        """One ``cargo check`` per profile over a package with a target per sample."""
        by_profile: dict[str, list[_Job]] = {}
        for job in jobs:
            by_profile.setdefault(job.profile.name, []).append(job)
        for group in by_profile.values():
            first = group[0]
            try:
                outcomes = check_batch([j.source for j in group], first.profile, first.warm, toolchain, self.limits)
            except OSError as exc:
                outcomes = [CheckOutcome("error", reason=f"could not run cargo: {exc}")] * len(group)
            yield from zip((j.key for j in group), outcomes, strict=True)

    def _warm(self, profile: Profile, toolchain: Toolchain) -> WarmProfile | str:
        """The warm state, warming on first use; a string says why it is unavailable."""
        state = load_warm(profile, toolchain, self.cache_root)
        if state is not None:
            return state
        if not self.warm_missing:
            return f"profile {profile.name!r} is not warm: run `rustgate warm {profile.name}`"
        log.warning("profile %r is not warm: building its pinned crates once (minutes; `rustgate warm`)", profile.name)
        try:
            return warm_profile(profile, toolchain, self.cache_root)
        except (WarmError, OSError) as exc:
            return str(exc)

    def _details(self, profile: str | None, toolchain: Toolchain) -> dict[str, str]:
        return {"profile": profile or "", "toolchain": toolchain.version, "toolchain_hash": toolchain.commit_hash}

    def _rejected(self, rejection: Rejection, toolchain: Toolchain) -> GateResult:
        return GateResult(
            gate=self.name,
            verdict="rejected",
            version=self.version,
            reason=rejection.reason,
            details=self._details(rejection.profile, toolchain),
        )

    def _result(self, outcome: CheckOutcome, source: CrateSource, toolchain: Toolchain) -> GateResult:
        details = {**self._details(source.profile, toolchain), "kind": source.kind, "method": self.method}
        return GateResult(
            gate=self.name,
            verdict=outcome.verdict,
            version=self.version,
            reason=outcome.reason,
            diagnostics=outcome.diagnostics[:MAX_DIAGNOSTICS],
            duration_s=round(outcome.duration_s, 4),
            details=details,
        )
