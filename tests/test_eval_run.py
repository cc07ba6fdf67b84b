"""``rustgate eval`` end to end: two models on two local servers (the OpenAI-compatible and the
Anthropic wire formats, through the real SDKs), a judge on a third, real cargo on every answer, and
leaderboard numbers checked against values computed by hand from the plan in ``eval_helpers``."""

from __future__ import annotations

import json
import random
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eval_helpers import CODE, COMPILES, INVENTED, PLANS, PROMPTS, judge_responder, model_responder, write_suite

from rustgate.cli.main import main
from rustgate.eval import EvalConfig, evaluate
from rustgate.eval.metrics import OVERALL, pass_at_k
from rustgate.testing.llm_server import LLMServer

pytestmark = pytest.mark.usefixtures("warm_cache", "api_keys")
pytest_plugins = ["llm_fixtures"]
CRATES = ("axum", "leptos", "rig")


@pytest.fixture
def servers() -> Iterator[dict[str, LLMServer]]:
    with (
        LLMServer(responder=model_responder("model-a")) as a,
        LLMServer(responder=model_responder("model-b")) as b,
        LLMServer(responder=judge_responder()) as judge,
    ):
        yield {"model-a": a, "model-b": b, "judge": judge}


def config_doc(servers: dict[str, LLMServer], tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "models": [
            {"name": "model-a", "model": "vllm:test-a", "base_url": servers["model-a"].openai_url, "concurrency": 4},
            {"name": "model-b", "model": "anthropic:test-b", "base_url": servers["model-b"].url, "concurrency": 4},
        ],
        "judge": {"model": "openai:test-judge", "base_url": servers["judge"].openai_url, "samples": 2},
        "suite": str(write_suite(tmp_path / "suite.jsonl")),
        "samples": 2,
        "output": str(tmp_path / "out"),
        "ledger": str(tmp_path / "ledger.sqlite3"),
        "compare": [["model-a", "model-b"]],
        "bootstrap": 4000,
        **extra,
    }


def by_hand(model: str) -> dict[str, dict[str, list[float]]]:
    """Per column, each prompt's judge mean, pass@1, pass@2 and invented share, from the plan."""
    out: dict[str, dict[str, list[float]]] = {}
    for pid, variants in PLANS[model].items():
        crate = PROMPTS[pid][0]
        judge = statistics.fmean(q + 0.5 for _, q in variants)  # two judge samples: q and q + 1
        compiled = sum(COMPILES[kind] for kind, _ in variants)
        values = {
            "judge": judge,
            "pass1": compiled / 2,
            "pass2": pass_at_k(2, compiled, 2),
            "invented": statistics.fmean(INVENTED[kind] for kind, _ in variants),
        }
        for column in (crate, OVERALL):
            for metric, value in values.items():
                out.setdefault(column, {}).setdefault(metric, []).append(value)
    return out


