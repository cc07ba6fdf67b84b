"""The run plan: what will be trained, how long, on what. ``--dry-run`` prints it and stops.

Computed before any weights load, so a wrong split, a tiny dataset or an odd batch size shows up
in seconds rather than after a model download.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from arcwright_train.backends import BackendChoice
from arcwright_train.config import TrainConfig
from arcwright_train.data import TokenStats
from arcwright_train.gated import GatedData


@dataclass
class Plan:
    config: TrainConfig
    data: GatedData
    backend: BackendChoice
    train_count: int
    eval_count: int
    tokens: dict[str, TokenStats] = field(default_factory=dict)
    token_error: str | None = None

    @property
    def effective_batch(self) -> int:
        c = self.config
        return c.per_device_train_batch_size * c.gradient_accumulation_steps * self.backend.world_size

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps per epoch, rounded the way ``transformers.Trainer`` rounds them."""
        c = self.config
        batches = math.ceil(self.train_count / (c.per_device_train_batch_size * self.backend.world_size))
        return max(math.ceil(batches / c.gradient_accumulation_steps), 1)

    @property
    def total_steps(self) -> int:
        if self.config.max_steps > 0:
            return self.config.max_steps
        return math.ceil(self.config.num_train_epochs * self.steps_per_epoch)

    def crate_counts(self) -> dict[str, dict[str, int]]:
        return {
            split: dict(sorted(Counter(r.crate or "-" for r in records).items()))
            for split, records in self.data.splits.items()
        }

    def summary(self) -> dict[str, Any]:
        """The plan as plain data, for metrics.json."""
        return {
            "backend": self.backend.describe(),
            "examples": self.crate_counts(),
            "train_examples": self.train_count,
            "eval_examples": self.eval_count,
            "effective_batch": self.effective_batch,
            "steps": self.total_steps,
            "tokens": {
                split: {"prompt": s.prompt_tokens, "answer": s.answer_tokens, "longest": s.longest}
                for split, s in self.tokens.items()
            },
        }

    def render(self) -> str:
        c = self.config
        lines = [f"dataset   {self.data.source} ({self.data.kind}); gates: {', '.join(self.data.required_gates)}"]
        if self.data.refused:
            lines.append(f"  UNGATED  {len(self.data.refused)} records did not pass and are let through")
        for split, counts in self.crate_counts().items():
            per_crate = ", ".join(f"{crate} {n}" for crate, n in counts.items())
            lines.append(f"  {split:<8} {sum(counts.values())} examples ({per_crate})")
        lines.append(
            f"  train on {c.dataset.split!r} ({self.train_count}), eval on {c.dataset.eval_split!r} ({self.eval_count})"
        )
        if self.token_error:
            lines.append(f"tokens    unavailable: {self.token_error}")
        for split, s in self.tokens.items():
            lines.append(
                f"tokens    {split}: {s.total_tokens} ({s.prompt_tokens} prompt, {s.answer_tokens} answer), "
                f"longest {s.longest}, max_length {c.max_length}: {len(s.truncated)} truncated, "
                f"{len(s.cut_away)} with the answer cut away"
            )
        lines += [
            f"model     {c.model_name_or_path}; LoRA r={c.lora_r} alpha={c.lora_alpha} "
            f"dropout={c.lora_dropout}; loss: {c.loss}",
            f"backend   {self.backend.describe()}",
            *[f"  note    {note}" for note in self.backend.notes],
            f"batch     {c.per_device_train_batch_size} per device x {c.gradient_accumulation_steps} "
            f"accumulation x {self.backend.world_size} devices = {self.effective_batch} effective",
            f"steps     {self.total_steps} ({self.steps_per_epoch} per epoch, "
            + (f"max_steps {c.max_steps})" if c.max_steps > 0 else f"{c.num_train_epochs:g} epochs)"),
            f"schedule  lr {c.learning_rate:g}, {c.lr_scheduler_type}, warm-up {c.warmup_steps:g}",
            f"output    {c.output_dir}" + (" (+ merged/)" if c.merge else ""),
        ]
        return "\n".join(lines)
