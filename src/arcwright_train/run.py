"""One training run, end to end: gated data -> plan -> SFTTrainer -> adapter, config, metrics.json."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arcwright_train.backends import (
    BackendChoice,
    choose_backend,
    load_for_training,
    load_tokenizer,
    merge_and_save,
)
from arcwright_train.config import TrainConfig
from arcwright_train.data import check_labels, drop_overlong, to_rows, token_stats
from arcwright_train.gated import load_gated
from arcwright_train.plan import Plan
from arcwright_train.scaffold import render

RESOLVED_CONFIG = "arcwright-train.resolved.toml"


def make_plan(config: TrainConfig, *, allow_ungated: bool = False, tokenizer: Any = None) -> Plan:
    """Load and verify the data, pick the backend, count tokens; never loads model weights."""
    data = load_gated(config.dataset.path, config.dataset.required_gates, allow_ungated=allow_ungated)
    if config.dataset.split not in data.splits:
        raise ValueError(
            f"dataset.split {config.dataset.split!r} not in {data.source} (splits: {', '.join(data.splits) or 'none'})"
        )
    if not data.split(config.dataset.split):
        raise ValueError(f"split {config.dataset.split!r} of {data.source} has no examples")
    eval_split = config.dataset.eval_split
    backend = choose_backend(config)
    plan = Plan(
        config,
        data,
        backend,
        len(data.split(config.dataset.split)),
        len(data.split(eval_split)) if eval_split else 0,
    )
    try:
        tokenizer = tokenizer if tokenizer is not None else load_tokenizer(config.model_name_or_path)
    except Exception as exc:  # a dry run without network still prints the rest of the plan
        plan.token_error = f"could not load the tokenizer of {config.model_name_or_path}: {exc}"
        return plan
    for split in dict.fromkeys([config.dataset.split, eval_split]):
        if split and data.split(split):
            plan.tokens[split] = token_stats(data.split(split), tokenizer, config.max_length)
    return plan


def _sft_config(config: TrainConfig, choice: BackendChoice) -> Any:
    from trl import SFTConfig

    # transformers 5 renamed gradient_checkpointing (now a deprecated alias) to activation_checkpointing.
    checkpointing = config.gradient_checkpointing and choice.name != "unsloth"
    renamed = "activation_checkpointing" in SFTConfig.__dataclass_fields__
    checkpoint_arg: dict[str, Any] = {
        "activation_checkpointing" if renamed else "gradient_checkpointing": checkpointing
    }
    return SFTConfig(
        **checkpoint_arg,
        output_dir=config.output_dir,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        max_length=config.max_length,
        bf16=choice.bf16,
        fp16=choice.fp16,
        seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        completion_only_loss=config.loss == "completion",
        assistant_only_loss=False,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        use_cpu=choice.device == "cpu",
    )


def build_trainer(config: TrainConfig, plan: Plan) -> tuple[Any, Any, Any]:
    """``(trainer, model, tokenizer)`` with datasets prepared and their labels checked."""
    from datasets import Dataset
    from trl import SFTTrainer

    split, eval_split = config.dataset.split, config.dataset.eval_split
    train_records = plan.data.split(split)
    eval_records = plan.data.split(eval_split) if eval_split else []
    if split in plan.tokens:
        train_records = drop_overlong(train_records, plan.tokens[split], config.overlong, config.max_length, split)
    if eval_split and eval_split in plan.tokens:
        eval_records = drop_overlong(
            eval_records, plan.tokens[eval_split], config.overlong, config.max_length, eval_split
        )
    model, tokenizer, peft_config = load_for_training(config, plan.backend)
    train_ds = Dataset.from_list(to_rows(train_records, config.loss))
    eval_ds = Dataset.from_list(to_rows(eval_records, config.loss)) if eval_records else None
    trainer = SFTTrainer(
        model=model,
        args=_sft_config(config, plan.backend),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    check_labels(trainer.train_dataset, len(train_records), split)
    if eval_ds is not None:
        check_labels(trainer.eval_dataset, len(eval_records), str(eval_split))
    plan.train_count, plan.eval_count = len(train_records), len(eval_records)
    return trainer, model, tokenizer


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def train(
    config: TrainConfig,
    *,
    allow_ungated: bool = False,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, Any] | None:
    """Run (or, with ``dry_run``, only plan) a fine-tune; returns the metrics written."""
    started = time.monotonic()
    plan = make_plan(config, allow_ungated=allow_ungated)
    echo(plan.render())
    if dry_run:
        return None
    trainer, _model, tokenizer = build_trainer(config, plan)
    result = trainer.train()
    train_loss = _finite(result.training_loss)
    if train_loss is None:
        raise RuntimeError(f"training loss is not finite ({result.training_loss}); nothing was saved")
    eval_metrics = trainer.evaluate() if trainer.eval_dataset is not None else {}

    out = Path(config.output_dir)
    trainer.save_model(str(out))  # the adapter, plus the tokenizer and its chat template (main process only)
    metrics = _metrics(config, plan, result, eval_metrics, trainer.state.log_history, time.monotonic() - started)
    if not trainer.is_world_process_zero():  # under torchrun/accelerate, one process writes the files
        return metrics
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out))
    (out / RESOLVED_CONFIG).write_text(
        render(config, header=["The config this run resolved to (file + command line)."]), encoding="utf-8"
    )
    if config.merge:
        merge_and_save(config, plan.backend, trainer.model, tokenizer, str(out / "merged"))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    echo(
        f"train loss {metrics['train_loss']:.4f}, eval loss {metrics['eval_loss']}, "
        f"{metrics['train_runtime_s']:.1f}s; wrote {out}"
    )
    return metrics


def _metrics(
    config: TrainConfig,
    plan: Plan,
    result: Any,
    eval_metrics: dict[str, Any],
    log_history: list[dict[str, Any]],
    runtime: float,
) -> dict[str, Any]:
    """What the run did, including whether ungated data was let in (so it can never go unnoticed)."""
    import peft
    import torch
    import transformers
    import trl

    data = plan.data
    return {
        "train_loss": _finite(result.training_loss),
        "eval_loss": _finite(eval_metrics.get("eval_loss")),
        "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)),
        "total_runtime_s": runtime,
        "global_step": int(result.global_step),
        "allow_ungated": data.allow_ungated,
        "ungated_records": [r.record_id for r in data.refused],
        "required_gates": data.required_gates,
        "dataset": str(data.source),
        "loss": config.loss,
        "model_name_or_path": config.model_name_or_path,
        **plan.summary(),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "peft": peft.__version__,
        },
        "log_history": [{k: v for k, v in entry.items() if isinstance(v, int | float)} for entry in log_history],
    }
