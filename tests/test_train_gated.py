"""arcwright_train consumes gated data only: failed, tampered or unlisted records are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train_support import (
    build_with_rustgate,
    make_record,
    read_rows,
    tamper,
    write_dataset,
    write_raw,
    write_rows,
)

from arcwright_train.config import TrainConfig
from arcwright_train.gated import DatasetError, UngatedDataError, load_gated
from arcwright_train.plan import make_plan
from rustgate.data.manifest import MANIFEST, Problem
from rustgate.records import Message, Record

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
    assert "refused 2 of 6 records (2 did not pass the required gates" in message
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
    assert "refused 1 of 4 records (1 carry verdicts given to other content, 1 changed since gating" in str(err.value)
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


# --- the default gates: what `rustgate build` requires by default, and a hint when they differ ---


def test_default_gates_accept_a_default_rustgate_build(tmp_path: Path) -> None:
    folder = build_with_rustgate(tmp_path, [make_record(i, verdicts={"compile": "pass"}) for i in range(8)])
    assert TrainConfig().dataset.required_gates == ["compile"]
    data = load_gated(folder, TrainConfig().dataset.required_gates)
    assert data.required_gates == ["compile"] and len(data.split("train")) == 6 and not data.refused


def test_a_gate_the_dataset_never_ran_is_refused_with_a_hint(tmp_path: Path) -> None:
    folder = build_with_rustgate(tmp_path, [make_record(i, verdicts={"compile": "pass"}) for i in range(8)])
    with pytest.raises(UngatedDataError) as err:
        load_gated(folder, ["compile", "judge"])
    message = str(err.value)
    assert "refused 8 of 8 records" in message and "required gates: compile, judge" in message
    assert "No record has a verdict for judge; this dataset's records carry: compile." in message
    assert 'set dataset.required_gates = ["compile"] in the config (or --dataset-required-gates compile)' in message


# --- forgeries: edit, add, drop and forge records; none reaches training without --allow-ungated ---


def _forged(record: Record, answer: str) -> Record:
    """``record`` with a new answer but its old verdicts (still bound to the old content)."""
    messages = [*record.messages[:-1], Message(role="assistant", content=answer)]
    return record.model_copy(update={"messages": messages})


BAD = '```rust\nfn value() -> u32 { "not a number" }\n```'


def _folder(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds", [make_record(i) for i in range(4)], [make_record(9)])


def _refused(source: Path, record_id: str, needle: str) -> None:
    with pytest.raises(UngatedDataError) as err:
        load_gated(source, ["compile", "judge"])
    line = next((str(r) for r in err.value.refusals if r.record_id == record_id), "")
    assert needle in line, str(err.value)
    data = load_gated(source, ["compile", "judge"], allow_ungated=True)  # only with the flag, and listed
    assert record_id in {r.record_id for r in data.refused}


def test_folder_record_edited_with_its_manifest_entry_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    rows = read_rows(folder / "train.jsonl")
    rows[1]["messages"][-1]["content"] = BAD
    write_raw(folder / "train.jsonl", rows)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["records"][1]["content_hash"] = Record.model_validate(rows[1]).content_hash()  # forger updates it
    (folder / MANIFEST).write_text(json.dumps(manifest))
    _refused(folder, "leptos-0001", "verdict given to other content (edited after gating")


def test_folder_record_added_with_copied_verdicts_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    donor = make_record(0)
    forged = Record(
        id="axum-0100", crate="axum", messages=[*donor.messages[:-1], Message(role="assistant", content=BAD)]
    )
    forged = forged.model_copy(update={"gates": donor.gates})  # verdicts copied from a passing record
    rows = [*read_rows(folder / "train.jsonl"), forged.to_row(with_gates=True)]
    write_raw(folder / "train.jsonl", rows)
    manifest = json.loads((folder / MANIFEST).read_text())
    entry = {**manifest["records"][0], "id": forged.id, "content_hash": forged.content_hash()}
    manifest["records"].append(entry)  # the forger lists it, with its real content hash
    manifest["splits"]["train"]["count"] += 1
    (folder / MANIFEST).write_text(json.dumps(manifest))
    _refused(folder, "axum-0100", "verdict given to other content")


def test_folder_record_added_without_a_manifest_entry_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_raw(folder / "train.jsonl", [*read_rows(folder / "train.jsonl"), make_record(50).to_row(with_gates=True)])
    _refused(folder, "rig-0050", "not in manifest")


def test_folder_row_stripped_of_its_verdicts_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    rows = read_rows(folder / "train.jsonl")
    del rows[2]["gates"]
    write_raw(folder / "train.jsonl", rows)
    _refused(folder, "rig-0002", "the row's verdicts differ from the manifest's")


def test_folder_record_moved_to_train_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_raw(folder / "train.jsonl", [*read_rows(folder / "train.jsonl"), *read_rows(folder / "test.jsonl")])
    write_raw(folder / "test.jsonl", [])
    _refused(folder, "leptos-0009", "manifest lists it under 'test'")


def test_folder_record_dropped_trains_on_the_rest(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_raw(folder / "train.jsonl", read_rows(folder / "train.jsonl")[1:])
    data = load_gated(folder, ["compile", "judge"])
    assert [r.id for r in data.split("train")] == ["leptos-0001", "rig-0002", "rust-0003"]
    assert data.missing_from_files == 1 and not data.refused


def test_unknown_folder_problem_kinds_are_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check ``check_folder`` may grow (the manifest signature) refuses without trainer changes."""
    import arcwright_train.gated as gated

    folder = _folder(tmp_path)
    real = gated.check_folder

    def with_new_kinds(root: Path) -> object:
        check = real(root)
        check.problems.append(Problem(str(root / MANIFEST), "-", "signature", "manifest signature does not match"))
        check.problems.append(Problem(f"{root}/train.jsonl:1", "axum-0000", "provenance", "unknown generator"))
        return check

    monkeypatch.setattr(gated, "check_folder", with_new_kinds)
    with pytest.raises(UngatedDataError) as err:
        load_gated(folder, ["compile", "judge"])
    message = str(err.value)
    assert "refused 1 of 5 records" in message and "failed another dataset check" in message
    assert "dataset: signature: manifest signature does not match" in message
    assert "axum-0000 (train): provenance: unknown generator" in message


