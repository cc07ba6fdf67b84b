"""No command writes over its inputs (issue 20, item 4): every output path is compared with every
input path, through symlinks and hard links, before anything is written. Each refusal has a twin
(a different file, or the same bytes in another file) that is written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from data_fixtures import distinct_code, gated, row, write_records, write_rows
from test_cli_check import rustgate

from rustgate.eval.config import EvalConfig, EvalConfigError
from rustgate.eval.runner import evaluate
from rustgate.overlap import WritesOverInput, refuse_overlap, same_file
from rustgate.pipeline_config import pipeline_from_toml


def _dataset(tmp_path: Path) -> tuple[Path, bytes]:
    data = write_rows(tmp_path / "data.jsonl", [row("one", distinct_code(7001)), row("two", distinct_code(7002))])
    return data, data.read_bytes()


def test_same_file_sees_through_symlinks_and_hard_links(tmp_path: Path) -> None:
    data, body = _dataset(tmp_path)
    (tmp_path / "sym.jsonl").symlink_to(data)
    os.link(data, tmp_path / "hard.jsonl")
    (tmp_path / "copy.jsonl").write_bytes(body)  # the same bytes, another file: not the input
    assert same_file(tmp_path / "sym.jsonl", data) and same_file(tmp_path / "hard.jsonl", data)
    assert same_file(tmp_path / "sub" / ".." / "data.jsonl", data)
    assert not same_file(tmp_path / "copy.jsonl", data) and not same_file(tmp_path / "new.json", data)
    with pytest.raises(WritesOverInput, match="is the input"):
        refuse_overlap({"--report-json": tmp_path / "hard.jsonl"}, [data])
    with pytest.raises(WritesOverInput, match="holds the input"):
        refuse_overlap({"out": tmp_path}, [data], folders=["out"])
    with pytest.raises(WritesOverInput, match="are one file"):
        refuse_overlap({"-o": tmp_path / "a.jsonl", "--report-json": tmp_path / "a.jsonl"}, [data])
    refuse_overlap({"--report-json": tmp_path / "copy.jsonl", "out": tmp_path / "o"}, [data], folders=["out"])


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "ledger", "output-and-report"])
def test_check_refuses_to_write_over_its_input(warm_cache: Path, tmp_path: Path, how: str) -> None:
    data, body = _dataset(tmp_path)
    target = data
    if how == "symlink":
        target = tmp_path / "report.json"
        target.symlink_to(data)
    elif how == "hardlink":
        target = tmp_path / "report.json"
        os.link(data, target)
    args = ["check", str(data), "--ledger", str(tmp_path / "l.db")]
    if how == "ledger":
        args = ["check", str(data), "--ledger", str(data)]
    elif how == "output-and-report":
        args += ["-o", str(tmp_path / "out.jsonl"), "--report-json", str(tmp_path / "out.jsonl")]
    else:
        args += ["--report-json", str(target)]
    done = rustgate(*args)
    assert done.returncode == 2, done.stderr
    assert "nothing was written" in done.stderr or "are one file" in done.stderr, done.stderr
    assert data.read_bytes() == body
    assert not (tmp_path / "out.jsonl").exists()


def test_check_writes_a_report_beside_its_input(warm_cache: Path, tmp_path: Path) -> None:
    data, body = _dataset(tmp_path)
    (tmp_path / "copy.jsonl").write_bytes(body)
    report = str(tmp_path / "copy.jsonl")
    done = rustgate("check", str(data), "--ledger", str(tmp_path / "l.db"), "--report-json", report)
    assert done.returncode == 0, done.stderr
    assert data.read_bytes() == body
    assert json.loads((tmp_path / "copy.jsonl").read_text())["summary"]["records"] == 2


def test_validate_refuses_a_ledger_that_is_a_dataset(tmp_path: Path) -> None:
    data, body = _dataset(tmp_path)
    os.link(data, tmp_path / "ledger.sqlite3")
    done = rustgate("validate", str(data), "--ledger", str(tmp_path / "ledger.sqlite3"))
    assert done.returncode != 0 and "is the input" in done.stderr, done.stderr
    assert data.read_bytes() == body


def test_import_refuses_its_source_as_output_and_writes_elsewhere(tmp_path: Path) -> None:
    source = tmp_path / "alpaca.jsonl"
    source.write_text(json.dumps({"instruction": "Write main", "output": "```rust\nfn main() {}\n```"}) + "\n")
    body = source.read_bytes()
    os.link(source, tmp_path / "out.jsonl")
    done = rustgate("import", str(source), str(tmp_path / "out.jsonl"))
    assert done.returncode != 0 and "is the input" in done.stderr, done.stderr
    assert source.read_bytes() == body == (tmp_path / "out.jsonl").read_bytes()
    done = rustgate("import", str(source), str(tmp_path / "converted.jsonl"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "converted.jsonl").read_text())["meta"]["source"] == "alpaca"


def test_report_never_replaces_an_input_or_a_users_page(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    write_records(tmp_path / "rep" / "gated.jsonl", [gated("r-1", distinct_code(1)), gated("r-2", distinct_code(2))])
    done = rustgate("report", str(tmp_path / "rep" / "gated.jsonl"), "-o", str(tmp_path / "rep"))
    assert done.returncode == 2 and "holds the input" in done.stderr, done.stderr
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["gated.jsonl"]
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "index.html").write_text("my page")
    done = rustgate("report", str(tmp_path / "rep" / "gated.jsonl"), "-o", str(mine))
    assert done.returncode == 2 and "not an earlier rustgate report" in done.stderr
    assert (mine / "index.html").read_text() == "my page"
    for _ in range(2):  # a fresh folder, then the same folder again (an earlier report: regenerated)
        done = rustgate("report", str(tmp_path / "rep" / "gated.jsonl"), "-o", str(tmp_path / "out"))
        assert done.returncode == 0, done.stderr
    assert "rustgate report" in (tmp_path / "out" / "index.html").read_text()


def test_build_refuses_a_ledger_linked_to_an_input(tmp_path: Path) -> None:
    write_records(tmp_path / "gated.jsonl", [gated(f"b-{i}", distinct_code(8000 + i)) for i in range(4)])
    body = (tmp_path / "gated.jsonl").read_bytes()
    (tmp_path / "ledger.db").symlink_to(tmp_path / "gated.jsonl")
    config = tmp_path / "build.toml"
    config.write_text(
        '[build]\ninputs = ["gated.jsonl"]\noutput = "out"\nrequired_gates = ["compile"]\n'
        'gate_missing = ["compile"]\nledger = "ledger.db"\n[build.split]\ntest = 0.5\n'
    )
    done = rustgate("build", str(config))
    assert done.returncode != 0 and "is the input" in done.stderr, done.stderr
    assert (tmp_path / "gated.jsonl").read_bytes() == body and not (tmp_path / "out").exists()
    (tmp_path / "ledger.db").unlink()
    assert rustgate("build", str(config)).returncode == 0


def test_eval_refuses_an_output_folder_holding_its_suite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    suite = out / "suite.jsonl"
    suite.write_text('{"id": "s1", "crate": "axum", "prompt": "Write a handler"}\n')
    doc = {"models": [{"model": "vllm:x", "base_url": "http://127.0.0.1:9/v1"}], "suite": str(suite),
           "output": str(out), "ledger": str(tmp_path / "l.db"),
           "judge": {"model": "vllm:j", "base_url": "http://127.0.0.1:9/v1"}}  # fmt: skip
    with pytest.raises(EvalConfigError, match="holds the input"):
        evaluate(EvalConfig.model_validate(doc), progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["suite.jsonl"]


def test_pipeline_refuses_an_output_that_is_its_input(tmp_path: Path) -> None:
    data, body = _dataset(tmp_path)
    shutil.copy(data, tmp_path / "other.jsonl")
    config = tmp_path / "p.toml"
    for output, refused in (("data.jsonl", True), ("other.jsonl", False)):
        config.write_text(
            f'input = "data.jsonl"\noutput = "{output}"\nledger = "l.db"\norder = ["compile"]\n[compile]\n'
        )
        if refused:
            with pytest.raises(WritesOverInput):
                pipeline_from_toml(config)
        else:
            pipeline_from_toml(config).ledger.close()
    assert data.read_bytes() == body
