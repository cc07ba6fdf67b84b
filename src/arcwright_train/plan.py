"""The run plan: every refusal, and what will be trained, how long, on what. ``--dry-run`` prints it.

``make_plan`` is the one code path that decides whether a run may start; ``train`` calls it too,
so a dry run exits non-zero exactly where the run would refuse. It loads the tokenizer but never
the weights, so a wrong split, a missing model or an overlong dataset shows up in seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcwright_train.backends import BackendChoice, choose_backend, load_tokenizer
from arcwright_train.config import ConfigError, TrainConfig, load_config
from arcwright_train.data import OverlongError, TokenStats, all_dropped_message, drop_overlong, token_stats
from arcwright_train.gated import GatedData, UngatedDataError, load_gated
from arcwright_train.hub import ModelSource, ModelSourceError, check_model
from arcwright_train.outputs import RESOLVED_CONFIG, OutputPlan, plan_output
from arcwright_train.passthrough import check_report_to, check_scheduler, lora_config, sft_config
from rustgate.records import Record

DEFAULT_EVAL_SPLIT = "test"


@dataclass
class Plan:
    config: TrainConfig
    data: GatedData
    backend: BackendChoice
    output: OutputPlan
    model: ModelSource
    eval_split: str | None = None
    train_records: list[Record] = field(default_factory=list)
    eval_records: list[Record] = field(default_factory=list)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, TokenStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sft_args: Any = None
    peft_config: Any = None

    @property
    def train_count(self) -> int:
        return len(self.train_records)

    @property
    def eval_count(self) -> int:
        return len(self.eval_records)

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

    def resolved_config(self) -> TrainConfig:
        """The config that reproduces this run (the eval split it really used, "" for none)."""
        dataset = self.config.dataset.model_copy(update={"eval_split": self.eval_split})
        return self.config.model_copy(update={"dataset": dataset})

    def crate_counts(self) -> dict[str, dict[str, int]]:
        """Examples per crate of what is trained and evaluated (after any overlong drop)."""
        counts = {self.config.dataset.split: _per_crate(self.train_records)}
        if self.eval_split:
            counts[self.eval_split] = _per_crate(self.eval_records)
        return counts

    def summary(self) -> dict[str, Any]:
        """The plan as plain data, for metrics.json."""
        return {
            "backend": self.backend.describe(),
            "examples": self.crate_counts(),
            "dataset_examples": {split: _per_crate(records) for split, records in self.data.splits.items()},
            "dropped_overlong": self.dropped,
            "train_examples": self.train_count,
            "eval_examples": self.eval_count,
            "eval_split": self.eval_split,
            "effective_batch": self.effective_batch,
            "steps": self.total_steps,
            "tokens": {
                split: {"prompt": s.prompt_tokens, "answer": s.answer_tokens, "longest": s.longest}
                for split, s in self.tokens.items()
            },
            "warnings": self.warnings,
        }

    def render(self) -> str:
        c = self.config
        lines = [
            f"dataset   {self.data.source} ({self.data.kind}); gates: {', '.join(self.data.required_gates) or 'none'}",
        ]
        if self.data.refused:
            lines.append(f"  UNGATED  {len(self.data.refused)} records did not pass and are let through")
        if self.data.missing_from_files:
            lines.append(f"  note     {self.data.missing_from_files} records the manifest lists are not in the files")
        for split, records in self.data.splits.items():
            counts = _per_crate(records)
            per_crate = ", ".join(f"{crate} {n}" for crate, n in counts.items())
            lines.append(f"  {split:<8} {len(records)} examples" + (f" ({per_crate})" if per_crate else ""))
        lines.append(
            f"  train on {c.dataset.split!r} ({self.train_count}), "
            + (f"eval on {self.eval_split!r} ({self.eval_count})" if self.eval_split else "no eval")
        )
        for split, ids in self.dropped.items():
            if ids:
                lines.append(f"  dropped  {len(ids)} {split} examples longer than max_length: {', '.join(ids[:10])}")
        for split, s in self.tokens.items():
            lines.append(
                f"tokens    {split}: {s.total_tokens} ({s.prompt_tokens} prompt, {s.answer_tokens} answer), "
                f"longest {s.longest}, max_length {c.max_length}: {len(s.truncated)} truncated, "
                f"{len(s.cut_away)} with the answer cut away"
            )
        lines += [
            f"model     {c.model_name_or_path} ({self.model.kind}); LoRA r={c.lora_r} alpha={c.lora_alpha} "
            f"dropout={c.lora_dropout}; loss: {c.loss}",
            f"backend   {self.backend.describe()}",
            *[f"  note    {note}" for note in [*([self.model.note] if self.model.note else []), *self.backend.notes]],
            f"batch     {c.per_device_train_batch_size} per device x {c.gradient_accumulation_steps} "
            f"accumulation x {self.backend.world_size} devices = {self.effective_batch} effective",
            f"steps     {self.total_steps} ({self.steps_per_epoch} per epoch, "
            + (f"max_steps {c.max_steps})" if c.max_steps > 0 else f"{c.num_train_epochs:g} epochs)"),
            f"schedule  lr {c.learning_rate:g}, {c.lr_scheduler_type}, warm-up {c.warmup_steps:g}"
            + (f", {c.lr_scheduler_kwargs}" if c.lr_scheduler_kwargs else ""),
            f"saving    {_saving(c)}; eval during training: {_evaluating(c, self.eval_split)}; "
            f"report to: {', '.join(c.report_to)}",
            f"output    {c.output_dir}" + (" (+ merged/)" if c.merge else ""),
            *[f"  {line}" for line in self.output.describe()],
            *[f"  note    {note}" for note in self.notes],
            *[f"WARNING   {warning}" for warning in self.warnings],
        ]
        return "\n".join(lines)


def _per_crate(records: Sequence[Record]) -> dict[str, int]:
    return dict(sorted(Counter(r.crate or "-" for r in records).items()))


def _saving(c: TrainConfig) -> str:
    if c.save_strategy == "no":
        return "no checkpoints"
    every = f"every {c.save_steps} steps" if c.save_strategy == "steps" else "every epoch"
    return f"a checkpoint {every} (keep {c.save_total_limit or 'all'})"


def _evaluating(c: TrainConfig, eval_split: str | None) -> str:
    if c.eval_strategy == "no" or not eval_split:
        return "no"
    every = f"every {c.effective_eval_steps} steps" if c.eval_strategy == "steps" else "every epoch"
    best = f", keep the best by {c.metric_for_best_model}" if c.load_best_model_at_end else ""
    return every + best


def _eval_split(config: TrainConfig, data: GatedData, notes: list[str]) -> str | None:
    """The eval split to use: a typo is an error; a bare file has none (its default is ignored)."""
    name = config.dataset.eval_split
    if name is None or name in data.splits:
        return name
    if data.kind != "folder" and name == DEFAULT_EVAL_SPLIT:
        notes.append(f"a {data.kind} file is all train: no eval split")
        return None
    raise ConfigError(
        f"dataset.eval_split {name!r} is not a split of {data.source} (splits: {', '.join(data.splits) or 'none'}); "
        'set eval_split = "" for no eval'
    )


def make_plan(
    config: TrainConfig,
    *,
    allow_ungated: bool = False,
    resume: str | None = None,
    overwrite: bool = False,
    tokenizer: Any = None,
) -> Plan:
    """Apply every refusal a run applies, then describe the run; never loads model weights."""
    if not config.dataset.required_gates and not allow_ungated:
        raise UngatedDataError(
            "dataset.required_gates is empty, which would train on records no gate checked. Name the gates "
            "(the default is compile; a dataset folder's manifest adds its own), or pass --allow-ungated for an "
            "experiment (it is stamped into metrics.json).",
            [],
        )
    output = plan_output(Path(config.output_dir), resume=resume, overwrite=overwrite)
    check_report_to(config)
    data = load_gated(config.dataset.path, config.dataset.required_gates, allow_ungated=allow_ungated)
    split = config.dataset.split
    if split not in data.splits:
        raise ConfigError(
            f"dataset.split {split!r} is not a split of {data.source} (splits: {', '.join(data.splits) or 'none'})"
        )
    if not data.split(split):
        raise ConfigError(f"split {split!r} of {data.source} has no examples")
    notes: list[str] = []
    eval_split = _eval_split(config, data, notes)
    model = check_model(config.model_name_or_path)
    backend = choose_backend(config)
    plan = Plan(config, data, backend, output, model, eval_split, notes=notes)
    try:
        tokenizer = tokenizer if tokenizer is not None else load_tokenizer(config.model_name_or_path)
    except Exception as exc:  # transformers raises OSError, ValueError, ... with many lines
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelSourceError(
            f"could not load the tokenizer of {config.model_name_or_path}: {type(exc).__name__}: {first}"
        ) from exc
    _count_tokens(plan, tokenizer)
    _warn(plan)
    _compare_with_resumed_run(plan)
    check_scheduler(config, plan.total_steps)
    plan.sft_args = sft_config(config, backend, has_eval=bool(plan.eval_records))
    plan.peft_config = lora_config(config)
    return plan


def _count_tokens(plan: Plan, tokenizer: Any) -> None:
    """Token counts per split, and the ``overlong`` policy applied: refuse, or drop and record."""
    c = plan.config
    plan.train_records = plan.data.split(c.dataset.split)
    plan.eval_records = plan.data.split(plan.eval_split) if plan.eval_split else []
    for name, attr in ((c.dataset.split, "train_records"), (plan.eval_split, "eval_records")):
        records: list[Record] = getattr(plan, attr)
        if not name or not records or name in plan.tokens:
            continue
        stats = token_stats(records, tokenizer, c.max_length)
        plan.tokens[name] = stats
        kept = drop_overlong(records, stats, c.overlong, c.max_length, name)
        if len(kept) < len(records):
            plan.dropped[name] = list(stats.cut_away)
        if records and not kept:
            if attr == "train_records":
                raise OverlongError(all_dropped_message(len(records), name, c.max_length))
            plan.warnings.append(all_dropped_message(len(records), name, c.max_length) + ": no eval")
        setattr(plan, attr, kept)


def _compare_with_resumed_run(plan: Plan) -> None:
    """Resuming with other settings than the run being continued is allowed, but said out loud."""
    folder = plan.output.folder
    if plan.output.resume_from is None or not (folder / RESOLVED_CONFIG).is_file():
        return
    try:
        before = load_config(folder / RESOLVED_CONFIG).model_dump()
    except ConfigError:
        return
    now = plan.resolved_config().model_dump()
    changed = [key for key in now if now[key] != before.get(key)]
    if changed:
        plan.warnings.append(f"resuming with settings that differ from the interrupted run: {', '.join(changed)}")


def _warn(plan: Plan) -> None:
    c = plan.config
    wants_eval = c.eval_strategy != "no" or c.load_best_model_at_end
    if plan.eval_split and not plan.data.split(plan.eval_split):
        plan.warnings.append(f"eval split {plan.eval_split!r} is empty: no eval loss")
    if wants_eval and not plan.eval_records:
        raise ConfigError(
            f"eval_strategy = {c.eval_strategy!r}"
            + (" and load_best_model_at_end" if c.load_best_model_at_end else "")
            + " need eval examples, but there are none (dataset.eval_split "
            + (f"{plan.eval_split!r} is empty)" if plan.eval_split else "is unset)")
        )
    if plan.effective_batch > plan.train_count:
        plan.warnings.append(
            f"the effective batch ({plan.effective_batch}) is larger than the training set ({plan.train_count} "
            "examples): every step sees the whole set; lower per_device_train_batch_size or "
            "gradient_accumulation_steps"
        )
