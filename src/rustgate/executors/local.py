"""The default executor: this machine, one rustc per core plus one, in a thread pool."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterable

from rustgate.executors.base import CompileJob, Executor, Finished, RunSpec
from rustgate.executors.node import Node
from rustgate.executors.schedule import run_jobs


def default_jobs() -> int:
    """One compiler per core plus one, so a core never idles while a sandbox starts up."""
    return (os.cpu_count() or 1) + 1


class LocalExecutor(Executor):
    """Compiles on this machine: ``jobs`` sandboxed compilers at a time."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or default_jobs())
        self.batch_counts: Counter[str] = Counter()  # batch members by outcome: done / again / alone

    def run(self, jobs: Iterable[CompileJob], spec: RunSpec) -> Finished:
        iterator = iter(jobs)
        first = next(iterator, None)
        if first is None:
            return
        node = Node(spec)
        try:
            yield from run_jobs(node, itertools.chain([first], iterator), self.jobs)
        finally:
            self.batch_counts.update(node.batch_counts)
