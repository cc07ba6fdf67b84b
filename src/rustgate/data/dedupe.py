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

    def of_code(self, record: Record) -> np.ndarray:
        """The signature of the answer's normalised code (what near dedupe compares)."""
        return self.signature(normalise_code(code_of(record)))

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
        return np.asarray(mixed.min(axis=1), dtype=np.uint32)  # values are 32-bit: half the memory


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


def exact_key(record: Record) -> bytes:
    """What two exact duplicates share: the hash of the answer's normalised code."""
    return hashlib.sha256(normalise_code(code_of(record)).encode()).digest()


def first_of_each(keys: Sequence[bytes], ids: Sequence[str]) -> tuple[list[int], list[Drop]]:
    """Positions to keep (the first with each key) and a drop for every later one."""
    kept: list[int] = []
    drops: list[Drop] = []
    first: dict[bytes, str] = {}
    for position, (key, rid) in enumerate(zip(keys, ids, strict=True)):
        if key in first:
            drops.append(Drop(rid, "exact-duplicate", f"same normalised code as {first[key]}"))
            continue
        first[key] = rid
        kept.append(position)
    return kept, drops


def exact_dedupe(records: Sequence[Record]) -> tuple[list[Record], list[Drop]]:
    kept, drops = first_of_each([exact_key(r) for r in records], [r.id for r in records])
    return [records[i] for i in kept], drops


def near_duplicates(signatures: np.ndarray, order: Sequence[int], threshold: float) -> dict[int, tuple[int, float]]:
    """Rows of ``signatures`` (visited in ``order``, increasing) that near-duplicate an earlier kept row:
    ``{row: (the kept row it duplicates, estimated jaccard)}``.

    LSH buckets come from sorting each band at once (``np.unique``), so memory is a few integers
    per row, and kept rows are listed only in buckets that more than one row shares.
    """
    bands, rows = lsh_shape(signatures.shape[1], threshold)
    chosen = np.asarray(order, dtype=np.int64)
    groups: list[np.ndarray] = []
    for band in range(bands):
        block = np.ascontiguousarray(signatures[chosen, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        # a row alone in its bucket can match nothing there: -1 keeps it out of every list
        groups.append(np.where(counts[inverse] > 1, inverse, -1).astype(np.int32))
    members: dict[tuple[int, int], list[int]] = {}
    found: dict[int, tuple[int, float]] = {}
    for position, row in enumerate(order):
        shared = [(band, int(groups[band][position])) for band in range(bands) if groups[band][position] >= 0]
        best: tuple[float, int] | None = None
        for other in sorted({o for key in shared for o in members.get(key, ())}):
            similarity = float(np.mean(signatures[other] == signatures[row]))
            if similarity >= threshold and (best is None or similarity > best[0]):
                best = (similarity, other)
        if best is not None:
            found[row] = (best[1], best[0])
            continue
        for key in shared:
            members.setdefault(key, []).append(row)
    return found


def near_dedupe(
    records: Sequence[Record], *, threshold: float = 0.85, num_perm: int = 128, shingle: int = 5
) -> tuple[list[Record], list[Drop]]:
    if not records:
        return [], []
    hasher = MinHasher(num_perm, shingle)
    signatures = np.stack([hasher.of_code(r) for r in records])
    found = near_duplicates(signatures, range(len(records)), threshold)
    drops = [near_drop(records[i].id, records[j].id, similarity) for i, (j, similarity) in sorted(found.items())]
    return [r for i, r in enumerate(records) if i not in found], drops


def near_drop(rid: str, original: str, similarity: float) -> Drop:
    return Drop(rid, "near-duplicate", f"near-duplicate of {original} (jaccard~{similarity:.2f})")
