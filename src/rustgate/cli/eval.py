"""``rustgate eval``: models under test over a prompt suite -> compile gate + judge -> leaderboard.

    rustgate eval --model anthropic:claude-sonnet-4-5 --model qwen=vllm:qwen-lora@http://localhost:8000/v1 \\
        --local ./gemma --local tuned=./gemma+./out/adapter --judge openai:gpt-4.1-mini --output out/eval
    rustgate eval eval.toml            # the same in a file ([[models]] tables, [judge], ...)

Exit status: 0 done, 1 some answers hit infrastructure errors (rerun to retry just those; all
else comes from the ledger), 2 bad configuration or input (nothing ran), 3 stopped by the budget.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("eval", help="evaluate models on a prompt suite: compile pass@1, judge, leaderboard")
    parser.add_argument("config", nargs="?", help="eval.toml (optional; flags add to or override it)")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="[LABEL=]PROVIDER:MODEL[@BASE_URL]",
        help="a served model under test (repeatable), e.g. vllm:my-lora@http://localhost:8000/v1",
    )
    parser.add_argument(
        "--local",
        action="append",
        default=[],
        metavar="[LABEL=]MODEL_DIR[+ADAPTER_DIR]",
        help="a local Hugging Face model, optionally with a LoRA adapter folder (repeatable)",
    )
    parser.add_argument("--judge", default=None, metavar="PROVIDER:MODEL", help="the judge model")
    parser.add_argument("--judge-base-url", default=None, help="base URL of the judge's server")
    parser.add_argument("--judge-samples", type=int, default=None, help="judgements per answer (k)")
    parser.add_argument("--suite", default=None, help="rustweb-15 (default), rustweb-60, or a JSONL file")
    parser.add_argument("--samples", type=int, default=None, help="answers per prompt and model (n of pass@k)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many prompts per crate")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature of the flag models")
    parser.add_argument("--max-tokens", type=int, default=None, help="answer token limit of the flag models")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="A,B",
        help="a paired comparison A - B on the same prompts (repeatable), e.g. tuned,base",
    )
    parser.add_argument(
        "--tiers",
        default=None,
        metavar="T,T",
        help="compile gate tiers, e.g. compile,test,run: the leaderboard adds run and test pass@1 "
        "(default: the config's [compile] tiers, else compile)",
    )
    parser.add_argument("--run-window", type=float, default=None, metavar="S", help="run tier: seconds per program")
    parser.add_argument("--test-window", type=float, default=None, metavar="S", help="test tier: seconds per answer")
    parser.add_argument("--output", default=None, help="output folder (default: eval)")
    parser.add_argument("--ledger", default=None, help="ledger file (default: the user cache)")
    parser.add_argument("--max-usd", type=float, default=None, help="budget for the whole run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print leaderboard.json instead of the table")
    parser.set_defaults(func=run)


def served(spec: str) -> dict[str, Any]:
    label, model = _label(spec)
    base_url = None
    for scheme in ("@http://", "@https://"):
        if scheme in model:
            model, _, rest = model.partition(scheme)
            base_url = scheme[1:] + rest
    return {"name": label, "model": model, "base_url": base_url}


def local(spec: str) -> dict[str, Any]:
    label, rest = _label(spec)
    path, _, adapter = rest.partition("+")
    return {"name": label, "path": path, "adapter": adapter or None}


def _label(spec: str) -> tuple[str | None, str]:
    head, sep, tail = spec.partition("=")
    if sep and head and not any(ch in head for ch in ":/\\."):
        return head, tail
    return None, spec


def build_config(args: argparse.Namespace) -> Any:
    from rustgate.eval.config import EvalConfig

    flags: dict[str, Any] = {}
    for key in ("suite", "samples", "limit", "output", "ledger", "max_usd"):
        if getattr(args, key) is not None:
            flags[key] = getattr(args, key)
    sampling = {k: v for k, v in (("temperature", args.temperature), ("max_tokens", args.max_tokens)) if v is not None}
    models = [{**served(s), **sampling} for s in args.model] + [{**local(s), **sampling} for s in args.local]
    pairs = [tuple(part.strip() for part in pair.split(",", 1)) for pair in args.compare]
    if args.config:
        base = EvalConfig.from_toml(args.config)
        doc = base.model_dump()
        doc.update(flags)
        doc["models"] = doc["models"] + models
        doc["compare"] = doc["compare"] + pairs
    else:
        doc = {**flags, "models": models, "compare": pairs}
    judge = dict(doc.get("judge") or {})
    if args.judge:
        judge["model"] = args.judge
    if args.judge_base_url:
        judge["base_url"] = args.judge_base_url
    if args.judge_samples is not None:
        judge["samples"] = args.judge_samples
    doc["judge"] = judge
    compile_doc = dict(doc.get("compile") or {})
    if args.tiers is not None:
        compile_doc["tiers"] = [t.strip() for t in args.tiers.split(",") if t.strip()]
    for flag, key in ((args.run_window, "run_window_s"), (args.test_window, "test_window_s")):
        if flag is not None:
            compile_doc[key] = flag
    if compile_doc:
        doc["compile"] = compile_doc
    config = EvalConfig.model_validate({k: v for k, v in doc.items() if v is not None})
    return config if args.config else config.resolved(Path.cwd())


def run(args: argparse.Namespace) -> int:
    from rustgate.eval.config import EvalConfigError
    from rustgate.eval.render import summary_markdown
    from rustgate.eval.runner import evaluate
    from rustgate.eval.suite import SuiteError
    from rustgate.llm.errors import LLMConfigError

    try:
        config = build_config(args)
    except (EvalConfigError, ValidationError, ValueError) as exc:
        print(f"rustgate eval: {_problem(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = evaluate(config, progress=not args.no_progress)
    except (EvalConfigError, SuiteError, LLMConfigError) as exc:
        print(f"rustgate eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in result.suite_errors[:20]:
        print(f"rustgate eval: skipped {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.leaderboard.model_dump(mode="json"), indent=2))
    else:
        print(summary_markdown(result.leaderboard))
        print(f"\n{result.answers} answers in {result.wall_s:.1f}s, ${result.leaderboard.accounting['spent_usd']:.4f}")
        print(f"wrote {config.output}/leaderboard.md, leaderboard.html, leaderboard.json, answers.jsonl")
    for error in result.errors[:10]:
        print(f"  error    {error}", file=sys.stderr)
    if result.stopped_by_budget:
        print(f"  stopped  {result.stopped_by_budget} (rerun with a larger --max-usd to go on)", file=sys.stderr)
    return result.exit_code


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
    return str(exc)
