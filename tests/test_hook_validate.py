"""``rustgate validate``: schema, the real compile gate, the optional judge; fails closed, re-checks only changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import bad_code, distinct_code, row, write_rows

from rustgate.cli.validate import main as validate_main
from rustgate.gates.compile import CompileSettings
from rustgate.hook import schema_findings, validate
from rustgate.ledger import Ledger
from rustgate.testing.llm_server import LLMServer, Reply, judge_scores

PROSE = {
    "id": "prose",
    "messages": [
        {"role": "user", "content": "Explain lifetimes."},
        {"role": "assistant", "content": "Lifetimes name how long a borrow lives."},
    ],
}


def test_schema_findings_need_no_compiler(tmp_path: Path) -> None:
    a = write_rows(
        tmp_path / "a.jsonl",
        [
            row("one", distinct_code(1)),
            {"id": "empty", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "  "}]},
            {"id": "sys", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]},
            '{"id": "cut-off", ',
        ],
    )
    b = write_rows(tmp_path / "b.jsonl", [row("one", distinct_code(2)), row("two", distinct_code(3))])
    loaded, findings = schema_findings([a, b])
    assert [item.record.id for item in loaded] == ["one", "two"]
    printed = [str(f) for f in findings]
    assert printed[0] == f"{a}:2: empty: schema: empty assistant message"
    assert printed[1].startswith(f"{a}:3: sys: schema: record: Value error, messages has no assistant turn")
    assert printed[2].startswith(f"{a}:4: cut-off: schema: invalid JSON")
    assert printed[3] == f"{b}:1: one: schema: duplicate id (also at {a}:1)"


def test_parquet_rows_are_named_by_row_number(tmp_path: Path) -> None:
    from rustgate.data.formats import write_records
    from rustgate.records import Record

    good = Record.model_validate(row("p-1", distinct_code(1)))
    blank = Record.model_validate(row("p-2", distinct_code(2))).model_copy(
        update={"messages": [good.messages[0], good.messages[1].model_copy(update={"content": ""})]}
    )
    path = tmp_path / "d.parquet"
    write_records(path, [good, blank, good.model_copy(update={"meta": {"copy": True}})])
    loaded, findings = schema_findings([path])
    assert [item.record.id for item in loaded] == ["p-1"]
    assert [str(f) for f in findings] == [
        f"{path}:2: p-2: schema: empty assistant message",
        f"{path}:3: p-1: schema: duplicate id (first seen on line 1)",
    ]


@pytest.mark.cargo
def test_validate_compiles_only_what_changed(warm_cache: Path, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "d.jsonl", [row(f"ok-{i}", distinct_code(i)) for i in range(4)])
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        first = validate([path], ledger=ledger, compile_settings=CompileSettings(jobs=2))
        assert first.ok and (first.compiled, first.cached) == (4, 0)
        stored = ledger.count("gate_results")
        again = validate([path], ledger=ledger, compile_settings=CompileSettings(jobs=2))
        assert again.ok and (again.compiled, again.cached) == (0, 4)
        assert ledger.count("gate_results") == stored
        write_rows(path, [*(row(f"ok-{i}", distinct_code(i)) for i in range(4)), row("bad", bad_code(5)), PROSE])
        changed = validate([path], ledger=ledger, compile_settings=CompileSettings(jobs=2))
        assert (changed.compiled, changed.cached) == (1, 4)
        printed = [str(f) for f in changed.findings]
        assert printed[0] == f"{path}:5: bad: fail: 2:5: error: [E0308] mismatched types"
        assert printed[1].startswith(f"{path}:6: prose: rejected: ")
        assert not changed.ok


@pytest.mark.cargo
def test_cli_exit_codes_and_judge_only_with_a_key(
    warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rows(tmp_path / "d.jsonl", [row(f"ok-{i}", distinct_code(20 + i)) for i in range(2)])
    ledger = str(tmp_path / "ledger.sqlite3")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert validate_main([str(path), "--ledger", ledger, "--judge", "anthropic:judge-model"]) == 0
    err = capsys.readouterr().err
    assert "judge skipped: anthropic:judge-model: the API key is missing: set $ANTHROPIC_API_KEY" in err
    assert "2 compiled, 0 judged, 0 not passing" in err

    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    with LLMServer() as server:
        server.script(Reply.ok_data(judge_scores(9)), Reply.ok_data(judge_scores(3, rationale="Wrong API.")))
        code = validate_main(
            [
                str(path),
                "--ledger",
                ledger,
                "--judge",
                "anthropic:judge-model",
                "--judge-base-url",
                server.url,
                "--jobs",
                "1",
            ]
        )
        assert server.request_count == 2
    captured = capsys.readouterr()
    assert code == 1
    assert "2 unchanged (ledger), 0 compiled, 2 judged, 1 not passing" in captured.err
    assert len(captured.out.splitlines()) == 1
    assert ": judge fail: mean 3.00 < threshold 7" in captured.out


def test_a_row_carrying_a_verdict_for_other_content_is_a_finding(tmp_path: Path) -> None:
    from data_fixtures import gated

    good = gated("kept", distinct_code(1), judge_scores={"correctness": 9.0})
    edited = gated("edited", distinct_code(2), judge_scores={"correctness": 9.0}).to_row(with_gates=True)
    edited["messages"][1]["content"] += "\nAnd one more sentence after the judge scored it."
    data = write_rows(tmp_path / "d.jsonl", [good.to_row(with_gates=True), edited])
    loaded, findings = schema_findings([data])
    assert [item.record.id for item in loaded] == ["kept"]
    assert [str(f).split(": ")[1:3] for f in findings] == [["edited", "stale"]]
