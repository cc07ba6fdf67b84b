"""The training config: one validated model, so a bad key or value fails before anything loads.

Key names follow what TRL / axolotl users already know. Nothing here imports torch: ``init``,
``--help`` and config errors stay instant.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Gemma 4 loads as a multimodal model whose vision/audio towers use ``Gemma4ClippableLinear``,
# which peft refuses. Match only the text backbone's projections: ``model.language_model.layers.N``
# in the multimodal model, ``model.layers.N`` in the text-only ``Gemma4ForCausalLM``.
TEXT_BACKBONE_TARGETS = (
    r"(?:^|.*\.)(?:language_model|model)\.layers\.\d+\."
    r"(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)"
)

SchedulerName = Literal[
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "warmup_stable_decay",
]


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the offending key."""


class DatasetConfig(BaseModel):
    """Where the gated data lives and which gates it must have passed."""

    model_config = ConfigDict(extra="forbid")

    path: str = "data/rustgate"
    split: str = "train"
    eval_split: str | None = "test"
    required_gates: list[str] = Field(default_factory=lambda: ["compile", "judge"])

    @field_validator("path", "split")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("eval_split")
    @classmethod
    def _blank_means_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() and value.lower() != "none" else None


class TrainConfig(BaseModel):
    """Every knob of one fine-tuning run, with the reference recipe as defaults."""

    model_config = ConfigDict(extra="forbid")

    model_name_or_path: str = "unsloth/gemma-4-E4B-it"
    backend: Literal["auto", "unsloth", "transformers"] = "auto"
    load_in_4bit: bool = True
    lora_r: int = Field(default=8, gt=0)
    lora_alpha: int = Field(default=16, gt=0)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    lora_target_modules: str | list[str] = TEXT_BACKBONE_TARGETS
    learning_rate: float = Field(default=5e-5, gt=0.0)
    num_train_epochs: float = Field(default=1.0, gt=0.0)
    max_steps: int = Field(default=-1, ge=-1)
    lr_scheduler_type: SchedulerName = "cosine"
    warmup_steps: float = Field(default=0.0, ge=0.0)
    per_device_train_batch_size: int = Field(default=4, gt=0)
    gradient_accumulation_steps: int = Field(default=8, gt=0)
    max_length: int = Field(default=2048, gt=8)
    bf16: bool = True
    gradient_checkpointing: bool = True
    seed: int = 3407
    logging_steps: int = Field(default=10, gt=0)
    output_dir: str = "outputs/arcwright"
    loss: Literal["completion", "full"] = "completion"
    overlong: Literal["error", "drop"] = "error"
    merge: bool = False
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)

    @field_validator("model_name_or_path", "output_dir")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, each naming the dotted key, so users fix the right line."""
    lines = [f"invalid config ({source}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b`` style keys in a nested dict (used by command-line overrides)."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part} is not a table")
        node = child
    node[parts[-1]] = value


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML file (or the defaults when ``path`` is None), apply overrides, validate."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    if overrides:
        source = f"{source} + command line"
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def override_fields() -> dict[str, str]:
    """Dotted config keys that a ``--flag`` may override, with their help text."""
    keys: dict[str, str] = {}
    for name, info in TrainConfig.model_fields.items():
        if name == "dataset":
            for sub in DatasetConfig.model_fields:
                keys[f"dataset.{sub}"] = f"override dataset.{sub}"
        else:
            keys[name] = f"override {name} (default {info.default!r})"
    return keys
