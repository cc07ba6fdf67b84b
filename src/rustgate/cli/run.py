"""``rustgate run pipeline.toml``: the generate -> compile -> judge pipeline from the shell.

Exit status: 0 done, 1 some records hit infrastructure errors (rerun to resume them),
2 bad configuration (nothing was run), 3 stopped by the ``max_usd`` budget (rerun resumes).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import ValidationError

from rustgate.llm.errors import LLMConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run a pipeline from a TOML config (resumable)")
    parser.add_argument("config", help="pipeline.toml (see examples/pipeline.toml)")
    parser.add_argument("--max-usd", type=float, default=None, help="override the budget")
    parser.add_argument("--output", default=None, help="override the output JSONL")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rustgate.pipeline import Pipeline

    overrides: dict[str, Any] = {}
    if args.max_usd is not None:
        overrides["max_usd"] = args.max_usd
    if args.output is not None:
        overrides["output"] = args.output
    try:
        pipeline = Pipeline.from_toml(args.config, **overrides)
    except (LLMConfigError, ValidationError, ValueError, OSError, ImportError) as exc:
        print(f"rustgate run: {args.config}: {exc}", file=sys.stderr)
        return 2
    pipeline.progress = not args.no_progress
    summary = pipeline.run()
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        _print(summary.to_json(), str(pipeline.output))
    if summary.stopped_by_budget:
        return 3
    unfinished = summary.errors or any(c.get("error") for c in summary.verdicts.values())
    return 1 if unfinished else 0


def _print(s: dict[str, Any], output: str) -> None:
    print(
        f"run {s['run_id']}: {s['done']}/{s['total']} records ({s['resumed']} resumed), "
        f"{s['accepted']} accepted -> {output}"
    )
    for gate, counts in s["verdicts"].items():
        print(f"  {gate:<9} " + "  ".join(f"{v}={n}" for v, n in sorted(counts.items())))
    if s["skipped"]:
        print("  skipped  " + "  ".join(f"{g}={n}" for g, n in s["skipped"].items()) + " (calls saved)")
    print(f"  repairs  tried={s['repairs']['tried']} fixed={s['repairs']['fixed']}")
    acc = s["accounting"]
    per = s["cost_per_accepted_usd"]
    print(f"  cost     ${acc['spent_usd']:.4f}" + (f" (${per:.4f} per accepted sample)" if per else ""))
    for gate, models in acc["by_gate"].items():
        for model, u in models.items():
            print(
                f"    {gate}/{model}: {u['calls']} calls"
                f" ({u['cached_calls']} cached, {u['retries']} retries),"
                f" {u['input_tokens']}+{u['output_tokens']} tokens, ${u['usd']:.4f}"
            )
    for error in s["errors"][:10]:
        print(f"  error    {error}")
    if s["stopped_by_budget"]:
        print(f"  stopped  {s['stopped_by_budget']}")
