"""Design (a): replay, per sample, the rustc command cargo ran for the warm probe crate.

No cargo process, no build-directory lock: each sample is one sandboxed rustc against the
prebuilt dependency metadata, so N samples keep N cores busy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rustgate.cargo.diagnostics import errors_first, parse_rustc_json
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.sandbox import SAFE_ENV, Limits, SandboxResult, run_limited, unsafe_includes, wrap
from rustgate.cargo.toolchain import Toolchain
from rustgate.cargo.warm import WarmProfile
from rustgate.records import Diagnostic, Verdict


@dataclass
class CheckOutcome:
    verdict: Verdict
    diagnostics: list[Diagnostic] = field(default_factory=list)
    reason: str | None = None
    duration_s: float = 0.0


def replay_argv(
    warm: WarmProfile,
    root_file: str,
    kind: str,
    out_dir: Path,
    *,
    crate_name: str | None = None,
    externs: dict[str, Path] | None = None,
) -> list[str]:
    """The probe's rustc arguments, retargeted at one crate of the sample.

    ``crate_name`` renames the crate (a lib+bin answer's library, so its ``main.rs`` can
    ``use`` it by name); ``externs`` adds that library's metadata to the binary's command.
    """
    args: list[str] = []
    it = iter(warm.argv)
    for arg in it:
        if arg == "src/lib.rs":
            args.append(root_file)
        elif arg == "--crate-type":
            next(it)
            args += ["--crate-type", kind]
        elif arg == "--crate-name" and crate_name:
            next(it)
            args += ["--crate-name", crate_name]
        elif arg.startswith("--emit="):
            args.append("--emit=metadata")
        elif arg.startswith("--json=") or arg.startswith("--error-format"):
            continue
        elif arg == "--out-dir":
            next(it)
            args += ["--out-dir", str(out_dir)]
        elif arg == "-C":
            value = next(it)
            if not value.startswith(("incremental=", "extra-filename=")):
                args += ["-C", value]
        else:
            args.append(arg)
    for name, path in (externs or {}).items():
        args += ["--extern", f"{name}={path}"]
    return [*args, "--error-format=json"]


def write_sample(root: Path, source: CrateSource, manifest_text: str) -> None:
    for relative, text in source.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # Our manifest, never the sample's: proc macros that read CARGO_MANIFEST_DIR find the pins.
    (root / "Cargo.toml").write_text(manifest_text)
    (root / "out").mkdir(exist_ok=True)


def sample_env(warm: WarmProfile, root: Path) -> dict[str, str]:
    env = {**SAFE_ENV, **warm.env}
    env["CARGO_MANIFEST_DIR"] = str(root)
    env["CARGO_MANIFEST_PATH"] = str(root / "Cargo.toml")
    env["TMPDIR"] = str(root / "out")
    return env


def read_only_paths(toolchain: Toolchain, warm: WarmProfile) -> list[Path]:
    paths = [toolchain.sysroot, warm.target_dir / "debug" / "deps"]
    registry = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "registry" / "src"
    if registry.is_dir():
        paths.append(registry)  # public crate sources: lets diagnostics quote dependency code
    return paths


def outcome_from_run(result: SandboxResult, diagnostics: list[Diagnostic]) -> CheckOutcome:
    """One rule for every checker: what a compiler run means for the sample."""
    if result.timed_out:
        return CheckOutcome("timeout", diagnostics, "compiler exceeded the time limit", result.duration_s)
    if result.returncode == 0:
        return CheckOutcome("pass", diagnostics, None, result.duration_s)
    errors = [d for d in diagnostics if d.level.startswith("error")]
    if result.out_of_memory and not errors:
        memory = Diagnostic(level="error", code="RG-MEMORY", message="compiler exceeded the memory limit")
        return CheckOutcome("fail", [memory, *diagnostics], memory.message, result.duration_s)
    if errors:
        return CheckOutcome("fail", errors_first(diagnostics), errors[0].message, result.duration_s)
    tail = "\n".join(result.stderr.strip().splitlines()[-8:])
    return CheckOutcome("error", diagnostics, f"compiler exited {result.returncode} without diagnostics: {tail}")


def include_refusal(source: CrateSource) -> CheckOutcome | None:
    """``rejected`` when the sample would read files outside itself (both checkers ask this first)."""
    refused = unsafe_includes(source.files)
    if not refused:
        return None
    return CheckOutcome(
        "rejected", [Diagnostic(level="error", code="RG-INCLUDE", message=p) for p in refused], refused[0]
    )


def check_replay(
    source: CrateSource,
    warm: WarmProfile,
    toolchain: Toolchain,
    manifest_text: str,
    limits: Limits,
    work_root: Path | None = None,
) -> CheckOutcome:
    """Compile one sample crate in a fresh folder under the sandbox; never raises for the sample."""
    refused = include_refusal(source)
    if refused is not None:
        return refused
    root = Path(tempfile.mkdtemp(prefix="rustgate-", dir=work_root))
    try:
        write_sample(root, source, manifest_text)
        env = sample_env(warm, root)
        read_only = read_only_paths(toolchain, warm)

        def rustc(argv: list[str]) -> CheckOutcome:
            wrapped = wrap([str(toolchain.rustc), *argv], cwd=root, env=env, read_only=read_only, writable=[root])
            result = run_limited(wrapped, cwd=root, env=env, limits=limits)
            return outcome_from_run(result, parse_rustc_json(result.stderr.splitlines()))

        out = root / "out"
        name = source.library_name
        outcome = rustc(replay_argv(warm, source.root_file, source.kind, out, crate_name=name))
        if name is None or outcome.verdict != "pass":
            return outcome
        # A lib+bin answer: the binary is checked against the library it just produced.
        binary = rustc(replay_argv(warm, "src/main.rs", "bin", out, externs={name: out / f"lib{name}.rmeta"}))
        binary.diagnostics = outcome.diagnostics + binary.diagnostics
        binary.duration_s += outcome.duration_s
        return binary
    finally:
        shutil.rmtree(root, ignore_errors=True)
