"""``rustgate report``: an HTML page with PNG charts and a markdown summary with the real numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import bad_code, distinct_code, gated, write_records, write_rows

from rustgate.cli.main import main
from rustgate.records import Diagnostic


def records() -> list:
    scores = {"correctness": 8.0, "idiomatic": 6.0}
    out = [gated(f"axum-{i}", distinct_code(i), crate="axum", judge_scores=scores) for i in range(3)]
    out.append(gated("leptos-0", distinct_code(9), crate="leptos", judge_scores={"correctness": 4.0, "idiomatic": 5.0}))
    failing = gated("leptos-1", bad_code(1), crate="leptos", compile_verdict="fail")
    result = failing.gates["compile"].model_copy(
        update={"diagnostics": [Diagnostic(level="error", code="E0308", message="mismatched types", line=2)]}
    )
    out.append(failing.with_gate(result))
    return out


def test_report_writes_html_charts_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    source = write_records(tmp_path / "gated.jsonl", records())
    out = tmp_path / "report"
    assert main(["report", str(source), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "**compile** pass rate: axum 100% (3/3), leptos 50% (1/2), all 80% (4/5)" in printed
    assert "**judge** pass rate: axum 100% (3/3), leptos 0% (0/1), all 75% (3/4)" in printed
    assert "| E0308 | 1 | Expected type did not match the received type. |" in printed
    assert "funnel: inputs 5 -> compile pass 4 -> judge pass 3" in printed
    # 4 judged records x $0.002; accepted = passed compile and judge = the 3 axum records
    assert "cost: $0.0080 total, 3 accepted, $0.0027 per accepted sample" in printed
    page = (out / "index.html").read_text()
    for chart in ("funnel.png", "pass_rates.png", "judge_scores.png", "error_codes.png"):
        assert f'src="{chart}"' in page
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "summary.md").read_text().startswith("## rustgate report: 5 records")


def test_markdown_only_needs_no_matplotlib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_records(tmp_path / "gated.jsonl", records())
    assert main(["report", str(source), "--markdown-only", "-o", str(tmp_path / "none")]) == 0
    assert "| correctness | 4 | 7.00 | 4 | 8 |" in capsys.readouterr().out
    assert not (tmp_path / "none").exists()


def test_a_built_dataset_reports_its_funnel_not_all_hundreds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_records(tmp_path / "gated.jsonl", records())
    (tmp_path / "build.toml").write_text(
        '[build]\ninputs = ["gated.jsonl"]\noutput = "ds"\nrequired_gates = ["compile", "judge"]\n'
        "[build.split]\ntest = 1\n"
    )
    assert source.exists() and main(["build", str(tmp_path / "build.toml")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "ds"), "--markdown-only"]) == 0
    printed = capsys.readouterr().out
    assert "funnel: inputs 5 -> compile pass 4 -> judge pass 3 -> deduped and decontaminated" in printed
    assert printed.rstrip().endswith("per accepted sample") and "kept 3" in printed


def test_bad_rows_and_repeated_ids_are_named_and_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [r.to_row(with_gates=True) for r in records()]
    source = write_rows(tmp_path / "gated.jsonl", [*rows[:2], "{not json", rows[0], *rows[2:]])
    assert main(["report", str(source), "--markdown-only"]) == 0
    captured = capsys.readouterr()
    assert f"{source}:3: <no id>: invalid JSON" in captured.err
    assert f"{source}:4: axum-0: duplicate id (first seen on line 1)" in captured.err
    assert "## rustgate report: 5 records" in captured.out
    assert "**compile** pass rate: axum 100% (3/3), leptos 50% (1/2), all 80% (4/5)" in captured.out
