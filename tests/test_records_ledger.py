"""The record type and the SQLite ledger, with no cargo involved."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from rustgate.atomic import atomic_write_jsonl
from rustgate.ledger import Ledger, stable_hash
from rustgate.records import Diagnostic, GateResult, Record


def make(answer: str = "```rust\nfn main() {}\n```", **extra: object) -> Record:
    return Record.model_validate(
        {"id": "a", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}], **extra}
    )


def test_record_requires_user_and_assistant_turns() -> None:
    with pytest.raises(ValidationError, match="no assistant turn"):
        Record.model_validate({"id": "x", "messages": [{"role": "user", "content": "q"}]})
    with pytest.raises(ValidationError):
        Record.model_validate({"id": "x", "messages": [{"role": "robot", "content": "q"}]})
    assert make(crate="tokio").crate == "tokio"  # any crate label; the profile registry maps it to a Cargo world
    with pytest.raises(ValidationError):
        make(crate="Not A Crate!")


def test_content_hash_ignores_id_meta_and_verdicts() -> None:
    base = make()
    other = make(meta={"topic": "x"}).model_copy(update={"id": "b"})
    gated = base.with_gate(GateResult(gate="compile", verdict="pass", version="1"))
    assert base.content_hash() == other.content_hash() == gated.content_hash()
    assert make("changed").content_hash() != base.content_hash()


def test_row_round_trip_with_gates() -> None:
    gated = make().with_gate(
        GateResult(gate="compile", verdict="fail", version="1", diagnostics=[Diagnostic(level="error", message="m")])
    )
    row = gated.to_row(with_gates=True)
    again = Record.model_validate(json.loads(json.dumps(row)))
    assert again.gates["compile"].verdict == "fail" and again.passed(["compile"]) is False
    assert "gates" not in gated.to_row()


def test_ledger_round_trip_and_errors_not_stored(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ok = GateResult(gate="compile", verdict="pass", version="1", duration_s=0.5)
        ledger.put_result("k1", ok, "a")
        ledger.put_result("k2", GateResult(gate="compile", verdict="error", version="1", reason="down"))
        assert ledger.get_result("k1") == ok
        assert ledger.get_result("k2") is None
        assert set(ledger.get_results(["k1", "k2", "k3"])) == {"k1"}
        ledger.put_value("run", "x", {"done": 3})
        assert ledger.get_value("run", "x") == {"done": 3}
    mode = sqlite3.connect(tmp_path / "l.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_ledger_survives_threads(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:

        def write(n: int) -> None:
            for i in range(50):
                ledger.put_result(f"{n}-{i}", GateResult(gate="g", verdict="pass", version="1"))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ledger.count("gate_results") == 200


def test_stable_hash_is_order_insensitive_for_mappings() -> None:
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash("x", 1) != stable_hash("x", 2)


def test_atomic_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def rows() -> object:
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write_jsonl(target, rows())  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
