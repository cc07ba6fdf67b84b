"""The scanner behind the hook's memo: whatever the edit, every line is accounted for exactly once,
a remembered outcome is only ever served for the very same bytes, and the next snapshot's
groups are exactly the file's bytes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import rustgate.linescan as linescan
from rustgate.ledger import Ledger
from rustgate.linescan import Known, Line, LineScanner, Overlong, Span
from rustgate.memo import Group, LineMemo, Snapshot, line_hash, span_hash


def _lines(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line, the end with its "\\n" when it has one."""
    out, start = [], 0
    while start < len(data):
        cut = data.find(b"\n", start)
        end = len(data) if cut < 0 else cut + 1
        out.append((start, end))
        start = end
    return out


Item = Span | Known | Line | Overlong


def _scan(path: Path, snapshot: Snapshot, **sizes: int) -> tuple[list[Item], list[Span]]:
    scanner = LineScanner(path, snapshot, **sizes)
    items = list(scanner)
    return items, scanner.spans


def _check(data: bytes, snapshot: Snapshot, items: list[Item], spans: list[Span]) -> None:
    bounds = _lines(data)
    raw = [data[a:b].removesuffix(b"\n") for a, b in bounds]
    skipped: set[int] = set()
    seen = 0
    for item in items:  # every line once, in order; a remembered outcome only for the same bytes
        if isinstance(item, Span):
            assert item.first == seen and item.group is not None
            for k in range(item.count):
                assert item.group.line_hash(k) == line_hash(raw[seen + k])
            seen += item.count
        elif isinstance(item, Known):
            assert item.first == seen
            for k in range(item.count):
                assert snapshot.line_hash(item.place + k) == line_hash(raw[seen + k])
            seen += item.count
        elif isinstance(item, Overlong):  # skipped unread, its size still counted right
            assert item.index == seen and item.size == bounds[seen][1] - bounds[seen][0]
            assert len(raw[seen]) > linescan.MAX_LINE_BYTES
            skipped.add(seen)
            seen += 1
        else:
            assert item.index == seen and item.raw == raw[seen]
            assert len(raw[seen]) <= linescan.MAX_LINE_BYTES
            seen += 1
    assert seen == len(bounds)
    seen = 0
    for span in spans:  # the next snapshot: groups over exactly the file's bytes (less skipped lines)
        while seen in skipped:
            seen += 1
        assert span.first == seen and span.count > 0
        assert not skipped & set(range(seen, seen + span.count))
        start, end = bounds[seen][0], bounds[seen + span.count - 1][1]
        assert span.nbytes == end - start and span.key == span_hash(data[start:end])
        if span.group is None:
            assert span.hashes == b"".join(line_hash(r) for r in raw[seen : seen + span.count])
        seen += span.count
    assert seen + len(skipped & set(range(seen, len(bounds)))) == len(bounds)


def _next_snapshot(data: bytes, spans: list[Span]) -> Snapshot:
    """Groups as the hook would keep them (ids made from the content, so a served id is checkable)."""
    groups = []
    for span in spans:
        if span.group is not None:
            groups.append(span.group)
            continue
        hashes = [span.hashes[i : i + 16] for i in range(0, len(span.hashes), 16)]
        groups.append(Group(span.key, span.nbytes, span.hashes, [h.hex() for h in hashes]))
    return Snapshot(groups)


def _edit(rng: random.Random, lines: list[bytes], serial: list[int]) -> list[bytes]:
    lines = list(lines)

    def fresh() -> bytes:
        serial[0] += 1
        kind = rng.random()
        if kind < 0.05:
            return b""
        if kind < 0.1:
            return b'{"id": "r%d", "long": "%s"}' % (serial[0], b"x" * rng.randint(300, 3000))
        if kind < 0.15:
            return b'{"id": "r%d"}\r' % serial[0]
        return b'{"id": "r%d", "messages": []}' % serial[0]

    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["edit", "insert", "delete", "move", "copy", "append", "truncate"])
        at = rng.randrange(len(lines) + 1)
        if op == "edit" and lines:
            lines[min(at, len(lines) - 1)] = fresh()
        elif op == "insert":
            lines[at:at] = [fresh() for _ in range(rng.randint(1, 5))]
        elif op == "delete":
            del lines[at : at + rng.randint(1, 20)]
        elif op == "move" and lines:
            block = lines[at : at + rng.randint(1, 40)]
            del lines[at : at + len(block)]
            to = rng.randrange(len(lines) + 1)
            lines[to:to] = block
        elif op == "copy" and lines:
            to = rng.randrange(len(lines) + 1)
            lines[to:to] = lines[at : at + rng.randint(1, 30)]
        elif op == "append":
            lines += [fresh() for _ in range(rng.randint(1, 50))]
        elif op == "truncate":
            del lines[at:]
    return lines


