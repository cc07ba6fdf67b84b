"""Many answers in one rustc: each a module of one batch crate, each verdict its own.

Most of a small answer's rustc run is fixed cost (the dependencies' metadata, the session, the
sandbox), so N answers screened as batchable (``cargo.batch_screen``) share one run. A library
is ``#[path = "<token>/lib.rs"] pub mod <token>;``; a program is ``pub mod <token> {
include!("<token>/main.rs"); ... }`` with a function that takes its ``main`` as a program entry
(so dead code is counted from ``main``, and a ``main`` that is no entry fails as it would alone).
The token is 96 random bits: no answer can name a neighbour, and ``src/<token>/`` and
``<token>::`` can be stripped from rustc's output without touching anything else.

Exactness: rustc skips its late lints (``dead_code``, item-level ``deny``, privacy) once any
error exists, so a member's clean result counts only from a batch with no errors at all. A
member with errors, one a diagnostic shares with another, or any batch that ran abnormally
(timeout, memory, output, signal, a file outside the members) is checked alone; a clean member
of a batch with errors is batched again. A member's entry is built by the same
``outcome_from_run`` rule as a single check, from its own lines only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rustgate.cargo.diagnostics import MAX_DIAGNOSTICS, errors_first, parse_rustc_json, split_lines
from rustgate.cargo.extract import CrateSource
from rustgate.cargo.isolation import Isolation
from rustgate.cargo.replay import (
    CheckOutcome,
    dep_info_files,
    never_compiled,
    only_target,
    outcome_from_run,
    read_only_paths,
    relative_diagnostic,
    replay_argv,
    sample_env,
    target_env,
)
from rustgate.cargo.sandbox import Limits, SandboxResult, run_limited, sandbox_wall_clock
from rustgate.cargo.scratch import scratch_dir
from rustgate.cargo.toolchain import Toolchain
from rustgate.cargo.warm import WarmProfile

ROOT_FILE = "src/rustgate_batch.rs"
# Lints whose text names a visibility: an answer's private item is `pub(crate)` at its crate root
# and `pub(self)` in a module, so these are read from a check of the answer alone.
_VISIBILITY_LINTS = frozenset({"private_interfaces", "private_bounds", "unnameable_types", "unreachable_pub"})
_SUMMARY = ("aborting due to", "could not compile", "Some errors have detailed", "For more information about")


@dataclass
class Member:
    """What the batch decided for one sample: its outcome, or that it must be checked again."""

    state: Literal["done", "alone", "again"]
    outcome: CheckOutcome | None = None
    why: str = ""


def _root_line(token: str, kind: str) -> str:
    if kind == "lib":
        return f'#[path = "{token}/lib.rs"] pub mod {token};'
    entry = "fn t<T: ::std::process::Termination>(_: fn() -> T) {} t(main)"
    return f'pub mod {token} {{ include!("{token}/main.rs"); pub fn {token}() {{ {entry} }} }}'


def _span_files(value: Any, found: list[tuple[str, int]]) -> None:
    """Every span's file and line anywhere in a diagnostic (children and macro expansions too)."""
    if isinstance(value, dict):
        if "file_name" in value and "line_start" in value:
            found.append((str(value["file_name"]), int(value.get("line_start") or 0)))
        for child in value.values():
            _span_files(child, found)
    elif isinstance(value, list):
        for child in value:
            _span_files(child, found)


