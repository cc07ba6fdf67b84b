"""``rustgate validate PATH...``: the pre-commit hook's check (schema, compile gate, optional judge).

Prints ``file:line: id: verdict: first diagnostic`` for every record that does not pass and exits
non-zero when there is any; unchanged records come from the ledger and cost no compile.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    add_arguments(sub.add_parser("validate", help="validate dataset files (the pre-commit hook)"))


def main(argv: Sequence[str] | None = None) -> int:
    """``rustgate-validate``: the same check without loading every other subcommand (fast start)."""
    parser = argparse.ArgumentParser(prog="rustgate-validate", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rustgate.cli.gate_args import add_compile_arguments

    parser.add_argument("paths", nargs="*", metavar="PATH", help="JSONL / Parquet files (pre-commit passes them)")
    add_compile_arguments(parser)
    parser.add_argument("--ledger", metavar="PATH", help="ledger file (default: in the cache dir)")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=os.environ.get("RUSTGATE_CONFIG"),
        help="the project file whose profiles to use besides the built-ins (default: $RUSTGATE_CONFIG; "
        "none: built-ins only). One inside the repository is read as HEAD has it (PRE_COMMIT_FROM_REF "
        "in a range): a change never defines the profiles it is validated with",
    )
    parser.add_argument(
        "--judge",
        metavar="MODEL",
        default=os.environ.get("RUSTGATE_JUDGE_MODEL"),
        help="also judge with MODEL (e.g. anthropic:claude-...) when its API key is set "
        "(default: $RUSTGATE_JUDGE_MODEL; skipped with a note when the key is missing)",
    )
    parser.add_argument("--judge-base-url", default=os.environ.get("RUSTGATE_JUDGE_BASE_URL"), help=argparse.SUPPRESS)
    parser.add_argument("--judge-threshold", type=float, default=7.0, help="judge pass mark (mean score)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rustgate.hook import repository_root
    from rustgate.hook_config import trusted_profiles

    if not args.paths:
        return EXIT_OK
    root = repository_root(Path.cwd())
    notes: list[str] = []
    # Everything below (flags, gate, warm-up) sees only the profiles the owner trusts.
    with trusted_profiles(args.config, root, notes):
        return _run(args, root, notes)


def _run(args: argparse.Namespace, root: Path | None, config_notes: list[str]) -> int:
    from rustgate.cargo.templates import TemplateError
    from rustgate.cli.gate_args import compile_settings
    from rustgate.executors import ExecutorError
    from rustgate.hook import validate
    from rustgate.ledger import Ledger, LedgerError

    try:
        settings = compile_settings(args)
        judge = None
        if args.judge:  # the judge's LLM SDKs take a second to import: only when a judge is asked for
            from rustgate.gates.judge import JudgeSettings

            judge = JudgeSettings(model=args.judge, threshold=args.judge_threshold)
    except (ValueError, TemplateError) as exc:
        print(f"rustgate validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from rustgate.overlap import WritesOverInput, refuse_overlap
    from rustgate.paths import default_ledger_path

    try:
        refuse_overlap({"--ledger": args.ledger or default_ledger_path()}, args.paths)
    except WritesOverInput as exc:
        print(f"rustgate validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    try:
        with Ledger(args.ledger) if args.ledger else Ledger() as ledger:
            outcome = validate(
                args.paths, ledger=ledger, compile_settings=settings, judge=judge, judge_base_url=args.judge_base_url,
                root=root,
            )  # fmt: skip
        outcome.notes[:0] = config_notes
    except (ExecutorError, LedgerError, TemplateError) as exc:
        print(f"rustgate validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as exc:
        print(f"rustgate validate: the ledger failed: {exc}; nothing was recorded as a verdict", file=sys.stderr)
        return EXIT_USAGE
    for finding in outcome.findings:
        print(finding)
    for note in outcome.notes:
        print(f"rustgate validate: {note}", file=sys.stderr)
    if not args.quiet:
        print(
            f"rustgate validate: {outcome.records} records in {len(args.paths)} file(s): "
            f"{outcome.cached} unchanged (ledger), {outcome.compiled} compiled, {outcome.judged} judged, "
            f"{len(outcome.findings)} not passing ({time.monotonic() - started:.2f}s)",
            file=sys.stderr,
        )
    return EXIT_OK if outcome.ok else EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
