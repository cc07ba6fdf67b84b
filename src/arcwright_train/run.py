"""One training run, end to end: plan (every refusal) -> SFTTrainer -> adapter, config, metrics.json.

Checkpoints land in ``output_dir/checkpoint-N`` every ``save_steps``; ``resume`` continues from
one. Ctrl-C ends the run with :class:`TrainingInterrupted`, which says the step reached and how
to resume, instead of a traceback.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arcwright_train.backends import load_for_training, merge_and_save
from arcwright_train.config import TrainConfig
from arcwright_train.data import check_labels, to_rows
from arcwright_train.gated import FOLDER
from arcwright_train.outputs import (
    RESOLVED_CONFIG,
    Checkpoint,
    begin,
    checkpoints,
    record_written,
    write_json,
    write_text,
)
from arcwright_train.plan import Plan, make_plan
from arcwright_train.scaffold import render

__all__ = ["RESOLVED_CONFIG", "TrainingInterrupted", "build_trainer", "make_plan", "train"]


class TrainingInterrupted(Exception):
    """Ctrl-C during a run: where it stopped and what to resume from."""

    def __init__(self, step: int, total: int, checkpoint: Checkpoint | None, save_steps: int) -> None:
        self.step, self.total, self.checkpoint = step, total, checkpoint
        if checkpoint is not None:
            how = (
                f"the last checkpoint is {checkpoint.path} (step {checkpoint.step}); "
                "re-run the same command with --resume to continue from it"
            )
        else:
            how = (
                f"no checkpoint was saved yet (one is saved every {save_steps} steps); "
                "re-run the same command with --overwrite to start again"
            )
        super().__init__(f"interrupted at step {step} of {total}: {how}")


def outputs_callback(folder: Path) -> Any:
    from transformers import TrainerCallback

    class RecordOutputs(TrainerCallback):
        """Keep ``arcwright-train.run.json`` current, so --overwrite knows what a killed run left."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                record_written(folder)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                record_written(folder)

    return RecordOutputs()


def build_trainer(config: TrainConfig, plan: Plan) -> tuple[Any, Any, Any]:
    """``(trainer, model, tokenizer)`` with datasets prepared and their labels checked."""
    from datasets import Dataset
    from trl import SFTTrainer

    model, tokenizer, peft_config = load_for_training(config, plan.backend, plan.peft_config)
    train_ds = Dataset.from_list(to_rows(plan.train_records, config.loss))
    eval_ds = Dataset.from_list(to_rows(plan.eval_records, config.loss)) if plan.eval_records else None
    trainer = SFTTrainer(
        model=model,
        args=plan.sft_args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[outputs_callback(Path(config.output_dir))],
    )
    packed = bool(getattr(plan.sft_args, "packing", False))
    check_labels(trainer.train_dataset, None if packed else plan.train_count, config.dataset.split)
    if eval_ds is not None:
        check_labels(trainer.eval_dataset, None if packed else plan.eval_count, str(plan.eval_split))
    return trainer, model, tokenizer


def _close_progress_bars(trainer: Any) -> None:
    """So the interrupt message is the last line, not a progress bar redrawn after it."""
    for callback in trainer.callback_handler.callbacks:
        for name in ("training_bar", "prediction_bar"):
            bar = getattr(callback, name, None)
            if bar is not None:
                bar.close()
                setattr(callback, name, None)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def train(
    config: TrainConfig,
    *,
    allow_ungated: bool = False,
    dry_run: bool = False,
    resume: str | None = None,
    overwrite: bool = False,
    config_source: str = "defaults",
    echo: Callable[[str], None] = print,
) -> dict[str, Any] | None:
    """Run (or, with ``dry_run``, only plan) a fine-tune; returns the metrics written."""
    started = time.monotonic()
    echo(f"config    {config_source}")  # first, so a refusal below still says which config it read
    plan = make_plan(config, allow_ungated=allow_ungated, resume=resume, overwrite=overwrite)
    echo(plan.render())
    if dry_run:
        return None
    trainer, _model, tokenizer = build_trainer(config, plan)
    out = Path(config.output_dir)
    main_process = trainer.is_world_process_zero()
    resolved = render(plan.resolved_config(), header=["The config this run resolved to (file + command line)."])
    resume_from = plan.output.resume_from
    try:
        if main_process:
            begin(plan.output, resolved)
        result = trainer.train(resume_from_checkpoint=str(resume_from.path) if resume_from else None)
        trained = int(result.global_step) - (resume_from.step if resume_from else 0)
        train_loss = _finite(result.training_loss) if trained > 0 else None
        if trained > 0 and train_loss is None:
            raise RuntimeError(f"training loss is not finite ({result.training_loss}); no adapter was saved")
        eval_metrics = trainer.evaluate() if trainer.eval_dataset is not None else {}
        trainer.save_model(str(out))  # the adapter, plus the tokenizer and its chat template (main process only)
        metrics = _metrics(config, plan, trainer, result, train_loss, eval_metrics, time.monotonic() - started)
        if not main_process:  # under torchrun/accelerate, one process writes the files
            return metrics
        tokenizer.save_pretrained(str(out))
        write_text(out / RESOLVED_CONFIG, resolved)
        if config.merge:
            merge_and_save(config, plan.backend, trainer.model, tokenizer, out / "merged")
        write_json(out / "metrics.json", metrics)
        record_written(out, status="finished")
    except KeyboardInterrupt:
        _close_progress_bars(trainer)
        if main_process:
            record_written(out, status="interrupted")
        complete, _ = checkpoints(out)
        raise TrainingInterrupted(
            trainer.state.global_step, plan.total_steps, complete[0] if complete else None, config.save_steps
        ) from None
    eval_loss = metrics["eval_loss"]
    echo(
        f"train loss {train_loss if train_loss is None else f'{train_loss:.4f}'}, eval loss {eval_loss}, "
        f"{metrics['train_runtime_s']:.1f}s; wrote {out}"
    )
    return metrics


def _metrics(
    config: TrainConfig,
    plan: Plan,
    trainer: Any,
    result: Any,
    train_loss: float | None,
    eval_metrics: dict[str, Any],
    runtime: float,
) -> dict[str, Any]:
    """What the run did, including whether ungated data was let in (so it can never go unnoticed)."""
    import peft
    import torch
    import transformers
    import trl

    data, resumed = plan.data, plan.output.resume_from
    state = trainer.state
    return {
        "train_loss": train_loss,
        "eval_loss": _finite(eval_metrics.get("eval_loss")),
        "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)),
        "total_runtime_s": runtime,
        "global_step": int(result.global_step),
        "resumed": resumed is not None,
        "resumed_from": str(resumed.path) if resumed else None,
        "resumed_at_step": resumed.step if resumed else None,
        "best_model_checkpoint": state.best_model_checkpoint,
        "best_metric": _finite(state.best_metric),
        "allow_ungated": data.allow_ungated,
        "ungated_records": [r.record_id for r in data.refused if r.record_id != FOLDER],
        "ungated_reasons": {r.record_id: "; ".join(r.problems) for r in data.refused if r.record_id != FOLDER},
        "dataset_problems": ["; ".join(r.problems) for r in data.refused if r.record_id == FOLDER],
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
        "log_history": [{k: v for k, v in entry.items() if isinstance(v, int | float)} for entry in state.log_history],
    }
