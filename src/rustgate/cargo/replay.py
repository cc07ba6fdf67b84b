"""Design (a): replay, per sample, the rustc command cargo ran for the warm probe crate.

No cargo process, no build-directory lock: each target of the sample (the library, then each
binary, example and test against it) is one sandboxed rustc against the prebuilt dependency
metadata, so N samples keep N cores busy. rustc also writes its dep-info: the list of files it
read. A sample whose compile read anything outside its own folder is refused whatever else
happened (its diagnostics are dropped unseen), and a pass requires every file the answer gave
to have been compiled.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rustgate.cargo.diagnostics import MAX_DIAGNOSTICS, Parsed, errors_first, parse_rustc_json, split_lines
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.faults import CRASH_SIGNALS, limited_by, machine_fault
from rustgate.cargo.isolation import LAUNCHER_FAILED, Isolation
from rustgate.cargo.manifest_deps import Manifest
from rustgate.cargo.sandbox import (
    SAFE_ENV,
    WALL_CLOCK_EXIT,
    Limits,
    SandboxResult,
    run_limited,
    sandbox_wall_clock,
)
from rustgate.cargo.scratch import scratch_dir
from rustgate.cargo.toolchain import Toolchain
from rustgate.cargo.warm import PROBE_CRATE, WarmProfile
from rustgate.records import Diagnostic, Verdict

_LONG_TYPE = re.compile(r"long-type-\d+\.txt")
_STD_MODULE_NAMES = (
    "alloc any arch array ascii backtrace borrow boxed cell char clone cmp collections convert default env error "
    "f32 f64 ffi fmt fs future hash hint i8 i16 i32 i64 i128 isize io iter marker mem net num ops option os panic "
    "path pin prelude primitive process ptr rc result slice str string sync task thread time u8 u16 u32 u64 u128 "
    "usize vec"
)
STD_MODULES = frozenset(_STD_MODULE_NAMES.split())
CHECK_EMIT = "dep-info,metadata"
BUILD_EMIT = "dep-info,link"


@dataclass
class CheckOutcome:
    verdict: Verdict
    diagnostics: list[Diagnostic] = field(default_factory=list)
    reason: str | None = None
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


def replay_argv(
    warm: WarmProfile,
    root_file: str,
    crate_type: str,
    out_dir: Path,
    *,
    sysroot: Path,
    crate_name: str | None = None,
    externs: dict[str, Path] | None = None,
    test: bool = False,
    emit: str = CHECK_EMIT,
) -> list[str]:
    """The probe's rustc arguments, retargeted at one target of the sample.

    ``emit``: metadata only (a check), or ``BUILD_EMIT`` against a codegen warm build (the test
    and run tiers link the target).

    ``crate_name`` renames the crate (a lib+bin answer's library, so its binaries can ``use`` it
    by name); ``externs`` adds that library's metadata to a binary's or test's command.
    """
    args: list[str] = []
    it = iter(warm.argv)
    for arg in it:
        if arg == "src/lib.rs":
            args.append(root_file)
        elif arg == "--crate-type":
            next(it)
            if not test:
                args += ["--crate-type", crate_type]
        elif arg == "--crate-name":
            next(it)
            args += ["--crate-name", crate_name or PROBE_CRATE]
        elif arg.startswith("--emit="):
            args.append(f"--emit={emit}")
        elif arg.startswith(("--json=", "--error-format", "--sysroot")):
            continue
        elif arg == "--out-dir":
            next(it)
            args += ["--out-dir", str(out_dir)]
        elif arg == "-C":
            value = next(it)
            if not value.startswith(("incremental=", "extra-filename=")):
                args += ["-C", value]
        elif emit == BUILD_EMIT and arg.endswith(".rmeta") and "=" in arg:
            # cargo pipelines a library's build on its dependencies' metadata; a linked target
            # needs their code: the rlib beside each rmeta (``cargo build`` wrote both).
            args.append(arg.removesuffix(".rmeta") + ".rlib")
        else:
            args.append(arg)
    if test:
        args.append("--test")
    for name, path in (externs or {}).items():
        args += ["--extern", f"{name}={path}"]
    # The sysroot is given, not found through /proc/self/exe (a sandbox may have no /proc).
    return [*args, f"--sysroot={sysroot}", "--error-format=json"]


def write_sample(root: Path, source: CrateSource, manifest_text: str) -> None:
    """The answer's files (paths were validated by extract) plus our manifest, never the sample's."""
    for relative, text in source.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    # Proc macros that read CARGO_MANIFEST_DIR find the pins.
    (root / "Cargo.toml").write_text(manifest_text, encoding="utf-8")
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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def outcome_from_run(result: SandboxResult, parsed: Parsed, limits: Limits, declared: set[str]) -> CheckOutcome:
    """One rule for every checker: what a compiler run means for the sample."""
    diagnostics = parsed.diagnostics
    errors = [d for d in diagnostics if d.level.startswith("error")]
    details: dict[str, Any] = {}
    if parsed.truncated:
        details["diagnostics_truncated"] = parsed.truncated

    def out(verdict: Verdict, reason: str | None, shown: list[Diagnostic] | None = None) -> CheckOutcome:
        shown = shown if shown is not None else diagnostics
        limits_used = limited_by(verdict, shown, reason)
        if limits_used:  # this verdict holds only up to these limits: the cache compares them
            details["limited_by"] = limits_used
        return CheckOutcome(verdict, shown, reason, result.duration_s, details)

    sig = result.signal
    # rustgate's timer, or the sandbox's own wall clock when it fired first (the launcher's alarm,
    # ``timeout`` around the other backends).
    sandbox_clock = sig == signal.SIGALRM or (
        result.returncode == WALL_CLOCK_EXIT and result.duration_s >= limits.timeout_s
    )
    if result.timed_out or sandbox_clock:
        return out("timeout", _timeout_reason(limits))
    if result.output_overflow:
        if errors:
            return out(
                "fail", f"{errors[0].message} (output cut at {limits.max_stream_mb} MiB)", errors_first(diagnostics)
            )
        return out("rejected", f"compiler output exceeded {limits.max_stream_mb} MiB before any error")
    if (
        result.returncode == 125
        and LAUNCHER_FAILED in result.stderr
        or (not diagnostics and result.stderr.startswith("bwrap:"))
    ):
        return out("error", "the sandbox could not start: " + result.stderr.strip()[-400:])
    if result.returncode == 0:
        return out("pass", None)
    fault = machine_fault(diagnostics, result.stderr, sig)
    if fault is not None:
        return out("error", fault)
    # A std module used without its ``use std::...`` is the code's own error, never a crate.
    missing = [name for name in parsed.unlinked_crates if name not in declared and name not in STD_MODULES]
    if errors and missing:
        details["missing_crates"] = missing
        names = ", ".join(f"`{n}`" for n in missing)
        reason = f"uses {names}: not a module of the answer and not a crate of this profile"
        note = Diagnostic(level="error", code="RG-CRATE", message=reason)
        return out("rejected", reason, [note, *errors_first(diagnostics)])
    if errors:
        return out("fail", errors[0].message, errors_first(diagnostics))
    if result.out_of_memory:
        memory = Diagnostic(level="error", code="RG-MEMORY", message="compiler exceeded the memory limit")
        return out("fail", memory.message, [memory, *diagnostics])
    if sig == signal.SIGXFSZ:
        return out("rejected", f"the compiler's output file exceeded the {limits.max_output_mb} MiB size limit")
    if sig in CRASH_SIGNALS:
        crash = Diagnostic(level="error", code="RG-CRASH", message=f"rustc crashed ({_signal_name(sig)}) on this code")
        return out("fail", crash.message, [crash, *diagnostics])
    tail = "\n".join(result.stderr.strip().splitlines()[-8:])[-800:]
    return out("error", f"compiler exited {result.returncode} without diagnostics: {tail}")


def dep_info_files(path: Path) -> list[str]:
    """Source files a rustc dep-info file lists (its first rule), as written."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.split("\n"):
        if line.startswith("#") or ":" not in line:
            continue
        _, _, deps = line.partition(": ")
        return [d.replace("\\ ", " ") for d in re.split(r"(?<!\\) ", deps.strip()) if d]
    return []


