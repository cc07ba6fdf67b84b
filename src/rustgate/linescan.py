"""Reading a JSONL file against its remembered snapshot (``rustgate.memo``).

A run of bytes that hashes to a remembered group is taken whole: one SHA-256 over it, no split
into lines, no parse. Elsewhere lines are split and hashed a chunk at a time; a line whose hash
is the one the snapshot had there (or, after many misses, anywhere) keeps its outcome, and
consecutive such lines come out as one ``Known`` run; only the rest come out as ``Line`` to be
parsed. The scanner also cuts what it reads into the groups of the next snapshot (``spans``):
the groups it matched, as they were, and new groups cut where the content says.

The file is read into one reused buffer a few megabytes at a time, so memory stays bounded on
any file size.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rustgate.data.jsonl import MAX_LINE_BYTES
from rustgate.memo import GROUP_BYTES, GROUP_LINES, HASH_BYTES, Group, Snapshot, ends_group, line_hashes, span_hash

BLOCK = 8 << 20  # bytes read at a time
CHUNK = 256 << 10  # at most this many bytes of lines split and hashed together ...
FIRST_CHUNK = 16 << 10  # ... and this many just after a remembered group (an edit is usually near)
MAX_TRIES = 4  # remembered groups tried at one place in the file
LOCAL_MISSES = 64  # new lines looked for only near where the file was; past this many, anywhere



@dataclass
class Span:
    """Lines read as one group: a remembered ``group`` matched whole, or new lines cut here."""

    first: int  # the line index (0-based) of its first line
    count: int
    nbytes: int
    key: bytes
    group: Group | None = None
    hashes: bytes = b""  # the lines' hashes, for a new group


@dataclass
class Known:
    """Lines ``first``... that are, byte for byte, the snapshot's lines ``place``... (in order)."""

    first: int
    place: int
    count: int


@dataclass
class Line:
    """A line the snapshot does not have: it has to be read."""

    index: int
    raw: bytes  # without its "\n"


@dataclass
class Overlong:
    """A line over ``MAX_LINE_BYTES``: skipped unread (and never remembered)."""

    index: int
    size: int


@dataclass
class _Run:
    """Lines since the last cut that matched no remembered group: the next snapshot's group in the making."""

    first: int
    begin: int  # where its bytes still in the buffer start
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    count: int = 0
    nbytes: int = 0
    hashes: bytearray = field(default_factory=bytearray)


