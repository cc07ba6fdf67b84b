"""The ``rustgate`` command: each subcommand lives in its own module with ``register``."""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence

# Each module defines ``register(subparsers)`` which adds one subcommand whose
# ``func(args) -> int`` is stored with ``parser.set_defaults(func=...)``.
COMMANDS: tuple[str, ...] = (
    "rustgate.cli.check",
    "rustgate.cli.warm",
    "rustgate.cli.templates",
    "rustgate.cli.run",
    "rustgate.cli.validate",
    "rustgate.cli.build",
    "rustgate.cli.verify",
    "rustgate.cli.report",
    "rustgate.cli.import_",
    "rustgate.cli.eval",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rustgate", description="Gate LLM-generated Rust into training data that is right."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from rustgate.ledger import LedgerError

    try:
        return int(args.func(args))
    except LedgerError as exc:  # a broken ledger is one line, never a traceback nor a verdict
        print(f"rustgate {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as exc:  # the ledger failed during the run (it is rustgate's only database)
        print(f"rustgate {args.command}: the ledger failed: {exc}; nothing was recorded as a verdict", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