def check_modules(
    sources: list[CrateSource],
    warm: WarmProfile,
    toolchain: Toolchain,
    manifest_text: str,
    limits: Limits,
    isolation: Isolation,
    *,
    known_modules: frozenset[str] = frozenset(),
) -> list[Member]:
    """One rustc over ``sources`` (all screened into one group, so each is a "lib" or a "bin");
    never raises for a sample."""
    started = time.monotonic()
    scratch = scratch_dir("batch-")
    n = len(sources)
    try:
        root, mount_root = scratch / "crate", scratch / "root"
        (root / "src").mkdir(parents=True)
        mount_root.mkdir()
        tokens = [f"rg{secrets.token_hex(12)}" for _ in sources]
        for token, source in zip(tokens, sources, strict=True):
            for relative, text in source.files.items():
                if relative.startswith("src/"):
                    path = root / "src" / token / relative.removeprefix("src/")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
        lines = ["// rustgate: one module per answer (cargo.module_batch)"]
        lines += [_root_line(token, source.kind) for token, source in zip(tokens, sources, strict=True)]
        (root / ROOT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / "Cargo.toml").write_text(manifest_text, encoding="utf-8")
        (root / "out").mkdir()
        target = only_target(sources[0])
        argv = replay_argv(warm, ROOT_FILE, "lib", root / "out", sysroot=toolchain.sysroot,
                           crate_name=target.crate_name)  # fmt: skip
        env = target_env(sample_env(warm, root), sources[0], target, root)
        wrapped = isolation.wrap(
            [str(toolchain.rustc), *argv], cwd=root, env=env, read_only=read_only_paths(toolchain, warm),
            writable=[root], scratch=mount_root, wall_s=sandbox_wall_clock(limits.timeout_s),
        )  # fmt: skip
        run = run_limited(wrapped, cwd=root, env=env, limits=limits)
        share = (time.monotonic() - started) / n
        abnormal = run.timed_out or run.output_overflow or run.out_of_memory or run.signal is not None
        if abnormal:
            return [Member("alone", why="the batch ran abnormally")] * n
        return _attribute(run, root, tokens, sources, limits, known_modules, share, target.crate_name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _attribute(
    run: SandboxResult,
    root: Path,
    tokens: list[str],
    sources: list[CrateSource],
    limits: Limits,
    known_modules: frozenset[str],
    share: float,
    crate_name: str,
) -> list[Member]:
    n = len(tokens)
    index = {f"src/{token}/": i for i, token in enumerate(tokens)}
    own: list[list[str]] = [[] for _ in tokens]
    has_error = [False] * n
    shared = [False] * n  # a line names another member or the root, or reads differently in a module
    for raw in split_lines(run.stderr):
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            return [Member("alone", why="unreadable compiler output")] * n
        if not isinstance(message, dict):
            continue
        text = str(message.get("message", ""))
        level = str(message.get("level", ""))
        spans: list[tuple[str, int]] = []
        try:
            _span_files(message.get("spans"), spans)
            _span_files(message.get("children"), spans)
        except RecursionError:  # macro expansions nested past Python's stack: let single checks read it
            return [Member("alone", why="unreadable compiler output")] * n
        owners = set()
        for file_name, line_no in spans:
            if file_name == ROOT_FILE:
                owners.add(line_no - 2)  # line 1 is the comment, member i is on line i + 2
            else:
                owners.update(i for prefix, i in index.items() if file_name.startswith(prefix))
        owners = {i for i in owners if 0 <= i < n}
        if not owners:
            if text.startswith(_SUMMARY) or text.endswith(("warnings emitted", "warning emitted")):
                continue
            return [Member("alone", why="a diagnostic no answer owns")] * n
        code = message.get("code")
        lint = code.get("code") if isinstance(code, dict) else None
        for i in owners:
            if lint in _VISIBILITY_LINTS:
                shared[i] = True
            own[i].append(line.replace(f"src/{tokens[i]}/", "src/").replace(f"{tokens[i]}::", ""))
            has_error[i] = has_error[i] or level.startswith("error")
            shared[i] = shared[i] or len(owners) > 1 or any(f == ROOT_FILE for f, _ in spans)
    any_error = any(has_error)
    if not any_error and run.returncode != 0:
        return [Member("alone", why=f"rustc exited {run.returncode} without errors")] * n
    read: list[set[str]] = [set() for _ in tokens]
    for name in dep_info_files(root / "out" / f"{crate_name}.d"):
        normal = os.path.normpath(os.path.relpath(name, root) if os.path.isabs(name) else name)
        if normal == ROOT_FILE:
            continue
        owner = next((i for prefix, i in index.items() if normal.startswith(prefix)), None)
        if owner is None:
            return [Member("alone", why="the batch read a file outside its answers")] * n
        read[owner].add("src/" + normal.removeprefix(f"src/{tokens[owner]}/"))
    members = []
    for i, source in enumerate(sources):
        if has_error[i] or shared[i]:
            members.append(Member("alone", why="errors are confirmed alone"))
        elif any_error:
            members.append(Member("again", why="a neighbour's error hides late lints"))
        else:
            members.append(Member("done", _passed(own[i], root, source, read[i], limits, known_modules, share)))
    return members


def _passed(
    lines: list[str],
    root: Path,
    source: CrateSource,
    read: set[str],
    limits: Limits,
    known_modules: frozenset[str],
    share: float,
) -> CheckOutcome:
    """The member's entry, by the single check's rule, from its own lines of an error-free batch."""
    result = SandboxResult(0, "", "\n".join(lines), share)
    declared = set(source.local_names) | known_modules
    outcome = outcome_from_run(result, parse_rustc_json(lines), limits, declared)
    outcome.diagnostics = errors_first([relative_diagnostic(d, root) for d in outcome.diagnostics])[:MAX_DIAGNOSTICS]
    outcome.duration_s = share
    return never_compiled(outcome, source, read)
