"""Many answers in one rustc: each a module of one batch crate, each verdict its own.

Most of a small answer's rustc run is fixed cost (the dependencies' metadata, the session, the
sandbox), so N answers screened as batchable (``cargo.batch_screen``) share one run. A library
is ``#[path = "<token>/lib.rs"] pub mod <token>;``; a program is ``pub mod <token> {
include!("<token>/main.rs"); ... }`` with a function that takes its ``main`` as a program entry
(so dead code is counted from ``main``, and a ``main`` that is no entry fails as it would alone).
The token is 96 random bits: no answer can name a neighbour, and ``src/<token>/`` and
``<token>::`` can be stripped from rustc's output without touching anything else.

Exactness: rustc skips its late lints (``dead_code``, item-level ``deny``, privacy) once any
error exists, so a member's clean result counts only from a batch with no errors; a clean
member of a batch with errors is batched again. A member's errors count from a batch when a
canary (the root's last body) proves rustc ran every body and the member has a non-lint error
(so alone rustc would stop where the batch did); otherwise it is checked alone. So is a member
whose diagnostic may read differently in a batch (a neighbour's token, a visibility, a full
path where a name is unique alone, a once-per-compile lint note a neighbour took), and every
member of a batch that ran abnormally (timeout, memory, output, signal, a file outside the
members). A member's entry is built by the same ``outcome_from_run`` rule as a single check,
from its own lines only (docs/compile-gate.md has the reasons).
"""

from __future__ import annotations

import json
import os
import re
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
    relative_outcome,
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
# Messages whose paths are the import as written (unused, unresolved) or a deprecated item's full
# path, which rustc prints without shortening (``with_no_trimmed_paths`` in its stability pass).
_VERBATIM_MESSAGES = frozenset({"unused_imports", "E0432", "deprecated"})
_ERROR_CODE = re.compile(r"E[0-9]{4}")
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
    entry = f"fn {token}t<T: ::std::process::Termination>(_: fn() -> T) {{}} {token}t(main)"
    return f'pub mod {token} {{ include!("{token}/main.rs"); pub fn {token}() {{ {entry} }} }}'


def _canary_line(token: str) -> str:
    """The root's last body: its ``unused_mut`` warning comes from borrow checking, which runs on
    every body in source order after every body was type-checked. Seeing it proves that no
    neighbour's error stopped rustc early (macro recursion, trait overflow), so each member's
    errors up to rustc's stop after borrow checking are all there, as they would be alone."""
    return f"#[warn(unused_mut)] pub fn {token}canary() -> u8 {{ let mut {token}v = 0u8; {token}v }}"


def _prints_paths(message: Any, lint: str | None, token: str) -> bool:
    """Whether rustc's own words in a diagnostic hold a ``::`` path. rustc prints a name bare when
    it is unique in the crate, and in full once any other item (or a glob that reaches one) shares
    it: a neighbour's ``type Result<T>`` turns a member's "unused `Result`" into "unused
    `std::result::Result`". A bare name is unique alone when it is unique in the batch; a path
    may not have been, so such a diagnostic is read alone. Some messages quote the answer's own
    path or a full path that rustc never shortens: those are read as they are."""
    texts: list[str] = []

    def collect(value: Any, top: bool, depth: int = 0) -> None:
        if not isinstance(value, dict):
            return
        if depth > 8:  # rustc nests one level; deeper is nothing to trust
            texts.append("::")
            return
        if not (top and lint in _VERBATIM_MESSAGES):
            texts.append(str(value.get("message") or ""))
        for span in value.get("spans") or []:
            if isinstance(span, dict):
                texts.extend(str(span.get(key) or "") for key in ("label", "suggested_replacement"))
        for child in value.get("children") or []:
            collect(child, False, depth + 1)

    collect(message, True)
    return any("::" in text.replace(f"{token}::", "") for text in texts)


def _level_notes(message: Any, lint: str) -> bool:
    """Whether a lint's diagnostic carries the note on where its level comes from ("`#[warn(x)]`
    on by default", "implied by"). rustc prints that note once per compile, so a member whose
    neighbour met the lint first would lack it: such a member is read alone."""
    hyphen = lint.replace("_", "-")
    for child in message.get("children") or []:
        if isinstance(child, dict) and not child.get("spans"):
            text = str(child.get("message") or "")
            if f"({lint})" in text or f" {hyphen}`" in text:
                return True
    return False


