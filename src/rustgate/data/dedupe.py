"""Exact and near-duplicate removal over the code of each answer.

Exact: the answer's code with comments and whitespace normalised away, hashed. Near: MinHash
over token shingles with LSH banding (a small own implementation on numpy, so no extra
dependency); a candidate pair is kept only when its estimated Jaccard similarity reaches the
threshold. The first record in input order wins; every drop names the record it duplicates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rustgate.markdown import code_blocks
from rustgate.records import Record

_LINE_COMMENT = re.compile(r"//[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_PRIME = np.uint64((1 << 61) - 1)
_MASK = np.uint64(0xFFFFFFFF)


def code_of(record: Record) -> str:
    """The fenced code of the answer, or the whole answer when it has no fence."""
    blocks = code_blocks(record.answer)
    return "\n".join(b.body for b in blocks) if blocks else record.answer


def normalise_code(text: str) -> str:
    text = _BLOCK_COMMENT.sub(" ", _LINE_COMMENT.sub(" ", text))
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Drop:
    """Why a record left the dataset: which stage, and a sentence for the card."""

    id: str
    stage: str
    reason: str


class MinHasher:
    """Signatures of ``num_perm`` universal hashes ``(a*h + b) mod p`` over 32-bit shingle hashes."""

    def __init__(self, num_perm: int = 128, shingle: int = 5, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 1 << 32, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64)
        self.shingle = shingle
        self.num_perm = num_perm

    def signature(self, text: str) -> np.ndarray:
        toks = tokens(text)
        k = min(self.shingle, max(1, len(toks)))
        shingles = {" ".join(toks[i : i + k]) for i in range(max(1, len(toks) - k + 1))}
        hashes = np.fromiter(
            (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little") for s in shingles),
            dtype=np.uint64,
            count=len(shingles),
        )
        mixed = (self.a[:, None] * hashes[None, :] + self.b[:, None]) % _PRIME & _MASK
        return np.asarray(mixed.min(axis=1), dtype=np.uint64)


def lsh_shape(num_perm: int, threshold: float) -> tuple[int, int]:
    """(bands, rows) whose S-curve midpoint ``(1/b)^(1/r)`` sits just under the threshold."""
    best = (num_perm, 1)
    best_gap = float("inf")
    for rows in range(1, num_perm + 1):
        if num_perm % rows:
            continue
        bands = num_perm // rows
        midpoint = (1 / bands) ** (1 / rows)
        gap = threshold - midpoint
        if 0 <= gap < best_gap:  # midpoint below threshold: few false negatives
            best, best_gap = (bands, rows), gap
    return best


def exact_dedupe(records: Sequence[Record]) -> tuple[list[Record], list[Drop]]:
    kept: list[Record] = []
    drops: list[Drop] = []
    first: dict[str, str] = {}
    for record in records:
        key = hashlib.sha256(normalise_code(code_of(record)).encode()).hexdigest()
        if key in first:
            drops.append(Drop(record.id, "exact-duplicate", f"same normalised code as {first[key]}"))
            continue
        first[key] = record.id
        kept.append(record)
    return kept, drops


def near_dedupe(
    records: Sequence[Record], *, threshold: float = 0.85, num_perm: int = 128, shingle: int = 5
) -> tuple[list[Record], list[Drop]]:
    hasher = MinHasher(num_perm, shingle)
    bands, rows = lsh_shape(num_perm, threshold)
    buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
    kept: list[Record] = []
    signatures: list[np.ndarray] = []
    drops: list[Drop] = []
    for record in records:
        sig = hasher.signature(normalise_code(code_of(record)))
        keys = [sig[b * rows : (b + 1) * rows].tobytes() for b in range(bands)]
        candidates = {i for b, key in enumerate(keys) for i in buckets[b].get(key, ())}
        best: tuple[float, int] | None = None
        for index in sorted(candidates):
            similarity = float(np.mean(signatures[index] == sig))
            if similarity >= threshold and (best is None or similarity > best[0]):
                best = (similarity, index)
        if best is not None:
            drops.append(
                Drop(record.id, "near-duplicate", f"near-duplicate of {kept[best[1]].id} (jaccard~{best[0]:.2f})")
            )
            continue
        for b, key in enumerate(keys):
            buckets[b].setdefault(key, []).append(len(kept))
        kept.append(record)
        signatures.append(sig)
    return kept, drops
