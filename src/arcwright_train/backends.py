"""Pick and load a backend: unsloth ``FastModel`` on CUDA when installed, else transformers + peft.

Every heavy import (torch, transformers, peft, unsloth) happens inside a function, so importing
this package (and ``arcwright-train --help``) costs nothing, and CPU machines never need unsloth.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcwright_train.config import TrainConfig
from rustgate.atomic import make_staging_dir


class BackendError(RuntimeError):
    """The requested backend cannot run here."""


@dataclass
class BackendChoice:
    """What will run, decided from the config and the hardware, with the reasons as notes."""

    name: str  # "unsloth" or "transformers"
    device: str  # "cuda", "mps" or "cpu"
    load_in_4bit: bool
    bf16: bool
    fp16: bool
    world_size: int
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        precision = "4-bit base (QLoRA)" if self.load_in_4bit else "full-precision base"
        compute = "bf16" if self.bf16 else "fp16" if self.fp16 else "fp32"
        return f"{self.name} on {self.device} ({precision}, {compute} compute, world size {self.world_size})"


def _unsloth_importable() -> tuple[bool, str]:
    try:
        importlib.import_module("unsloth")
    except Exception as exc:  # unsloth raises assorted errors when it cannot patch this setup
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def choose_backend(config: TrainConfig) -> BackendChoice:
    """Apply the hardware rules: unsloth and 4-bit need CUDA; bf16 only where supported."""
    import torch

    notes: list[str] = []
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "mps" if torch.backends.mps.is_available() else "cpu"
    world_size = int(os.environ.get("WORLD_SIZE", "1"))

    name = "transformers"
    if config.backend in ("auto", "unsloth") and cuda:
        ok, why = _unsloth_importable()
        if ok:
            name = "unsloth"
        elif config.backend == "unsloth":
            raise BackendError(f"backend = 'unsloth' but unsloth cannot be imported ({why})")
        else:
            notes.append("unsloth not available; using transformers + peft + trl")
    elif config.backend == "unsloth":
        raise BackendError("backend = 'unsloth' needs a CUDA GPU; use 'auto' or 'transformers' here")

    load_in_4bit = config.load_in_4bit
    if load_in_4bit and not cuda:
        load_in_4bit = False
        notes.append("load_in_4bit needs CUDA: loading the base in full precision instead")
    elif load_in_4bit and name == "transformers" and importlib.util.find_spec("bitsandbytes") is None:
        load_in_4bit = False
        notes.append("load_in_4bit needs bitsandbytes (not installed): loading in full precision instead")

    bf16 = config.bf16 and cuda and torch.cuda.is_bf16_supported()
    fp16 = cuda and not bf16
    if config.bf16 and not bf16:
        notes.append(f"bf16 not supported on {device}: computing in {'fp16' if fp16 else 'fp32'}")
    return BackendChoice(name, device, load_in_4bit, bf16, fp16, world_size, notes)


def load_tokenizer(model_name_or_path: str) -> Any:
    """The text tokenizer (with its chat template); enough for planning without the weights."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_name_or_path)


def load_for_training(config: TrainConfig, choice: BackendChoice, peft_config: Any) -> tuple[Any, Any, Any]:
    """``(model, tokenizer, peft_config)``; ``peft_config`` is None when the model already has adapters."""
    if choice.name == "unsloth":
        return _load_unsloth(config, choice)
    model, tokenizer = _load_transformers(config, choice)
    return model, tokenizer, peft_config


def _load_transformers(config: TrainConfig, choice: BackendChoice) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    if choice.device == "cuda":
        kwargs["dtype"] = torch.bfloat16 if choice.bf16 else torch.float16
    else:
        kwargs["dtype"] = torch.float32
    if choice.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs["dtype"],
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    model = AutoModelForCausalLM.from_pretrained(config.model_name_or_path, **kwargs)
    return model, load_tokenizer(config.model_name_or_path)


def _load_unsloth(config: TrainConfig, choice: BackendChoice) -> tuple[Any, Any, Any]:
    """Untested without a GPU: follows unsloth's documented ``FastModel`` API; ``[peft]`` extras pass through."""
    unsloth = importlib.import_module("unsloth")
    fast_model = unsloth.FastModel
    model, processor = fast_model.from_pretrained(
        model_name=config.model_name_or_path,
        max_seq_length=config.max_length,
        load_in_4bit=choice.load_in_4bit,
        full_finetuning=False,
    )
    model = fast_model.get_peft_model(
        model,
        finetune_vision_layers=False,
        finetune_language_layers=True,
        finetune_attention_modules=True,
        finetune_mlp_modules=True,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
        random_state=config.seed,
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
        **{"bias": "none", **config.peft},
    )
    tokenizer = getattr(processor, "tokenizer", processor)  # Gemma 4 comes with a multimodal processor
    return model, tokenizer, None


def merge_and_save(config: TrainConfig, choice: BackendChoice, model: Any, tokenizer: Any, target: Path) -> None:
    """Write base + adapter as one model; from a full-precision reload, never from 4-bit weights.

    Written beside ``target`` and renamed into place, so an old merged model never mixes with a new one.
    """
    staging = make_staging_dir(target.parent, target.name)
    try:
        if choice.name == "unsloth":
            model.save_pretrained_merged(str(staging), tokenizer, save_method="merged_16bit")
        else:
            import torch
            from peft import PeftModel
            from transformers import AutoModelForCausalLM

            dtype = torch.bfloat16 if choice.bf16 else torch.float32
            base = AutoModelForCausalLM.from_pretrained(config.model_name_or_path, dtype=dtype)
            merged = PeftModel.from_pretrained(base, config.output_dir).merge_and_unload()
            merged.save_pretrained(str(staging))
            tokenizer.save_pretrained(str(staging))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
