"""Eval metrics and inputs: pass@k, bootstrap intervals, paired differences, the invented-API rule
on real rustc diagnostics, suite loading, and the rendered leaderboard."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import CODE, answer_text

from rustgate.eval.leaderboard import Leaderboard, model_result, rank
from rustgate.eval.metrics import (
    OVERALL,
    Scored,
    bootstrap,
    column_estimates,
    judge_value,
    paired_difference,
    pass_at_k,
    pass_value,
)
from rustgate.eval.render import to_html, to_markdown
from rustgate.eval.suite import SuiteError, load_suite
from rustgate.eval.suites import SHIPPED_SUITES
from rustgate.records import Record


def test_pass_at_k_matches_counting_every_subset() -> None:
    for n in range(1, 7):
        for c in range(n + 1):
            outcomes = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(outcomes, k))
                brute = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(brute)
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def slow_bootstrap(strata: list[list[float]], resamples: int, seed: int) -> tuple[float, float]:
    """An independent stratified percentile bootstrap in plain Python."""
    rng = random.Random(seed)
    n = sum(len(s) for s in strata)
    means = sorted(sum(sum(rng.choices(s, k=len(s))) for s in strata) / n for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def test_bootstrap_interval_matches_an_independent_computation() -> None:
    values = [3.0, 5.5, 6.0, 7.0, 8.5, 9.0, 4.0, 6.5]
    est = bootstrap([np.asarray(values)], resamples=20000, seed=1)
    low, high = slow_bootstrap([values], 20000, seed=7)
    assert est.mean == pytest.approx(sum(values) / len(values)) and est.n == 8
    assert est.low == pytest.approx(low, abs=0.12) and est.high == pytest.approx(high, abs=0.12)
    # The normal approximation agrees roughly too: mean +- 1.96 * sd / sqrt(n).
    half = 1.96 * float(np.std(values)) / len(values) ** 0.5
    assert est.low == pytest.approx(est.mean - half, abs=0.3) and est.high == pytest.approx(est.mean + half, abs=0.3)


def test_overall_interval_resamples_within_each_crate() -> None:
    # Constant within each crate: a stratified resample always gives the same overall mean.
    est = bootstrap([np.asarray([2.0] * 5), np.asarray([8.0] * 5)], resamples=500, seed=0)
    assert est.mean == est.low == est.high == pytest.approx(5.0)


def scored(prompt: str, crate: str, score: float | None, compiled: bool | None = True, sample: int = 0) -> Scored:
    return Scored(prompt, crate, sample, score, compiled, False if compiled is not None else None)


def test_columns_and_paired_difference_by_hand() -> None:
    a = [scored("p1", "axum", 8), scored("p2", "axum", 6), scored("p3", "rig", 4, False), scored("p4", "rig", None)]
    b = [scored("p1", "axum", 7), scored("p2", "axum", 5), scored("p3", "rig", 3), scored("p4", "rig", 9)]
    cols = column_estimates(a, judge_value, ["axum", "rig"], resamples=200, seed=0)
    assert cols["axum"].mean == pytest.approx(7.0) and cols["axum"].n == 2
    assert cols["rig"].mean == pytest.approx(4.0) and cols["rig"].n == 1  # p4 has no score: left out
    assert cols[OVERALL].mean == pytest.approx(6.0) and cols[OVERALL].n == 3
    passed = column_estimates(a, pass_value(1), ["axum", "rig"], resamples=200, seed=0)
    assert passed["rig"].mean == pytest.approx(0.5) and passed[OVERALL].mean == pytest.approx(0.75)
    diff = paired_difference(a, b, judge_value, resamples=300, seed=0)
    # Shared prompts with a value on both sides: p1, p2, p3, each a - b = 1.
    assert diff.mean == diff.low == diff.high == pytest.approx(1.0) and diff.n == 3


def test_invented_api_rule_on_real_compiler_errors(warm_cache: Path) -> None:
    from rustgate.eval.invented import invented_diagnostics
    from rustgate.gates.compile import CompileGate

    extra = {
        "unresolved-import": (
            "axum",
            "use axum::extract::Pathh;\nfn main() {}",
            True,
        ),
        "own-module": (
            "rust",
            "mod api {}\nuse crate::api::Handler;\nfn main() {}",
            False,
        ),
    }
    cases = {f"{kind}-{crate}": (crate, code, kind == "invented") for (kind, crate), code in CODE.items()}
    cases.update(extra)
    records = [
        Record.model_validate(
            {"id": cid, "crate": crate, "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": f"Code:\n\n```rust\n{code}\n```\n"},
            ]}
        )  # fmt: skip
        for cid, (crate, code, _) in cases.items()
    ]
    results = CompileGate().check(records)
    for record, result in zip(records, results, strict=True):
        expected = cases[record.id][2]
        found = invented_diagnostics(result, record.answer)
        assert bool(found) == expected, (record.id, result.verdict, [d.short() for d in result.diagnostics])
        if expected:
            assert all(d.code in {"E0599", "E0433", "E0432"} for d in found)
    no_code = answer_text("m", "none", "axum", 3)
    assert invented_diagnostics(None, no_code) == []


def test_shipped_suites_have_the_promised_shape() -> None:
    small, large = (load_suite(name) for name in SHIPPED_SUITES)
    for suite, least in ((small, 5), (large, 20)):
        assert not suite.errors
        counts = {crate: sum(p.crate == crate for p in suite.prompts) for crate in ("axum", "leptos", "rig")}
        assert all(count >= least for count in counts.values()), counts
    assert {(p.id, p.prompt) for p in small.prompts} <= {(p.id, p.prompt) for p in large.prompts}
    assert len({p.prompt for p in large.prompts}) == len(large.prompts)


def test_a_user_suite_reports_bad_lines_and_keeps_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [
        json.dumps({"id": "a1", "crate": "axum", "prompt": "Serve a file."}),
        "{not json",
        json.dumps({"id": "b1", "crate": "Not A Crate!", "prompt": "x"}),
        json.dumps({"id": "a1", "crate": "axum", "prompt": "again"}),
        json.dumps({"id": "r1", "crate": "rig", "prompt": "Make an agent."}),
    ]
    path.write_text("\n".join(rows) + "\n")
    suite = load_suite(path)
    assert [p.id for p in suite.prompts] == ["a1", "r1"] and suite.crates == ["axum", "rig"]
    problems = [str(e) for e in suite.errors]
    assert problems[0].startswith(f"{path}:2: <no id>: invalid JSON")
    assert problems[1].startswith(f"{path}:3: b1: crate:")
    assert problems[2] == f"{path}:4: a1: duplicate id (first seen on line 1)"
    with pytest.raises(SuiteError, match="shipped suites"):
        load_suite(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(SuiteError, match="no usable prompt"):
        load_suite(tmp_path / "empty.jsonl")


def test_rendered_leaderboard_has_the_benchmark_columns() -> None:
    crates = ["axum", "leptos", "rig"]
    answers = [scored(f"{c}{i}", c, 5.0 + i, i % 2 == 0) for c in crates for i in range(3)]
    result = model_result(
        "m<1>", answers, crates, samples=1, dimensions={"correctness": [6.0]}, invented_names=[],
        errors=0, settings={"kind": "api", "model": "vllm:m", "sampling": {"temperature": 0}}, resamples=200, seed=0,
    )  # fmt: skip
    board = Leaderboard(
        created_at="2026-01-01T00:00:00Z",
        suite={"name": "s", "hash": "h", "prompts": 9, "per_crate": {c: 3 for c in crates}, "source": "s.jsonl"},
        crates=crates, samples=1, pass_k=[1], judge={"model": "j", "samples": 1},
        compile={"toolchain": "rustc x"}, bootstrap={"resamples": 200, "seed": 0}, models=rank([result]),
    )  # fmt: skip
    markdown = to_markdown(board)
    header = "| Rank | Model | Leptos | Axum | Rig | Overall | Compile pass@1 | Invented API |"
    assert header in markdown
    assert "| 1 | m<1> | 6.00 | 6.00 | 6.00 | 6.00 | 66.7% | 0.0% |" in markdown
    page = to_html(board)
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3
    assert "m&lt;1&gt;" in page and "<script" not in page and "src=" not in page and "href=" not in page


def test_config_is_checked_before_any_work(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from rustgate.eval.config import EvalConfig, EvalConfigError

    judge = {"model": "openai:j"}
    with pytest.raises(ValidationError, match="either model"):
        EvalConfig.model_validate({"models": [{"model": "openai:m", "path": "x"}], "judge": judge})
    with pytest.raises(ValidationError, match="adapter needs a local path"):
        EvalConfig.model_validate({"models": [{"model": "vllm:m", "base_url": "u", "adapter": "a"}], "judge": judge})
    with pytest.raises(ValidationError, match="share the label"):
        EvalConfig.model_validate({"models": [{"model": "openai:m"}, {"model": "openai:m"}], "judge": judge})
    with pytest.raises(ValidationError, match="compare names 'ghost'"):
        EvalConfig.model_validate(
            {"models": [{"model": "openai:m"}], "judge": judge, "compare": [["ghost", "openai:m"]]}
        )
    bad = tmp_path / "eval.toml"
    bad.write_text('suite = "rustweb-15"\nsurprise = 1\n[judge]\nmodel = "openai:j"\n[[models]]\nmodel = "openai:m"\n')
    with pytest.raises(EvalConfigError, match="surprise"):
        EvalConfig.from_toml(bad)
    shipped = EvalConfig.from_toml(Path(__file__).parent.parent / "examples/eval.toml")
    assert [m.label for m in shipped.models] == ["base", "tuned", "anthropic:claude-sonnet-4-5"]
    assert shipped.comparisons() == [("tuned", "base")] and shipped.output.is_absolute()
    local = EvalConfig.model_validate(
        {"models": [{"path": "m"}, {"path": "m", "adapter": "runs/a"}], "judge": judge}
    )
    assert [m.label for m in local.models] == ["m", "m+a"] and local.comparisons() == [("m+a", "m")]
