"""Remembered outcomes of raw dataset lines: an unchanged run of lines costs one hash, not a parse.

The pre-commit hook re-reads whole dataset files on every commit, and most of their lines are
those it checked last time. The ledger keeps, per file and per *context*, the file as last seen
cut into **groups**: runs of consecutive lines, each stored under a hash of its exact bytes with
every line's own hash, record id and the outcome it led to. On the next run a run of bytes that
hashes to a remembered group is taken whole, without splitting it into lines; a line outside
any such run is matched by its own hash; only the rest is parsed, schema-checked and gated
(``rustgate.linescan`` does the reading).

Group boundaries are chosen by content (a line whose hash starts with a byte below 2 ends one, and
a group never passes ``GROUP_LINES`` lines or ``GROUP_BYTES`` bytes), so an inserted or deleted
line disturbs only the group around it. A group's outcome depends on its bytes and the context
alone, so groups are stored once per context and shared by every file that has them.

A remembered outcome is served only under the same context, and the context is everything
outside the line that decides it: rustgate's own code (``code_fingerprint``), the gate settings
and limits, the toolchain (``rustc -vV``), every profile's manifest and lockfile, the sandbox
backend, and the judge's model and settings when a judge runs. Any change there starts from an
empty memo. Nothing that depends on other lines (duplicate ids) is remembered, and no outcome
with an ``error`` in it is stored: infrastructure may recover.
"""

from __future__ import annotations

import array
import bisect
import functools
import hashlib
import json
import operator
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from rustgate.ledger import Ledger, MemoGroupRow

HASH_BYTES = 16
GROUP_LINES = 1024  # a group never holds more lines than this ...
GROUP_BYTES = 1 << 20  # ... nor (past its first line) more bytes
# (record id shown, verdict, message): what the hook prints for the line, less its file and line.
Problem = tuple[str, str, str]


_BLAKE = functools.partial(hashlib.blake2b, digest_size=HASH_BYTES)
_DIGEST = operator.methodcaller("digest")


def line_hash(raw: bytes | memoryview) -> bytes:
    """The identity of one raw line (without its ``\\n``)."""
    return _BLAKE(raw).digest()


def line_hashes(lines: list[bytes]) -> Iterator[bytes]:
    """``line_hash`` of each line, without a Python-level loop."""
    return map(_DIGEST, map(_BLAKE, lines))


def span_hash(raw: bytes | memoryview) -> bytes:
    """The identity of a run of lines, newlines included (SHA-256: the fastest hash over megabytes)."""
    return hashlib.sha256(raw).digest()[:HASH_BYTES]


