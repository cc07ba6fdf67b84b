"""How one node spends its compiler threads: batches first, then what the batches left.

A batch decides most of its members; the rest need a second batch (a clean member that sat
beside an error: rustc skipped its late lints) or a check alone. Those go back to the pool as
work of their own rather than being run in turn by the thread that ran the batch, so one batch
full of leftovers never keeps the other threads idle at the end of a run, and the second round
pools leftovers of many batches into full batches. Which batch a member lands in never changes
its entry (``cargo.module_batch``): this module decides only when and beside whom it is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait

from rustgate.executors.base import CompileJob, Finished
from rustgate.executors.batching import Batcher
from rustgate.executors.node import BatchRound, Node


def run_jobs(node: Node, jobs: Iterable[CompileJob], threads: int) -> Finished:
    """Yield ``(key, outcome)`` for ``jobs`` on ``node`` as each finishes: ``threads`` rustc at a time,
    batchable samples several to a rustc (``replay``, ``executors.batching``), each alone
    (``single``), or one ``cargo check`` per profile (``batch``)."""
    if node.spec.method == "batch":
        groups: dict[str, list[CompileJob]] = {}
        for job in jobs:
            groups.setdefault(f"{job.profile}/{job.fingerprint}", []).append(job)
        for group in groups.values():
            yield from zip((j.key for j in group), node.check_group(group), strict=True)
        return
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        if node.spec.method == "replay":
            yield from _batched(node, jobs, pool, threads)
            return
        singles = {pool.submit(node.check, job): job.key for job in jobs}
        for future in as_completed(singles):
            yield singles[future], future.result()


def _batched(node: Node, jobs: Iterable[CompileJob], pool: ThreadPoolExecutor, threads: int) -> Finished:
    """Every job through its batches; a member's next batch is chosen only once its last one ended."""
    in_flight: dict[Future[BatchRound], list[CompileJob]] = {}

    def send(batch: list[CompileJob], last: bool) -> None:
        in_flight[pool.submit(node.batch_round, batch, last=last)] = batch

    first, second = Batcher(threads), Batcher(threads)
    # Submitted as ``jobs`` yields them: compiles start while the caller still reads answers.
    for job in jobs:
        for ready in first.add(job):
            send(ready, False)
    for ready in first.flush():
        send(ready, False)
    while in_flight:
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            batch = in_flight.pop(future)
            result = future.result()
            yield from ((batch[i].key, outcome) for i, outcome in result.decided.items())
            for i in result.alone:
                send([batch[i]], True)
            for i in result.again:
                for ready in second.add(batch[i]):
                    send(ready, True)
        if len(in_flight) < threads:  # a thread would idle: send the second round as it stands
            for ready in second.flush():
                send(ready, True)
