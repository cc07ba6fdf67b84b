"""``arcwright-train grpo``: TRL's GRPOTrainer with LoRA, rewarded by the compile gate.

Prompts are the gated dataset's instructions (the first user message of each record of
``dataset.split``, refused records left out exactly as for SFT) or a ``[grpo] prompts`` file; each
carries its ``crate``, which picks the profile the reward compiles against. The reward is
``rustgate.rewards.CompileReward`` on the gate with ``[grpo] tiers``; every call's verdicts are
cached in the user's ledger, so a resumed run scores repeats for free. The reward curve (each
logged step's mean reward, pass rate, rejected and cache-hit rates) is written to
``reward_curve.jsonl`` as the run goes and summarised in ``metrics.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arcwright_train.backends import choose_backend, load_for_training
from arcwright_train.config import ConfigError, GrpoConfig, TrainConfig
from arcwright_train.gated import load_gated
from arcwright_train.hub import check_model
from arcwright_train.outputs import RESOLVED_CONFIG, begin, plan_output, record_written, write_json, write_text
from arcwright_train.passthrough import check_report_to, lora_config
from arcwright_train.reward_report import COLUMNS, CURVE, REPORT, read_curve, render_report
from arcwright_train.scaffold import render

_CURVE_KEYS = tuple(key for key, _ in COLUMNS)


def prompts_of(config: TrainConfig, *, allow_ungated: bool = False) -> tuple[list[dict[str, str]], str]:
    """``([{"prompt", "crate"}], where they came from)``."""
    grpo = config.grpo or GrpoConfig()
    if grpo.prompts is not None:
        path = Path(grpo.prompts)
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows.append({"prompt": str(row["prompt"]), "crate": str(row.get("crate") or "rust")})
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{number}: not a prompt row ({exc}): {line[:80]}") from exc
        return rows, str(path)
    data = load_gated(config.dataset.path, config.dataset.required_gates, allow_ungated=allow_ungated)
    refused = {r.record_id for r in data.refused}
    rows = [
        {"prompt": record.prompt, "crate": record.crate or "rust"}
        for record in data.split(config.dataset.split)
        if record.id not in refused and record.prompt
    ]
    return rows, f"{data.source} ({config.dataset.split}, {len(refused)} refused)"


def grpo_args(config: TrainConfig, device: str, bf16: bool) -> Any:
    from trl import GRPOConfig

    grpo = config.grpo or GrpoConfig()
    kwargs: dict[str, Any] = {
        "output_dir": config.output_dir,
        "max_steps": grpo.max_steps,
        "learning_rate": grpo.learning_rate,
        "beta": grpo.beta,
        "temperature": grpo.temperature,
        "num_generations": grpo.num_generations,
        "max_completion_length": grpo.max_completion_length,
        "per_device_train_batch_size": grpo.per_device_train_batch_size,
        "gradient_accumulation_steps": grpo.gradient_accumulation_steps,
        "use_vllm": grpo.use_vllm,
        "vllm_mode": grpo.vllm_mode,
        "reward_weights": [grpo.compile_weight, *([grpo.judge_weight] if grpo.judge else [])],
        "logging_steps": config.logging_steps,
        "save_strategy": config.save_strategy,
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit or None,
        "seed": config.seed,
        "bf16": bf16,
        "report_to": config.report_to,
        "use_cpu": device == "cpu",
        **grpo.trl,
    }
    try:
        return GRPOConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"trl refused the GRPO arguments: {exc}") from exc


def _curve_callback(folder: Path, kept: list[dict[str, float]]) -> Any:
    from transformers import TrainerCallback

    class RewardCurve(TrainerCallback):
        """Each logged step's reward numbers, rewritten whole (never a half-written file), after
        ``kept``: what a resumed run had logged up to its checkpoint."""

        def __init__(self) -> None:
            self.points: list[dict[str, float]] = list(kept)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if not state.is_world_process_zero or not logs or "reward" not in logs:
                return
            point = {"step": state.global_step, **{k: float(logs[k]) for k in _CURVE_KEYS if k in logs}}
            self.points.append(point)
            write_text(folder / CURVE, "".join(json.dumps(p) + "\n" for p in self.points))
            record_written(folder)

    return RewardCurve()


def train_grpo(
    config: TrainConfig,
    *,
    allow_ungated: bool = False,
    dry_run: bool = False,
    resume: str | None = None,
    overwrite: bool = False,
    config_source: str = "defaults",
    echo: Callable[[str], None] = print,
) -> dict[str, Any] | None:
    from rustgate.gates.compile import CompileGate
    from rustgate.ledger import Ledger
    from rustgate.paths import default_ledger_path
    from rustgate.rewards import CompileReward, RewardScores

    started = time.monotonic()
    echo(f"config    {config_source}")
    grpo = config.grpo or GrpoConfig()
    output = plan_output(Path(config.output_dir), resume=resume, overwrite=overwrite)
    check_report_to(config)
    rows, source = prompts_of(config, allow_ungated=allow_ungated)
    if not rows:
        raise ConfigError(f"no prompts to train on from {source}")
    check_model(config.model_name_or_path)
    backend = choose_backend(config)
    scores = RewardScores.model_validate(grpo.scores)
    gate = CompileGate(ledger=Ledger(default_ledger_path()), tiers=tuple(grpo.tiers))
    echo(f"prompts   {len(rows)} from {source}")
    judged = f" + judge {grpo.judge} x {grpo.judge_weight}" if grpo.judge else ""
    rewarded = f"compile ({', '.join(gate.tiers)}) x {grpo.compile_weight}{judged}"
    echo(f"grpo      {grpo.max_steps} steps, {grpo.num_generations} completions per prompt, reward {rewarded}")
    echo(f"backend   {backend.describe()}")
    if dry_run:
        return None

    from datasets import Dataset
    from trl import GRPOTrainer

    from arcwright_train.run import outputs_callback

    args = grpo_args(config, backend.device, backend.bf16)
    model, tokenizer, peft_config = load_for_training(config, backend, lora_config(config))
    rewards: list[Any] = [CompileReward(gate, scores=scores)]
    if grpo.judge:
        from rustgate.gates.judge import JudgeGate
        from rustgate.llm.client import LLMClient
        from rustgate.rewards import JudgeReward

        client = LLMClient(
            grpo.judge, ledger=gate.ledger or Ledger(default_ledger_path()), base_url=grpo.judge_base_url
        )
        rewards.append(JudgeReward(JudgeGate(client), compile_gate=gate))
    out = Path(config.output_dir)
    resume_from = output.resume_from
    curve_callback = _curve_callback(out, read_curve(out, up_to_step=resume_from.step) if resume_from else [])
    trainer = GRPOTrainer(
        model=model, reward_funcs=rewards, args=args, train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer, peft_config=peft_config,
        callbacks=[outputs_callback(out), curve_callback],
    )  # fmt: skip
    resolved = render(config, header=["The config this GRPO run resolved to (file + command line)."])
    begin(output, resolved)
    result = trainer.train(resume_from_checkpoint=str(resume_from.path) if resume_from else None)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    write_text(out / RESOLVED_CONFIG, resolved)
    curve: list[dict[str, float]] = curve_callback.points
    metrics = {
        "recipe": "grpo",
        "global_step": int(result.global_step),
        "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)),
        "total_runtime_s": time.monotonic() - started,
        "prompts": len(rows),
        "prompt_source": source,
        "reward": {"first": curve[0] if curve else None, "last": curve[-1] if curve else None, "points": len(curve)},
        "tiers": list(gate.tiers),
        "judge": grpo.judge,
        "reward_weights": args.reward_weights,
        "scores": scores.model_dump(),
        "model_name_or_path": config.model_name_or_path,
        "allow_ungated": allow_ungated,
        "resumed_from": str(resume_from.path) if resume_from else None,
    }
    write_json(out / "metrics.json", metrics)
    facts = {"model": config.model_name_or_path, "prompts": f"{len(rows)} from {source}", "reward": rewarded,
             "steps": str(metrics["global_step"]), "resumed from": metrics["resumed_from"] or "no"}  # fmt: skip
    write_text(out / REPORT, render_report(curve, facts))
    record_written(out, status="finished")
    last = curve[-1]["reward"] if curve else None
    echo(f"grpo done: {metrics['global_step']} steps, last mean reward {last}; wrote {out}")
    return metrics
