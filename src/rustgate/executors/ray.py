"""Compile on a Ray cluster: the driver keeps the ledger, the nodes compile the misses.

The gate (the driver) has already looked every sample up in the ledger; only misses arrive
here. They go out in batches, one Ray task per batch (one CPU each, a few compilers inside so a
core never idles while a sandbox starts); results stream back as tasks finish and the gate
stores each at once. A worker process or node lost mid-task costs that batch only: Ray runs the
task again (``max_retries``), and since a batch's outcomes travel only as its task's return
value, nothing half-done is ever read. A batch that still fails gives ``error`` verdicts, never
pass or fail. Ray is imported here only, so it is needed only by those who use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from rustgate.cargo.replay import CheckOutcome
from rustgate.executors.base import CompileJob, Executor, ExecutorError, Finished, RunSpec
from rustgate.executors.node import Node
from rustgate.executors.schedule import run_jobs

INSTALL_HINT = "the ray executor needs Ray: pip install 'rustgate[ray]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(INSTALL_HINT) from exc
    return ray


def rustgate_compile_batch(
    jobs: Sequence[CompileJob], spec: RunSpec, threads: int
) -> list[tuple[str, CheckOutcome]]:
    """The Ray task: check ``jobs`` on whichever node runs it, with that node's toolchain and cache."""
    return list(run_jobs(Node(spec, remote=True), jobs, threads))


class RayExecutor(Executor):
    """Ships compile jobs to Ray tasks.

    ``address``: a running cluster (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.1:6379"``);
    None connects to the cluster ``RAY_ADDRESS`` names, else starts a local Ray on this machine.
    A Ray already initialised in this process (``ray.init(...)`` by the caller) is used as is.
    ``threads``: compilers per task (each task takes one CPU). ``batch_size``: jobs per task
    (default: enough tasks for four per CPU, at most 16 jobs each). ``runtime_env``: Ray's, for
    every task (e.g. ``{"env_vars": {"RUSTGATE_CACHE_DIR": ...}}``).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        threads: int | None = None,
        batch_size: int | None = None,
        max_retries: int = 3,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        _ray()  # refuse at once, not at the first miss, when Ray is not installed
        self.address = address
        self.threads = max(1, threads or 2)
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.runtime_env = runtime_env
        self._started = False

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            if self.address is None:
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
            self._started = True
        return ray

    def _batches(self, jobs: Sequence[CompileJob], cpus: int) -> list[list[CompileJob]]:
        size = self.batch_size or min(16, max(1, math.ceil(len(jobs) / (4 * cpus))))
        return [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]

    def run(self, jobs: Iterable[CompileJob], spec: RunSpec) -> Finished:
        # Batches are sized over the whole set, one profile's jobs together (they share rustc runs).
        jobs = sorted(jobs, key=lambda job: (job.profile, job.fingerprint))
        if not jobs:
            return
        try:
            ray = self._connect()
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        except Exception as exc:  # the cluster cannot be reached: every miss is an infrastructure error
            reason = f"could not reach the Ray cluster ({self.address or 'RAY_ADDRESS or local'}): {exc}"
            for job in jobs:
                yield job.key, CheckOutcome("error", reason=reason[:1000])
            return
        # Each node resolves its own cache dir: the driver's path means nothing there.
        remote_spec = RunSpec(**{**vars(spec), "cache_root": None})
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": self.max_retries}
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        task = ray.remote(rustgate_compile_batch).options(**options)
        waiting = self._batches(jobs, cpus)
        waiting.reverse()
        window = max(4, 2 * cpus)  # tasks in flight: every CPU busy, the next batch already queued
        running: dict[Any, list[CompileJob]] = {}
        try:
            while waiting or running:
                while waiting and len(running) < window:
                    batch = waiting.pop()
                    running[task.remote(batch, remote_spec, self.threads)] = batch
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    batch = running.pop(ref)
                    yield from self._collect(ray, ref, batch)
        finally:
            for ref in running:  # stopped early (an interrupt): do not leave work on the cluster
                ray.cancel(ref)

    @staticmethod
    def _collect(ray: Any, ref: Any, batch: list[CompileJob]) -> Finished:
        try:
            results: list[tuple[str, CheckOutcome]] = ray.get(ref)
        except Exception as exc:  # retries spent (node gone, worker killed again): no verdict
            reason = f"the Ray task checking this sample failed after its retries: {type(exc).__name__}: {exc}"
            for job in batch:
                yield job.key, CheckOutcome("error", reason=reason[:1000])
            return
        yield from results

    def close(self) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False
