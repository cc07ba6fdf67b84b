"""What the hook knows of each file's lines as it reads them, and the repeated-id check across files.

A file's lines come three ways (``rustgate.linescan``): a remembered group taken whole, lines
the snapshot has elsewhere, and lines read now. A group taken whole keeps its ids encoded: the
check for repeated ids runs on 64-bit fingerprints (``memo.id_print``) and decodes ids only
where two fingerprints meet, to say which line came first.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from rustgate.linescan import Span
from rustgate.memo import Group, Problem, Snapshot, id_print


class FileLines:
    """One file's lines, by position (the line index; a Parquet row's index)."""

    def __init__(self, name: str, snapshot: Snapshot | None) -> None:
        self.name = name
        self.snapshot = snapshot  # what was remembered; None: this file is not remembered
        self.count = 0  # lines so far
        self.own: dict[int, str | None] = {}  # the id of each line not inside a group taken whole
        self.taken: list[Group] = []  # groups taken whole, in order ...
        self.taken_at: list[int] = []  # ... and the position of each one's first line
        self.problems: dict[int, list[Problem]] = {}
        self.duplicates: dict[int, str] = {}
        self.forget: set[int] = set()  # repeated ids, errors, not yet gated
        self.blank = 0
        self.spans: list[Span] = []  # the groups read, for the next snapshot

    def take(self, group: Group) -> int:
        """A remembered group, unchanged: its lines' outcomes as they were. Returns its first position."""
        base = self.count
        self.taken.append(group)
        self.taken_at.append(base)
        self.count += group.count
        self.blank += group.blank
        for index, found in group.problems.items():
            self.problems[base + index] = found
        return base

    def known(self, group: Group, start: int, count: int) -> tuple[int, list[str | None], int]:
        """Lines the snapshot had elsewhere (``group``'s ``start``...): their first position, their
        ids, and how many are blank."""
        base = self.count
        ids = group.ids[start : start + count]
        self.own.update(zip(range(base, base + count), ids, strict=True))
        blank = ids.count(None)
        for index, found in group.problems.items():
            if start <= index < start + count:
                self.problems[base + index - start] = found
                blank -= group.ids[index] is None
        self.count += count
        self.blank += blank
        return base, ids, blank

    def line(self) -> int:
        """A line read now (its id, if it has one, is set when it is parsed). Returns its position."""
        pos = self.count
        self.own[pos] = None
        self.count += 1
        return pos

    def id_at(self, pos: int) -> str | None:
        if pos in self.own:
            return self.own[pos]
        index = bisect.bisect_right(self.taken_at, pos) - 1
        return self.taken[index].ids[pos - self.taken_at[index]]

    def ids(self) -> Iterator[tuple[int, str | None]]:
        return ((pos, self.id_at(pos)) for pos in range(self.count))

    def groups_now(self) -> list[Group]:
        """The next snapshot: every group read this time none of whose lines is to be forgotten."""
        starts = [span.first for span in self.spans]
        dropped = set()
        for pos in self.forget:  # the group each forgotten line is in (a line skipped unread is in none)
            index = bisect.bisect_right(starts, pos) - 1
            if index >= 0 and pos < starts[index] + self.spans[index].count:
                dropped.add(index)
        groups = []
        for index, span in enumerate(self.spans):
            if index in dropped:
                continue
            if span.group is not None:
                groups.append(span.group)
                continue
            lines = range(span.first, span.first + span.count)
            problems = {pos - span.first: self.problems[pos] for pos in lines if pos in self.problems}
            groups.append(Group(span.key, span.nbytes, span.hashes, [self.own[pos] for pos in lines], problems))
        return groups


class IdRegistry:
    """Record ids in reading order, across files: fingerprints while none repeats; from the first
    meeting of two on, where each id was first seen, so the finding can say where."""

    def __init__(self, files: list[FileLines]) -> None:
        self.files = files
        self.seen: set[int] = set()
        self.first: dict[str, tuple[str, int]] | None = None

    def add_group(self, file: FileLines, base: int, group: Group) -> None:
        """A group taken whole at ``base`` (already in ``file``)."""
        if self.first is None and self._fresh(memoryview(group.prints).cast("Q").tolist()):
            return
        for offset, rid in enumerate(group.ids):
            self._check(file, base + offset, rid)

    def add_many(self, file: FileLines, base: int, ids: list[str | None]) -> None:
        """Lines ``base``... (already in ``file``)."""
        if self.first is None and self._fresh([id_print(rid) for rid in ids if rid is not None]):
            return
        for offset, rid in enumerate(ids):
            self._check(file, base + offset, rid)

    def add(self, file: FileLines, pos: int, rid: str | None) -> None:
        """One line (already in ``file``)."""
        if rid is not None and (self.first is not None or not self._fresh([id_print(rid)])):
            self._check(file, pos, rid)

    def _fresh(self, prints: list[int]) -> bool:
        """Note the fingerprints; False (and from now on, exact ids) when one was there already."""
        before = len(self.seen)
        self.seen.update(prints)
        if len(self.seen) == before + len(prints):
            return True
        self.first = {}  # every line so far, this one included, in order: the first occurrence wins
        for file in self.files:
            for pos, rid in file.ids():
                if rid is not None:
                    self.first.setdefault(rid, (file.name, pos + 1))
        return False

    def _check(self, file: FileLines, pos: int, rid: str | None) -> None:
        """A repeat of an earlier line's id is a finding of this run (and never remembered)."""
        assert self.first is not None
        if rid is None:
            return
        first = self.first.setdefault(rid, (file.name, pos + 1))
        if first == (file.name, pos + 1):
            return
        where = f"line {first[1]}" if first[0] == file.name else f"{first[0]}:{first[1]}"
        file.duplicates[pos] = f"duplicate id ({'first seen on' if first[0] == file.name else 'also at'} {where})"
