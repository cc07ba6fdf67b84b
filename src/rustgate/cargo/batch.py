"""Design (b): one Cargo package per batch, one target per sample, one ``cargo check``.

Kept as the cross-check of the rustc replay (tests assert both agree): it runs cargo exactly as
a user would, so a replay bug cannot hide. Bin samples become ``[[bin]]`` targets, lib samples
``[[example]]`` targets with ``crate-type = ["lib"]``; diagnostics are attributed by target.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence

import tomlkit

from rustgate.cargo.crate_modules import pinned_modules
from rustgate.cargo.diagnostics import parse_rustc_json, split_lines
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.isolation import Isolation
from rustgate.cargo.replay import CheckOutcome, outcome_from_run
from rustgate.cargo.sandbox import SAFE_ENV, Limits, SandboxResult, run_limited, sandbox_wall_clock
from rustgate.cargo.scratch import scratch_dir
from rustgate.cargo.templates import Profile
from rustgate.cargo.toolchain import Toolchain, cargo_home
from rustgate.cargo.warm import WarmProfile


def _target_name(index: int) -> str:
    return f"sample{index:05d}"


def batch_manifest(profile: Profile, sources: Sequence[CrateSource]) -> str:
    """The template's manifest with our targets: never a sample's own ``[package]`` or deps."""
    doc = tomlkit.parse(profile.manifest_text)
    package = doc["package"]
    for key in ("autobins", "autoexamples", "autotests", "autobenches", "autolib"):
        package[key] = False
    package["build"] = False
    if "lib" in doc:
        del doc["lib"]
    bins = tomlkit.aot()
    examples = tomlkit.aot()
    for index, source in enumerate(sources):
        target = tomlkit.table()
        target["name"] = _target_name(index)
        target["path"] = f"{_target_name(index)}/{source.root_file}"
        if source.lib is None:
            bins.append(target)
        else:
            target["crate-type"] = ["lib"]
            examples.append(target)
    if bins:
        doc["bin"] = bins
    if examples:
        doc["example"] = examples
    return tomlkit.dumps(doc)


def check_batch(
    sources: Sequence[CrateSource],
    profile: Profile,
    warm: WarmProfile,
    toolchain: Toolchain,
    limits: Limits,
    isolation: Isolation,
) -> list[CheckOutcome]:
    """Check all ``sources`` (one profile) with one cargo process sharing the warm target dir.

    Only each sample's first target (its library, else its first binary) is checked here.
    """
    outcomes: list[CheckOutcome | None] = [None] * len(sources)
    todo = list(range(len(sources)))  # position -> index in sources, as batch_manifest numbers them
    scratch = scratch_dir("batch-")
    root, mount_root = scratch / "crate", scratch / "root"
    root.mkdir()
    mount_root.mkdir()
    try:
        # Targets are numbered by position among the kept sources, as batch_manifest numbers them.
        for new, old in enumerate(todo):
            for relative, text in sources[old].files.items():
                path = root / _target_name(new) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        (root / "Cargo.toml").write_text(batch_manifest(profile, [sources[i] for i in todo]))
        (root / "Cargo.lock").write_text(profile.lock_text)
        crates = cargo_home()
        env = {
            **SAFE_ENV,
            "CARGO_HOME": str(crates),
            "CARGO_TARGET_DIR": str(warm.target_dir),
            "RUSTC": str(toolchain.rustc),
            "CARGO_TERM_COLOR": "never",
        }
        argv = [
            str(toolchain.cargo),
            "check",
            "--frozen",
            "--keep-going",
            "--bins",
            "--examples",
            "--message-format=json",
        ]
        batch_limits = Limits(
            limits.timeout_s * len(todo), limits.memory_mb, limits.max_output_mb, limits.max_stream_mb * len(todo)
        )
        wrapped = isolation.wrap(
            argv,
            cwd=root,
            env=env,
            read_only=[toolchain.sysroot, crates],
            writable=[root, warm.target_dir],
            scratch=mount_root,
            wall_s=sandbox_wall_clock(batch_limits.timeout_s),
        )
        result = run_limited(wrapped, cwd=root, env=env, limits=batch_limits)
        modules = pinned_modules(profile)
        for new, old in enumerate(todo):
            outcomes[old] = _attribute(result, _target_name(new), limits, set(sources[old].local_names) | modules)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [o if o is not None else CheckOutcome("error", reason="no result") for o in outcomes]


def _attribute(result: SandboxResult, target: str, limits: Limits, declared: set[str]) -> CheckOutcome:
    """This target's messages out of cargo's JSON stream, judged by the shared rule."""
    mine: list[str] = []
    built = False
    for line in split_lines(result.stdout):
        if f'"name":"{target}"' not in line:
            continue
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(message, dict) or (message.get("target") or {}).get("name") != target:
            continue
        if message.get("reason") == "compiler-message":
            mine.append(line)
        elif message.get("reason") == "compiler-artifact":
            built = True
    parsed = parse_rustc_json(mine, file_prefix=f"{target}/")
    has_errors = any(d.level.startswith("error") for d in parsed.diagnostics)
    returncode = 0 if built and not has_errors else (1 if has_errors else result.returncode or 1)
    own = SandboxResult(
        returncode, "", result.stderr, result.duration_s, result.timed_out and not built, result.output_overflow
    )
    return outcome_from_run(own, parsed, limits, declared)
