"""What users of TRL / axolotl expect, on real CPU runs of a tiny Gemma 4: eval during training, the best
checkpoint, tensorboard, scheduler kwargs, and [trl] / [peft] pass-through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

from test_train_support import make_record, write_config, write_dataset  # noqa: E402

from arcwright_train.cli import main  # noqa: E402

pytest_plugins = ["train_fixtures"]
pytestmark = [pytest.mark.train, pytest.mark.timeout(300)]


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds", [make_record(i) for i in range(8)], [make_record(i) for i in (20, 21)])


def test_eval_during_training_keeps_the_best_checkpoint_and_logs_to_tensorboard(
    tiny_model: Path, dataset: Path, tmp_path: Path
) -> None:
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    path = write_config(
        tmp_path / "t.toml", tiny_model, dataset, out, max_steps=4, save_steps=2, eval_strategy="steps",
        load_best_model_at_end=True, report_to="tensorboard", save_total_limit=1,
    )  # fmt: skip
    doc = path.read_text()
    doc = doc.replace("[trl]\n", '[trl]\nweight_decay = 0.05\noptim = "adamw_torch"\n')
    doc = doc.replace("[peft]\n", "[peft]\nuse_rslora = true\n")
    path.write_text(doc)
    assert main(["train", "--config", str(path)]) == 0

    metrics = json.loads((out / "metrics.json").read_text())
    evals = [entry for entry in metrics["log_history"] if "eval_loss" in entry]
    assert [entry["step"] for entry in evals][:2] == [2, 4]  # eval_steps 0 = whenever a checkpoint is saved
    best = min(evals[:2], key=lambda entry: entry["eval_loss"])
    assert metrics["best_model_checkpoint"] == str(out / f"checkpoint-{best['step']}")
    assert metrics["best_metric"] == pytest.approx(best["eval_loss"])
    assert metrics["eval_loss"] == pytest.approx(best["eval_loss"], rel=1e-4)  # the saved adapter is the best one
    assert list((out / "runs").rglob("events.out.tfevents.*"))

    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["use_rslora"] is True  # [peft] reached peft
    import torch

    args = torch.load(out / "training_args.bin", weights_only=False)
    assert args.weight_decay == 0.05 and args.optim == "adamw_torch"  # [trl] reached SFTConfig


def test_cosine_with_min_lr_runs_with_its_kwargs(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    path = write_config(
        tmp_path / "t.toml", tiny_model, dataset, out, max_steps=4, lr_scheduler_type="cosine_with_min_lr",
        eval_strategy="no",
    )  # fmt: skip
    assert main(["train", "--config", str(path), "--lr-scheduler-kwargs", '{"min_lr_rate": 0.5}']) == 0
    rates = [entry["learning_rate"] for entry in json.loads((out / "metrics.json").read_text())["log_history"]
             if "learning_rate" in entry]  # fmt: skip
    assert len(rates) == 4 and rates[0] == pytest.approx(1e-3)
    assert min(rates) >= 0.5e-3 - 1e-12 and rates[-1] < rates[0]  # decays, but never below min_lr_rate x lr