@pytest.mark.parametrize("seed", range(12))
def test_any_edit_is_seen_and_nothing_unchanged_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    # Small groups, blocks and chunks, so that a few hundred lines cross every boundary.
    monkeypatch.setattr(linescan, "ends_group", lambda digest: digest[0] < 40)
    monkeypatch.setattr(linescan, "MAX_LINE_BYTES", 2500)  # some of the long lines are too long to hold
    sizes = {"block": rng.choice([64, 257, 4096]), "chunk": rng.choice([40, 333, 2048])}
    path = tmp_path / "d.jsonl"
    serial = [0]
    lines = [b'{"id": "s%d", "messages": []}' % i for i in range(rng.randint(0, 300))]
    snapshot = Snapshot()
    for _ in range(15):
        terminated = rng.random() < 0.8
        data = b"\n".join(lines) + (b"\n" if terminated and lines else b"")
        path.write_bytes(data)
        items, spans = _scan(path, snapshot, **sizes)
        _check(data, snapshot, items, spans)
        snapshot = _next_snapshot(data, spans)
        again, _ = _scan(path, snapshot, **sizes)  # unchanged: nothing but whole groups
        assert all(isinstance(item, Span | Overlong) for item in again)
        taken = sum(item.count if isinstance(item, Span) else 1 for item in again if isinstance(item, Span | Overlong))
        assert taken == len(_lines(data))
        lines = _edit(rng, lines, serial)


def test_an_edit_reads_one_line_and_the_rest_is_served(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    lines = [b'{"id": "r%d", "messages": [], "pad": "%s"}' % (i, b"p" * (i % 50)) for i in range(20_000)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    _, spans = _scan(path, Snapshot())
    snapshot = _next_snapshot(path.read_bytes(), spans)
    assert 50 < len(snapshot.groups) < 400  # content-defined: about one line in 128 ends a group
    lines[12_345] = b'{"id": "edited"}'
    del lines[5]
    lines.insert(17_000, b'{"id": "inserted"}')
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    items, spans = _scan(path, snapshot)
    _check(data, snapshot, items, spans)
    assert [item.raw for item in items if isinstance(item, Line)] == [b'{"id": "edited"}', b'{"id": "inserted"}']
    matched = sum(item.count for item in items if isinstance(item, Span))
    assert matched > 20_000 - 3 * 600  # only the groups around the three changes were split into lines


def test_snapshots_round_trip_through_the_ledger_and_share_groups(tmp_path: Path) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    body = b"".join(b'{"id": "r%d"}\n' % i for i in range(3000))
    one.write_bytes(body)
    two.write_bytes(body + b'{"id": "extra"}\n')
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        memo = LineMemo(ledger, "context")
        for path in (one, two):
            _, spans = _scan(path, Snapshot())
            groups = _next_snapshot(path.read_bytes(), spans).groups
            memo.save(path, groups, set())
        stored = ledger.count("memo_groups")
        assert stored < len(memo.load(one).groups) + len(memo.load(two).groups)  # the same bytes, one row
        loaded = memo.load(two)
        assert [g.key for g in loaded.groups] == [s.key for s in _scan(two, Snapshot())[1]]
        assert loaded.groups[0].ids == _next_snapshot(two.read_bytes(), _scan(two, Snapshot())[1]).groups[0].ids
        memo.save(one, [], {g.key for g in memo.load(one).groups})  # a file emptied ...
        memo.prune()  # ... its groups go, but those two.jsonl shares stay
        assert ledger.count("memo_groups") == len({g.key for g in loaded.groups})
        assert LineMemo(ledger, "other context").load(two).groups == []


def test_a_ledger_with_an_older_memo_layout_starts_the_memo_again(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as old:  # the layout of an earlier version
        old.execute("CREATE TABLE memo_groups (context TEXT, key BLOB, nbytes INTEGER, hashes BLOB, entries TEXT)")
        old.execute("INSERT INTO memo_groups VALUES ('c', x'00', 1, x'00', '{}')")
        old.execute("CREATE TABLE line_memo (context TEXT, file TEXT, hashes BLOB, entries TEXT, created REAL)")
    data = tmp_path / "d.jsonl"
    data.write_bytes(b'{"id": "a"}\n')
    with Ledger(path) as ledger:
        memo = LineMemo(ledger, "c")
        memo.save(data, _next_snapshot(data.read_bytes(), _scan(data, Snapshot())[1]).groups, set())
        assert [g.ids for g in memo.load(data).groups] == [[line_hash(b'{"id": "a"}').hex()]]
        assert ledger.count("memo_groups") == 1
