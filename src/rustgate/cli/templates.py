"""``rustgate templates``: the profiles, where each comes from, and the exact versions they pin."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from rustgate.cargo.templates import Profile, TemplateError, load_profiles
from rustgate.cargo.toolchain import ToolchainError, detect_toolchain
from rustgate.cargo.warm import load_warm


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("templates", help="list the cargo profiles and their pinned crates")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _state(profile: Profile, warm: bool) -> str:
    if not profile.is_locked:
        return f"not locked: run `rustgate warm {profile.name}`"
    if warm:
        return "warm"
    return "on demand" if profile.on_demand else "cold"


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
        rows = {
            name: {
                "source": p.source,
                "description": p.description,
                "crates": list(p.crates),
                "markers": list(p.markers),
                "frameworks": list(p.frameworks),
                "on_demand": p.on_demand,
                "locked": p.is_locked,
                "lockfile": str(p.lock_path) if p.lock_path else None,
                "fingerprint": p.fingerprint,
                "pins": p.pins(),
                "warm": warm[name],
            }
            for name, p in profiles.items()
        }
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="rustgate cargo profiles", show_lines=True)
    table.add_column("profile")
    table.add_column("source")
    table.add_column("state")
    table.add_column("chosen for")
    table.add_column("pinned crates")
    for name, profile in profiles.items():
        chosen = [f"crate={', '.join(profile.crates)}" if profile.crates else ""]
        chosen += [f"uses {', '.join(profile.markers)}" if profile.markers else ""]
        pins = ", ".join(f"{dep} {version}" for dep, version in profile.pins().items())
        table.add_row(
            f"{name}\n{profile.description}",
            profile.source,
            _state(profile, warm[name]),
            "\n".join(c for c in chosen if c),
            pins,
        )
    Console().print(table)
    return 0
