"""The compile gate's command-line flags, shared by ``check`` and ``validate``: one set of flags,
one ``CompileSettings`` they become (the same model a pipeline's ``[compile]`` table is)."""

from __future__ import annotations

import argparse

from rustgate.cargo.isolation import CHOICES
from rustgate.executors import EXECUTORS
from rustgate.gates.compile import CompileSettings


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=None, help="parallel compilers (default: cores + 1)")
    parser.add_argument("--profile", default=None, help="force one profile (`rustgate templates` lists them)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S", help="per-sample wall time (s)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="per-sample address-space limit")
    parser.add_argument("--max-output-mb", type=int, default=64, help="largest file the compiler may write")
    parser.add_argument(
        "--sandbox",
        choices=CHOICES,
        default=None,
        help="isolation backend (default: $RUSTGATE_SANDBOX, else auto: namespaces, else bubblewrap; "
        "'none' compiles untrusted code without isolation)",
    )
    parser.add_argument(
        "--tiers",
        default="compile",
        metavar="T,T",
        help="checks after parsing, in order: compile (cargo check; always), clippy (lints counted by name and "
        "level; a score unless --clippy-deny), test (the answer's tests built and run sandboxed), run (each "
        "program run sandboxed for --run-window seconds). Default: compile",
    )
    parser.add_argument(
        "--run-window", type=float, default=5.0, metavar="S", help="run tier: seconds each program may run"
    )
    parser.add_argument(
        "--test-window", type=float, default=30.0, metavar="S", help="test tier: seconds for all of an answer's tests"
    )
    parser.add_argument(
        "--clippy-deny",
        action="append",
        default=[],
        metavar="LINT",
        help="with the clippy tier: a lint that fails an answer (clippy::needless_return or needless_return; "
        "`warnings` for every clippy lint); repeatable",
    )
    parser.add_argument("--method", choices=["replay", "single", "batch"], default="replay",
        help="replay: cargo's rustc call, screened answers several to a rustc (default); single: one rustc per "
        "answer (same verdicts and ledger entries); batch: one `cargo check` per profile",
    )  # fmt: skip
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where samples compile: this machine (local), or a Ray cluster (ray; needs the ray extra)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        default=None,
        help="with --executor ray: the cluster (auto, HOST:PORT, ray://HOST:10001; default: $RAY_ADDRESS, "
        "else a local Ray on this machine)",
    )


def compile_settings(args: argparse.Namespace, *, use_cache: bool = True) -> CompileSettings:
    """The flags as settings; raises ``ValueError`` (a usage error) for a value out of range."""
    from rustgate.cargo.templates import load_profiles

    if args.ray_address is not None and args.executor != "ray":
        raise ValueError("--ray-address needs --executor ray")

    if args.profile is not None:
        known = load_profiles()
        if args.profile not in known:
            raise ValueError(f"unknown profile {args.profile!r} (known: {', '.join(sorted(known))})")
    return CompileSettings(
        profile=args.profile,
        jobs=args.jobs,
        timeout_s=args.timeout,
        memory_mb=args.memory_mb,
        max_output_mb=args.max_output_mb,
        use_cache=use_cache,
        method=args.method,
        sandbox=args.sandbox,
        executor=args.executor,
        ray_address=args.ray_address,
        tiers=[t for t in str(args.tiers).split(",") if t.strip()],
        clippy_deny=[lint for value in args.clippy_deny for lint in value.split(",") if lint.strip()],
        run_window_s=args.run_window,
        test_window_s=args.test_window,
    )
