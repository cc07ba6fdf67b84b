"""arcwright_train consumes gated data only: failed, tampered or unlisted records are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train_support import make_record, tamper, write_dataset

from arcwright_train.gated import DatasetError, UngatedDataError, load_gated

GATES = ["compile", "judge"]


def test_gated_folder_loads_per_split(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", [make_record(i) for i in range(6)], [make_record(i) for i in (10, 11)])
    data = load_gated(folder, GATES)
    assert [r.id for r in data.split("train")][:2] == ["axum-0000", "leptos-0001"]
    assert len(data.split("train")) == 6 and len(data.split("test")) == 2
    assert data.refused == [] and data.kind == "folder" and data.required_gates == GATES


def test_failed_gate_is_refused_with_count_and_names(tmp_path: Path) -> None:
    train = [make_record(i) for i in range(5)]
    train[1] = make_record(1, verdicts={"compile": "pass", "judge": "fail"})
    train[3] = make_record(3, verdicts={"compile": "timeout"})
    folder = write_dataset(tmp_path / "ds", train, [make_record(9)])
    with pytest.raises(UngatedDataError) as err:
        load_gated(folder, GATES)
    message = str(err.value)
    assert "refused 2 of 6 records (2 did not pass the required gates)" in message
    assert "leptos-0001 (train): judge: fail" in message
    assert "axum-0003" not in message  # index 3 is crate "rust"
    assert "rust-0003 (train): compile: timeout; judge: no verdict in manifest" in message
    assert "--allow-ungated" in message
    assert {r.record_id for r in err.value.refusals} == {"leptos-0001", "rust-0003"}


def test_manifest_requirements_add_to_the_config(tmp_path: Path) -> None:
    train = [make_record(0, verdicts={"compile": "pass", "judge": "pass", "tests": "fail"})]
    folder = write_dataset(tmp_path / "ds", train, [], required_gates=("compile", "judge", "tests"))
    with pytest.raises(UngatedDataError, match="tests: fail"):
        load_gated(folder, ["compile"])


def test_tampered_record_is_refused(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", [make_record(i) for i in range(3)], [make_record(7)])
    tamper(folder, "test", "rust-0007", "```rust\nfn value() -> u32 { 0 }\n```")
    with pytest.raises(UngatedDataError) as err:
        load_gated(folder, GATES)
    assert "refused 1 of 4 records (1 changed since gating)" in str(err.value)
    assert "rust-0007 (test): content changed since gating" in str(err.value)


def test_record_missing_from_manifest_is_refused(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", [make_record(i) for i in range(3)], [], unlisted=("rig-0002",))
    with pytest.raises(UngatedDataError, match=r"1 not in the manifest[\s\S]*rig-0002 \(train\): not in manifest"):
        load_gated(folder, GATES)


def test_row_verdict_disagreeing_with_manifest_is_refused(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", [make_record(0)], [])
    path = folder / "train.jsonl"
    row = json.loads(path.read_text())
    row["gates"]["judge"]["verdict"] = "fail"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(UngatedDataError, match=r"judge: fail \(on the row\)"):
        load_gated(folder, GATES)


def test_allow_ungated_lets_them_through_and_remembers(tmp_path: Path) -> None:
    train = [make_record(0), make_record(1, verdicts={"compile": "fail", "judge": "pass"})]
    folder = write_dataset(tmp_path / "ds", train, [])
    data = load_gated(folder, GATES, allow_ungated=True)
    assert data.allow_ungated and len(data.split("train")) == 2
    assert [r.record_id for r in data.refused] == ["leptos-0001"]


def test_plain_jsonl_is_checked_on_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    rows = [make_record(0), make_record(1, verdicts={"compile": "pass"})]
    path.write_text("".join(json.dumps(r.to_row(with_gates=True)) + "\n" for r in rows))
    with pytest.raises(UngatedDataError, match=r"leptos-0001 \(train\): judge: no verdict"):
        load_gated(path, GATES)
    data = load_gated(path, ["compile"])
    assert data.kind == "jsonl" and len(data.split("train")) == 2


def test_parquet_rows_carry_their_gates(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [make_record(0), make_record(1, verdicts={"compile": "pass", "judge": "rejected"})]
    table = pa.Table.from_pylist([r.to_row(with_gates=True) for r in rows])
    path = tmp_path / "records.parquet"
    pq.write_table(table, path)
    with pytest.raises(UngatedDataError, match=r"leptos-0001 \(train\): judge: rejected"):
        load_gated(path, GATES)
    data = load_gated(path, ["compile"])
    assert data.kind == "parquet" and data.split("train")[0].content_hash() == rows[0].content_hash()


def test_unreadable_inputs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_gated(tmp_path / "nothing", GATES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no manifest.json"):
        load_gated(tmp_path / "empty", GATES)
    folder = write_dataset(tmp_path / "ds", [make_record(0)], [])
    with open(folder / "train.jsonl", "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(DatasetError, match=r"1 unreadable records:\n  .*train.jsonl:2"):
        load_gated(folder, GATES)
