"""Warm-up: build each profile's dependencies once, and capture the exact rustc command cargo uses.

After warm-up a sample is checked by replaying that rustc command against the prebuilt
dependencies (no cargo, no build-directory lock, one rustc per sample per core). The capture is
done with ``RUSTC_WORKSPACE_WRAPPER``, which cargo calls for workspace members only.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rustgate.atomic import atomic_write_json, atomic_write_text
from rustgate.cargo.isolation import Isolation, IsolationError, choose_isolation, requested_backend
from rustgate.cargo.sandbox import SAFE_ENV
from rustgate.cargo.scratch import scratch_dir
from rustgate.cargo.templates import Profile, profile_from_texts
from rustgate.cargo.toolchain import Toolchain, cargo_home
from rustgate.paths import cache_dir

PROBE_CRATE = "rustgate_probe"
_PROBE_SOURCE = "// rustgate warm-up probe: each sample replaces this file.\n"
_WRAPPER = """#!/bin/sh
# rustgate capture: record the probe crate's rustc invocation, then run it unchanged.
case " $* " in
  *" --crate-name rustgate_probe "*)
    printf '%s\\0' "$@" > "$RUSTGATE_CAPTURE_DIR/argv"
    env -0 > "$RUSTGATE_CAPTURE_DIR/env"
    pwd > "$RUSTGATE_CAPTURE_DIR/cwd" ;;
