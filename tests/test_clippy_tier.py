"""The clippy tier (issue 21, item 1): clippy-driver replayed on the warm metadata, lints counted,
chosen lints failing an answer, and never a silent pass when clippy cannot run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rustgate.cargo.clippy import CLIPPY, clippy_driver
from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.isolation import choose_isolation
from rustgate.cargo.templates import load_profiles
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.gates.compile import CompileGate, CompileSettings
from rustgate.records import Record

pytestmark = pytest.mark.cargo

LINTY = "pub fn count(v: &Vec<i32>) -> usize {\n    let n = v.len();\n    return n;\n}\n"
CLEAN = "pub fn count(v: &[i32]) -> usize {\n    v.len()\n}\n"
BROKEN = "pub fn count(v: &[i32]) -> usize {\n    v.len() as u8\n}\n"


def _record(name: str, code: str) -> Record:
    answer = f"Count them:\n\n```rust\n{code}```\n"
    return Record.model_validate(
        {
            "id": name,
            "crate": "rust",
            "messages": [{"role": "user", "content": "Count."}, {"role": "assistant", "content": answer}],
        }
    )


def test_lints_are_counted_by_name_and_level_and_are_a_score_by_default(warm_cache: Path) -> None:
    linty, clean = CompileGate(tiers=("compile", "clippy")).check([_record("linty", LINTY), _record("clean", CLEAN)])
    assert linty.verdict == clean.verdict == "pass"
    lints = linty.details["tiers"]["clippy"]["lints"]
    assert lints == {"clippy::needless_return": {"warning": 1}, "clippy::ptr_arg": {"warning": 1}}
    assert linty.details["tiers"]["compile"]["verdict"] == "pass"
    assert {"clippy::needless_return", "clippy::ptr_arg"} <= {d.code for d in linty.diagnostics}
    assert clean.details["tiers"]["clippy"] == {**clean.details["tiers"]["clippy"], "verdict": "pass", "lints": {}}


def test_a_denied_lint_fails_the_answer_and_names_where(warm_cache: Path) -> None:
    gate = CompileGate(tiers=("compile", "clippy"), clippy_deny=("needless_return",))
    linty, clean = gate.check([_record("linty", LINTY), _record("clean", CLEAN)])
    assert linty.verdict == "fail", linty.reason
    assert linty.reason is not None and "clippy::needless_return" in linty.reason and "src/lib.rs:3:5" in linty.reason
    assert linty.diagnostics[0].code == CLIPPY and linty.diagnostics[0].file == "src/lib.rs"
    assert linty.details["tiers"]["clippy"]["denied"] == ["clippy::needless_return"]
    assert clean.verdict == "pass"  # the twin without the lint
    (every,) = CompileGate(tiers=("compile", "clippy"), clippy_deny=("warnings",)).check([_record("linty", LINTY)])
    assert every.verdict == "fail" and set(every.details["tiers"]["clippy"]["denied"]) == {
        "clippy::needless_return",
        "clippy::ptr_arg",
    }


def test_compile_alone_is_unchanged_and_a_failure_is_not_linted(warm_cache: Path) -> None:
    (plain,) = CompileGate().check([_record("linty", LINTY)])
    assert plain.verdict == "pass" and "tiers" not in plain.details
    assert not any((d.code or "").startswith("clippy::") for d in plain.diagnostics)
    (broken,) = CompileGate(tiers=("compile", "clippy"), clippy_deny=("warnings",)).check([_record("b", BROKEN)])
    assert broken.verdict == "fail" and "E0308" in {d.code for d in broken.diagnostics}
    assert "tiers" not in broken.details


def test_the_tiers_are_part_of_the_verdict_key() -> None:
    profiles = load_profiles()
    source = extract_crate(_record("linty", LINTY), profiles)
    assert isinstance(source, CrateSource)
    toolchain = detect_toolchain()
    isolation = choose_isolation("none", toolchain)
    keys = {
        gate.cache_key(source, profiles["rust"], toolchain, isolation)
        for gate in (
            CompileGate(),
            CompileGate(tiers=("compile", "clippy")),
            CompileGate(tiers=("compile", "clippy"), clippy_deny=("warnings",)),
        )
    }
    assert len(keys) == 3
    assert "tiers" not in CompileGate().identity()  # compile alone keeps the keys it always had
    assert CompileGate(tiers=("clippy",)).tiers == ("compile", "clippy")


def test_tier_settings_in_a_pipeline_table_and_their_errors() -> None:
    settings = CompileSettings.model_validate({"tiers": ["compile", "clippy"], "clippy_deny": ["ptr_arg"]})
    assert settings.tiers == ["compile", "clippy"] and settings.clippy_deny == ["ptr_arg"]
    with pytest.raises(ValueError, match="needs the clippy tier"):
        CompileSettings.model_validate({"clippy_deny": ["ptr_arg"]})
    assert CompileSettings.model_validate({"tiers": ["run", "compile"]}).tiers == ["compile", "run"]  # TIERS order
    with pytest.raises(ValueError, match="unknown tier"):
        CompileSettings.model_validate({"tiers": ["lint"]})


def test_the_command_line_chooses_tiers(tmp_path: Path, warm_cache: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(_record("linty", LINTY).model_dump_json() + "\n", encoding="utf-8")
    report = tmp_path / "report.json"
    base = [sys.executable, "-m", "rustgate", "check", str(rows), "--no-cache"]
    denied = subprocess.run(
        [*base, "--tiers", "compile,clippy", "--clippy-deny", "ptr_arg", "--report-json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert denied.returncode == 1, denied.stderr[-2000:]
    assert "RG-CLIPPY" in denied.stdout and "clippy lints: clippy::needless_return x1" in denied.stdout
    assert '"clippy_lints"' in report.read_text() and '"denied"' in report.read_text()
    misuse = subprocess.run([*base, "--clippy-deny", "ptr_arg"], capture_output=True, text=True, timeout=300)
    assert misuse.returncode == 2 and "needs the clippy tier" in misuse.stderr


def test_clippy_missing_is_an_error_never_a_pass(monkeypatch: pytest.MonkeyPatch, warm_cache: Path) -> None:
    assert clippy_driver(detect_toolchain()) is not None  # this machine has it: the real path above ran
    import rustgate.executors.node as node

    monkeypatch.setattr(node, "clippy_driver", lambda toolchain: None)  # a toolchain without the component
    (result,) = CompileGate(tiers=("compile", "clippy"), use_cache=False).check([_record("clean", CLEAN)])
    assert result.verdict == "error" and "rustup component add clippy" in (result.reason or "")


def test_clippy_is_a_registered_stage_of_its_own(tmp_path: Path, warm_cache: Path) -> None:
    from rustgate.gates.base import StageContext
    from rustgate.gates.clippy import ClippyGate
    from rustgate.gates.registry import GATES
    from rustgate.pipeline_config import PipelineConfig

    config = PipelineConfig.model_validate(
        {
            "input": str(tmp_path / "in.jsonl"),
            "output": str(tmp_path / "out.jsonl"),
            "order": ["clippy"],
            "clippy": {"clippy_deny": ["needless_return"]},
        }
    )
    gate = config.gate_settings("clippy").build(StageContext(None))
    assert isinstance(gate, ClippyGate) and "clippy" in GATES
    assert gate.name == "clippy" and gate.tiers == ("compile", "clippy") and gate.clippy_deny == ("needless_return",)
    linty, clean = gate.check([_record("linty", LINTY), _record("clean", CLEAN)])
    assert (linty.gate, linty.verdict, clean.verdict) == ("clippy", "fail", "pass")


def test_reports_and_the_card_count_lints(warm_cache: Path) -> None:
    from rustgate.data.card import _gate_tables
    from rustgate.data.report import ReportStats, summary_markdown
    from rustgate.stats import Tally

    gated = [r.with_gate(g) for r, g in zip(
        [_record("linty", LINTY), _record("clean", CLEAN)],
        CompileGate(tiers=("compile", "clippy")).check([_record("linty", LINTY), _record("clean", CLEAN)]),
        strict=True,
    )]  # fmt: skip
    tally = Tally("compile")
    for record in gated:
        tally.add(record)
    assert tally.top_lints() == [("clippy::needless_return", 1), ("clippy::ptr_arg", 1)]
    assert "clippy::ptr_arg | 1" in _gate_tables({"compile": tally}, ["compile"])
    stats = ReportStats()
    for record in gated:
        stats.add(record)
    assert "| clippy::needless_return | 1 |" in summary_markdown(stats, None)


def _build(root: Path, budget: str, *, trust: bool = False) -> tuple[int, list[str], str]:
    import json

    from data_fixtures import row, write_rows

    from rustgate.cli.main import main

    rows = [row(f"linty-{i}", LINTY.replace("count", f"count_{i}")) for i in range(2)]
    rows += [row(f"clean-{i}", CLEAN.replace("count", f"count_{i}")) for i in range(4)]
    write_rows(root / "rows.jsonl", rows)
    (root / "build.toml").write_text(
        f"[build]\ntrust_row_verdicts = {'true' if trust else 'false'}\n"
        f'inputs = ["rows.jsonl"]\noutput = "out"\nseed = 1\ngate_missing = ["compile"]\n'
        f'ledger = "{root / "ledger.sqlite3"}"\n{budget}[build.split]\ntest = 0.25\n'
    )
    code = main(["build", str(root / "build.toml")])
    out = root / "out"
    kept = [
        json.loads(x)["id"]
        for f in ("train", "test")
        if (out / f"{f}.jsonl").is_file()
        for x in (out / f"{f}.jsonl").open()
    ]
    return code, sorted(kept), (out / "README.md").read_text() if (out / "README.md").is_file() else ""


def test_build_keeps_only_answers_under_a_lint_budget(tmp_path: Path, warm_cache: Path) -> None:
    import json

    tiers = 'compile_tiers = ["compile", "clippy"]\n'
    code, kept, card = _build(tmp_path / "zero", tiers + "max_clippy_lints = 0\n")
    assert code == 0 and kept == [f"clean-{i}" for i in range(4)]
    manifest = json.loads((tmp_path / "zero" / "out" / "manifest.json").read_text())
    assert manifest["config"]["compile_tiers"] == ["compile", "clippy"] and manifest["config"]["max_clippy_lints"] == 0
    assert "clippy::needless_return" in card  # the lint table of the card
    assert "linty-0: required gates: over the clippy lint budget: 2 lints > max_clippy_lints=0" in card
    # The twin: a budget the linty answers fit keeps them.
    code, kept, _ = _build(tmp_path / "two", tiers + "max_clippy_lints = 2\n")
    assert code == 0 and len(kept) == 6
    # A budget without the clippy tier is a config error, never an unmeasured pass.
    code, kept, _ = _build(tmp_path / "none", "max_clippy_lints = 0\n")
    assert code != 0 and kept == []


def test_a_trusted_compile_only_verdict_is_not_let_through_a_lint_budget(
    tmp_path: Path, warm_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows gated without the clippy tier, taken on trust: the budget cannot be measured, so the
    rows are refused, never kept unmeasured."""
    from data_fixtures import gated, write_records

    from rustgate.cli.main import main

    write_records(tmp_path / "rows.jsonl", [gated(f"r-{i}", CLEAN.replace("count", f"count_{i}")) for i in range(4)])
    (tmp_path / "build.toml").write_text(
        '[build]\ntrust_row_verdicts = true\ninputs = ["rows.jsonl"]\noutput = "out"\nseed = 1\n'
        'compile_tiers = ["compile", "clippy"]\nmax_clippy_lints = 5\n[build.split]\ntest = 0.25\n'
    )
    assert main(["build", str(tmp_path / "build.toml")]) != 0
    err = capsys.readouterr().err
    assert (
        "every record was dropped" in err and "r-0: gates: required gates: no clippy tier in its compile verdict" in err
    )
    assert not (tmp_path / "out" / "train.jsonl").exists()
