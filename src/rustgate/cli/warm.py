"""``rustgate warm [PROFILE...]``: build each profile's pinned dependencies once."""

from __future__ import annotations

import argparse
import sys
import time

from rustgate.cargo.templates import TemplateError, load_profiles
from rustgate.cargo.toolchain import ToolchainError, detect_toolchain
from rustgate.cargo.warm import WarmError, load_warm, warm_profile
from rustgate.cli.progress import Reporter


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("warm", help="build the pinned dependencies of each profile once (needs network once)")
    parser.add_argument("profiles", nargs="*", metavar="PROFILE", help="profiles to warm (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        toolchain = detect_toolchain()
        profiles = load_profiles()
    except (ToolchainError, TemplateError) as exc:
        print(f"rustgate warm: error: {exc}", file=sys.stderr)
        return 2
    names = args.profiles or list(profiles)
    unknown = [n for n in names if n not in profiles]
    if unknown:
        print(f"rustgate warm: unknown profile(s) {', '.join(unknown)}; known: {', '.join(profiles)}", file=sys.stderr)
        return 2
    print(f"toolchain: {toolchain.version}", file=sys.stderr)
    status = 0
    for name in names:
        profile = profiles[name]
        if load_warm(profile, toolchain) is not None:
            print(f"{name}: already warm", file=sys.stderr)
            continue
        started = time.monotonic()
        with Reporter(f"warm {name}", profile.lock_text.count("[[package]]"), estimate=True) as reporter:
            try:
                warm_profile(profile, toolchain, on_progress=lambda crate, done, total: reporter.advance(crate))
            except WarmError as exc:
                print(f"{name}: error: {exc}", file=sys.stderr)
                status = 1
                continue
        print(f"{name}: warm in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return status
