"""Nothing lost, nothing laundered: build never deletes what it did not write, and a verdict stays
with the exact content it judged (real files, real cargo for the re-gating path)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from data_fixtures import bad_code, distinct_code, gated, row, write_records, write_rows

from rustgate.cli.main import main
from rustgate.data.manifest import verify_dataset
from rustgate.records import Record


def config(root: Path, *, output: str = "out", inputs: str = '["gated.jsonl"]', extra: str = "") -> Path:
    path = root / "build.toml"
    path.write_text(
        "[build]\ntrust_row_verdicts = true\n"  # verdicts are checked in test_forged_verdicts.py
        f'inputs = {inputs}\noutput = "{output}"\nseed = 1\n{extra}[build.split]\ntest = 0.25\n'
    )
    return path


def gated_inputs(root: Path, n: int = 8) -> Path:
    return write_records(root / "gated.jsonl", [gated(f"r-{i}", distinct_code(i)) for i in range(n)])


def test_build_refuses_an_output_folder_holding_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "out"
    data.mkdir()
    before = gated_inputs(data).read_bytes()
    cfg = config(tmp_path, inputs='["out/gated.jsonl"]')
    assert main(["build", str(cfg)]) != 0
    assert "holds an input" in capsys.readouterr().err
    assert (data / "gated.jsonl").read_bytes() == before  # main deleted it
    assert main(["build", str(cfg), "--force"]) == 0  # force writes beside the input, never over it
    assert (data / "gated.jsonl").read_bytes() == before and (data / "manifest.json").is_file()
    (data / "gated.jsonl").rename(data / "train.jsonl")
    cfg = config(tmp_path, inputs='["out/train.jsonl"]')
    assert main(["build", str(cfg), "--force"]) != 0
    assert "overwrite an input" in capsys.readouterr().err
    assert (data / "train.jsonl").read_bytes() == before


def test_build_into_a_git_repository_root_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    gated_inputs(repo)
    cfg = config(repo, output=".")
    assert main(["build", str(cfg)]) != 0  # main deleted .git, the data and the config
    assert "nothing was written" in capsys.readouterr().err.lower()
    other = tmp_path / "elsewhere"
    (other / ".git").mkdir(parents=True)
    cfg2 = config(repo, output=str(other))
    assert main(["build", str(cfg2)]) != 0
    assert "not an earlier rustgate dataset" in capsys.readouterr().err
    assert (other / ".git").is_dir()
    assert (repo / ".git").is_dir() and (repo / "gated.jsonl").is_file() and cfg.is_file()


def test_rebuild_keeps_a_users_file_unless_forced_and_then_still_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gated_inputs(tmp_path)
    cfg = config(tmp_path)
    assert main(["build", str(cfg)]) == 0
    assert main(["build", str(cfg)]) == 0  # an earlier dataset, nothing else in it: replaced
    notes = tmp_path / "out" / "NOTES.md"
    notes.write_text("my notes")
    capsys.readouterr()
    assert main(["build", str(cfg)]) != 0  # main silently dropped NOTES.md
    assert "NOTES.md" in capsys.readouterr().err and notes.read_text() == "my notes"
    assert main(["build", str(cfg), "--force"]) == 0
    assert notes.read_text() == "my notes" and verify_dataset(tmp_path / "out") == []


def test_build_of_nothing_fails_with_the_reason_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_records(tmp_path / "gated.jsonl", [gated(f"f-{i}", bad_code(i), compile_verdict="fail") for i in range(3)])
    assert main(["build", str(config(tmp_path))]) != 0  # main exited 0 with an empty dataset
    err = capsys.readouterr().err
    assert "every record was dropped" in err and "compile=fail" in err
    assert not (tmp_path / "out").exists()


def test_outputs_are_readable_like_any_file(tmp_path: Path) -> None:
    gated_inputs(tmp_path)
    old = os.umask(0o022)
    try:
        assert main(["build", str(config(tmp_path))]) == 0
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o755  # main: 0700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}  # main: 0600


def test_a_verdict_does_not_follow_an_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Edit a gated answer after gating: build drops it, verify names it (main accepted it)."""
    records = [gated(f"r-{i}", distinct_code(i)) for i in range(6)]
    edited = records[0].to_row(with_gates=True)
    edited["messages"][1]["content"] = '```rust\npub fn broken() -> u32 { "no" }\n```'
    write_rows(tmp_path / "gated.jsonl", [edited, *(r.to_row(with_gates=True) for r in records[1:])])
    assert main(["build", str(config(tmp_path))]) == 0
    kept = [json.loads(x)["id"] for f in ("train", "test") for x in (tmp_path / "out" / f"{f}.jsonl").open()]
    assert "r-0" not in kept and len(kept) == 5
    assert "edited after gating" in (tmp_path / "out" / "README.md").read_text()