def test_file_rows_must_carry_verdicts_for_their_own_content(tmp_path: Path) -> None:
    good = [make_record(i) for i in range(3)]
    edited = _forged(make_record(3), BAD)
    copied = make_record(4).model_copy(update={"gates": make_record(0).gates})
    unbound = make_record(5)
    unbound = unbound.model_copy(
        update={"gates": {g: r.model_copy(update={"content_hash": None}) for g, r in unbound.gates.items()}}
    )
    raw = Record(id="rig-0006", crate="rig", messages=make_record(6).messages)
    path = write_rows(tmp_path / "records.jsonl", [*good, edited, copied, unbound, raw])
    with pytest.raises(UngatedDataError) as err:
        load_gated(path, ["compile"])
    message = str(err.value)
    assert "refused 4 of 7 records" in message
    assert {r.record_id for r in err.value.refusals} == {"rust-0003", "axum-0004", "leptos-0005", "rig-0006"}
    assert "rust-0003 (train): compile, judge: verdict given to other content" in message
    assert "axum-0004 (train): compile, judge: verdict given to other content" in message
    assert "leptos-0005 (train): compile, judge: verdict not bound to any content" in message
    assert "rig-0006 (train): compile: no verdict" in message
    data = load_gated(path, ["compile"], allow_ungated=True)
    assert len(data.split("train")) == 7 and len(data.refused) == 4


def test_an_empty_gate_list_needs_allow_ungated(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "raw.jsonl", [Record(id=f"r{i}", messages=make_record(i).messages) for i in range(3)])
    config = TrainConfig.model_validate({"dataset": {"path": str(path), "required_gates": []}})
    with pytest.raises(UngatedDataError, match="dataset.required_gates is empty"):
        make_plan(config)  # refused before any model or tokenizer is looked at
    data = load_gated(path, [], allow_ungated=True)
    assert [r.record_id for r in data.refused] == ["r0", "r1", "r2"]
    assert all("no gate required" in str(r) for r in data.refused)


def test_replay_records_are_held_to_the_replay_gates(tmp_path: Path) -> None:
    """A build's replay records answer to replay_required_gates; the manifest says which they are."""
    from data_fixtures import distinct_code, gated, write_records

    from arcwright_train.gated import load_gated
    from rustgate.cli.main import main as rustgate_main

    write_records(tmp_path / "main.jsonl", [gated(f"m-{i}", distinct_code(i)) for i in range(6)])
    replay = [gated(f"r-{i}", distinct_code(100 + i)).model_copy(update={"gates": {}}) for i in range(2)]
    write_records(tmp_path / "replay.jsonl", replay)
    (tmp_path / "b.toml").write_text(
        '[build]\ntrust_row_verdicts = true\ninputs = ["main.jsonl"]\nreplay = ["replay.jsonl"]\noutput = "ds"\n'
        "[build.sizing]\nreplay_share = 0.25\n[build.dedupe]\nnear = false\n[build.split]\ntest = 1\n"
    )
    assert rustgate_main(["build", str(tmp_path / "b.toml")]) == 0
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    flagged = {e["id"] for e in manifest["records"] if e.get("replay")}
    assert flagged == {"r-0", "r-1"} and manifest["replay_required_gates"] == []
    with pytest.raises(UngatedDataError) as refused:  # the trainer still wants compile of every record
        load_gated(tmp_path / "ds", ["compile"])
    assert {r.record_id for r in refused.value.refusals} == flagged
    assert len(load_gated(tmp_path / "ds", [], allow_ungated=True).split("train")) == 7