esac
exec "$@"
"""


# What cargo tells rustc about the package; never the user's CARGO_HOME or jobserver.
WARM_WALL_S = 2 * 3600.0  # the sandbox's own clock for one profile's build (nothing outlives it)
_CAPTURED_ENV_PREFIXES = ("CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE")


class WarmError(RuntimeError):
    """Warm-up failed: an infrastructure failure, reported as ``error`` on every affected sample."""


@dataclass(frozen=True)
class WarmProfile:
    """A warmed profile: where its dependencies live and how cargo invoked rustc on the probe."""

    profile: str
    root: Path
    argv: list[str]
    env: dict[str, str]
    toolchain_key: str
    lock_hash: str
    fingerprint: str = ""
    codegen: bool = False  # built with code (``cargo build``): the test and run tiers link against it

    @property
    def target_dir(self) -> Path:
        return self.root / "target"


def warm_root(toolchain: Toolchain, base: Path | None = None) -> Path:
    return (base or cache_dir()) / "warm" / toolchain.key


def _state_file(root: Path) -> Path:
    return root / "rustgate-warm.json"


def profile_dir(profile: Profile, toolchain: Toolchain, base: Path | None = None, codegen: bool = False) -> Path:
    """The warm folder of ``profile``: its name for a built-in (a new template replaces the old
    build); for a user profile also its fingerprint, so projects (and test runs) that declare the
    same profile share one build and two different profiles of one name never evict each other.
    The codegen build (``codegen``: for the test and run tiers) lives beside the check build."""
    suffix = "-build" if codegen else ""
    if profile.built_in:
        return warm_root(toolchain, base) / f"{profile.name}{suffix}"
    return warm_root(toolchain, base) / f"user-{profile.name}-{profile.fingerprint}{suffix}"


def unlocked_message(profile: Profile) -> str:
    return (
        f"profile {profile.name!r} ({profile.source}) has no lockfile at {profile.lock_path}: "
        f"run `rustgate warm {profile.name}` to resolve and lock its crates, then commit the lockfile"
    )


def load_warm(
    profile: Profile, toolchain: Toolchain, base: Path | None = None, codegen: bool = False
) -> WarmProfile | None:
    """The warm state for ``profile`` if it is complete and current (same manifest and lockfile,
    same compiler), else None."""
    if not profile.is_locked:
        return None
    root = profile_dir(profile, toolchain, base, codegen)
    state_path = _state_file(root)
    if not state_path.is_file():
        return None
    try:
        state = json.loads(state_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if state.get("fingerprint") != profile.fingerprint or state.get("toolchain_key") != toolchain.key:
        return None
    warm = WarmProfile(
        profile=profile.name,
        root=root,
        argv=list(state["argv"]),
        env=dict(state["env"]),
        toolchain_key=toolchain.key,
        lock_hash=profile.lock_hash,
        fingerprint=profile.fingerprint,
        codegen=codegen,
    )
    externs = [arg.split("=", 1)[1] for arg in warm.argv if "=" in arg and arg.endswith((".rmeta", ".rlib", ".so"))]
    if codegen:  # a linked target reads the rlib beside each rmeta (``replay.replay_argv``)
        externs += [e.removesuffix(".rmeta") + ".rlib" for e in externs if e.endswith(".rmeta")]
    if not all(Path(path).exists() for path in externs):
        return None
    return warm


def _prepare_package(profile: Profile, root: Path) -> None:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(profile.manifest_text)
    (root / "Cargo.lock").write_text(profile.lock_text)
    (root / "src" / "lib.rs").write_text(_PROBE_SOURCE + f"// {time.time()}\n")


def warm_profile(
    profile: Profile,
    toolchain: Toolchain,
    base: Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    isolation: Isolation | None = None,
    codegen: bool = False,
) -> WarmProfile:
    """Build ``profile``'s dependencies (``cargo check --locked``) and capture the probe's rustc call.

    ``codegen``: ``cargo build`` instead, into its own folder beside the check build, so the test
    and run tiers can link an answer's binaries and tests against real libraries (no debug info:
    an answer is linked in a fraction of the time).

    Two steps: ``cargo fetch`` downloads the pinned crates (network, nothing of theirs runs), then
    the build (which runs their build scripts and proc macros) runs inside ``isolation`` (the
    compile gate's sandbox unless given): offline, allow-listed environment, read-only crates,
    only the profile's own folder writable, its own wall clock. Idempotent: an already-warm
    profile returns at once; later checks never touch the network. A profile without a lockfile (a user profile
    never warmed by ``rustgate warm``) is a :class:`WarmError`: checking never resolves versions.
    """
    if not profile.is_locked:
        raise WarmError(unlocked_message(profile))
    existing = load_warm(profile, toolchain, base, codegen)
    if existing is not None:
        return existing
    root = profile_dir(profile, toolchain, base, codegen)
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        # Two runs warming one profile (a hook beside a check) take turns; the second finds it warm.
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = load_warm(profile, toolchain, base, codegen)
        if existing is not None:
            return existing
        return _warm_locked(profile, toolchain, base, root, on_progress, isolation, codegen)


def _warm_locked(
    profile: Profile,
    toolchain: Toolchain,
    base: Path | None,
    root: Path,
    on_progress: Callable[[str, int, int], None] | None,
    isolation: Isolation | None,
    codegen: bool,
) -> WarmProfile:
    _prepare_package(profile, root)
    capture = root / "capture"
    shutil.rmtree(capture, ignore_errors=True)
    capture.mkdir()
    wrapper = root / "capture-rustc.sh"
    wrapper.write_text(_WRAPPER)
    wrapper.chmod(0o755)

    fetch_crates(root, toolchain, profile)
    crates = cargo_home()
    # The build runs the crates' build scripts and proc macros: inside the sandbox, offline, with
    # the allow-listed environment; it may write only this profile's own folder.
    env = {
        **SAFE_ENV,
        "CARGO_HOME": str(crates),
        "RUSTC": str(toolchain.rustc),
        "RUSTC_WORKSPACE_WRAPPER": str(wrapper),
        "RUSTGATE_CAPTURE_DIR": str(capture),
        "CARGO_TERM_COLOR": "never",
    }
    if codegen:
        env["CARGO_PROFILE_DEV_DEBUG"] = "0"
    total = _count_packages(profile)
    command = "build" if codegen else "check"
    argv = [str(toolchain.cargo), command, "--locked", "--offline", "--lib", "--message-format=json"]
    try:
        isolation = isolation or choose_isolation(requested_backend(), toolchain)
    except IsolationError as exc:
        raise WarmError(f"profile {profile.name!r} is built inside the sandbox, and none can run: {exc}") from exc
    view = [toolchain.sysroot, crates]
    if not toolchain.cargo.is_relative_to(toolchain.sysroot):
        view.append(toolchain.cargo.parent)
    mount_root = scratch_dir("warm-")
    try:
        wrapped = isolation.wrap(
            argv, cwd=root, env=env, read_only=view, writable=[root], scratch=mount_root, wall_s=WARM_WALL_S
        )
        with tempfile.TemporaryFile(mode="w+") as errors:  # a file: a full stderr pipe never stalls cargo
            proc = subprocess.Popen(
                wrapped, cwd=root, env=env, stdout=subprocess.PIPE, stderr=errors, text=True, start_new_session=True
            )
            assert proc.stdout is not None
            done = 0
            for line in proc.stdout:
                if '"reason":"compiler-artifact"' in line:
                    done += 1
                    if on_progress is not None:
                        name = json.loads(line).get("target", {}).get("name", "?")
                        on_progress(name, done, total)
            returncode = proc.wait()
            errors.seek(0)
            stderr = errors.read()
    finally:
        shutil.rmtree(mount_root, ignore_errors=True)
    if returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        hint = _stale_lock_hint(profile, stderr)
        raise WarmError(f"warm-up of profile {profile.name!r} failed (cargo exit {returncode}):\n{tail}{hint}")
    if not (capture / "argv").is_file():
        raise WarmError(f"warm-up of profile {profile.name!r}: cargo never invoked rustc on the probe crate")
    args = (capture / "argv").read_bytes().decode().split("\0")[:-1]
    captured_env = dict(
        item.split("=", 1) for item in (capture / "env").read_bytes().decode().split("\0") if "=" in item
    )
    state = {
        "profile": profile.name,
        "argv": args[1:],  # args[0] is the rustc path cargo handed the wrapper
        "env": {k: v for k, v in captured_env.items() if k.startswith(_CAPTURED_ENV_PREFIXES)},
        "toolchain_key": toolchain.key,
        "toolchain": toolchain.version,
        "lock_hash": profile.lock_hash,
        "fingerprint": profile.fingerprint,
        "warmed_at": time.time(),
    }
    atomic_write_json(_state_file(root), state)
    warm = load_warm(profile, toolchain, base, codegen)
    if warm is None:
        raise WarmError(f"warm-up of profile {profile.name!r} left an incomplete state in {root}")
    return warm


# What ``cargo fetch`` may need from the environment to reach a registry; nothing else of the host's.
_NETWORK_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")
_NETWORK_ENV_PREFIXES = ("CARGO_HTTP_", "CARGO_NET_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_")


def fetch_env(toolchain: Toolchain) -> dict[str, str]:
    """The environment of a download step: the allow-list, cargo's home and the network settings."""
    env = {**SAFE_ENV, "CARGO_HOME": str(cargo_home()), "RUSTC": str(toolchain.rustc), "CARGO_TERM_COLOR": "never"}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]  # git (for git sources) reads its config there
    for key, value in os.environ.items():
        if key.upper() in _NETWORK_ENV or key.startswith(_NETWORK_ENV_PREFIXES):
            env[key] = value
    return env


