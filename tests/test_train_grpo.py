"""``arcwright-train init --grpo`` and ``arcwright-train grpo``: the GRPO recipe on CPU, end to end --
prompts from a gated dataset, TRL's real GRPOTrainer with LoRA, the real compile reward, the
adapter, the reward curve and metrics.json written, and a bad [grpo] table refused before
anything loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomlkit
from test_train_support import make_record, write_dataset

from arcwright_train.cli import main
from arcwright_train.config import load_config
from rustgate.testing.llm_server import LLMServer, Reply, judge_scores

pytest_plugins = ["train_fixtures", "llm_fixtures"]
pytestmark = [pytest.mark.train, pytest.mark.usefixtures("warm_cache", "api_keys")]


def grpo_config(
    path: Path, model: Path, data: Path, out: Path, banned: list[list[int]], judge_url: str | None = None
) -> Path:
    assert main(["init", str(path), "--force", "--grpo"]) == 0
    doc = tomlkit.parse(path.read_text())
    doc["model_name_or_path"], doc["output_dir"], doc["logging_steps"] = str(model), str(out), 1
    doc["save_steps"] = 1
    doc["dataset"]["path"] = str(data)  # type: ignore[index]
    grpo = doc["grpo"]
    for key, value in {"max_steps": 2, "num_generations": 2, "per_device_train_batch_size": 4,
                       "max_completion_length": 2, "learning_rate": 1e-4}.items():  # fmt: skip
        grpo[key] = value  # type: ignore[index]
    grpo["trl"] = {"generation_kwargs": {"bad_words_ids": banned}}  # type: ignore[index]
    if judge_url is not None:
        grpo["judge"], grpo["judge_base_url"] = "openai:test-judge", judge_url  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))
    return path


def test_init_grpo_then_grpo_trains_and_writes_the_reward_curve(
    snippet_model: tuple[Path, list[list[int]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, banned = snippet_model
    records = [make_record(i, crate="rust", prompt=f"Print {i} plus {i} in Rust.") for i in range(4)]
    data = write_dataset(tmp_path / "ds", records, [make_record(9, crate="rust")], required_gates=("compile",))
    out = tmp_path / "run"
    with LLMServer(responder=lambda request: Reply.ok_data(judge_scores(8))) as judge:
        path = grpo_config(tmp_path / "train.toml", model, data, out, banned, judge.openai_url)
        _train_and_check(path, out, capsys)


def _train_and_check(path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(path)
    assert config.grpo is not None and config.grpo.num_generations == 2

    assert main(["grpo", "--config", str(path), "--dry-run"]) == 0
    assert "prompts   4 from" in capsys.readouterr().out and not out.exists()

    assert main(["grpo", "--config", str(path), "--grpo-compile-weight", "2.0"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"] == "grpo" and metrics["global_step"] == 2 and metrics["prompts"] == 4
    curve = [json.loads(line) for line in (out / "reward_curve.jsonl").read_text().splitlines()]
    assert [p["step"] for p in curve] == [1, 2] and all("compile_reward/pass_rate" in p for p in curve)
    assert all(p["rewards/judge_reward/mean"] == pytest.approx(0.8) for p in curve)  # 8 of 10, from the judge server
    assert metrics["reward_weights"] == [2.0, 1.0] and metrics["judge"] == "openai:test-judge"
    assert metrics["reward"]["last"] == curve[-1]
    page = (out / "reward_report.md").read_text()
    assert "| pass rate |" in page and "| 1 | " in page and "| 2 | " in page
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["r"] == 8
    assert load_config(out / "arcwright-train.resolved.toml").grpo.compile_weight == 2.0  # type: ignore[union-attr]
    assert (out / "checkpoint-2").is_dir()

    # Resume from the checkpoint: nothing left to train, the run still finishes cleanly.
    assert main(["grpo", "--config", str(path), "--resume"]) == 0


def test_a_resumed_run_continues_the_reward_curve(
    snippet_model: tuple[Path, list[list[int]]], tmp_path: Path
) -> None:
    model, banned = snippet_model
    records = [make_record(i, crate="rust", prompt=f"Print {i} in Rust.") for i in range(4)]
    data = write_dataset(tmp_path / "ds", records, [make_record(9, crate="rust")], required_gates=("compile",))
    out = tmp_path / "run"
    path = grpo_config(tmp_path / "train.toml", model, data, out, banned)
    doc = tomlkit.parse(path.read_text())
    doc["grpo"]["max_steps"] = 1  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))
    assert main(["grpo", "--config", str(path)]) == 0
    first = [json.loads(line) for line in (out / "reward_curve.jsonl").read_text().splitlines()]
    assert [p["step"] for p in first] == [1]
    doc["grpo"]["max_steps"] = 2  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))
    assert main(["grpo", "--config", str(path), "--resume"]) == 0
    curve = [json.loads(line) for line in (out / "reward_curve.jsonl").read_text().splitlines()]
    assert [p["step"] for p in curve] == [1, 2] and curve[0] == first[0]
    assert "| 1 | " in (out / "reward_report.md").read_text()


def test_a_batch_that_does_not_hold_whole_groups_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    assert main(["init", str(path), "--grpo"]) == 0
    text = path.read_text().replace("num_generations = 8", "num_generations = 3")
    path.write_text(text)
    assert main(["grpo", "--config", str(path), "--dry-run"]) == 2
    assert "multiple of num_generations (3)" in capsys.readouterr().err
