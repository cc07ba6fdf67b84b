"""Reading and writing JSONL / Parquet / HF folders, and malformed input reported by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import distinct_code, gated, row, write_rows

from rustgate.data.formats import detect_format, read_records, write_records


@pytest.mark.parametrize("name", ["data.jsonl", "data.parquet", "data_hf"])
def test_round_trip_keeps_records_gates_and_meta(tmp_path: Path, name: str) -> None:
    records = [gated(f"r{i}", distinct_code(i), judge_scores={"correctness": 8.0, "idiomatic": 6.5}) for i in range(3)]
    records[1] = records[1].model_copy(update={"meta": {"topic": "iterators", "nested": {"k": [1, 2]}}})
    target = tmp_path / name
    assert write_records(target, records) == 3
    back = read_records(target)
    assert back.errors == []
    assert [item.record for item in back.records] == records
    assert [item.line for item in back.records] == [1, 2, 3]


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(tmp_path / "a.jsonl") == "jsonl"
    assert detect_format(tmp_path / "a.parquet") == "parquet"
    assert detect_format(tmp_path) == "hf"
    with pytest.raises(ValueError, match="unknown dataset format"):
        detect_format(tmp_path / "a.csv")


def test_malformed_lines_are_reported_with_file_and_line_and_good_ones_kept(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "mixed.jsonl",
        [
            row("good-1", distinct_code(1)),
            '{"id": "broken", "messages": [',  # line 2: bad JSON
            {"id": "no-messages", "crate": "rust"},  # line 3: missing field
            row("good-1", distinct_code(2)),  # line 4: duplicate id
            {"id": "bad-role", "messages": [{"role": "robot", "content": "x"}]},  # line 5
            row("good-2", distinct_code(3)),  # line 6
        ],
    )
    with open(path, "ab") as handle:
        handle.write(b'{"id": "latin1", "messages": "caf\xe9"}\n')  # line 7: not UTF-8
        handle.write((json.dumps(row("good-3", distinct_code(4))) + "\n").encode())  # line 8
    result = read_records(path)
    assert [(i.record.id, i.line) for i in result.records] == [("good-1", 1), ("good-2", 6), ("good-3", 8)]
    errors = {e.line: str(e) for e in result.errors}
    assert sorted(errors) == [2, 3, 4, 5, 7]
    assert errors[2].startswith(f"{path}:2: broken: invalid JSON")
    assert errors[3].startswith(f"{path}:3: no-messages: messages")
    assert "duplicate id (first seen on line 1)" in errors[4]
    assert errors[5].startswith(f"{path}:5: bad-role:")
    assert "not valid UTF-8" in errors[7]


def test_parquet_bad_row_is_reported_by_row_number(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    table = pa.Table.from_pylist(
        [
            {"id": "a", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}]},
            {"id": "b", "messages": [{"role": "user", "content": "only a question"}]},
        ],
        schema=pa.schema([("id", pa.string()), ("messages", pa.list_(message))]),
    )
    pq.write_table(table, tmp_path / "t.parquet")
    result = read_records(tmp_path / "t.parquet")
    assert [i.record.id for i in result.records] == ["a"]
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 't.parquet'}:2: b: record: Value error, messages has no assistant turn"
    ]