def _outside(files: list[str], root: Path) -> list[str]:
    escaped = []
    for name in files:
        path = PurePosixPath(name)
        if path.is_absolute():
            inside = str(path).startswith(str(root) + "/")
            relative = PurePosixPath(os.path.relpath(str(path), str(root))) if inside else None
        else:
            relative = path
        if relative is None or any(part == ".." for part in PurePosixPath(os.path.normpath(str(relative))).parts):
            escaped.append(name)
    return escaped


@dataclass(frozen=True)
class _Target:
    root_file: str
    crate_type: str
    crate_name: str
    test: bool = False
    bin_name: str | None = None  # what cargo calls a binary (CARGO_BIN_NAME), dashes and all
    integration: bool = False  # a tests/*.rs crate: it sees CARGO_BIN_EXE_<bin> of every binary


def package_name(source: CrateSource) -> str:
    return source.package.get("name") or source.library_name or PROBE_CRATE


def _bin_name(source: CrateSource, path: str) -> str:
    if path == "src/main.rs":
        return package_name(source)
    pure = PurePosixPath(path)
    return pure.parent.name if path.endswith("/main.rs") else pure.stem


def _targets(source: CrateSource) -> list[_Target]:
    targets = []
    if source.lib:
        targets.append(_Target(source.lib, "lib", source.library_name or PROBE_CRATE))
    for path in source.bins:
        name = _bin_name(source, path)
        targets.append(_Target(path, "bin", _crate_ident(name), bin_name=name))
    for path, kind in source.alternatives.items():
        name = PurePosixPath(path).stem
        targets.append(_Target(path, kind, _crate_ident(name), bin_name=name if kind == "bin" else None))
    for path in source.tests:
        name = "test_" + PurePosixPath(path).stem
        targets.append(_Target(path, "bin", _crate_ident(name), test=True, integration=True))
    # Unit tests: each root again in test mode, as ``cargo check --all-targets`` does.
    for path in source.test_roots:
        unit_bin = _bin_name(source, path) if path in source.bins or path in source.alternatives else None
        targets.append(
            _Target(path, "bin", _crate_ident(f"{PurePosixPath(path).stem}_unittests"), test=True, bin_name=unit_bin)
        )
    return targets


