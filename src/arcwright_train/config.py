"""The training config: one validated model, so a bad key or value fails before anything loads.

Key names follow what TRL / axolotl users already know. Types are strict (``bf16 = "yes"`` is an
error, not ``True``); an int may stand where a float is expected. Nothing here imports torch:
``init``, ``--help`` and config errors stay instant.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Gemma 4 loads as a multimodal model whose vision/audio towers use ``Gemma4ClippableLinear``,
# which peft refuses. Match only the text backbone's projections: ``model.language_model.layers.N``
# in the multimodal model, ``model.layers.N`` in the text-only ``Gemma4ForCausalLM``.
TEXT_BACKBONE_TARGETS = (
    r"(?:^|.*\.)(?:language_model|model)\.layers\.\d+\."
    r"(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)"
)
DEFAULT_GATES = ("compile",)  # what `rustgate build` requires by default

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
Interval = Literal["steps", "epoch", "no"]


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the offending key."""


def _split_names(value: Any) -> Any:
    """``"a,b"`` -> ``["a", "b"]``: a list may be written as one comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class DatasetConfig(BaseModel):
    """Where the gated data lives and which gates it must have passed."""

    model_config = ConfigDict(extra="forbid", strict=True)

    path: str = "data/rustgate"
    split: str = "train"
    eval_split: str | None = "test"
    required_gates: list[str] = Field(default_factory=lambda: list(DEFAULT_GATES))

    @field_validator("path", "split")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("eval_split")
    @classmethod
    def _blank_means_none(cls, value: str | None) -> str | None:
        """``""`` (the only "no eval" TOML can say) and ``"none"`` both mean no eval split."""
        return value if value and value.strip() and value.lower() != "none" else None

    @field_validator("required_gates", mode="before")
    @classmethod
    def _gates_from_text(cls, value: Any) -> Any:
        return _split_names(value)


class GrpoConfig(BaseModel):
    """``[grpo]``: the GRPO recipe (``arcwright-train grpo``), rewarded by the compile gate.

    The model, LoRA, output, saving, logging, seed and dataset keys are the SFT ones; these are
    what GRPO adds or sets apart (GRPO wants a much lower learning rate than SFT).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    prompts: str | None = None  # JSONL of {"prompt", "crate"}; default: the dataset split's instructions
    num_generations: int = Field(default=8, ge=2)
    max_completion_length: int = Field(default=1024, gt=0)
    max_steps: int = Field(default=100, gt=0)
    learning_rate: float = Field(default=1e-6, gt=0.0)
    beta: float = Field(default=0.0, ge=0.0)
    temperature: float = Field(default=1.0, gt=0.0)
    per_device_train_batch_size: int = Field(default=8, gt=0)
    gradient_accumulation_steps: int = Field(default=1, gt=0)
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    tiers: list[str] = Field(default_factory=lambda: ["compile"])
    compile_weight: float = 1.0
    judge: str | None = None  # PROVIDER:MODEL of a judge reward beside the compile one
    judge_base_url: str | None = None
    judge_weight: float = 1.0
    scores: dict[str, float] = Field(default_factory=dict)  # rustgate.rewards.RewardScores fields
    trl: dict[str, Any] = Field(default_factory=dict)  # extra trl.GRPOConfig arguments

    @field_validator("tiers", mode="before")
    @classmethod
    def _tiers_from_text(cls, value: Any) -> Any:
        return _split_names(value)

    @model_validator(mode="after")
    def _generations_fill_the_batch(self) -> GrpoConfig:
        batch = self.per_device_train_batch_size * self.gradient_accumulation_steps
        if batch % self.num_generations:
            raise ValueError(
                f"per_device_train_batch_size x gradient_accumulation_steps ({batch}) must be a multiple of "
                f"num_generations ({self.num_generations}): each prompt's completions are one group"
            )
        return self