def _lists_the_crate_graph(message: Any) -> bool:
    """Whether an error's notes enumerate the loaded crates: implementors of a trait ("the
    following other types implement trait", "and 12 others"), or the versions of a crate. A
    neighbour that uses another crate loads it, and these lists grow; the member is read alone."""
    children = message.get("children") or []
    texts = [str(c.get("message") or "") for c in children if isinstance(c, dict)]
    return any("implement" in text or "versions of crate" in text for text in texts)


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
        lines.append(_canary_line(f"rg{secrets.token_hex(12)}"))
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
    hard_error = [False] * n  # an error that is no lint's: alone, rustc would stop where the batch did
    canary_line, reached = n + 2, False
    lints_of: list[set[str]] = [set() for _ in tokens]
    noted_by: dict[str, int] = {}  # lint -> the member whose diagnostic carried its once-only level note
    shared = [""] * n  # why a line may read differently than alone: the member is checked alone
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
        code = message.get("code")
        lint = code.get("code") if isinstance(code, dict) else None
        is_lint = lint is not None and not _ERROR_CODE.fullmatch(str(lint))  # a lint's name, not an E code
        if spans and all(f == ROOT_FILE and line_no == canary_line for f, line_no in spans):
            if lint == "unused_mut" and level == "warning":
                reached = True
                continue
            return [Member("alone", why="the batch's canary read differently")] * n
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
        for i in owners:
            if lint in _VISIBILITY_LINTS:
                shared[i] = shared[i] or "a lint that prints a visibility"
            if _prints_paths(message, lint, tokens[i]):
                shared[i] = shared[i] or "a path rustc may print shorter alone"
            if level.startswith("error") and _lists_the_crate_graph(message):
                shared[i] = shared[i] or "an error that lists what the loaded crates hold"
            if len(owners) > 1 or any(f == ROOT_FILE for f, _ in spans):
                shared[i] = shared[i] or "a diagnostic shared with the batch"
            if any(other in line for j, other in enumerate(tokens) if j != i):
                shared[i] = shared[i] or "a diagnostic that names a neighbour"
            if is_lint:
                lints_of[i].add(str(lint))
                if _level_notes(message, str(lint)):
                    noted_by.setdefault(str(lint), i)
            own[i].append(line.replace(f"src/{tokens[i]}/", "src/").replace(f"{tokens[i]}::", ""))
            has_error[i] = has_error[i] or level.startswith("error")
            if level == "error" and not is_lint:
                hard_error[i] = True
    any_error = any(has_error)
    if not any_error and run.returncode != 0:
        return [Member("alone", why=f"rustc exited {run.returncode} without errors")] * n
    if not any_error and not reached:  # something silenced rustc's own warning: trust nothing of it
        return [Member("alone", why="the batch's canary never spoke")] * n
    read: list[set[str]] = [set() for _ in tokens]
    for name in dep_info_files(root / "out" / f"{crate_name}.d"):
        normal = os.path.normpath(os.path.relpath(name, root) if os.path.isabs(name) else name)
        if normal == ROOT_FILE:
            continue
        owner = next((i for prefix, i in index.items() if normal.startswith(prefix)), None)
        if owner is None:
            return [Member("alone", why="the batch read a file outside its answers")] * n
        read[owner].add("src/" + normal.removeprefix(f"src/{tokens[owner]}/"))
    for i, lints in enumerate(lints_of):
        if any(noted_by.get(lint, i) != i for lint in lints):
            shared[i] = shared[i] or "a lint note a neighbour took"
    # Errors are the member's own when rustc provably ran every body (the canary) and stopped
    # where it would alone (an error that no lint level can lift), with exit 1 as a plain failure.
    errors_hold = reached and run.returncode == 1
    members = []
    for i, source in enumerate(sources):
        if shared[i]:
            members.append(Member("alone", why=shared[i]))
        elif has_error[i] and hard_error[i] and errors_hold:
            members.append(Member("done", _decided(own[i], root, source, read[i], limits, known_modules, share, 1)))
        elif has_error[i]:
            members.append(Member("alone", why="errors are confirmed alone"))
        elif any_error:
            members.append(Member("again", why="a neighbour's error hides late lints"))
        else:
            members.append(Member("done", _decided(own[i], root, source, read[i], limits, known_modules, share, 0)))
    return members


def _decided(
    lines: list[str],
    root: Path,
    source: CrateSource,
    read: set[str],
    limits: Limits,
    known_modules: frozenset[str],
    share: float,
    returncode: int,
) -> CheckOutcome:
    """The member's entry, by the single check's rule, from its own lines, as the exit code a
    check alone would have ended with (0: an error-free batch; 1: its own errors)."""
    result = SandboxResult(returncode, "", "\n".join(lines), share)
    declared = set(source.local_names) | known_modules
    outcome = relative_outcome(outcome_from_run(result, parse_rustc_json(lines), limits, declared), root)
    outcome.diagnostics = errors_first(outcome.diagnostics)[:MAX_DIAGNOSTICS]
    outcome.duration_s = share
    return never_compiled(outcome, source, read)
