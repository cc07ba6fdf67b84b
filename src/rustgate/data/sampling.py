"""Seeded selection: per-crate sizing, the replay share, and the stratified train/test split.

Everything here is a pure function of (records, config, seed): records are ordered by id before
any shuffle, so input order and hash randomisation never change which records are chosen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from rustgate.data.dedupe import Drop


class Sampled(Protocol):
    """What selection reads of a record: a ``Record``, or the build plan's ``Entry`` for one."""

    @property
    def id(self) -> str: ...

    @property
    def crate(self) -> str | None: ...


R = TypeVar("R", bound=Sampled)


def crate_key(record: Sampled) -> str:
    return record.crate or "rust"


def _shuffled(records: Sequence[R], seed: int, salt: str) -> list[R]:
    ordered = sorted(records, key=lambda r: r.id)
    random.Random(f"{seed}:{salt}").shuffle(ordered)
    return ordered


@dataclass
class Sized(Generic[R]):
    records: list[R]
    drops: list[Drop] = field(default_factory=list)
    shortfall: dict[str, tuple[int, int]] = field(default_factory=dict)  # crate -> (target, available)


def size_per_crate(records: Sequence[R], targets: dict[str, int] | None, seed: int) -> Sized[R]:
    """At most ``targets[crate]`` records per crate; crates without a target keep none when targets exist."""
    if targets is None:
        return Sized(list(records))
    by_crate: dict[str, list[R]] = {}
    for record in records:
        by_crate.setdefault(crate_key(record), []).append(record)
    out: Sized[R] = Sized([])
    for crate in sorted(by_crate):
        pool = _shuffled(by_crate[crate], seed, f"size:{crate}")
        target = targets.get(crate, 0)
        out.records += pool[:target]
        reason = f"over the {crate} target of {target}" if crate in targets else f"crate {crate} has no target"
        out.drops += [Drop(r.id, "sizing", reason) for r in pool[target:]]
    for crate, target in targets.items():
        have = len(by_crate.get(crate, []))
        if have < target:
            out.shortfall[crate] = (target, have)
    return out


def replay_count(framework: int, share: float) -> int:
    """Replay records so that they make up ``share`` of the final dataset."""
    return round(framework * share / (1.0 - share)) if share > 0 else 0


def draw_replay(pool: Sequence[R], count: int, seed: int) -> Sized[R]:
    shuffled = _shuffled(pool, seed, "replay")
    out = Sized(shuffled[:count])
    out.drops = [Drop(r.id, "sizing", f"beyond the replay share ({count} drawn)") for r in shuffled[count:]]
    if len(pool) < count:
        out.shortfall["replay"] = (count, len(pool))
    return out


def split(records: Sequence[R], test: float, seed: int) -> tuple[list[R], list[R]]:
    """Stratified by crate; ``test`` < 1 is a fraction, >= 1 a total count (largest remainder)."""
    total = len(records)
    want = round(total * test) if test < 1 else min(int(test), total)
    by_crate: dict[str, list[R]] = {}
    for record in records:
        by_crate.setdefault(crate_key(record), []).append(record)
    exact = {c: len(rs) * want / total if total else 0.0 for c, rs in by_crate.items()}
    quota = {c: int(v) for c, v in exact.items()}
    for crate in sorted(exact, key=lambda c: (-(exact[c] - quota[c]), c))[: want - sum(quota.values())]:
        quota[crate] += 1
    train: list[R] = []
    test_set: list[R] = []
    for crate in sorted(by_crate):
        pool = _shuffled(by_crate[crate], seed, f"split:{crate}")
        test_set += pool[: quota[crate]]
        train += pool[quota[crate] :]
    return sorted(train, key=lambda r: r.id), sorted(test_set, key=lambda r: r.id)
