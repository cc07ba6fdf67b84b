"""The answer reading against real cargo: every rule passes its case and fails its near twin."""

from __future__ import annotations

from pathlib import Path

import pytest
from answer_shapes import SHAPES, Shape

from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.templates import load_profiles
from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import GateResult, Record

pytestmark = pytest.mark.cargo


@pytest.fixture(scope="module")
def shape_results(warm_cache: Path) -> dict[str, GateResult]:
    records = [Record.model_validate(s.row()) for s in SHAPES]
    results = CompileGate(timeout_s=60).check(records)
    return {s.id: r for s, r in zip(SHAPES, results, strict=True)}


def test_every_rule_has_a_pass_and_a_failing_twin() -> None:
    by_rule: dict[str, set[str]] = {}
    for shape in SHAPES:
        by_rule.setdefault(shape.rule, set()).add(shape.expect)
    assert set(by_rule) >= {"0", "1", "2", "3", "4", "5", "6", "7", "8", "10"}
    for rule, verdicts in by_rule.items():
        assert "pass" in verdicts and verdicts & {"fail", "rejected"}, rule


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
def test_shape_verdict(shape: Shape, shape_results: dict[str, GateResult]) -> None:
    result = shape_results[shape.id]
    shown = [d.short() for d in result.diagnostics][:5]
    assert result.verdict == shape.expect, (result.reason, shown, result.details.get("reading"))
    if shape.code:
        assert shape.code in {d.code for d in result.diagnostics}, shown
    reading = result.details.get("reading") or []
    for index, role in shape.read_as.items():
        assert reading[index]["read_as"] == role, reading


@pytest.mark.parametrize("shape", [s for s in SHAPES if s.expect == "fail"], ids=lambda s: s.id)
def test_a_failure_names_a_file_of_the_answer(shape: Shape, shape_results: dict[str, GateResult]) -> None:
    result = shape_results[shape.id]
    first = next(d for d in result.diagnostics if d.level.startswith("error"))
    assert first.file is not None and not first.file.startswith("/"), first
    assert "rustgate-" not in (result.reason or "") and "/tmp" not in (first.rendered or "")


def test_the_reading_says_which_file_each_block_became() -> None:
    shape = next(s for s in SHAPES if s.id == "file-names-in-prose")
    source = extract_crate(Record.model_validate(shape.row()), load_profiles())
    assert isinstance(source, CrateSource)
    assert [(e["file"], e["named_by"]) for e in source.reading] == [("src/math.rs", "prose"), ("src/main.rs", "prose")]
    usage = next(s for s in SHAPES if s.id == "usage-snippet")
    read = extract_crate(Record.model_validate(usage.row()), load_profiles())
    assert isinstance(read, CrateSource)
    assert read.reading[1]["file"] == "src/rustgate_usage_11.rs" and "rustdoc" in read.reading[1]["why"]


def test_identical_code_read_from_different_prose_compiles_once(warm_cache: Path, tmp_path: Path) -> None:
    shape = next(s for s in SHAPES if s.id == "alternatives")
    twin = dict(shape.row(), id="twin")
    twin["messages"] = [twin["messages"][0], {"role": "assistant", "content": "Prelude.\n\n" + shape.answer}]
    records = [Record.model_validate(shape.row()), Record.model_validate(twin)]
    with Ledger(tmp_path / "ledger.db") as ledger:
        first, second = CompileGate(timeout_s=60, ledger=ledger).check(records)
        assert first.verdict == second.verdict == "pass"
        # One compile served both, and each record's details say how its own answer was read.
        assert [e["line"] for e in second.details["reading"]] == [e["line"] + 2 for e in first.details["reading"]]
        again = CompileGate(timeout_s=60, ledger=ledger).check(records[::-1])
        assert all(r.cached for r in again)
        assert again[0].details["reading"] == second.details["reading"]
