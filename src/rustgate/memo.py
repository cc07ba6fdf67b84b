"""Remembered outcomes of raw dataset lines: an unchanged line costs a hash, not a parse.

The pre-commit hook re-reads whole dataset files on every commit, and most of their lines are
those it checked last time. Each line is hashed as raw bytes, before any parsing; the ledger
keeps, per file and per *context*, the hashes of the lines last seen with the outcome they led
to. A line whose hash is there is not parsed, schema-checked, extracted or looked up again.

A remembered outcome is served only under the same context, and the context is everything
outside the line that decides it: rustgate's own code (``code_fingerprint``), the gate settings
and limits, the toolchain (``rustc -vV``), every profile's manifest and lockfile, the sandbox
backend, and the judge's model and settings when a judge runs. Any change there starts from an
empty memo. Nothing that depends on other lines (duplicate ids) is remembered, and no outcome
with an ``error`` in it is stored: infrastructure may recover.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rustgate.ledger import Ledger

HASH_BYTES = 16
# (record id shown, verdict, message): what the hook prints for the line, less its file and line.
Problem = tuple[str, str, str]


_BLAKE = functools.partial(hashlib.blake2b, digest_size=HASH_BYTES)
_DIGEST = operator.methodcaller("digest")


def line_hash(raw: bytes) -> bytes:
    """The identity of one raw line (without its ``\\n``)."""
    return hashlib.blake2b(raw, digest_size=HASH_BYTES).digest()


def line_hashes(lines: list[bytes]) -> list[bytes]:
    """``line_hash`` of each line, computed without a Python-level loop (100k lines: ~30 ms)."""
    return list(map(_DIGEST, map(_BLAKE, lines)))


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


@dataclass
class Snapshot:
    """One file's lines as last seen: ``index`` maps a line hash to its place in ``ids``; ``problems``
    (by that place) are what the line led to; a line without any passed everything."""

    hashes: bytes = b""  # the line hashes, packed, in file order
    ids: list[str | None] = field(default_factory=list)  # record ids (None: a line that is no record)
    problems: dict[int, list[Problem]] = field(default_factory=dict)

    @functools.cached_property
    def index(self) -> dict[bytes, int]:
        keys = [self.hashes[i : i + HASH_BYTES] for i in range(0, len(self.hashes), HASH_BYTES)]
        return dict(zip(keys, range(len(keys)), strict=True))


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
        row = self.ledger.get_line_memo(self.context, self.file_key(path))
        if row is None:
            return Snapshot()
        hashes, blob = row
        try:
            entries = json.loads(blob)
            ids = list(entries["ids"])
            problems = {int(k): [(str(a), str(b), str(c)) for a, b, c in v] for k, v in entries["problems"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return Snapshot()
        if len(hashes) != HASH_BYTES * len(ids) or any(not 0 <= k < len(ids) for k in problems):
            return Snapshot()
        return Snapshot(hashes, ids, problems)

    def save(self, path: str | Path, snapshot: Snapshot) -> None:
        """Replace the snapshot of ``path``."""
        problems = {str(k): v for k, v in snapshot.problems.items()}
        blob = json.dumps({"ids": snapshot.ids, "problems": problems}, ensure_ascii=True, separators=(",", ":"))
        self.ledger.put_line_memo(self.context, self.file_key(path), snapshot.hashes, blob)
