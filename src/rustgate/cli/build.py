"""``rustgate build CONFIG``: gated records -> a dataset folder (splits, manifest, card)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

EXIT_OK, EXIT_INPUT_ERRORS, EXIT_CONFIG = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("build", help="assemble gated records into a train/test dataset folder")
    parser.add_argument("config", metavar="CONFIG", help="build config (TOML, see examples/build.toml)")
    parser.add_argument("-o", "--output", metavar="DIR", help="dataset folder (default: the config's output)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when any input row was unreadable")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rustgate.data.assemble import assemble, write_dataset
    from rustgate.data.config import ConfigError, load_config

    try:
        config = load_config(args.config)
        result = assemble(config)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"rustgate build: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for error in result.errors:
        print(f"{error}", file=sys.stderr)
    folder = write_dataset(result, config, Path(args.output) if args.output else None)
    by_stage = Counter(d.stage for d in result.drops)
    dropped = ", ".join(f"{stage} {count}" for stage, count in by_stage.most_common()) or "none"
    print(f"wrote {folder}: train {len(result.train)}, test {len(result.test)}; dropped: {dropped}")
    for crate, (want, have) in result.shortfall.items():
        print(f"  {crate}: target {want}, only {have} available", file=sys.stderr)
    if result.errors:
        print(f"rustgate build: {len(result.errors)} unreadable input row(s), skipped", file=sys.stderr)
        return EXIT_INPUT_ERRORS if args.strict else EXIT_OK
    return EXIT_OK