def ends_group(digest: bytes) -> bool:
    """Content-defined cut: about one line in 128 closes the group it is in."""
    return digest[0] < 2


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of rustgate's own source: a new release (or a local edit) forgets every memo."""
    digest = hashlib.sha256()
    root = resources.files("rustgate")
    for path in sorted(Path(str(root)).rglob("*"), key=str):
        if path.suffix in (".py", ".rs", ".toml") and path.is_file():
            digest.update(str(path.relative_to(str(root))).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def id_print(rid: str) -> int:
    """A 64-bit fingerprint of a record id: repeats are looked for among these (a match is then
    confirmed on the ids themselves), so unchanged groups never need their ids decoded."""
    digest = hashlib.blake2b(rid.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, sys.byteorder)


class Group:
    """Consecutive lines remembered together. ``ids[i]`` is line i's record id (None: a blank line,
    or a row that is no record); ``problems[i]`` what it led to; a line without any passed.

    Loaded from the ledger, the ids stay encoded until something asks for them."""

    def __init__(
        self,
        key: bytes,
        nbytes: int,
        hashes: bytes,
        ids: list[str | None] | None = None,
        problems: dict[int, list[Problem]] | None = None,
        *,
        encoded_ids: str | None = None,
        prints: bytes | None = None,
        blank: int | None = None,
    ) -> None:
        self.key = key  # span_hash of the lines' exact bytes
        self.nbytes = nbytes
        self.hashes = hashes  # each line's line_hash, packed
        self.count = len(hashes) // HASH_BYTES
        self.problems = problems or {}
        self._ids, self._encoded = ids, encoded_ids
        if prints is not None:
            self.prints = prints
        if blank is not None:
            self.blank = blank

    @functools.cached_property
    def ids(self) -> list[str | None]:
        if self._ids is not None:
            return self._ids
        decoded = json.loads(self._encoded or "null")
        if type(decoded) is not list or len(decoded) != self.count:
            raise ValueError("a remembered group of lines is damaged in the ledger (run with --no-cache)")
        return decoded

    @functools.cached_property
    def prints(self) -> bytes:
        """``id_print`` of each id but None, packed (8 bytes each, native order)."""
        return array.array("Q", [id_print(rid) for rid in self.ids if rid is not None]).tobytes()

    @functools.cached_property
    def blank(self) -> int:
        """Blank lines: no id and nothing to say (a row that is no record always has a problem)."""
        return self.ids.count(None) - sum(1 for i in self.problems if self.ids[i] is None)

    def line_hash(self, index: int) -> bytes:
        return self.hashes[index * HASH_BYTES : (index + 1) * HASH_BYTES]

    def row(self) -> MemoGroupRow:
        problems = json.dumps({str(k): v for k, v in self.problems.items()}, ensure_ascii=True)
        ids = json.dumps(self.ids, ensure_ascii=True, separators=(",", ":"))
        return self.key, self.nbytes, self.blank, self.hashes, self.prints, ids, problems

    @classmethod
    def from_row(cls, row: MemoGroupRow) -> Group:
        key, nbytes, blank, hashes, prints, ids, encoded = row
        problems = {int(k): [(str(a), str(b), str(c)) for a, b, c in v] for k, v in json.loads(encoded).items()}
        group = cls(key, int(nbytes), hashes, None, problems, encoded_ids=ids, prints=prints, blank=int(blank))
        if not group.count or len(hashes) % HASH_BYTES or len(prints) % 8:
            raise ValueError("inconsistent memo group")
        if any(not 0 <= k < group.count for k in problems):
            raise ValueError("inconsistent memo group")
        return group


class Snapshot:
    """One file as last seen: its groups in file order, with the lookups reading needs.

    A line is addressed by its *place*: its index in the snapshot's lines, all groups together."""

    def __init__(self, groups: list[Group] | None = None) -> None:
        self.groups = groups or []
        self.starts = [0]  # place of each group's first line, then the total
        for group in self.groups:
            self.starts.append(self.starts[-1] + group.count)

    @property
    def keys(self) -> list[bytes]:
        return [group.key for group in self.groups]

    @functools.cached_property
    def starting(self) -> dict[bytes, list[int]]:
        """A first line's hash -> the groups that start with it (the way back in after a change)."""
        found: dict[bytes, list[int]] = {}
        for index, group in enumerate(self.groups):
            found.setdefault(group.line_hash(0), []).append(index)
        return found

    @functools.cached_property
    def _places(self) -> dict[int, int]:
        """Every line, by the first 8 bytes of its hash (a hit is confirmed on all 16)."""
        prefixes = (memoryview(g.hashes).cast("Q")[::2].tolist() for g in self.groups)
        return {prefix: place for place, prefix in enumerate(p for group in prefixes for p in group)}

    def line_at(self, place: int) -> tuple[Group, int] | None:
        if not 0 <= place < self.starts[-1]:
            return None
        index = bisect.bisect_right(self.starts, place) - 1
        return self.groups[index], place - self.starts[index]

    def line_hash(self, place: int) -> bytes:
        """The hash of the line at ``place`` (empty past either end)."""
        found = self.line_at(place)
        return b"" if found is None else found[0].line_hash(found[1])

    def segments(self, place: int, count: int) -> Iterator[tuple[Group, int, int]]:
        """Lines ``place``... as (group, first index in it, how many) pieces."""
        index = bisect.bisect_right(self.starts, place) - 1
        while count > 0:
            group, start = self.groups[index], place - self.starts[index]
            taken = min(count, group.count - start)
            yield group, start, taken
            place, count, index = place + taken, count - taken, index + 1

    def place_of(self, digest: bytes) -> int | None:
        """Where a line with this hash was, anywhere in the file (None: it is new)."""
        place = self._places.get(int.from_bytes(digest[:8], sys.byteorder))
        return place if place is not None and self.line_hash(place) == digest else None


class LineMemo:
    """The ledger's snapshots of dataset files under one context (see the module docstring)."""

    def __init__(self, ledger: Ledger, context: str) -> None:
        self.ledger = ledger
        self.context = context

    @staticmethod
    def file_key(path: str | Path) -> str:
        return str(Path(path).resolve())

    def load(self, path: str | Path) -> Snapshot:
        """What was remembered for ``path`` (empty when nothing, or when the snapshot is unreadable)."""
        rows = self.ledger.get_memo(self.context, self.file_key(path))
        try:
            return Snapshot([Group.from_row(row) for row in rows or []])
        except (ValueError, KeyError, TypeError, AttributeError):
            return Snapshot()

    def save(self, path: str | Path, groups: list[Group], known: set[bytes]) -> None:
        """Replace the snapshot of ``path``; only groups not in ``known`` (already stored) are written."""
        fresh = [g.row() for g in groups if g.key not in known]
        self.ledger.put_memo(self.context, self.file_key(path), [g.key for g in groups], fresh)

    def prune(self) -> None:
        """After the saves of a run: drop the groups no snapshot uses any more."""
        self.ledger.prune_memo(self.context)