@dataclass(frozen=True)
class Executable:
    """A built target the test or run tier executes: ``out/<crate_name>`` after a build."""

    crate_name: str
    label: str  # how reports name it: its root file
    test: bool


def executables(source: CrateSource) -> list[Executable]:
    """The sample's test binaries and programs, in build order (libraries are not run)."""
    found = []
    for target in _targets(source):
        if target.test:
            found.append(Executable(target.crate_name, target.root_file, True))
        elif target.crate_type == "bin":
            found.append(Executable(target.crate_name, target.root_file, False))
    return found


def only_target(source: CrateSource) -> _Target:
    """The one target of a single-target sample (a batch member): its crate name and environment."""
    (target,) = _targets(source)
    return target


def target_count(source: CrateSource) -> int:
    """How many rustc runs the sample is: a batch package holds samples of exactly one."""
    return len(_targets(source))


def target_env(env: dict[str, str], source: CrateSource, target: _Target, root: Path) -> dict[str, str]:
    """What cargo sets for this target, from the sample's own package (never the probe's or the
    host's): ``CARGO_PKG_*``, ``CARGO_CRATE_NAME``, ``CARGO_BIN_NAME`` in a binary, and in an
    integration test ``CARGO_BIN_EXE_<name>`` for each ``[[bin]]``. No build script runs, so no
    ``OUT_DIR`` (cargo sets it only for packages with one)."""
    out = {k: v for k, v in env.items() if not k.startswith(("CARGO_PKG_", "CARGO_BIN_"))}
    out.update(Manifest(package=source.package).package_env(package_name(source)))
    out["CARGO_CRATE_NAME"] = target.crate_name
    if target.bin_name is not None:
        out["CARGO_BIN_NAME"] = target.bin_name
    if target.integration:
        for path in source.bins:
            if not path.startswith("examples/"):
                name = _bin_name(source, path)
                out[f"CARGO_BIN_EXE_{name}"] = str(root / "out" / name)
    return out


def _crate_ident(name: str) -> str:
    ident = re.sub(r"\W", "_", name, flags=re.ASCII)
    return ident if ident and not ident[0].isdigit() else f"_{ident}"