class LineScanner:
    """One pass over ``path``: iterate for ``Span`` (a matched group), ``Known``, ``Line`` and
    ``Overlong`` in file order; afterwards ``spans`` holds the groups of the next snapshot."""

    def __init__(self, path: str | Path, snapshot: Snapshot, block: int = BLOCK, chunk: int = CHUNK) -> None:
        self.path, self.snapshot, self.block, self.chunk = path, snapshot, block, chunk
        self._size = min(FIRST_CHUNK, chunk)  # of the next chunk: doubles while no group is found
        self.spans: list[Span] = []
        self._buf = bytearray()  # read into in place: no new memory per block
        self._view = memoryview(self._buf)
        self._off = 0
        self._end = 0  # the bytes of _buf that hold the file
        self._base = 0  # the file offset of _buf[0]
        self._eof = False
        self._index = 0  # the line index at ``_off``
        self._run: _Run | None = None
        self._hint = 0  # the snapshot place the next line is expected at
        self._misses = 0
        self._tried: tuple[int, set[int]] = (-1, set())  # groups that did not match at a file offset

    def __iter__(self) -> Iterator[Span | Known | Line | Overlong]:
        groups = self.snapshot.groups
        with open(self.path, "rb") as handle:
            candidate: int | None = 0 if groups else None
            while True:
                if candidate is not None:
                    if self._take(handle, candidate):
                        yield self.spans[-1]
                        candidate = candidate + 1 if candidate + 1 < len(groups) else None
                        continue
                    self._hint = self.snapshot.starts[candidate]
                walked = self._walk(handle)
                if walked is None:
                    break
                items, candidate = walked
                yield from items
            self._cut()

    # -- the buffer --------------------------------------------------------------------------
    def _fill(self, handle: io.BufferedReader, need: int) -> None:
        """Have at least ``need`` bytes from ``_off`` in the buffer, or all that is left."""
        have = self._end - self._off
        if have >= need or self._eof:
            return
        if self._run is not None:  # its bytes are about to leave the buffer
            self._run.hasher.update(self._view[self._run.begin : self._off])
            self._run.begin = 0
        if self._off:  # the unread rest moves to the front (through a copy where the two overlap)
            rest = self._view[self._off : self._end]
            self._buf[:have] = rest if self._off >= have else bytes(rest)
            rest.release()
            self._base += self._off
            self._off, self._end = 0, have
        size = max(self.block, need)
        if len(self._buf) < size:
            self._view.release()
            self._buf.extend(bytes(size - len(self._buf)))
            self._view = memoryview(self._buf)
        while self._end < need:
            got = handle.readinto(self._view[self._end :])
            if not got:
                self._eof = True
                return
            self._end += got

    def _chunk(self, handle: io.BufferedReader) -> list[bytes] | Overlong | None:
        """The next whole lines from ``_off``, a few kilobytes of them (None at the end).
        Every line but an unterminated last one is followed by "\\n" in the buffer."""
        size, self._size = self._size, min(2 * self._size, self.chunk)
        self._fill(handle, size)
        if self._off >= self._end:
            return None
        limit = min(self._end, self._off + size)
        cut = self._buf.rfind(b"\n", self._off, limit)
        while cut < 0:  # one line longer than a chunk
            cut = self._buf.find(b"\n", self._off, self._end)
            if self._end - self._off > MAX_LINE_BYTES and (cut < 0 or cut - self._off > MAX_LINE_BYTES):
                return self._skip(handle)
            if cut >= 0 or self._eof:
                break
            self._fill(handle, self._end - self._off + self.block)
        if cut < 0 or (self._eof and limit == self._end and cut < self._end - 1):
            cut = self._end  # up to the end of the file, its last line unterminated
        return bytes(self._view[self._off : cut]).split(b"\n")

    def _skip(self, handle: io.BufferedReader) -> Overlong:
        """Past a line too long to hold, reading it a block at a time."""
        self._cut()
        skipped = 0
        while True:
            cut = self._buf.find(b"\n", self._off, self._end)
            if cut >= 0:
                skipped += cut + 1 - self._off
                self._off = cut + 1
                break
            skipped += self._end - self._off
            self._off = self._end
            if self._eof:
                break
            self._fill(handle, self.block)
        self._index += 1
        return Overlong(self._index - 1, skipped)

    # -- matching ----------------------------------------------------------------------------
    def _take(self, handle: io.BufferedReader, index: int) -> bool:
        """Group ``index`` of the snapshot, if the bytes here are exactly its bytes."""
        where, tried = self._tried
        if where == self._base + self._off and index in tried:
            return False
        group = self.snapshot.groups[index]
        self._fill(handle, group.nbytes + 1)  # one more: does a line end where the group does?
        stop = self._off + group.nbytes
        matched = (
            stop <= self._end
            and (self._buf[stop - 1] == 0x0A or stop == self._end)  # else its last line now goes on
            and span_hash(self._view[self._off : stop]) == group.key
        )
        if not matched:
            if where != self._base + self._off:
                self._tried = (self._base + self._off, set())
            self._tried[1].add(index)
            return False
        self._cut()
        self.spans.append(Span(self._index, group.count, group.nbytes, group.key, group))
        self._size = min(FIRST_CHUNK, self.chunk)
        self._index += group.count
        self._off = stop
        self._hint = self.snapshot.starts[index + 1]
        return True

    def _walk(self, handle: io.BufferedReader) -> tuple[list[Known | Line | Overlong], int | None] | None:
        """Lines one by one, a chunk of them hashed at once, up to where a remembered group may
        start (its index is returned with the lines before it) or the chunk's end."""
        lines = self._chunk(handle)
        if lines is None:
            return None
        if isinstance(lines, Overlong):
            return [lines], None
        starting = self.snapshot.starting
        items: list[Known | Line | Overlong] = []
        known: Known | None = None
        for raw, digest in zip(lines, line_hashes(lines), strict=True):
            where, tried = self._tried
            if where != self._base + self._off:
                tried = set()
            if len(tried) < MAX_TRIES:  # many groups may start alike (blank lines): a few tries, not all
                for group in starting.get(digest, ()):
                    if group not in tried:
                        return items, group
            place = self._remembered(digest)
            if place is None:
                known = None
                items.append(Line(self._index, raw))
            elif known is not None and known.place + known.count == place:
                known.count += 1
            else:
                known = Known(self._index, place, 1)
                items.append(known)
            self._advance(raw, digest)
        return items, None

    def _advance(self, raw: bytes, digest: bytes) -> None:
        """Past one line read on its own, into the new group (cut where the content says)."""
        size = min(len(raw) + 1, self._end - self._off)
        run = self._run
        if run is None:
            run = self._run = _Run(self._index, self._off)
        run.count += 1
        run.nbytes += size
        run.hashes += digest
        self._index += 1
        self._off += size
        if ends_group(digest) or run.count >= GROUP_LINES or run.nbytes >= GROUP_BYTES:
            self._cut()

    def _remembered(self, digest: bytes) -> int | None:
        """The snapshot place of the same line: where it was expected (an edit beside it), or the
        one after (a line removed); past ``LOCAL_MISSES`` misses, anywhere (a reordered file)."""
        for place in (self._hint, self._hint + 1):
            if self.snapshot.line_hash(place) == digest:
                self._hint = place + 1
                return place
        self._misses += 1
        if self._misses <= LOCAL_MISSES:
            return None
        anywhere = self.snapshot.place_of(digest)
        if anywhere is not None:
            self._hint = anywhere + 1
        return anywhere

    def _cut(self) -> None:
        """Close the group in the making."""
        run, self._run = self._run, None
        if run is None:
            return
        run.hasher.update(self._view[run.begin : self._off])
        key = run.hasher.digest()[:HASH_BYTES]
        self.spans.append(Span(run.first, run.count, run.nbytes, key, None, bytes(run.hashes)))
