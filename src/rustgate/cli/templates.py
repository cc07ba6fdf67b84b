"""``rustgate templates``: the profiles and the exact versions they pin."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from rustgate.cargo.templates import TemplateError, load_profiles
from rustgate.cargo.toolchain import ToolchainError, detect_toolchain
from rustgate.cargo.warm import load_warm


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("templates", help="list the cargo profiles and their pinned crates")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        profiles = load_profiles()
    except TemplateError as exc:
        print(f"rustgate templates: error: {exc}", file=sys.stderr)
        return 2
    try:
        toolchain = detect_toolchain()
        warm = {name: load_warm(p, toolchain) is not None for name, p in profiles.items()}
    except ToolchainError:
        warm = dict.fromkeys(profiles, False)
    if args.json:
        print(json.dumps({n: {"pins": p.pins(), "warm": warm[n]} for n, p in profiles.items()}, indent=2))
        return 0
    table = Table(title="rustgate cargo profiles")
    table.add_column("profile")
    table.add_column("warm")
    table.add_column("pinned crates")
    for name, profile in profiles.items():
        pins = ", ".join(f"{dep} {version}" for dep, version in profile.pins().items())
        table.add_row(name, "yes" if warm[name] else "no", pins)
    Console().print(table)
    return 0
