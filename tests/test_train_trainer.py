"""arcwright-train end to end on CPU: a tiny random Gemma 4, a gated dataset, a few real steps."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

from test_train_support import (  # noqa: E402
    config_for,
    make_record,
    write_config,
    write_dataset,
    write_rows,
)

from arcwright_train.backends import BackendError, choose_backend  # noqa: E402
from arcwright_train.cli import main  # noqa: E402
from arcwright_train.config import TrainConfig, load_config  # noqa: E402
from arcwright_train.data import OverlongError  # noqa: E402
from arcwright_train.run import RESOLVED_CONFIG, build_trainer, make_plan  # noqa: E402
from rustgate.atomic import DIR_MODE, FILE_MODE  # noqa: E402
from rustgate.records import Record  # noqa: E402

pytest_plugins = ["train_fixtures"]
pytestmark = [pytest.mark.train, pytest.mark.timeout(300)]


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds", [make_record(i) for i in range(12)], [make_record(i) for i in (20, 21)])


def test_init_then_train_saves_an_adapter_that_loads_back(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "run"
    path = write_config(tmp_path / "train.toml", tiny_model, dataset, out, merge=True, save_steps=1)
    assert main(["train", "--config", str(path), "--lora-r", "4"]) == 0

    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["eval_loss"])
    assert metrics["global_step"] == 2 and metrics["train_runtime_s"] > 0
    assert metrics["allow_ungated"] is False and metrics["ungated_records"] == []
    assert metrics["train_examples"] == 12 and metrics["eval_examples"] == 2
    assert metrics["examples"]["train"] == {"axum": 3, "leptos": 3, "rig": 3, "rust": 3}
    assert metrics["effective_batch"] == 4 and metrics["steps"] == 2
    assert any("loss" in entry for entry in metrics["log_history"])

    resolved = load_config(out / RESOLVED_CONFIG)
    assert resolved.lora_r == 4 and resolved.max_steps == 2 and resolved.merge is True

    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and adapter["lora_alpha"] == 16
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert "<|turn>" in tokenizer.chat_template

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    model = PeftModel.from_pretrained(base, out).eval()
    lora = [n for n, _ in model.named_parameters() if "lora_B" in n]
    assert lora and all(".layers." in n for n in lora)
    encoded: Any = tokenizer.apply_chat_template(
        [{"role": "user", "content": "fn?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    ids = encoded["input_ids"]
    merged = AutoModelForCausalLM.from_pretrained(out / "merged").eval()
    with torch.no_grad():
        adapted, folded = model(input_ids=ids).logits, merged(input_ids=ids).logits
    assert torch.isfinite(adapted).all()
    assert torch.allclose(adapted, folded, atol=1e-4)  # the merged export is base + this adapter
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]


def _modes(folder: Path) -> set[tuple[str, int]]:
    return {("dir" if p.is_dir() else "file", p.stat().st_mode & 0o777) for p in [folder, *folder.rglob("*")]}


def test_rerun_into_the_same_output_dir_needs_overwrite(
    tiny_model: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    path = write_config(tmp_path / "train.toml", tiny_model, dataset, out, merge=True, save_steps=1)
    assert main(["train", "--config", str(path)]) == 0
    # Everything the run wrote (safetensors included) has a normal file's mode: 0644 / 0755 under umask 022.
    assert _modes(out) == {("dir", DIR_MODE), ("file", FILE_MODE)}
    first_adapter = (out / "adapter_model.safetensors").read_bytes()
    (out / "NOTES.md").write_text("my notes")
    capsys.readouterr()

    for argv in (["train", "--config", str(path)], ["train", "--config", str(path), "--dry-run"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"output_dir {out} is not empty (it holds an earlier arcwright-train run" in err
        assert "--resume" in err and "--overwrite" in err

    assert main(["train", "--config", str(path), "--overwrite", "--no-merge", "--seed", "7"]) == 0
    assert not (out / "merged").exists()  # never an old merged model beside a new adapter
    assert (out / "NOTES.md").read_text() == "my notes"
    assert (out / "adapter_model.safetensors").read_bytes() != first_adapter
    assert load_config(out / RESOLVED_CONFIG).merge is False
    assert _modes(out) == {("dir", DIR_MODE), ("file", FILE_MODE)}


def test_completion_loss_masks_prompt_tokens(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    config = config_for(tiny_model, dataset, tmp_path / "out")
    plan = make_plan(config)
    trainer, _model, tokenizer = build_trainer(config, plan)
    record = plan.data.split("train")[0]
    example = trainer.train_dataset[0]
    ids, labels = example["input_ids"], example["labels"]
    answer_start = next(i for i, label in enumerate(labels) if label != -100)
    assert answer_start > 10 and all(label == -100 for label in labels[:answer_start])
    assert labels[answer_start:] == ids[answer_start:]
    prompt_text = tokenizer.decode(ids[:answer_start])
    assert record.prompt in prompt_text and "You write idiomatic Rust." in prompt_text
    assert prompt_text.endswith("<|turn>model\n")
    assert tokenizer.decode(ids[answer_start:]) == record.answer + "<turn|>\n"


def test_full_loss_trains_on_every_token(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    config = config_for(tiny_model, dataset, tmp_path / "out", loss="full")
    trainer, _model, _tok = build_trainer(config, make_plan(config))
    example = trainer.train_dataset[0]
    assert example["labels"] == example["input_ids"]


def test_answers_cut_away_by_max_length_are_refused_or_dropped(tiny_model: Path, tmp_path: Path) -> None:
    long = make_record(1, prompt="Explain ownership. " * 20)
    data = write_dataset(tmp_path / "ds", [make_record(0), long, make_record(2)], [])
    config = config_for(tiny_model, data, tmp_path / "out", max_length=100, dataset={"path": str(data)})
    with pytest.raises(OverlongError, match=r"1 train examples .* leptos-0001"):
        make_plan(config)
    dropping = config.model_copy(update={"overlong": "drop"})
    plan = make_plan(dropping)
    assert plan.tokens["train"].cut_away == ["leptos-0001"] and plan.dropped == {"train": ["leptos-0001"]}
    trainer, _model, _tok = build_trainer(dropping, plan)
    assert len(trainer.train_dataset) == 2 and plan.train_count == 2


def test_dropping_every_example_is_a_clear_error(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [make_record(i, prompt="Explain ownership. " * 20) for i in range(3)]
    data = write_dataset(tmp_path / "ds", records, [])
    path = write_config(tmp_path / "t.toml", tiny_model, data, tmp_path / "run", max_length=60, overlong="drop")
    for extra in (["--dry-run"], []):
        assert main(["train", "--config", str(path), *extra]) == 3
        err = capsys.readouterr().err
        assert "all 3 train examples were dropped (longer than max_length=60" in err
        assert "StopIteration" not in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_after_an_overlong_drop_metrics_count_what_trained(tiny_model: Path, tmp_path: Path) -> None:
    long = [make_record(i, prompt="Explain ownership. " * 20) for i in (1, 5)]
    data = write_dataset(tmp_path / "ds", [make_record(0), *long, make_record(2), make_record(3)], [])
    out = tmp_path / "run"
    path = write_config(tmp_path / "t.toml", tiny_model, data, out, max_length=100, overlong="drop", max_steps=1)
    assert main(["train", "--config", str(path)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["examples"] == {"train": {"axum": 1, "rig": 1, "rust": 1}, "test": {}}
    assert metrics["dataset_examples"] == {"train": {"axum": 1, "leptos": 2, "rig": 1, "rust": 1}, "test": {}}
    assert metrics["dropped_overlong"] == {"train": ["leptos-0001", "leptos-0005"]}
    assert metrics["train_examples"] == 3 and metrics["eval_examples"] == 0
    assert "eval split 'test' is empty: no eval loss" in metrics["warnings"]


def test_dry_run_refuses_what_the_run_refuses(
    tiny_model: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "t.toml", tiny_model, dataset, tmp_path / "run", max_length=20)
    assert main(["train", "--config", str(path), "--dry-run"]) == 3
    dry = capsys.readouterr().err
    assert main(["train", "--config", str(path)]) == 3
    assert capsys.readouterr().err == dry and "12 train examples have prompts of max_length=20 tokens" in dry
    assert not (tmp_path / "run").exists()


def test_dry_run_prints_the_plan_and_trains_nothing(
    tiny_model: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    path = write_config(tmp_path / "train.toml", tiny_model, dataset, out, max_steps=-1)
    args = ["train", "--config", str(path), "--dry-run", "--gradient-accumulation-steps", "8",
            "--per-device-train-batch-size", "2", "--num-train-epochs", "2"]  # fmt: skip
    assert main(args) == 0
    plan = capsys.readouterr().out
    assert "train    12 examples (axum 3, leptos 3, rig 3, rust 3)" in plan
    assert "test     2 examples (axum 1, leptos 1)" in plan
    assert "tokens    train:" in plan and "0 with the answer cut away" in plan
    assert "2 per device x 8 accumulation x 1 devices = 16 effective" in plan
    assert "steps     2 (1 per epoch, 2 epochs)" in plan
    assert "backend   transformers on cpu (full-precision base, fp32 compute" in plan
    assert "load_in_4bit needs CUDA" in plan
    assert "saving    a checkpoint every 100 steps (keep 2); eval during training: no; report to: none" in plan
    assert "WARNING   the effective batch (16) is larger than the training set (12 examples)" in plan
    assert not out.exists()


def test_ungated_data_is_refused_unless_allowed(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = [make_record(i) for i in range(4)] + [make_record(4, verdicts={"compile": "fail", "judge": "pass"})]
    data = write_dataset(tmp_path / "ds", train, [])
    out = tmp_path / "run"
    path = write_config(tmp_path / "train.toml", tiny_model, data, out, max_steps=1)
    assert main(["train", "--config", str(path)]) == 3
    assert "refused 1 of 5 records" in capsys.readouterr().err and not out.exists()

    assert main(["train", "--config", str(path), "--allow-ungated", "--dataset-eval-split", ""]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["allow_ungated"] is True and metrics["ungated_records"] == ["axum-0004"]
    assert metrics["ungated_reasons"] == {"axum-0004": "compile: fail"}
    assert metrics["eval_loss"] is None and math.isfinite(metrics["train_loss"])
    assert load_config(out / RESOLVED_CONFIG).dataset.eval_split is None  # reloads as "no eval"


def test_an_empty_gate_list_is_refused_or_stamped(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = [Record(id=f"raw-{i}", crate="rust", messages=make_record(i).messages) for i in range(4)]
    data = write_rows(tmp_path / "raw.jsonl", raw)
    out = tmp_path / "run"
    path = write_config(tmp_path / "t.toml", tiny_model, data, out, max_steps=1)
    assert main(["train", "--config", str(path)]) == 3
    assert "rust-" not in capsys.readouterr().err  # the default gate (compile) refuses every raw record
    assert main(["train", "--config", str(path), "--dataset-required-gates", ""]) == 3
    assert "dataset.required_gates is empty" in capsys.readouterr().err and not out.exists()
    assert main(["train", "--config", str(path), "--dataset-required-gates", "", "--allow-ungated"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["allow_ungated"] is True and metrics["required_gates"] == []
    assert metrics["ungated_records"] == ["raw-0", "raw-1", "raw-2", "raw-3"]
    assert "UNGATED  4 records" in capsys.readouterr().out


def test_unsloth_is_never_needed_on_cpu(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CPU-only rule")
    choice = choose_backend(TrainConfig())
    assert choice.name == "transformers" and not choice.load_in_4bit and not choice.bf16
    with pytest.raises(BackendError, match="needs a CUDA GPU"):
        choose_backend(TrainConfig(backend="unsloth"))


def test_default_targets_skip_gemma4_vision_and_audio_towers() -> None:
    """Multimodal Gemma 4 (what the real checkpoint loads as): peft refuses name lists, the regex works."""
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma4Config, Gemma4ForConditionalGeneration

    text = {"vocab_size": 300, "vocab_size_per_layer_input": 300, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
            "global_head_dim": 16, "hidden_size_per_layer_input": 8, "sliding_window": 16,
            "layer_types": ["sliding_attention", "full_attention"]}  # fmt: skip
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
              "num_key_value_heads": 2, "head_dim": 16}  # fmt: skip
    audio = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = Gemma4Config(text_config=text, vision_config=vision, audio_config=audio)
    with pytest.raises(ValueError, match="Gemma4ClippableLinear"):
        get_peft_model(Gemma4ForConditionalGeneration(config), LoraConfig(target_modules=["q_proj", "v_proj"]))
    model = get_peft_model(
        Gemma4ForConditionalGeneration(config), LoraConfig(target_modules=TrainConfig().lora_target_modules)
    )
    adapted = {n.rsplit(".lora_A", 1)[0] for n, _ in model.named_modules() if n.endswith("lora_A")}
    assert len(adapted) == 14  # 2 layers x (q, k, v, o, gate, up, down)
    assert all(".language_model.layers." in n for n in adapted)
