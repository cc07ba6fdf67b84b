"""Write configs as commented TOML (tomlkit), so the file explains itself and comments survive edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from arcwright_train.config import TrainConfig

HEADER = [
    "arcwright-train config: fine-tune on a rustgate dataset that passed its gates.",
    "Defaults are the reference recipe (Gemma 4 E4B, QLoRA r=8, lr 5e-5, 1 epoch, cosine, batch 32).",
    "Any key can be overridden on the command line: arcwright-train train --config F --learning-rate 1e-4",
]

COMMENTS: dict[str, str] = {
    "model_name_or_path": "Hub id or local folder of the base model.",
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
    "lr_scheduler_type": "Learning-rate schedule (linear, cosine, constant, ...).",
    "warmup_steps": "Warm-up steps (a value below 1 is a fraction of all steps).",
    "per_device_train_batch_size": "Examples per device per forward pass.",
    "gradient_accumulation_steps": "Effective batch = per_device_train_batch_size x this x devices (32).",
    "max_length": "Tokens per example; longer ones are cut at the end.",
    "bf16": "bfloat16 compute where the hardware supports it (ignored elsewhere).",
    "gradient_checkpointing": "Trade compute for memory (unsloth uses its own variant).",
    "seed": "Seed for LoRA init and data order.",
    "logging_steps": "Log loss every this many steps.",
    "output_dir": "Adapter, tokenizer, resolved config and metrics.json go here.",
    "loss": '"completion": loss on the answer only (prompt tokens masked); "full": the whole conversation.',
    "overlong": '"error": refuse examples whose answer max_length cuts away entirely; "drop": skip them.',
    "merge": "Also write a merged (base + adapter) model to output_dir/merged.",
}

DATASET_COMMENTS: dict[str, str] = {
    "path": "A rustgate dataset folder (manifest.json + splits), or JSONL / Parquet with gates per row.",
    "split": "Split to train on.",
    "eval_split": 'Split for the final eval loss ("" for none).',
    "required_gates": "Gates every record must have passed (a folder's manifest may require more).",
}


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: leave unset optional keys out."""
    return {k: (_without_none(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}


def render(config: TrainConfig, *, comments: bool = True, header: list[str] | None = None) -> str:
    """The config as TOML text, each key preceded by what it does."""
    values = _without_none(config.model_dump())
    doc = tomlkit.document()
    for line in header if header is not None else HEADER:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    for key, value in values.items():
        if key == "dataset":
            continue
        if comments and key in COMMENTS:
            for line in COMMENTS[key].split("\n"):
                doc.add(tomlkit.comment(line.strip()))
        doc.add(key, value)
    table: Table = tomlkit.table()
    for key, value in values.get("dataset", {}).items():
        if comments and key in DATASET_COMMENTS:
            table.add(tomlkit.comment(DATASET_COMMENTS[key]))
        table.add(key, value)
    doc.add(tomlkit.nl())
    doc.add("dataset", table)
    return tomlkit.dumps(doc)


def write_default(path: str | Path, *, force: bool = False) -> Path:
    """``arcwright-train init``: the reference defaults, commented; never clobbers a file unasked."""
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists (use --force to overwrite)")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(TrainConfig()), encoding="utf-8")
    return target
