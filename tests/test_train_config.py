"""arcwright-train config: init writes the commented reference defaults; bad keys/values fail by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomlkit

from arcwright_train.cli import build_parser, collect_overrides, main
from arcwright_train.config import TEXT_BACKBONE_TARGETS, ConfigError, TrainConfig, load_config


def test_init_writes_commented_reference_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    assert main(["init", str(path)]) == 0
    text = path.read_text()
    assert "# LoRA rank." in text and "# Effective batch" in text
    config = load_config(path)
    assert config == TrainConfig()
    assert config.model_name_or_path == "unsloth/gemma-4-E4B-it"
    assert (config.load_in_4bit, config.lora_r, config.lora_alpha, config.lora_dropout) == (True, 8, 16, 0.0)
    assert (config.learning_rate, config.num_train_epochs, config.lr_scheduler_type) == (5e-5, 1.0, "cosine")
    assert config.per_device_train_batch_size * config.gradient_accumulation_steps == 32
    assert config.bf16 and config.loss == "completion"
    assert config.dataset.required_gates == ["compile", "judge"]
    assert "wrote" in capsys.readouterr().out


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    path.write_text("# mine\n")
    assert main(["init", str(path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert path.read_text() == "# mine\n"
    assert main(["init", str(path), "--force"]) == 0
    assert load_config(path) == TrainConfig()


def test_comments_survive_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    main(["init", str(path)])
    doc = tomlkit.parse(path.read_text())
    doc["learning_rate"] = 1e-4
    doc["dataset"]["path"] = "data/mine"
    path.write_text(tomlkit.dumps(doc))
    assert "# Peak learning rate." in path.read_text()
    config = load_config(path)
    assert config.learning_rate == 1e-4 and config.dataset.path == "data/mine"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('lora_rank = 4\n[dataset]\npath = "x"\nsplitt = "train"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "lora_rank: unknown key" in message and "dataset.splitt: unknown key" in message


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("lora_r = 0", "lora_r"),
        ('learning_rate = "fast"', "learning_rate"),
        ('loss = "assistant"', "loss"),
        ('lr_scheduler_type = "cosine-ish"', "lr_scheduler_type"),
        ("lora_dropout = 1.5", "lora_dropout"),
        ('output_dir = "  "', "output_dir"),
    ],
)
def test_bad_value_is_named(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError, match=rf"\n  {key}: "):
        load_config(path)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("lora_r = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_command_line_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    main(["init", str(path)])
    args = build_parser().parse_args(
        ["train", "--config", str(path), "--learning-rate", "1e-4", "--lora-r", "16", "--no-load-in-4bit",
         "--dataset-path", "data/x", "--dataset-required-gates", "compile", "--dataset-eval-split", "",
         "--max-steps", "3"]
    )  # fmt: skip
    config = load_config(args.config, collect_overrides(args))
    assert config.learning_rate == 1e-4 and config.lora_r == 16 and config.load_in_4bit is False
    assert config.dataset.path == "data/x" and config.dataset.required_gates == ["compile"]
    assert config.dataset.eval_split is None and config.max_steps == 3
    assert config.lora_alpha == 16  # untouched keys keep the file's value


def test_bad_override_fails_before_anything_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    main(["init", str(path)])
    assert main(["train", "--config", str(path), "--learning-rate", "-1", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate: Input should be greater than 0" in err and "command line" in err


def test_default_targets_are_the_text_backbone_only() -> None:
    pattern = re.compile(TEXT_BACKBONE_TARGETS)
    for name in (
        "model.language_model.layers.0.self_attn.q_proj",
        "model.language_model.layers.11.mlp.down_proj",
        "model.layers.3.self_attn.o_proj",
    ):
        assert pattern.fullmatch(name), name
    for name in (
        "model.vision_tower.encoder.layers.0.self_attn.q_proj",
        "model.audio_tower.layers.0.self_attn.q_proj",
        "model.audio_tower.layers.0.feed_forward1.ffw_layer_1",
        "model.embed_vision.embedding_projection",
        "model.language_model.layers.0.per_layer_input_gate",
        "lm_head",
    ):
        assert not pattern.fullmatch(name), name