def hand_interval(strata: list[list[float]], resamples: int = 20000, seed: int = 3) -> tuple[float, float]:
    rng = random.Random(seed)
    n = sum(len(s) for s in strata)
    means = sorted(sum(sum(rng.choices(s, k=len(s))) for s in strata) / n for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def strata_of(model: str, column: str, metric: str) -> list[list[float]]:
    hand = by_hand(model)
    crates = CRATES if column == OVERALL else (column,)
    return [hand[c][metric] for c in crates]


def test_leaderboard_numbers_match_a_hand_computation(servers: dict[str, LLMServer], tmp_path: Path) -> None:
    config = EvalConfig.model_validate(config_doc(servers, tmp_path))
    result = evaluate(config, progress=False)
    assert result.exit_code == 0, result.errors
    board = result.leaderboard
    assert result.answers == 2 * len(PROMPTS) * 2

    # Every answer carries its real compile verdict and the judge's scores.
    rows = [json.loads(line) for line in (tmp_path / "out/answers.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and len({r["id"] for r in rows}) == 24
    verdict_of = {"good": "pass", "invented": "fail", "typo": "fail", "own": "fail", "none": "rejected"}
    for row in rows:
        meta, answer = row["meta"]["eval"], row["messages"][-1]["content"]
        kind = next((k for (k, crate), code in CODE.items() if crate == row["crate"] and code in answer), "none")
        assert row["gates"]["compile"]["verdict"] == verdict_of[kind], row["id"]
        assert bool(meta["invented_api"]) == INVENTED[kind], row["id"]
        assert row["gates"]["judge"]["verdict"] in {"pass", "fail"}
        assert len(row["gates"]["judge"]["details"]["samples"]) == 2
        assert meta["score"] == pytest.approx(int(answer.split("Quality: ")[1].split()[0]) + 0.5)

    for model in ("model-a", "model-b"):
        got = board.model(model)
        hand = by_hand(model)
        for column in (*CRATES, OVERALL):
            assert got.judge[column].mean == pytest.approx(statistics.fmean(hand[column]["judge"]))
            assert got.pass_at["1"][column].mean == pytest.approx(statistics.fmean(hand[column]["pass1"]))
            assert got.pass_at["2"][column].mean == pytest.approx(statistics.fmean(hand[column]["pass2"]))
            assert got.invented_api[column].mean == pytest.approx(statistics.fmean(hand[column]["invented"]))
            for metric, est in (("judge", got.judge[column]), ("invented", got.invented_api[column])):
                values = [v for s in strata_of(model, column, metric) for v in s]
                spread = max(values) - min(values)
                low, high = hand_interval(strata_of(model, column, metric))
                assert est.low is not None and est.high is not None
                assert est.low == pytest.approx(low, abs=0.08 * spread + 1e-9), (model, column, metric)
                assert est.high == pytest.approx(high, abs=0.08 * spread + 1e-9), (model, column, metric)
                assert est.low <= est.mean <= est.high

    # Model A: judge 6.75 vs B 4.75 overall; ranked first.
    assert [m.label for m in board.models] == ["model-a", "model-b"] and board.models[0].rank == 1
    (comparison,) = board.comparisons
    a, b = by_hand("model-a"), by_hand("model-b")
    diffs = {c: [x - y for x, y in zip(a[c]["judge"], b[c]["judge"], strict=True)] for c in CRATES}
    assert comparison.judge[OVERALL].mean == pytest.approx(statistics.fmean(sum(diffs.values(), [])))
    low, high = hand_interval([diffs[c] for c in CRATES])
    assert comparison.judge[OVERALL].low == pytest.approx(low, abs=0.2)
    assert comparison.judge[OVERALL].high == pytest.approx(high, abs=0.2)
    assert board.model("model-a").settings["sampling"] == {"temperature": 0.0, "max_tokens": 2048}

    markdown = (tmp_path / "out/leaderboard.md").read_text()
    leptos, axum, rig = (statistics.fmean(a[c]["judge"]) for c in ("leptos", "axum", "rig"))
    overall = statistics.fmean(a[OVERALL]["judge"])
    pass1 = 100 * statistics.fmean(a[OVERALL]["pass1"])
    pass2 = 100 * statistics.fmean(a[OVERALL]["pass2"])
    invented = 100 * statistics.fmean(a[OVERALL]["invented"])
    row = f"| 1 | model-a | {leptos:.2f} | {axum:.2f} | {rig:.2f} | {overall:.2f} | {pass1:.1f}% | {pass2:.1f}% |"
    assert f"{row} {invented:.1f}% |" in markdown
    assert "<svg" in (tmp_path / "out/leaderboard.html").read_text()
    assert "from_env" in markdown  # the most frequent invented-API errors are listed

    # A rerun costs nothing: every generation, compile verdict and judgement comes from the ledger.
    asked = {name: s.request_count for name, s in servers.items()}
    again = evaluate(config, progress=False)
    assert {name: s.request_count for name, s in servers.items()} == asked
    assert again.leaderboard.model("model-a").judge == board.model("model-a").judge
    spent = again.leaderboard.accounting["by_gate"]
    assert all(u["calls"] == 0 for models in spent.values() for u in models.values())


def test_cli_runs_the_shipped_suite_and_refuses_foreign_outputs(
    llm_server: LLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "board"
    argv = [
        "eval", "--model", f"base=vllm:test-base@{llm_server.openai_url}",
        "--model", f"tuned=openai:test-tuned@{llm_server.openai_url}",
        "--judge", "anthropic:test-judge", "--judge-base-url", llm_server.url,
        "--compare", "tuned,base", "--output", str(out), "--ledger", str(tmp_path / "l.sqlite3"), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| Rank | Model | Leptos | Axum | Rig | Overall |" in printed and "30 answers" in printed
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["suite"]["name"] == "rustweb-15" and board["suite"]["per_crate"] == {"axum": 5, "leptos": 5, "rig": 5}
    (paired,) = board["comparisons"]
    assert (paired["a"], paired["b"]) == ("tuned", "base") and paired["judge"]["overall"]["mean"] == 0.0
    assert main(argv) == 0  # its own outputs are rewritten

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "leaderboard.md").write_text("my notes")
    argv[argv.index(str(out))] = str(foreign)
    assert main(argv) == 2
    assert "not written by rustgate eval" in capsys.readouterr().err
    assert (foreign / "leaderboard.md").read_text() == "my notes"


def test_bad_configuration_fails_before_any_call(
    llm_server: LLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["eval", "--judge", "anthropic:test-judge", "--judge-base-url", llm_server.url, "--output", str(tmp_path)]
    assert main([*base, "--model", "mystery:model"]) == 2
    assert "unknown provider" in capsys.readouterr().err
    assert main([*base, "--model", "vllm:x@" + llm_server.openai_url, "--suite", "nope.jsonl"]) == 2
    assert "shipped suites" in capsys.readouterr().err
    assert main([*base]) == 2
    assert "models" in capsys.readouterr().err
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert main([*base, "--model", "vllm:x@" + llm_server.openai_url]) == 2
    assert "$ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert llm_server.request_count == 0


def test_budget_stops_the_run_cleanly(servers: dict[str, LLMServer], tmp_path: Path) -> None:
    doc = config_doc(servers, tmp_path, max_usd=0.0001)
    doc["prices"] = {"*test-*": {"input": 1.0, "output": 1.0}}
    result = evaluate(EvalConfig.model_validate(doc), progress=False)
    assert result.exit_code == 3 and result.stopped_by_budget and "max_usd" in result.stopped_by_budget
    assert sum(s.request_count for s in servers.values()) == 0
    assert result.leaderboard.model("model-a").judge[OVERALL].mean is None
    assert "| model-a | - | - | - | - |" in (tmp_path / "out/leaderboard.md").read_text()


def test_two_servers_serving_one_model_name_keep_their_own_answers(
    servers: dict[str, LLMServer], tmp_path: Path
) -> None:
    """Two OpenAI-compatible servers that both call their model ``served`` (two llama.cpp
    processes, say): each label must keep its own server's answers, on the first run and on a
    rerun from the ledger. The rerun half needs the LLM client's cache key to include the endpoint."""
    doc = config_doc(servers, tmp_path, samples=1, compare=[])
    doc["models"] = [
        {"name": "left", "model": "vllm:served", "base_url": servers["model-a"].openai_url},
        {"name": "right", "model": "vllm:served", "base_url": servers["model-b"].openai_url},
    ]
    config = EvalConfig.model_validate(doc)
    for run in ("first run", "rerun from the ledger"):
        evaluate(config, progress=False)
        rows = [json.loads(line) for line in (tmp_path / "out/answers.jsonl").read_text().splitlines()]
        for row in rows:
            expected = "model-a" if row["meta"]["eval"]["model"] == "left" else "model-b"
            assert f"Answer from {expected}." in row["messages"][-1]["content"], (run, row["id"])
