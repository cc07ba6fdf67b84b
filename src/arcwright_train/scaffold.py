"""Write configs as commented TOML (tomlkit), so the file explains itself and comments survive edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from arcwright_train.config import GrpoConfig, TrainConfig
from arcwright_train.outputs import write_text

HEADER = [
    "arcwright-train config: fine-tune on a rustgate dataset that passed its gates.",
    "Defaults are the reference recipe (Gemma 4 E4B, QLoRA r=8, lr 5e-5, 1 epoch, cosine, batch 32).",
    "Any key can be overridden on the command line: arcwright-train train --config F --learning-rate 1e-4",
]

COMMENTS: dict[str, str] = {
    "model_name_or_path": "Hub id or local folder of the base model (a relative folder is found next to this file).",
    "backend": 'auto: unsloth FastModel on CUDA when installed, else transformers + peft + trl ("unsloth" or '
    '"transformers" to force one).',
    "load_in_4bit": "QLoRA: 4-bit base weights where CUDA and bitsandbytes exist; full precision elsewhere.",
    "lora_r": "LoRA rank.",
    "lora_alpha": "LoRA scaling numerator (alpha / r scales the update).",
    "lora_dropout": "Dropout on the LoRA input; 0 is fastest (and what unsloth optimises).",
    "lora_target_modules": "Regex (or list of names) of modules that get adapters. The default matches only "
    "the text backbone's\n projections: peft refuses Gemma 4's clippable vision/audio linears.",
    "learning_rate": "Peak learning rate.",
    "num_train_epochs": "Passes over the train split.",
    "max_steps": "Stop after this many optimiser steps (-1: run the epochs).",
    "lr_scheduler_type": "Learning-rate schedule (linear, cosine, constant, cosine_with_min_lr, ...).",
    "lr_scheduler_kwargs": "Extra arguments of the schedule, e.g. { min_lr_rate = 0.1 } for cosine_with_min_lr,\n"
    " { num_decay_steps = 100 } for warmup_stable_decay.",
    "warmup_steps": "Warm-up steps (a value below 1 is a fraction of all steps).",
    "per_device_train_batch_size": "Examples per device per forward pass.",
    "gradient_accumulation_steps": "Effective batch = per_device_train_batch_size x this x devices (32).",
    "max_length": "Tokens per example; longer ones are cut at the end.",
    "bf16": "bfloat16 compute where the hardware supports it (ignored elsewhere).",
    "gradient_checkpointing": "Trade compute for memory (unsloth uses its own variant).",
    "seed": "Seed for LoRA init and data order.",
    "logging_steps": "Log loss every this many steps.",
    "save_strategy": 'Checkpoints: "steps" (every save_steps), "epoch", or "no". Resume with: train --resume.',
    "save_steps": "Save a checkpoint every this many steps.",
    "save_total_limit": "Keep at most this many checkpoints (0: keep all).",
    "eval_strategy": 'Eval loss during training: "no" (only at the end), "steps" (every eval_steps) or "epoch".',
    "eval_steps": "Evaluate every this many steps (0: whenever a checkpoint is saved).",
    "load_best_model_at_end": "Finish with the best checkpoint by metric_for_best_model (needs eval and save "
    "strategies alike).",
    "metric_for_best_model": "Metric that picks the best checkpoint.",
    "report_to": 'Where to log: "none", "tensorboard" (output_dir/runs), "wandb", "mlflow" (each must be installed).',
    "output_dir": "Adapter, tokenizer, checkpoints, resolved config and metrics.json go here (next to this file "
    "when relative).",
    "loss": '"completion": loss on the answer only (prompt tokens masked); "full": the whole conversation.',
    "overlong": '"error": refuse examples whose answer max_length cuts away entirely; "drop": skip them.',
    "merge": "Also write a merged (base + adapter) model to output_dir/merged.",
}

DATASET_COMMENTS: dict[str, str] = {
    "path": "A rustgate dataset folder (manifest.json + splits), or JSONL / Parquet with gates per row "
    "(next to this file when relative).",
    "split": "Split to train on.",
    "eval_split": 'Split for eval loss ("" for none).',
    "required_gates": "Gates every record must have passed, for its exact content (a folder's manifest adds its "
    "own).\n An empty list trains on ungated data and needs --allow-ungated.",
}

TABLE_COMMENTS: dict[str, str] = {
    "trl": "Extra trl.SFTConfig arguments (weight_decay, optim, packing, ...); keys set above are refused here.",
    "peft": "Extra peft.LoraConfig arguments (use_rslora, use_dora, modules_to_save, ...).",
}
GRPO_COMMENTS: dict[str, str] = {
    "prompts": 'JSONL of {"prompt": ..., "crate": ...} to sample from; absent: the instructions of dataset.split.',
    "num_generations": "Completions per prompt (one GRPO group); the batch below must be a multiple of it.",
    "max_completion_length": "Tokens per completion; a cut-off answer cannot compile (see mask_truncated_completions).",
    "max_steps": "Optimiser steps (each generates batch / num_generations prompts x num_generations).",
    "learning_rate": "Peak learning rate (GRPO wants far less than SFT's 5e-5).",
    "beta": "KL penalty against the base model (0: no reference model is loaded).",
    "temperature": "Sampling temperature of the generations.",
    "per_device_train_batch_size": "Completions per device per step.",
    "gradient_accumulation_steps": "Steps accumulated per optimiser step.",
    "use_vllm": "Generate with vLLM (GPU only; needs the vllm package).",
    "vllm_mode": '"colocate" (vLLM inside this process) or "server" (trl vllm-serve elsewhere).',
    "tiers": "Gate tiers a completion must pass for the full reward: compile, clippy, test, run.",
    "compile_weight": "Weight of the compile reward.",
    "judge": "An LLM judge as a second reward (PROVIDER:MODEL, e.g. anthropic:claude-sonnet-4-5); its mean score / 10.",
    "judge_base_url": "The judge's server (an OpenAI- or Anthropic-compatible endpoint).",
    "judge_weight": "Weight of the judge reward.",
    "scores": "rustgate.rewards.RewardScores overrides, e.g. { partial = 0.3, invented_penalty = 0.2 }.",
    "trl": "Extra trl.GRPOConfig arguments (mask_truncated_completions, multi_objective_aggregation, ...).",
}
NONE_AS_EMPTY = {"eval_split"}  # TOML has no null: "" is how these say "none", and the loader reads it back


def _comment(container: Any, text: str | None, comments: bool) -> None:
    if comments and text:
        for line in text.split("\n"):
            container.add(tomlkit.comment(line.strip()))


def _value(key: str, value: Any) -> Any:
    if value is None and key in NONE_AS_EMPTY:
        return ""
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update(value)
        return inline
    return value


def render(config: TrainConfig, *, comments: bool = True, header: list[str] | None = None) -> str:
    """The config as TOML text, each key preceded by what it does; loading it gives ``config`` back."""
    values = config.model_dump()
    doc = tomlkit.document()
    for line in header if header is not None else HEADER:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    for key, value in values.items():
        if key in ("dataset", "grpo", *TABLE_COMMENTS) or value is None:
            continue
        _comment(doc, COMMENTS.get(key), comments)
        doc.add(key, _value(key, value))
    table: Table = tomlkit.table()
    for key, value in values["dataset"].items():
        _comment(table, DATASET_COMMENTS.get(key), comments)
        table.add(key, _value(key, value))
    doc.add(tomlkit.nl())
    doc.add("dataset", table)
    for name, text in TABLE_COMMENTS.items():
        extra: Table = tomlkit.table()
        _comment(extra, text, comments)
        for key, value in values[name].items():
            extra.add(key, value)
        doc.add(tomlkit.nl())
        doc.add(name, extra)
    if values.get("grpo") is not None:
        grpo: Table = tomlkit.table()
        _comment(grpo, "The GRPO recipe (arcwright-train grpo): the compile gate as the reward.", comments)
        for key, value in values["grpo"].items():
            if value is None:  # unset: shown as a commented example
                _comment(grpo, f'{GRPO_COMMENTS.get(key, "")}\n {key} = "prompts.jsonl"', comments)
                continue
            _comment(grpo, GRPO_COMMENTS.get(key), comments)
            grpo.add(key, _value(key, value))
        doc.add(tomlkit.nl())
        doc.add("grpo", grpo)
    return tomlkit.dumps(doc)


def write_default(path: str | Path, *, force: bool = False, grpo: bool = False) -> Path:
    """``arcwright-train init``: the reference defaults, commented; never clobbers a file unasked.
    ``grpo``: with the ``[grpo]`` table of the GRPO recipe."""
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists (use --force to overwrite)")
    write_text(target, render(TrainConfig(grpo=GrpoConfig() if grpo else None)))
    return target
