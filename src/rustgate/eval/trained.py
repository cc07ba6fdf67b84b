"""``arcwright-train eval OUTPUT_DIR``: a training output (the LoRA adapter) against its base model.

The base comes from the run's ``arcwright-train.resolved.toml`` (``model_name_or_path``), else
from ``adapter_config.json`` (``base_model_name_or_path``). Both run locally with transformers
on the same prompts; the leaderboard gets the paired "adapter vs base" comparison and lands in
``OUTPUT_DIR/eval`` unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded on use: ``arcwright-train --help`` must not pay for the LLM SDKs
    from rustgate.eval.config import EvalConfig

RESOLVED = "arcwright-train.resolved.toml"


def base_of(folder: Path) -> str:
    from rustgate.eval.config import EvalConfigError

    resolved = folder / RESOLVED
    if resolved.is_file():
        name = tomllib.loads(resolved.read_text(encoding="utf-8")).get("model_name_or_path")
        if isinstance(name, str) and name:
            return name
    adapter = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    name = adapter.get("base_model_name_or_path")
    if not isinstance(name, str) or not name:
        raise EvalConfigError(f"{folder}: cannot tell the base model: give --base")
    return name


def config_for(folder: str | Path, *, judge: dict[str, Any], base: str | None = None, **settings: Any) -> EvalConfig:
    """An ``EvalConfig`` with the base model and base + adapter; ``settings`` are EvalConfig keys,
    plus ``max_tokens``, ``batch_size``, ``device`` and ``temperature`` for both models."""
    from rustgate.eval.config import EvalConfig, EvalConfigError

    out = Path(folder)
    if not (out / "adapter_config.json").is_file():
        raise EvalConfigError(f"{folder}: no adapter_config.json: not an arcwright-train output folder")
    path = base or base_of(out)
    per_model = {k: settings.pop(k) for k in ("max_tokens", "batch_size", "device", "temperature") if k in settings}
    settings.setdefault("output", out / "eval")
    return EvalConfig.model_validate(
        {
            **{k: v for k, v in settings.items() if v is not None},
            "models": [{"path": path, **per_model}, {"path": path, "adapter": str(out), **per_model}],
            "judge": judge,
        }
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a training output (adapter) against its base model")
    parser.add_argument("output_dir", help="an arcwright-train output folder (adapter_config.json inside)")
    parser.add_argument("--judge", required=True, metavar="PROVIDER:MODEL", help="the judge model")
    parser.add_argument("--judge-base-url", default=None)
    parser.add_argument("--judge-samples", type=int, default=1)
    parser.add_argument("--base", default=None, help="the base model (default: the one the run trained)")
    parser.add_argument("--suite", default=None, help="rustweb-15 (default), rustweb-60, or a JSONL file")
    parser.add_argument("--limit", type=int, default=None, help="at most this many prompts per crate")
    parser.add_argument("--samples", type=int, default=None, help="answers per prompt (n of pass@k)")
    parser.add_argument("--max-tokens", type=int, default=None, help="new tokens per answer (default 2048)")
    parser.add_argument("--temperature", type=float, default=None, help="0 (default) decodes greedily")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--output", default=None, help="leaderboard folder (default: OUTPUT_DIR/eval)")
    parser.add_argument("--ledger", default=None, help="ledger file (default: the rustgate cache)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from rustgate.eval.config import EvalConfigError
    from rustgate.eval.render import summary_markdown
    from rustgate.eval.runner import evaluate
    from rustgate.eval.suite import SuiteError
    from rustgate.llm.errors import LLMConfigError

    judge = {"model": args.judge, "base_url": args.judge_base_url, "samples": args.judge_samples}
    settings = {
        k: getattr(args, k)
        for k in ("suite", "limit", "samples", "max_tokens", "temperature", "batch_size", "device", "output", "ledger")
        if getattr(args, k) is not None
    }
    try:
        config = config_for(args.output_dir, judge=judge, base=args.base, **settings)
        result = evaluate(config, progress=not args.no_progress)
    except (EvalConfigError, ValidationError, SuiteError, LLMConfigError, OSError) as exc:
        print(f"arcwright-train eval: {exc}", file=sys.stderr)
        return 2
    print(summary_markdown(result.leaderboard))
    print(f"\nwrote {config.output}/leaderboard.md, leaderboard.html, leaderboard.json, answers.jsonl")
    for error in result.errors[:10]:
        print(f"  error    {error}", file=sys.stderr)
    return result.exit_code
