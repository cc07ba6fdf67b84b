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
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rustgate.ledger import Ledger

HASH_BYTES = 16
# (record id shown, verdict, message): what the hook prints for the line, less its file and line.
Problem = tuple[str, str, str]


def line_hash(raw: bytes) -> bytes:
    """The identity of one raw line (without its line ending)."""
    return hashlib.blake2b(raw, digest_size=HASH_BYTES).digest()


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
class Remembered:
    """A line's remembered outcome: its record id (None for a line that is no record) and problems."""

    record_id: str | None
    problems: list[Problem] = field(default_factory=list)


class LineMemo:
    """The ledger's snapshots of dataset files under one context (see the module docstring)."""

    def __init__(self, ledger: Ledger, context: str) -> None:
        self.ledger = ledger
        self.context = context

    @staticmethod
    def file_key(path: str | Path) -> str:
        return str(Path(path).resolve())

    def load(self, path: str | Path) -> dict[bytes, Remembered]:
        """The lines remembered for ``path`` (empty when none or when the snapshot is unreadable)."""
        row = self.ledger.get_line_memo(self.context, self.file_key(path))
        if row is None:
            return {}
        hashes, blob = row
        try:
            entries = json.loads(blob)
            ids: list[str | None] = entries["ids"]
            problems: dict[str, list[list[str]]] = entries["problems"]
        except (ValueError, KeyError, TypeError):
            return {}
        keys = [hashes[i : i + HASH_BYTES] for i in range(0, len(hashes), HASH_BYTES)]
        if len(keys) != len(ids):
            return {}
        found = {key: Remembered(rid) for key, rid in zip(keys, ids, strict=True)}
        for index, listed in problems.items():
            found[keys[int(index)]].problems = [(str(a), str(b), str(c)) for a, b, c in listed]
        return found

    def save(self, path: str | Path, lines: Iterable[tuple[bytes, Remembered]]) -> None:
        """Replace the snapshot of ``path`` with ``lines`` (hash, outcome), in file order."""
        hashes = bytearray()
        ids: list[str | None] = []
        problems: dict[str, list[Problem]] = {}
        for index, (key, outcome) in enumerate(lines):
            hashes += key
            ids.append(outcome.record_id)
            if outcome.problems:
                problems[str(index)] = outcome.problems
        blob = json.dumps({"ids": ids, "problems": problems}, ensure_ascii=True, separators=(",", ":"))
        self.ledger.put_line_memo(self.context, self.file_key(path), bytes(hashes), blob)