def check_replay(
    source: CrateSource,
    warm: WarmProfile,
    toolchain: Toolchain,
    manifest_text: str,
    limits: Limits,
    isolation: Isolation,
    *,
    all_given: bool = True,
    known_modules: frozenset[str] = frozenset(),
    emit: str = CHECK_EMIT,
    then: Callable[[Path, CheckOutcome], CheckOutcome] | None = None,
) -> CheckOutcome:
    """Compile every target of one sample under the sandbox; never raises for the sample.

    ``all_given``: a pass needs every file of the answer compiled (False for a build that
    compiles part of the package on purpose: the client side of a fullstack answer).
    ``known_modules``: modules of the pinned crates (``cargo.crate_modules``): a path that starts
    with one is a missing ``use``, never a crate outside the profile.
    ``emit=BUILD_EMIT`` links every target (``warm`` must be a codegen build); ``then(root,
    outcome)`` is called on a pass while the built package still exists (the tiers run it there).
    """
    started = time.monotonic()
    scratch = scratch_dir("sample-")
    try:
        root, mount_root = scratch / "crate", scratch / "root"
        root.mkdir()
        mount_root.mkdir()
        write_sample(root, source, manifest_text)
        env = sample_env(warm, root)
        read_only = read_only_paths(toolchain, warm)
        out = root / "out"
        library = source.library_name or PROBE_CRATE
        kind = "rlib" if emit == BUILD_EMIT else "rmeta"
        externs = {library: out / f"lib{library}.{kind}"} if source.lib else {}
        diagnostics: list[Diagnostic] = []
        read: set[str] = set()
        outcome = CheckOutcome("pass")
        for target in _targets(source):
            left = limits.timeout_s - (time.monotonic() - started)
            if left <= 0:
                reason = _timeout_reason(limits)
                return CheckOutcome("timeout", diagnostics, reason, time.monotonic() - started,
                                    {"limited_by": limited_by("timeout", diagnostics, reason)})  # fmt: skip
            argv = replay_argv(
                warm,
                target.root_file,
                target.crate_type,
                out,
                sysroot=toolchain.sysroot,
                crate_name=target.crate_name,
                externs=externs if target.root_file != source.lib else None,
                test=target.test,
                emit=emit,
            )
            own_env = target_env(env, source, target, root)
            target_limits = remaining(limits, left)
            wrapped = isolation.wrap(
                [str(toolchain.rustc), *argv], cwd=root, env=own_env, read_only=read_only, writable=[root],
                scratch=mount_root, wall_s=sandbox_wall_clock(target_limits.timeout_s),
            )  # fmt: skip
            run = run_limited(wrapped, cwd=root, env=own_env, limits=target_limits)
            files = dep_info_files(out / f"{target.crate_name}.d")
            escaped = _outside(files, root)
            if escaped:
                reason = f"the compile read files outside the sample ({escaped[0][:200]}); its output is withheld"
                return CheckOutcome("rejected", [Diagnostic(level="error", code="RG-INCLUDE", message=reason)],
                                    reason, time.monotonic() - started)  # fmt: skip
            read.update(os.path.normpath(f) for f in files)
            declared = set(source.local_names) | known_modules
            parsed = parse_rustc_json(split_lines(run.stderr))
            outcome = relative_outcome(outcome_from_run(run, parsed, limits, declared), root)
            diagnostics += outcome.diagnostics
            if outcome.verdict != "pass":
                break
        outcome.diagnostics = errors_first(diagnostics)[:MAX_DIAGNOSTICS]
        outcome.duration_s = time.monotonic() - started
        if all_given:
            outcome = never_compiled(outcome, source, read)
        if outcome.verdict == "pass" and then is not None:
            outcome = then(root, outcome)
        return outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def never_compiled(outcome: CheckOutcome, source: CrateSource, read: set[str]) -> CheckOutcome:
    """A pass needs every file the answer gave to have been compiled (``read``: the dep-info files)."""
    orphans = [p for p in source.given_sources() if p not in read] if outcome.verdict == "pass" else []
    if not orphans:
        return outcome
    reason = f"{orphans[0]} is never compiled: no `mod` declaration reaches it"
    rejected = CheckOutcome("rejected", outcome.diagnostics, reason, outcome.duration_s, outcome.details)
    rejected.details["never_compiled"] = orphans
    return rejected


def relative_outcome(outcome: CheckOutcome, root: Path) -> CheckOutcome:
    """The outcome's diagnostics and reason made package-relative; an error's reason keeps its
    host path, which says where to look."""
    outcome.diagnostics = [relative_diagnostic(d, root) for d in outcome.diagnostics]
    if outcome.reason and outcome.verdict != "error":
        outcome.reason = relative_text(outcome.reason, root)
    return outcome


def relative_diagnostic(diagnostic: Diagnostic, root: Path) -> Diagnostic:
    """Paths into the scratch folder made package-relative, and rustgate's random long-type file
    names (deleted with the folder) made plain, so a verdict's text is the same on every run."""
    changed = {}
    for key in ("message", "rendered", "file"):
        value = getattr(diagnostic, key)
        if isinstance(value, str):
            new = relative_text(value, root)
            if new != value:
                changed[key] = new
    return diagnostic.model_copy(update=changed) if changed else diagnostic


def relative_text(text: str, root: Path) -> str:
    return _LONG_TYPE.sub("long-type.txt", text.replace(f"{root}/", ""))


def _timeout_reason(limits: Limits) -> str:
    return f"compiler exceeded the time limit ({limits.timeout_s:.3g}s)"


def remaining(limits: Limits, left: float) -> Limits:
    """``limits`` with at most ``left`` seconds: what is left of a sample's time for its next run."""
    return Limits(min(limits.timeout_s, left), limits.memory_mb, limits.max_output_mb, limits.max_stream_mb)
