"""arcwright-train config: init writes the commented reference defaults; bad keys/values fail by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomlkit

from arcwright_train.cli import build_parser, collect_overrides, main
from arcwright_train.config import TEXT_BACKBONE_TARGETS, ConfigError, TrainConfig, load_config
from arcwright_train.scaffold import render
from rustgate.atomic import FILE_MODE


def test_init_writes_commented_reference_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    assert main(["init", str(path)]) == 0
    text = path.read_text()
    assert "# LoRA rank." in text and "# Effective batch" in text
    config = load_config(path)
    # Relative paths in a config file are relative to the file; everything else is the default.
    assert config.dataset.path == str(tmp_path / "data/rustgate")
    assert config.output_dir == str(tmp_path / "outputs/arcwright")
    defaults = TrainConfig().model_dump(exclude={"output_dir": True, "dataset": {"path"}})
    assert config.model_dump(exclude={"output_dir": True, "dataset": {"path"}}) == defaults
    assert config.model_name_or_path == "unsloth/gemma-4-E4B-it"
    assert (config.load_in_4bit, config.lora_r, config.lora_alpha, config.lora_dropout) == (True, 8, 16, 0.0)
    assert (config.learning_rate, config.num_train_epochs, config.lr_scheduler_type) == (5e-5, 1.0, "cosine")
    assert config.per_device_train_batch_size * config.gradient_accumulation_steps == 32
    assert config.bf16 and config.loss == "completion"
    assert config.dataset.required_gates == ["compile"]
    assert (config.save_strategy, config.save_steps, config.report_to) == ("steps", 100, ["none"])
    assert "wrote" in capsys.readouterr().out
    assert path.stat().st_mode & 0o777 == FILE_MODE


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    path.write_text("# mine\n")
    assert main(["init", str(path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert path.read_text() == "# mine\n"
    assert main(["init", str(path), "--force"]) == 0
    assert load_config(path).lora_r == TrainConfig().lora_r and "# mine" not in path.read_text()


def test_comments_survive_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    main(["init", str(path)])
    doc = tomlkit.parse(path.read_text())
    doc["learning_rate"] = 1e-4
    doc["dataset"]["path"] = "data/mine"
    path.write_text(tomlkit.dumps(doc))
    assert "# Peak learning rate." in path.read_text()
    config = load_config(path)
    assert config.learning_rate == 1e-4 and config.dataset.path == str(tmp_path / "data/mine")


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
        ('bf16 = "yes"', "bf16"),
        ("merge = 1", "merge"),
        ("lora_r = 8.0", "lora_r"),
        ('max_steps = "10"', "max_steps"),
        ('save_strategy = "sometimes"', "save_strategy"),
        ('report_to = "none,tensorboard"', "report_to"),
        ("lr_scheduler_kwargs = 3", "lr_scheduler_kwargs"),
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


def test_ints_stand_for_floats_but_types_are_strict(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("learning_rate = 1\nnum_train_epochs = 2\nwarmup_steps = 0\n")
    config = load_config(path)
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    path.write_text('bf16 = "yes"\n')
    with pytest.raises(ConfigError, match=r"bf16: Input should be a valid boolean \(got 'yes'\)"):
        load_config(path)


def test_abbreviated_flags_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["train", "--lr", "1e-4"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --lr 1e-4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--lora-r", "eight"])
    assert "argument --lora-r: invalid int value: 'eight'" in capsys.readouterr().err


def test_flags_are_typed_from_the_model(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["train", "--learning-rate", "2e-4", "--save-steps", "50", "--report-to", "tensorboard",
         "--lr-scheduler-kwargs", '{"min_lr_rate": 0.1}', "--trl", '{"weight_decay": 0.01}',
         "--peft", '{"use_rslora": true}', "--load-best-model-at-end", "--eval-strategy", "steps"]
    )  # fmt: skip
    config = load_config(None, collect_overrides(args))
    assert config.learning_rate == 2e-4 and config.save_steps == 50 and config.report_to == ["tensorboard"]
    assert config.lr_scheduler_kwargs == {"min_lr_rate": 0.1} and config.trl == {"weight_decay": 0.01}
    assert config.peft == {"use_rslora": True} and config.load_best_model_at_end and config.effective_eval_steps == 50


def test_a_table_flag_merges_into_the_files_table(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[trl]\nweight_decay = 0.1\noptim = "adamw_torch"\n')
    args = build_parser().parse_args(["train", "--trl", '{"weight_decay": 0.0}'])
    assert load_config(path, collect_overrides(args)).trl == {"weight_decay": 0.0, "optim": "adamw_torch"}


def test_best_model_needs_matching_eval_and_save(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("load_best_model_at_end = true\n")
    with pytest.raises(ConfigError, match="load_best_model_at_end needs eval_strategy and save_strategy"):
        load_config(path)
    path.write_text('load_best_model_at_end = true\neval_strategy = "steps"\nsave_steps = 10\neval_steps = 3\n')
    with pytest.raises(ConfigError, match=r"save_steps \(10\) to be a multiple of eval_steps \(3\)"):
        load_config(path)


def test_resolved_config_reloads_to_the_same_run(tmp_path: Path) -> None:
    """TOML has no null: a disabled eval split is written as "" and read back as no eval."""
    config = TrainConfig.model_validate(
        {"learning_rate": 2e-4, "lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": 0.1},
         "report_to": "tensorboard", "trl": {"weight_decay": 0.01, "optim": "adamw_torch"},
         "peft": {"use_rslora": True},
         "lora_target_modules": ["q_proj", "v_proj"], "output_dir": str(tmp_path / "o"),
         "dataset": {"path": str(tmp_path / "d"), "eval_split": "", "required_gates": ["compile", "judge"]}}
    )  # fmt: skip
    assert config.dataset.eval_split is None
    path = tmp_path / "resolved.toml"
    path.write_text(render(config))
    assert 'eval_split = ""' in path.read_text()
    assert load_config(path) == config
    path.write_text(render(TrainConfig().model_copy(update={"output_dir": str(tmp_path / "o")}), comments=False))
    assert load_config(path).model_dump(exclude={"dataset": {"path"}}) == TrainConfig().model_copy(
        update={"output_dir": str(tmp_path / "o")}
    ).model_dump(exclude={"dataset": {"path"}})


def test_paths_in_a_config_file_resolve_against_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "models" / "tiny").mkdir(parents=True)
    path = project / "arcwright-train.toml"
    path.write_text('model_name_or_path = "models/tiny"\noutput_dir = "runs/a"\n[dataset]\npath = "data/ds"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config("../project/arcwright-train.toml")
    assert config.model_name_or_path == str(project / "models/tiny")
    assert config.output_dir == str(project / "runs/a") and config.dataset.path == str(project / "data/ds")
    path.write_text('model_name_or_path = "org/model"\n')  # not a folder beside the file: a Hub id
    assert load_config(path).model_name_or_path == "org/model"
    args = build_parser().parse_args(["train", "--dataset-path", "mine"])  # command line: the working directory
    assert load_config(path, collect_overrides(args)).dataset.path == "mine"
