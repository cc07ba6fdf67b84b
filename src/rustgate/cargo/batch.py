"""Design (b): one Cargo package per batch, one target per sample, one ``cargo check``.

Kept as the cross-check of the rustc replay (tests assert both agree): it runs cargo exactly as
a user would, so a replay bug cannot hide. Bin samples become ``[[bin]]`` targets, lib samples
``[[example]]`` targets with ``crate-type = ["lib"]``; diagnostics are attributed by target.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import tomlkit

from rustgate.cargo.diagnostics import parse_rustc_json
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.replay import CheckOutcome, include_refusal, outcome_from_run
from rustgate.cargo.sandbox import SAFE_ENV, Limits, SandboxResult, run_limited, wrap
from rustgate.cargo.templates import Profile
from rustgate.cargo.toolchain import Toolchain
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
        if source.kind == "bin":
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
) -> list[CheckOutcome]:
    """Check all ``sources`` (one profile) with one cargo process sharing the warm target dir."""
    outcomes: list[CheckOutcome | None] = [include_refusal(source) for source in sources]
    todo = [i for i, o in enumerate(outcomes) if o is None]
    if not todo:
        return [o for o in outcomes if o is not None]
    root = Path(tempfile.mkdtemp(prefix="rustgate-batch-"))
    try:
        # Targets are numbered by position among the kept sources, as batch_manifest numbers them.
        for new, old in enumerate(todo):
            for relative, text in sources[old].files.items():
                path = root / _target_name(new) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        (root / "Cargo.toml").write_text(batch_manifest(profile, [sources[i] for i in todo]))
        (root / "Cargo.lock").write_text(profile.lock_text)
        cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
        env = {
            **SAFE_ENV,
            "CARGO_HOME": str(cargo_home),
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
        wrapped = wrap(
            argv,
            cwd=root,
            env=env,
            read_only=[toolchain.sysroot],
            writable=[root, warm.target_dir, cargo_home],
        )
        batch_limits = Limits(limits.timeout_s * len(todo), limits.memory_mb, limits.max_output_mb)
        result = run_limited(wrapped, cwd=root, env=env, limits=batch_limits)
        for new, old in enumerate(todo):
            outcomes[old] = _attribute(result, _target_name(new))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [o if o is not None else CheckOutcome("error", reason="no result") for o in outcomes]


def _attribute(result: SandboxResult, target: str) -> CheckOutcome:
    """This target's messages out of cargo's JSON stream, judged by the shared rule."""
    mine: list[str] = []
    built = False
    for line in result.stdout.splitlines():
        if f'"name":"{target}"' not in line:
            continue
        message = json.loads(line)
        if message.get("target", {}).get("name") != target:
            continue
        if message.get("reason") == "compiler-message":
            mine.append(line)
        elif message.get("reason") == "compiler-artifact":
            built = True
    diagnostics = parse_rustc_json(mine, file_prefix=f"{target}/")
    has_errors = any(d.level.startswith("error") for d in diagnostics)
    returncode = 0 if built and not has_errors else (1 if has_errors else result.returncode or 1)
    own = SandboxResult(returncode, "", result.stderr, result.duration_s, result.timed_out and not built)
    return outcome_from_run(own, diagnostics)
