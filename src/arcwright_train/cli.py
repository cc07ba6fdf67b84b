"""The ``arcwright-train`` command: ``init`` a commented config, ``train`` from it (or ``--dry-run``).

Every config key is also a ``--flag`` (``learning_rate`` -> ``--learning-rate``, ``dataset.path`` ->
``--dataset-path``), generated from the config model so the two never drift apart; each flag
converts its text to the key's type (lists comma-separated, tables as JSON). Abbreviated flags
are refused: ``--lr`` is not silently ``--lr-scheduler-type``.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from arcwright_train.config import ConfigError, load_config, override_fields
from arcwright_train.scaffold import write_default

DEFAULT_CONFIG = "arcwright-train.toml"
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130


def _flag(key: str) -> str:
    return "--" + key.replace(".", "-").replace("_", "-")


def _dest(key: str) -> str:
    return "override__" + key.replace(".", "__")


def _json_table(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('expected a JSON object, e.g. {"weight_decay": 0.01}')
    return value


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _converter(annotation: Any) -> tuple[str, Callable[[str], Any]]:
    """``(metavar, type)`` for a field: the flag's text becomes the value the strict config expects."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        # ``X | None`` -> X; ``str | list[str]`` -> str (a regex or one name on the command line)
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _converter(str if str in options else options[0])
    if annotation is int:
        return "INT", int
    if annotation is float:
        return "FLOAT", float
    if origin is list:
        return "A,B", _names
    if origin is dict:
        return "JSON", _json_table
    if origin is typing.Literal:
        return "{" + ",".join(map(str, typing.get_args(annotation))) + "}", str
    return "VALUE", str


def _help(key: str, info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    return f"override {key} (default {default!r})"


def _run_arguments(train: argparse.ArgumentParser, *, grpo: bool) -> None:
    """The flags ``train`` and ``grpo`` share: config, dry run, gating, resume, overrides."""
    train.add_argument(
        "--config", default=None, help=f"TOML config (default: ./{DEFAULT_CONFIG} when it exists, else the defaults)"
    )
    train.add_argument("--dry-run", action="store_true", help="apply every check, print the plan, train nothing")
    train.add_argument(
        "--allow-ungated",
        action="store_true",
        help="train on records that did not pass the gates (stamped into metrics.json)",
    )
    train.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="latest|PATH",
        help="continue from the latest complete checkpoint in output_dir, or from PATH (a checkpoint-N folder)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace what an earlier arcwright-train run wrote in output_dir (other files are kept)",
    )
    overrides = train.add_argument_group("config overrides (win over the file; paths relative to the working dir)")
    for key, info in override_fields(grpo=grpo).items():
        if info.annotation is bool:
            overrides.add_argument(
                _flag(key), dest=_dest(key), action=argparse.BooleanOptionalAction, default=None, help=_help(key, info)
            )
            continue
        metavar, convert = _converter(info.annotation)
        overrides.add_argument(
            _flag(key), dest=_dest(key), type=convert, default=None, metavar=metavar, help=_help(key, info)
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arcwright-train", description="Fine-tune on gated rustgate data.", allow_abbrev=False
    )
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write a commented config with the reference defaults", allow_abbrev=False)
    init.add_argument("path", nargs="?", default=DEFAULT_CONFIG, help=f"where to write it ({DEFAULT_CONFIG})")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--grpo", action="store_true", help="include the [grpo] table of the GRPO recipe")

    train = sub.add_parser("train", help="fine-tune (or --dry-run to print the plan)", allow_abbrev=False)
    _run_arguments(train, grpo=False)
    grpo = sub.add_parser(
        "grpo", help="GRPO with the compile gate as the reward (or --dry-run to print the plan)", allow_abbrev=False
    )
    _run_arguments(grpo, grpo=True)
    from rustgate.eval.trained import register as register_eval  # the adapter against its base (rustgate eval)

    register_eval(sub)
    return parser


def collect_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags the user gave, as dotted keys, already converted to their types."""
    fields = override_fields(grpo=args.command == "grpo")
    return {key: value for key in fields if (value := getattr(args, _dest(key), None)) is not None}


def _init(args: argparse.Namespace) -> int:
    try:
        path = write_default(args.path, force=args.force, grpo=args.grpo)
    except FileExistsError as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    command = "grpo" if args.grpo else "train"
    print(f"wrote {path}; edit dataset.path, then: arcwright-train {command} --config {path}")
    return 0


def _config_path(args: argparse.Namespace) -> tuple[str | None, str]:
    """``(path, how it was chosen)``: ``--config``, else ``./arcwright-train.toml`` (what ``init`` writes)."""
    if args.config is not None:
        return args.config, args.config
    if Path(DEFAULT_CONFIG).is_file():
        return DEFAULT_CONFIG, f"{DEFAULT_CONFIG} (found in the working directory; --config to choose another)"
    return None, f"none (no --config and no ./{DEFAULT_CONFIG}): the defaults"


def _train(args: argparse.Namespace) -> int:
    from arcwright_train.data import LabelCheckError, OverlongError
    from arcwright_train.gated import DatasetError, UngatedDataError
    from arcwright_train.outputs import OutputDirError

    path, source = _config_path(args)
    overrides = collect_overrides(args)
    try:
        config = load_config(path, overrides)
    except ConfigError as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if overrides:
        source += " + command line"

    from arcwright_train.backends import BackendError
    from arcwright_train.grpo import train_grpo
    from arcwright_train.hub import ModelSourceError
    from arcwright_train.run import TrainingInterrupted, train  # after validation: a bad config loads nothing

    try:
        (train_grpo if args.command == "grpo" else train)(
            config,
            allow_ungated=args.allow_ungated,
            dry_run=args.dry_run,
            resume=args.resume,
            overwrite=args.overwrite,
            config_source=source,
        )
    except (ConfigError, OutputDirError) as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (UngatedDataError, OverlongError) as exc:
        print(f"arcwright-train: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except TrainingInterrupted as exc:
        print(f"{_fresh_line()}arcwright-train: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ModelSourceError, BackendError, DatasetError, LabelCheckError, ValueError, RuntimeError) as exc:
        print(f"arcwright-train: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _fresh_line() -> str:
    """After Ctrl-C a progress bar may hold the terminal's line: start ours on the next one."""
    return "\n" if sys.stderr.isatty() else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "eval":
        return int(args.func(args))
    try:
        if args.command == "init":
            return _init(args)
        return _train(args)
    except KeyboardInterrupt:  # before training started (loading, planning): nothing to resume
        print(f"{_fresh_line()}arcwright-train: interrupted before training started", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