@pytest.mark.cargo
@pytest.mark.parametrize("batch", [2000, 1])
def test_build_regates_edited_records_through_the_ledger(
    tmp_path: Path, warm_cache: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """With gate_missing, an edited record is compiled again: a broken edit fails for real (in
    one batch, or one record per batch)."""
    from rustgate.data import assemble

    monkeypatch.setattr(assemble, "REGATE_BATCH", batch)
    good = [gated(f"r-{i}", distinct_code(i)) for i in range(5)]
    edited = good[0].to_row(with_gates=True)
    edited["messages"][1]["content"] = '```rust\npub fn broken() -> u32 { "no" }\n```'
    fresh = row("fresh", distinct_code(77))  # never gated at all
    write_rows(tmp_path / "gated.jsonl", [edited, fresh, *(r.to_row(with_gates=True) for r in good[1:])])
    extra = f'gate_missing = ["compile"]\nledger = "{tmp_path / "ledger.sqlite3"}"\n'
    assert main(["build", str(config(tmp_path, extra=extra))]) == 0
    rows = [json.loads(x) for f in ("train", "test") for x in (tmp_path / "out" / f"{f}.jsonl").open()]
    assert {r["id"] for r in rows} == {"fresh", "r-1", "r-2", "r-3", "r-4"}
    assert (
        "E0308" in (tmp_path / "out" / "README.md").read_text()
        or "compile=fail" in (tmp_path / "out" / "README.md").read_text()
    )
    for r in rows:
        record = Record.model_validate(r)
        assert record.passed(["compile"]) and record.gates["compile"].content_hash == record.content_hash()


def test_a_signed_manifest_catches_a_forgery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Edit a record and its manifest entry together: unsigned, verify cannot tell; signed, it can."""
    gated_inputs(tmp_path)
    monkeypatch.setenv("RUSTGATE_SIGNING_KEY", "k3y-on-the-gating-machine")
    assert main(["build", str(config(tmp_path))]) == 0
    out = tmp_path / "out"
    assert verify_dataset(out) == []
    lines = (out / "train.jsonl").read_text().splitlines()
    forged = Record.model_validate(json.loads(lines[0]))
    forged = forged.model_copy(update={"messages": [forged.messages[0], forged.messages[1].model_copy(
        update={"content": "```rust\npub fn f() -> u32 { \"forged\" }\n```"})]})  # fmt: skip
    forged = forged.model_copy(
        update={
            "gates": {k: v.model_copy(update={"content_hash": forged.content_hash()}) for k, v in forged.gates.items()}
        }
    )
    lines[0] = json.dumps(forged.to_row(with_gates=True))
    (out / "train.jsonl").write_text("\n".join(lines) + "\n")
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["records"]:
        if entry["id"] == forged.id:
            entry["content_hash"] = forged.content_hash()
    (out / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_dataset(out)
    assert [p.kind for p in problems] == ["signature"]
    monkeypatch.delenv("RUSTGATE_SIGNING_KEY")
    assert verify_dataset(out) == []  # the documented limit without a key


@pytest.mark.cargo
def test_check_writes_gated_records_that_build_takes(tmp_path: Path, warm_cache: Path) -> None:
    data = write_rows(tmp_path / "answers.jsonl", [row("ok", distinct_code(5)), row("bad", bad_code(1))])
    gated_path = tmp_path / "gated.jsonl"
    ledger = str(tmp_path / "ledger.sqlite3")
    assert main(["check", str(data), "-o", str(gated_path), "--ledger", ledger]) == 1
    assert main(["check", str(data), "-o", str(data), "--ledger", ledger]) == 2  # never over its input
    assert main(["build", str(config(tmp_path, extra="[build.dedupe]\nnear = false\n"))]) == 0
    kept = [json.loads(x)["id"] for f in ("train", "test") for x in (tmp_path / "out" / f"{f}.jsonl").open()]
    assert kept == ["ok"]
