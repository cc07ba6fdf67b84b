"""Strandset-Rust-v1 and alpaca rows become canonical chat records; bad rows are named, not lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import write_rows

from rustgate.data.importers import import_rows

STRAND_INPUT = repr({"code": "fn add(a: i32, b: i32) -> i32 { a + b }", "code_context": None})
STRAND_OUTPUT = repr({"docstring": "/// Adds two numbers."})


def test_strandset_rows_become_messages(tmp_path: Path) -> None:
    src = write_rows(
        tmp_path / "strand.jsonl",
        [
            {
                "crate_name": "serde",
                "task_category": "docstring_generation",
                "input_data": STRAND_INPUT,
                "output_data": STRAND_OUTPUT,
            },
            {
                "crate_name": "axum",
                "task_category": "code_generation",
                "input_data": json.dumps({"title": "A handler", "description": "Return 200."}),
                "output_data": json.dumps({"code": 'async fn ok() -> &\'static str { "ok" }'}),
            },
            {"crate_name": "x", "task_category": "code_review", "input_data": "", "output_data": "y"},
        ],
    )
    result = import_rows(src, prefix="strand")
    assert [r.record.id for r in result.records] == ["strand-000001", "strand-000002"]
    first, second = (r.record for r in result.records)
    assert first.crate == "rust" and first.meta["crate_name"] == "serde"
    assert first.prompt.startswith("Task: docstring generation")
    assert "```rust\nfn add(a: i32, b: i32) -> i32 { a + b }\n```" in first.prompt
    assert first.answer == "/// Adds two numbers."
    assert second.crate == "axum"
    assert second.answer == '```rust\nasync fn ok() -> &\'static str { "ok" }\n```'
    assert "Title:\nA handler" in second.prompt
    assert [str(e) for e in result.errors] == [f"{src}:3: <no id>: missing field(s): input_data"]


def test_alpaca_rows_and_unknown_shapes(tmp_path: Path) -> None:
    src = write_rows(
        tmp_path / "alpaca.jsonl",
        [
            {
                "instruction": "Reverse a string in Rust.",
                "input": "",
                "output": "```rust\nfn r(s: &str) -> String { s.chars().rev().collect() }\n```",
            },
            {"instruction": "Explain.", "input": "fn main() {}", "output": "It does nothing."},
            {"question": "neither shape"},
            "not json at all",
        ],
    )
    result = import_rows(src)
    records = [r.record for r in result.records]
    assert [r.id for r in records] == ["alpaca-000001", "alpaca-000002"]
    assert records[0].prompt == "Reverse a string in Rust."
    assert records[1].prompt == "Explain.\n\nfn main() {}"
    assert [m.role for m in records[1].messages] == ["user", "assistant"]
    assert [e.line for e in result.errors] == [3, 4]
    assert "neither a Strandset row" in str(result.errors[0])


def test_import_from_parquet_and_cli(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rustgate.cli.main import main
    from rustgate.data.formats import read_records

    rows = [
        {
            "crate_name": "leptos",
            "task_category": "code_generation",
            "input_data": f"Make component {i}",
            "output_data": f"```rust\nfn c{i}() {{}}\n```",
            "test": None,
        }
        for i in range(4)
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "strand.parquet")
    out = tmp_path / "out.jsonl"
    assert main(["import", str(tmp_path / "strand.parquet"), str(out), "--limit", "3"]) == 0
    back = read_records(out)
    assert back.errors == [] and len(back.records) == 3
    assert {r.record.crate for r in back.records} == {"leptos"}


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.parquet", "out-hf"])
def test_import_streams_to_every_format_and_reports_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_name: str
) -> None:
    from rustgate.cli.main import main
    from rustgate.data import formats
    from rustgate.data.formats import read_records

    monkeypatch.setattr(formats, "PARQUET_BATCH", 2)  # several row groups
    rows = [
        {"id": f"a-{i % 4}", "instruction": f"Task {i}", "output": f"```rust\nfn f{i}() {{}}\n```"} for i in range(6)
    ]
    src = tmp_path / "alpaca.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["import", str(src), str(tmp_path / out_name)]) == 1  # the two repeats are row errors
    back = read_records(tmp_path / out_name)
    assert back.errors == [] and [r.record.id for r in back.records] == ["a-0", "a-1", "a-2", "a-3"]
    assert [r.record.prompt for r in back.records] == ["Task 0", "Task 1", "Task 2", "Task 3"]


def test_import_refuses_a_negative_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rustgate.cli.main import main

    src = tmp_path / "alpaca.jsonl"
    src.write_text(json.dumps({"instruction": "Task", "output": "```rust\nfn f() {}\n```"}) + "\n")
    with pytest.raises(SystemExit) as exited:
        main(["import", str(src), str(tmp_path / "out.jsonl"), "--limit", "-1"])
    assert exited.value.code == 2 and "must be 0 or more, not -1" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()
