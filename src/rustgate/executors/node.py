"""The worker side: one machine checks jobs with its own toolchain, profiles, sandbox and warm cache.

Nothing here trusts the driver's paths. Each node detects its own ``rustc``, loads its own
templates, starts the sandbox backend the driver chose and finds (or builds, under a file lock:
once per node) its warm dependencies. A node whose toolchain or templates differ from what the
driver keyed the verdicts with answers ``error`` for those jobs: its verdicts could disagree
with the cache, so it gives none.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rustgate.cargo.batch import check_batch
from rustgate.cargo.clippy import apply_clippy, clippy_driver, missing_clippy
from rustgate.cargo.crate_modules import pinned_modules
from rustgate.cargo.doc_examples import doc_example_source, doc_examples
from rustgate.cargo.doc_tier import run_doc_examples, unbuilt_doc_examples, with_doc_examples
from rustgate.cargo.execute import probe_program
from rustgate.cargo.faults import os_failure
from rustgate.cargo.isolation import Isolation, IsolationError, choose_isolation
from rustgate.cargo.module_batch import check_modules
from rustgate.cargo.replay import (
    BUILD_EMIT,
    CheckOutcome,
    check_replay,
    remaining,
    sample_env,
    target_count,
)
from rustgate.cargo.run_tiers import (
    RUN_TIERS,
    TierContext,
    apply_run_tiers,
    run_tier,
    test_tier,
    tier_applies,
    unreached_tiers,
)
from rustgate.cargo.sides import client_source, merge_sides, not_checked
from rustgate.cargo.templates import Profile, TemplateError, load_profiles
from rustgate.cargo.toolchain import Toolchain, ToolchainError, detect_toolchain
from rustgate.cargo.warm import WarmError, WarmProfile, load_warm, warm_profile, warm_root
from rustgate.executors.base import CompileJob, RunSpec
from rustgate.executors.batching import batch_window
from rustgate.paths import cache_dir


@dataclass
class BatchRound:
    """One batch's result, by the member's index in its batch."""

    decided: dict[int, CheckOutcome]
    again: list[int] = field(default_factory=list)  # clean beside an error: batch it once more
    alone: list[int] = field(default_factory=list)  # read from a check alone


class Node:
    """This machine, set up for one ``RunSpec``; ``remote`` adds the host name to every refusal."""

    def __init__(self, spec: RunSpec, *, remote: bool = False) -> None:
        self.spec = spec
        self.where = f" on node {socket.gethostname()}" if remote else ""
        self.cache_root = Path(spec.cache_root) if spec.cache_root else None
        self._lock = threading.Lock()
        self._warm: dict[str, WarmProfile | str] = {}
        self.toolchain: Toolchain | None = None
        self.isolation: Isolation | None = None
        self.profiles: dict[str, Profile] = {}
        self.batch_counts: Counter[str] = Counter()  # members by what their batch decided (bench/)
        self.problem = self._set_up()

    def _set_up(self) -> str | None:
        """None when this node can check the run's jobs, else why not (every job's ``error``)."""
        try:
            toolchain = detect_toolchain()
        except ToolchainError as exc:
            return f"{exc}{self.where}"
        if toolchain.key != self.spec.toolchain_key:
            return (
                f"the toolchain{self.where} is {toolchain.version} (rustc -vV hash {toolchain.key}), the driver's "
                f"{self.spec.toolchain_version} ({self.spec.toolchain_key}): every node must run the same toolchain"
            )
        try:
            self.profiles = load_profiles()
            self.isolation = choose_isolation(self.spec.sandbox, toolchain)
        except TemplateError as exc:
            return f"{exc}{self.where}"
        except IsolationError as exc:
            return f"the {self.spec.sandbox} sandbox cannot run{self.where}: {exc}"
        if "clippy" in self.spec.tiers and clippy_driver(toolchain) is None:
            return f"{missing_clippy(toolchain)}{self.where}"
        if any(t in RUN_TIERS for t in self.spec.tiers):
            try:
                probe_program(toolchain)
            except (IsolationError, OSError) as exc:
                return f"the test and run tiers cannot start programs{self.where}: {exc}"
        self.toolchain = toolchain
        return None

    def warm(self, name: str, fingerprint: str, codegen: bool = False) -> WarmProfile | str:
        """A profile's warm state, looked up once per profile (and built once, if allowed);
        ``codegen``: the build the test and run tiers link against."""
        with self._lock:
            key = f"{name}/{fingerprint}/{codegen}"
            if key not in self._warm:
                self._warm[key] = self._resolve_warm(name, fingerprint, codegen)
            return self._warm[key]

    def _resolve_warm(self, name: str, fingerprint: str, codegen: bool) -> WarmProfile | str:
        assert self.toolchain is not None
        profile = self.profiles.get(name)
        if profile is None:
            return f"profile {name!r} does not exist{self.where}: every node needs the driver's templates"
        here = profile.fingerprint
        if here != fingerprint:
            return (
                f"profile {name!r}{self.where} differs from the driver's (manifest and lockfile fingerprint "
                f"{here}, the driver's {fingerprint}): every node needs the same templates and lockfiles"
            )
        state = load_warm(profile, self.toolchain, self.cache_root, codegen)
        if state is not None:
            return state
        if not self.spec.warm_missing:
            folder = warm_root(self.toolchain, self.cache_root or cache_dir())
            there = " there" if self.where else ""
            name = profile.name
            command = f"rustgate warm --tiers test,run {name}" if codegen else f"rustgate warm {name}"
            what = "has no codegen build for the test and run tiers" if codegen else "is not warm"
            return f"profile {name!r} {what}{self.where} ({folder}): run `{command}`{there}"
        try:
            return warm_profile(profile, self.toolchain, self.cache_root, isolation=self.isolation, codegen=codegen)
        except (WarmError, OSError) as exc:
            return f"{exc}{self.where}"

    def check(self, job: CompileJob) -> CheckOutcome:
        """One job by rustc replay; never raises."""
        if self.problem is not None:
            return CheckOutcome("error", reason=self.problem)
        state = self.warm(job.profile, job.fingerprint)
        if isinstance(state, str):
            return CheckOutcome("error", reason=state)
        assert self.toolchain is not None and self.isolation is not None
        try:
            profile = self.profiles[job.profile]
            outcome = check_replay(
                job.source, state, self.toolchain, profile.manifest_text, job.limits, self.isolation,
                known_modules=pinned_modules(profile),
            )  # fmt: skip
            return self.later_tiers(job, state, self.client_side(job, outcome))
        except OSError as exc:
            return CheckOutcome("error", reason=os_failure(exc, f"run the compiler{self.where}"))

    def later_tiers(self, job: CompileJob, state: WarmProfile, compiled: CheckOutcome) -> CheckOutcome:
        """The tiers after a passing compile (``--tiers``): clippy replayed on the same metadata,
        then the test and run tiers on a build with code."""
        linted = self.clippy_tier(job, state, compiled)
        asked = [t for t in RUN_TIERS if t in self.spec.tiers]
        if linted.verdict != "pass":
            return unreached_tiers(linted, asked, job.source, self.profiles[job.profile].runs)
        return self.run_tiers(job, linted) if asked else linted

    def run_tiers(self, job: CompileJob, compiled: CheckOutcome) -> CheckOutcome:
        """Build the answer against the profile's codegen warm build and execute it (``cargo.run_tiers``)."""
        asked = [t for t in RUN_TIERS if t in self.spec.tiers]
        profile = self.profiles[job.profile]
        assert self.toolchain is not None and self.isolation is not None
        toolchain, isolation = self.toolchain, self.isolation
        if not any(tier_applies(t, job.source, profile.runs) for t in asked):  # each tier says why it does not apply
            ctx = TierContext(job.source, Path(), {}, job.limits, self.spec.run_limits, isolation, toolchain,
                              runs_natively=profile.runs)  # fmt: skip
            return apply_run_tiers(compiled, [(t, test_tier(ctx) if t == "test" else run_tier(ctx)) for t in asked])
        state = self.warm(job.profile, job.fingerprint, codegen=True)
        if isinstance(state, str):
            return CheckOutcome("error", compiled.diagnostics, state, compiled.duration_s, compiled.details)
        results: list[tuple[str, CheckOutcome]] = []

        def execute(root: Path, built: CheckOutcome) -> CheckOutcome:
            ctx = TierContext(
                job.source, root, sample_env(state, root), job.limits, self.spec.run_limits, isolation, toolchain,
                runs_natively=profile.runs,
            )  # fmt: skip
            for tier in asked:
                results.append((tier, test_tier(ctx) if tier == "test" else run_tier(ctx)))
            return built

        limits = remaining(job.limits, max(0.1, job.limits.timeout_s - compiled.duration_s))
        built = check_replay(
            job.source, state, toolchain, profile.manifest_text, limits, isolation,
            known_modules=pinned_modules(profile), emit=BUILD_EMIT, then=execute,
        )  # fmt: skip
        if built.verdict != "pass":
            built.reason = f"the build with code failed: {built.reason}"
            results = [(tier, built) for tier in asked]
        elif "test" in asked:
            results = [(t, self.doc_example_tier(job, state, r) if t == "test" else r) for t, r in results]
        return apply_run_tiers(compiled, results, build_s=built.duration_s)

    def doc_example_tier(self, job: CompileJob, state: WarmProfile, tests: CheckOutcome) -> CheckOutcome:
        """The answer's doc examples built as programs linking its library and run in what the
        tests left of the test window (``cargo.doc_examples``), counted with its tests."""
        examples = doc_examples(job.source)
        left = self.spec.run_limits.test_window_s - tests.duration_s
        if not examples or tests.verdict in ("timeout", "error") or left <= 0.5:
            return tests
        assert self.toolchain is not None and self.isolation is not None
        toolchain, isolation = self.toolchain, self.isolation
        profile = self.profiles[job.profile]
        source = doc_example_source(job.source, examples, profile)
        ran: list[CheckOutcome] = []

        def execute(root: Path, built: CheckOutcome) -> CheckOutcome:
            ctx = TierContext(source, root, sample_env(state, root), job.limits, self.spec.run_limits, isolation,
                              toolchain, runs_natively=profile.runs)  # fmt: skip
            ran.append(run_doc_examples(ctx, examples, left))
            return built

        # all_given=False: the answer's own build already found every file it compiles.
        built = check_replay(
            source, state, toolchain, profile.manifest_text, job.limits, isolation, all_given=False,
            known_modules=pinned_modules(profile), emit=BUILD_EMIT, then=execute,
        )  # fmt: skip
        docs = ran[0] if built.verdict == "pass" and ran else unbuilt_doc_examples(built, examples)
        docs.duration_s += built.duration_s if not ran else 0.0
        return with_doc_examples(tests, docs)

    def clippy_tier(self, job: CompileJob, state: WarmProfile, compiled: CheckOutcome) -> CheckOutcome:
        if "clippy" not in self.spec.tiers or compiled.verdict != "pass":
            return compiled
        assert self.toolchain is not None and self.isolation is not None
        driver = clippy_driver(self.toolchain)
        if driver is None:
            return CheckOutcome("error", reason=missing_clippy(self.toolchain))
        limits = remaining(job.limits, max(0.1, job.limits.timeout_s - compiled.duration_s))
        profile = self.profiles[job.profile]
        clippy = check_replay(
            job.source, state, dataclasses.replace(self.toolchain, rustc=driver), profile.manifest_text, limits,
            self.isolation, known_modules=pinned_modules(profile),
        )  # fmt: skip
        return apply_clippy(compiled, clippy, self.spec.clippy_deny)

    def client_side(self, job: CompileJob, server: CheckOutcome) -> CheckOutcome:
        """A fullstack answer's library compiled again as the client build (``cargo.sides``)."""
        source = client_source(job.source, job.client) if job.client else None
        if job.client is None or source is None:
            return server
        if server.verdict != "pass":
            return not_checked(server, job.profile, job.client)
        state = self.warm(job.client, job.client_fingerprint)
        if isinstance(state, str):
            return CheckOutcome("error", reason=state)
        assert self.toolchain is not None and self.isolation is not None
        limits = remaining(job.limits, max(0.1, job.limits.timeout_s - server.duration_s))
        profile = self.profiles[job.client]
        client = check_replay(
            source, state, self.toolchain, profile.manifest_text, limits, self.isolation,
            all_given=False, known_modules=pinned_modules(profile),
        )  # fmt: skip
        return merge_sides(server, client, self.profiles[job.profile], job.client)

    def batch_round(self, jobs: Sequence[CompileJob], *, last: bool = False) -> BatchRound:
        """Jobs the batcher grouped (one profile, one screened kind) as modules of one rustc: what
        the batch decided, each finished as a single check would finish it, and which jobs need
        another batch or a check alone (``executors.schedule`` sends those back to the pool, so no
        compiler thread waits on another's leftovers). ``last``: a clean member beside an error
        is read alone rather than batched again. A lone job is a single check. Never raises."""
        if len(jobs) < 2 or self.problem is not None:
            return BatchRound({i: self.check(job) for i, job in enumerate(jobs)})
        state = self.warm(jobs[0].profile, jobs[0].fingerprint)
        if isinstance(state, str):
            return BatchRound(dict.fromkeys(range(len(jobs)), CheckOutcome("error", reason=state)))
        assert self.toolchain is not None and self.isolation is not None
        profile = self.profiles[jobs[0].profile]
        limits = min((job.limits for job in jobs), key=lambda limits: limits.timeout_s)
        try:
            members = check_modules(
                [job.source for job in jobs], state,
                self.toolchain, profile.manifest_text, batch_window(limits, len(jobs)), self.isolation,
                known_modules=pinned_modules(profile),
            )  # fmt: skip
        except OSError:
            return BatchRound({}, alone=list(range(len(jobs))))  # the single checks say what failed
        result = BatchRound({})
        for i, member in enumerate(members):
            with self._lock:
                self.batch_counts[member.state] += 1
            if member.outcome is not None:
                result.decided[i] = self.later_tiers(jobs[i], state, member.outcome)
            elif member.state == "again" and not last:
                result.again.append(i)
            else:
                result.alone.append(i)
        return result

    def check_group(self, jobs: Sequence[CompileJob]) -> list[CheckOutcome]:
        """Jobs of one profile in one ``cargo check`` (``method="batch"``); never raises. A batch
        package has one target per sample, so a sample of several targets (a library and its
        binaries, tests, alternatives) is replayed on its own instead: every target is checked."""
        single = [i for i, job in enumerate(jobs) if target_count(job.source) == 1]
        outcomes: list[CheckOutcome | None] = [None] * len(jobs)
        for i, outcome in zip(single, self._batch([jobs[i] for i in single]) if single else [], strict=True):
            outcomes[i] = outcome
        return [o if o is not None else self.check(job) for o, job in zip(outcomes, jobs, strict=True)]

    def _batch(self, jobs: Sequence[CompileJob]) -> list[CheckOutcome]:
        first = jobs[0]
        if self.problem is not None:
            return [CheckOutcome("error", reason=self.problem)] * len(jobs)
        state = self.warm(first.profile, first.fingerprint)
        if isinstance(state, str):
            return [CheckOutcome("error", reason=state)] * len(jobs)
        assert self.toolchain is not None and self.isolation is not None
        try:
            outcomes = check_batch(
                [j.source for j in jobs], self.profiles[first.profile], state, self.toolchain, self.spec.limits,
                self.isolation,
            )  # fmt: skip
            return [
                self.later_tiers(job, state, self.client_side(job, outcome))
                for job, outcome in zip(jobs, outcomes, strict=True)
            ]
        except OSError as exc:
            return [CheckOutcome("error", reason=os_failure(exc, f"run cargo{self.where}"))] * len(jobs)