def fetch_crates(root: Path, toolchain: Toolchain, profile: Profile) -> None:
    """Download what the lockfile of the package at ``root`` pins. Runs nothing from the crates."""
    argv = [str(toolchain.cargo), "fetch", "--locked"]
    done = subprocess.run(argv, cwd=root, env=fetch_env(toolchain), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        hint = _stale_lock_hint(profile, done.stderr)
        raise WarmError(f"could not download the crates of profile {profile.name!r}:\n{tail}{hint}")


def _stale_lock_hint(profile: Profile, stderr: str) -> str:
    """What to run when cargo refused a user profile's lockfile (``--locked``)."""
    if "--locked" in stderr and not profile.built_in:
        return f"\nthe lockfile {profile.lock_path} no longer fits the profile: run `rustgate warm {profile.name}`"
    return ""


def _count_packages(profile: Profile) -> int:
    return max(1, profile.lock_text.count("[[package]]"))


def lock_profile(profile: Profile, toolchain: Toolchain, base: Path | None = None) -> Profile:
    """Resolve a user profile's crates and write its lockfile beside the project file.

    Starts from the profile's own lockfile, else the lockfile of the profile it extends, so only
    new or changed crates get new versions (``cargo fetch`` resolves minimally and downloads).
    Built-in profiles are locked in the repository and returned unchanged.
    """
    if profile.built_in or profile.lock_path is None:
        return profile
    parent = warm_root(toolchain, base)
    parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f".lock-{profile.name}-", dir=parent))
    (root / "src").mkdir(parents=True)
    (root / "src" / "lib.rs").write_text(_PROBE_SOURCE)
    (root / "Cargo.toml").write_text(profile.manifest_text)
    seed = profile.lock_text or profile.seed_lock
    if seed:
        (root / "Cargo.lock").write_text(seed)
    done = subprocess.run(
        [str(toolchain.cargo), "fetch"], cwd=root, env=fetch_env(toolchain), capture_output=True, text=True, check=False
    )
    try:
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise WarmError(f"could not resolve the crates of profile {profile.name!r} ({profile.source}):\n{tail}")
        lock_text = (root / "Cargo.lock").read_text()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if lock_text != profile.lock_text:
        atomic_write_text(profile.lock_path, lock_text)
    return profile_from_texts(
        profile.name,
        profile.manifest_text,
        lock_text,
        path=profile.path,
        source=profile.source,
        lock_path=profile.lock_path,
        seed_lock=profile.seed_lock,
    )
