"""The ``arcwright-train`` command: ``init`` a commented config, ``train`` from it (or ``--dry-run``).

Every config key is also a ``--flag`` (``learning_rate`` -> ``--learning-rate``, ``dataset.path`` ->
``--dataset-path``), generated from the config model so the two never drift apart.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from arcwright_train.config import ConfigError, TrainConfig, load_config, override_fields
from arcwright_train.scaffold import write_default

DEFAULT_CONFIG = "arcwright-train.toml"
EXIT_CONFIG = 2
EXIT_REFUSED = 3
EXIT_FAILED = 1


def _flag(key: str) -> str:
    return "--" + key.replace(".", "-").replace("_", "-")


def _dest(key: str) -> str:
    return "override__" + key.replace(".", "__")


def _is_bool(key: str) -> bool:
    if "." in key:
        return False
    return TrainConfig.model_fields[key].annotation is bool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arcwright-train", description="Fine-tune on gated rustgate data.")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write a commented config with the reference defaults")
    init.add_argument("path", nargs="?", default=DEFAULT_CONFIG, help=f"where to write it ({DEFAULT_CONFIG})")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    train = sub.add_parser("train", help="fine-tune (or --dry-run to print the plan)")
    train.add_argument("--config", default=None, help="TOML config (see `arcwright-train init`)")
    train.add_argument("--dry-run", action="store_true", help="print the plan and exit without training")
    train.add_argument(
        "--allow-ungated",
        action="store_true",
        help="train on records that did not pass the gates (stamped into metrics.json)",
    )
    overrides = train.add_argument_group("config overrides (win over the file)")
    for key, help_text in override_fields().items():
        if _is_bool(key):
            overrides.add_argument(
                _flag(key),
                dest=_dest(key),
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            overrides.add_argument(_flag(key), dest=_dest(key), default=None, metavar="VALUE", help=help_text)
    from rustgate.eval.trained import register as register_eval  # the adapter against its base (rustgate eval)

    register_eval(sub)
    return parser


def collect_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags the user gave, as dotted keys; lists come comma-separated (``--dataset-required-gates a,b``)."""
    found: dict[str, Any] = {}
    for key in override_fields():
        value = getattr(args, _dest(key), None)
        if value is None:
            continue
        if key == "dataset.required_gates":
            value = [g.strip() for g in str(value).split(",") if g.strip()]
        found[key] = value
    return found


def _init(args: argparse.Namespace) -> int:
    try:
        path = write_default(args.path, force=args.force)
    except FileExistsError as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"wrote {path}; edit dataset.path, then: arcwright-train train --config {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from arcwright_train.data import LabelCheckError, OverlongError
    from arcwright_train.gated import DatasetError, UngatedDataError

    try:
        config = load_config(args.config, collect_overrides(args))
    except ConfigError as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    from arcwright_train.run import train  # after validation: nothing heavy loads for a bad config

    try:
        train(config, allow_ungated=args.allow_ungated, dry_run=args.dry_run)
    except (UngatedDataError, OverlongError) as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (DatasetError, LabelCheckError, ValueError, RuntimeError) as exc:
        print(f"arcwright-train: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "init":
        return _init(args)
    if args.command == "eval":
        return int(args.func(args))
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())
