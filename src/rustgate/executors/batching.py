"""Which jobs share a rustc (``cargo.module_batch``), and how many at a time.

Jobs the screen accepts are grouped by everything a batch shares (profile, memory and output
limits, the screened kind and package); a group is sent when it holds ``max_members`` samples or ``max_chars`` of
code, and the rest at the end, cut so that every compiler thread gets a batch. Every other job
is a batch of one: a single check.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

from rustgate.cargo.batch_screen import screen
from rustgate.cargo.sandbox import Limits
from rustgate.executors.base import CompileJob

MAX_MEMBERS = 24  # measured: 1k samples 17% (passing) and 13% (mixed) faster than 12 (docs/benchmarks.md)
MAX_CHARS = 200_000
# A batch's own clock. A batch that runs past it is not a verdict: every member is checked alone,
# with its full time. So it only needs to cover an honest batch with room (a small answer is
# well under a second), and it keeps one answer that hangs rustc from holding its neighbours
# for the whole per-sample timeout before they start again.
WINDOW_S = 10.0
WINDOW_PER_MEMBER_S = 2.0


def batch_window(limits: Limits, members: int) -> Limits:
    """The limits one batch of ``members`` runs under: the least per-sample time, capped by the window."""
    return dataclasses.replace(limits, timeout_s=min(limits.timeout_s, WINDOW_S + WINDOW_PER_MEMBER_S * members))


def _size(job: CompileJob) -> int:
    return sum(len(text) for text in job.source.files.values())


class Batcher:
    def __init__(self, threads: int, max_members: int | None = None, max_chars: int | None = None) -> None:
        self.threads = max(1, threads)
        self.max_members = max(2, max_members or MAX_MEMBERS)
        self.max_chars = max_chars or MAX_CHARS
        self._groups: dict[str, list[CompileJob]] = {}
        self._chars: dict[str, int] = {}

    def add(self, job: CompileJob) -> Iterator[list[CompileJob]]:
        """The batches ``job`` completes: itself alone when it cannot be batched."""
        group = screen(job.source, fullstack=job.client is not None).group
        if group is None:
            yield [job]
            return
        limits = job.limits  # its timeout is what is left of the sample's time: the batch takes the least
        shared = (limits.memory_mb, limits.max_output_mb, limits.max_stream_mb)
        key = f"{job.profile}/{job.fingerprint}/{shared}/{group}"
        members = self._groups.setdefault(key, [])
        members.append(job)
        self._chars[key] = self._chars.get(key, 0) + _size(job)
        if len(members) >= self.max_members or self._chars[key] >= self.max_chars:
            del self._groups[key], self._chars[key]
            yield members

    def flush(self) -> Iterator[list[CompileJob]]:
        """What is still grouped, in batches sized so that all threads have one."""
        left = sum(len(members) for members in self._groups.values())
        size = max(2, min(self.max_members, math.ceil(left / self.threads)))
        for members in self._groups.values():
            count = math.ceil(len(members) / size)
            step = math.ceil(len(members) / count)
            for start in range(0, len(members), step):
                yield members[start : start + step]
        self._groups.clear()
        self._chars.clear()
