"""``rustgate warm [PROFILE...]``: build each profile's pinned dependencies once.

For a user profile (a ``[profiles.<name>]`` table of ``rustgate.toml``) it first resolves the
crates and writes the lockfile beside the project file, for the user to commit.
"""

from __future__ import annotations

import argparse
import sys
import time

from rustgate.cargo.templates import Profile, TemplateError, load_profiles
from rustgate.cargo.toolchain import Toolchain, ToolchainError, detect_toolchain
from rustgate.cargo.warm import WarmError, load_warm, lock_profile, warm_profile
from rustgate.cli.progress import Reporter
from rustgate.records import TIERS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("warm", help="build the pinned dependencies of each profile once (needs network once)")
    parser.add_argument(
        "profiles",
        nargs="*",
        metavar="PROFILE",
        help="profiles to warm (default: every profile not marked on_demand; `--all` adds those)",
    )
    parser.add_argument("--all", action="store_true", help="also warm the on-demand profiles (such as axum-full)")
    parser.add_argument(
        "--tiers",
        default="compile",
        metavar="T,T",
        help="also build what these tiers need: test,run add each profile's build with code (default: compile)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        toolchain = detect_toolchain()
        profiles = load_profiles()
    except (ToolchainError, TemplateError) as exc:
        print(f"rustgate warm: error: {exc}", file=sys.stderr)
        return 2
    names = args.profiles or [n for n, p in profiles.items() if args.all or not p.on_demand]
    # A profile's client side is part of its checks: warming one warms both.
    names += [profiles[n].client for n in list(names) if n in profiles and profiles[n].client not in ("", *names)]
    unknown = [n for n in names if n not in profiles]
    if unknown:
        print(f"rustgate warm: unknown profile(s) {', '.join(unknown)}; known: {', '.join(profiles)}", file=sys.stderr)
        return 2
    tiers = {t.strip() for t in str(args.tiers).split(",") if t.strip()}
    unknown_tiers = sorted(tiers - set(TIERS))
    if unknown_tiers:
        print(f"rustgate warm: unknown tier(s) {', '.join(unknown_tiers)}; the tiers are {', '.join(TIERS)}",
              file=sys.stderr)  # fmt: skip
        return 2
    codegen = bool(tiers & {"test", "run"})
    print(f"toolchain: {toolchain.version}", file=sys.stderr)
    status = 0
    for name in names:
        try:
            _warm_one(profiles[name], toolchain)
            if codegen:
                _warm_one(profiles[name], toolchain, codegen=True)
        except WarmError as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            status = 1
    return status


def _warm_one(profile: Profile, toolchain: Toolchain, codegen: bool = False) -> None:
    name = profile.name
    if not profile.built_in:
        before = profile.lock_text
        profile = lock_profile(profile, toolchain)
        if profile.lock_text != before:
            print(f"{name}: wrote {profile.lock_path} (commit it: it pins the profile's crates)", file=sys.stderr)
    label = f"{name} (build with code)" if codegen else name
    if load_warm(profile, toolchain, codegen=codegen) is not None:
        print(f"{label}: already warm", file=sys.stderr)
        return
    started = time.monotonic()
    with Reporter(f"warm {label}", profile.lock_text.count("[[package]]"), estimate=True) as reporter:
        warm_profile(
            profile, toolchain, on_progress=lambda crate, done, total: reporter.advance(crate), codegen=codegen
        )
    print(f"{label}: warm in {time.monotonic() - started:.0f}s", file=sys.stderr)