class TrainConfig(BaseModel):
    """Every knob of one fine-tuning run, with the reference recipe as defaults."""

    model_config = ConfigDict(extra="forbid", strict=True)

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
    lr_scheduler_kwargs: dict[str, Any] = Field(default_factory=dict)
    warmup_steps: float = Field(default=0.0, ge=0.0)
    per_device_train_batch_size: int = Field(default=4, gt=0)
    gradient_accumulation_steps: int = Field(default=8, gt=0)
    max_length: int = Field(default=2048, gt=8)
    bf16: bool = True
    gradient_checkpointing: bool = True
    seed: int = 3407
    logging_steps: int = Field(default=10, gt=0)
    save_strategy: Interval = "steps"
    save_steps: int = Field(default=100, gt=0)
    save_total_limit: int = Field(default=2, ge=0)
    eval_strategy: Interval = "no"
    eval_steps: int = Field(default=0, ge=0)
    load_best_model_at_end: bool = False
    metric_for_best_model: str = "eval_loss"
    report_to: list[str] = Field(default_factory=lambda: ["none"])
    output_dir: str = "outputs/arcwright"
    loss: Literal["completion", "full"] = "completion"
    overlong: Literal["error", "drop"] = "error"
    merge: bool = False
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    trl: dict[str, Any] = Field(default_factory=dict)
    peft: dict[str, Any] = Field(default_factory=dict)
    grpo: GrpoConfig | None = None  # the GRPO recipe's table (`init --grpo` writes it)

    @field_validator("model_name_or_path", "output_dir", "metric_for_best_model")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("report_to", mode="before")
    @classmethod
    def _report_to_from_text(cls, value: Any) -> Any:
        return _split_names(value)

    @field_validator("report_to")
    @classmethod
    def _report_to_none_alone(cls, value: list[str]) -> list[str]:
        if not value:
            return ["none"]
        if "none" in value and len(value) > 1:
            raise ValueError('"none" cannot be combined with other integrations')
        return value

    @model_validator(mode="after")
    def _best_model_needs_eval(self) -> TrainConfig:
        if not self.load_best_model_at_end:
            return self
        if self.eval_strategy == "no" or self.save_strategy != self.eval_strategy:
            raise ValueError(
                "load_best_model_at_end needs eval_strategy and save_strategy set alike ('steps' or 'epoch'); "
                f"got eval_strategy={self.eval_strategy!r}, save_strategy={self.save_strategy!r}"
            )
        if self.save_strategy == "steps" and self.save_steps % self.effective_eval_steps:
            raise ValueError(
                f"load_best_model_at_end needs save_steps ({self.save_steps}) to be a multiple of "
                f"eval_steps ({self.effective_eval_steps})"
            )
        return self

    @property
    def effective_eval_steps(self) -> int:
        """``eval_steps = 0`` means "when a checkpoint is saved", so best-model selection lines up."""
        return self.eval_steps or self.save_steps


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, each naming the dotted key, so users fix the right line."""
    lines = [f"invalid config ({source}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        elif key == "<root>":
            lines.append(f"  {err['msg'].removeprefix('Value error, ')}")
        else:
            lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b`` style keys in a nested dict (command-line overrides); a table merges into a table."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part} is not a table")
        node = child
    old = node.get(parts[-1])
    node[parts[-1]] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value


def _resolve_file_paths(data: dict[str, Any], base: Path) -> None:
    """Relative paths in a config file mean "next to the file", as in ``rustgate build``.

    ``dataset.path`` and ``output_dir`` always (their defaults too); ``model_name_or_path`` only
    when that folder exists beside the file, since otherwise it is a Hub id such as ``org/name``.
    """

    def beside(value: str) -> str:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else base / path)

    dataset = data.setdefault("dataset", {})
    if isinstance(dataset, dict):
        path = dataset.get("path", DatasetConfig.model_fields["path"].default)
        if isinstance(path, str) and path.strip():
            dataset["path"] = beside(path)
    out = data.get("output_dir", TrainConfig.model_fields["output_dir"].default)
    if isinstance(out, str) and out.strip():
        data["output_dir"] = beside(out)
    grpo = data.get("grpo")
    if isinstance(grpo, dict) and isinstance(grpo.get("prompts"), str) and grpo["prompts"].strip():
        grpo["prompts"] = beside(grpo["prompts"])
    model = data.get("model_name_or_path")
    if isinstance(model, str) and model.strip() and Path(beside(model)).is_dir():
        data["model_name_or_path"] = beside(model)


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML file (or the defaults when ``path`` is None), apply overrides, validate.

    Paths in the file resolve against the file's folder; paths on the command line, against the
    working directory (as any shell argument does).
    """
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
        _resolve_file_paths(data, Path(path).resolve().parent)
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    if overrides:
        source = f"{source} + command line"
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def override_fields(*, grpo: bool = False) -> dict[str, Any]:
    """Dotted config keys that a ``--flag`` may override, with their type annotation (the
    ``[grpo]`` keys only for the GRPO command)."""
    keys: dict[str, Any] = {}
    for name, info in TrainConfig.model_fields.items():
        if name == "dataset":
            for sub, sub_info in DatasetConfig.model_fields.items():
                keys[f"dataset.{sub}"] = sub_info
        elif name == "grpo":
            if grpo:
                keys.update({f"grpo.{sub}": sub_info for sub, sub_info in GrpoConfig.model_fields.items()})
        else:
            keys[name] = info
    return keys
