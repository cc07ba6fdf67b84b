"""The trl / peft / transformers objects a run is configured with, built (and so validated) while planning.

``[trl]`` and ``[peft]`` hold extra keyword arguments for ``SFTConfig`` and ``LoraConfig``, so any
option those libraries have (weight decay, optimizer, packing, DoRA, ...) is one config line away.
A key the library does not have, or one arcwright-train sets from its own config, is refused by
name. Building ``SFTConfig``, ``LoraConfig`` and the LR scheduler here means their own checks run
in ``--dry-run`` too, not minutes later.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from arcwright_train.backends import BackendChoice
from arcwright_train.config import ConfigError, TrainConfig

# SFTConfig fields arcwright-train sets itself -> the config key (or flag) that controls them.
SFT_OWNED = {
    "output_dir": "output_dir",
    "per_device_train_batch_size": "per_device_train_batch_size",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "learning_rate": "learning_rate",
    "num_train_epochs": "num_train_epochs",
    "max_steps": "max_steps",
    "lr_scheduler_type": "lr_scheduler_type",
    "lr_scheduler_kwargs": "lr_scheduler_kwargs",
    "warmup_steps": "warmup_steps",
    "max_length": "max_length",
    "bf16": "bf16",
    "fp16": "bf16 (fp16 is chosen where bf16 is unsupported)",
    "seed": "seed",
    "logging_steps": "logging_steps",
    "completion_only_loss": "loss",
    "assistant_only_loss": "loss",
    "save_strategy": "save_strategy",
    "save_steps": "save_steps",
    "save_total_limit": "save_total_limit",
    "eval_strategy": "eval_strategy",
    "eval_steps": "eval_steps",
    "load_best_model_at_end": "load_best_model_at_end",
    "metric_for_best_model": "metric_for_best_model",
    "report_to": "report_to",
    "use_cpu": "backend",
    "gradient_checkpointing": "gradient_checkpointing",
    "activation_checkpointing": "gradient_checkpointing",
    "resume_from_checkpoint": "--resume",
}
PEFT_OWNED = {
    "r": "lora_r",
    "lora_alpha": "lora_alpha",
    "lora_dropout": "lora_dropout",
    "target_modules": "lora_target_modules",
    "task_type": "- (always CAUSAL_LM)",
}


def _check_keys(table: str, extra: dict[str, Any], fields: set[str], owned: dict[str, str]) -> None:
    problems = []
    library = "SFTConfig" if table == "trl" else "LoraConfig"
    for key in extra:
        if key in owned:
            problems.append(f"  {table}.{key}: set by arcwright-train; use {owned[key]} instead")
        elif key not in fields:
            problems.append(f"  {table}.{key}: unknown key (not a field of {library})")
    if problems:
        raise ConfigError("invalid config:\n" + "\n".join(problems))


def _init_fields(cls: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def sft_config(config: TrainConfig, choice: BackendChoice, *, has_eval: bool) -> Any:
    """``SFTConfig`` for this run; ``[trl]`` keys go on top of ours (never over the ones we own)."""
    from trl import SFTConfig

    _check_keys("trl", config.trl, _init_fields(SFTConfig), SFT_OWNED)
    # transformers 5 renamed gradient_checkpointing (now a deprecated alias) to activation_checkpointing.
    checkpointing = config.gradient_checkpointing and choice.name != "unsloth"
    renamed = "activation_checkpointing" in SFTConfig.__dataclass_fields__
    kwargs: dict[str, Any] = {
        "activation_checkpointing" if renamed else "gradient_checkpointing": checkpointing,
        "output_dir": config.output_dir,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_train_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.num_train_epochs,
        "max_steps": config.max_steps,
        "lr_scheduler_type": config.lr_scheduler_type,
        "lr_scheduler_kwargs": dict(config.lr_scheduler_kwargs),
        "warmup_steps": config.warmup_steps,
        "max_length": config.max_length,
        "bf16": choice.bf16,
        "fp16": choice.fp16,
        "seed": config.seed,
        "logging_steps": config.logging_steps,
        "logging_first_step": True,
        "completion_only_loss": config.loss == "completion",
        "assistant_only_loss": False,
        "save_strategy": config.save_strategy,
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit or None,
        "eval_strategy": config.eval_strategy if has_eval else "no",
        "eval_steps": config.effective_eval_steps,
        "load_best_model_at_end": config.load_best_model_at_end,
        "metric_for_best_model": config.metric_for_best_model if config.load_best_model_at_end else None,
        "report_to": config.report_to,
        "use_cpu": choice.device == "cpu",
        **config.trl,
    }
    try:
        return SFTConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"trl/transformers refused the training arguments: {exc}") from exc


def lora_config(config: TrainConfig) -> Any:
    """The peft ``LoraConfig``: our LoRA keys plus ``[peft]`` extras."""
    from peft import LoraConfig

    _check_keys("peft", config.peft, _init_fields(LoraConfig), PEFT_OWNED)
    kwargs: dict[str, Any] = {"bias": "none", **config.peft}
    try:
        return LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=config.lora_target_modules,
            task_type="CAUSAL_LM",
            **kwargs,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"peft refused the LoRA settings: {exc}") from exc


def check_scheduler(config: TrainConfig, total_steps: int) -> None:
    """Build the LR schedule on a throwaway optimizer, so missing or unknown kwargs fail now."""
    import torch
    from transformers import get_scheduler

    warmup = config.warmup_steps
    warmup_steps = int(warmup * total_steps) if 0 < warmup < 1 else int(warmup)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.learning_rate)
    try:
        get_scheduler(
            config.lr_scheduler_type,
            optimizer,
            num_warmup_steps=warmup_steps,
            num_training_steps=max(total_steps, 1),
            scheduler_specific_kwargs=dict(config.lr_scheduler_kwargs),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"lr_scheduler_type {config.lr_scheduler_type!r} with lr_scheduler_kwargs "
            f"{dict(config.lr_scheduler_kwargs)}: {exc}"
        ) from exc


def check_report_to(config: TrainConfig) -> None:
    """Every ``report_to`` integration must be known to transformers and installed here."""
    if config.report_to == ["none"]:
        return
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    available = set(get_available_reporting_integrations())
    for name in config.report_to:
        if name == "all":
            continue
        if name not in INTEGRATION_TO_CALLBACK:
            known = ", ".join(sorted(INTEGRATION_TO_CALLBACK))
            raise ConfigError(f"report_to: unknown integration {name!r} (known: {known})")
        if name not in available:
            raise ConfigError(f"report_to: {name} is not installed here (pip install {name.replace('_', '-')})")
