"""From a markdown answer to a crate: which files, which profile, bin or lib, or why not.

Several ```rust blocks form one crate, in order; a block headed by a path comment such as
``// src/lib.rs`` goes to that file. A ```toml block's ``[dependencies]`` are read only to refuse
crates outside the profile's pinned set: the sample's own manifest is never used.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from rustgate.cargo.templates import Profile
from rustgate.records import Record

_FENCE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$", re.M)
_RUST_INFOS = {"rust", "rs"}
_PATH_HEADER = re.compile(r"^\s*//+\s*(?:(?:file(?:name)?|path)\s*:\s*)?(?P<path>[\w./-]+\.rs)\s*$", re.IGNORECASE)
_FN_MAIN = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub\s+)?(?:async\s+)?fn\s+main\s*\(", re.M)
_USE_ROOT = re.compile(r"(?:^|[^\w:])(?:use\s+|::)?\b(axum|axum_extra|leptos(?:_router|_meta)?|rig)::")

# When ``crate`` is absent, the profile follows the first framework the code names.
_PROFILE_OF_ROOT = {
    "axum": "axum",
    "axum_extra": "axum",
    "leptos": "leptos",
    "leptos_router": "leptos",
    "leptos_meta": "leptos",
    "rig": "rig",
}


@dataclass(frozen=True)
class CodeBlock:
    info: str
    body: str


@dataclass
class CrateSource:
    """The files of one sample crate, relative to the crate root (``src/main.rs`` ...)."""

    profile: str
    kind: str  # "bin" or "lib"
    files: dict[str, str] = field(default_factory=dict)
    # Set for a lib+bin answer: the name src/main.rs uses for the library (checked after it).
    library_name: str | None = None

    @property
    def root_file(self) -> str:
        return "src/main.rs" if self.kind == "bin" else "src/lib.rs"


@dataclass(frozen=True)
class Rejection:
    """The answer cannot be checked as given; ``reason`` says why (never a download)."""

    reason: str
    profile: str | None = None


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Fenced blocks in order, closed by a fence of the same character at least as long."""
    blocks: list[CodeBlock] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        fence = opened.group("fence")
        info = opened.group("info").strip()
        body: list[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[i])
            i += 1
        blocks.append(CodeBlock(info=info, body="\n".join(body) + "\n"))
        i += 1
    return blocks


def _info_lang(info: str) -> str:
    return re.split(r"[\s,{]", info.lower(), maxsplit=1)[0] if info else ""


def guess_profile(code: str) -> str:
    match = _USE_ROOT.search(code)
    return _PROFILE_OF_ROOT[match.group(1)] if match else "rust"


def _split_header(body: str) -> tuple[str | None, str]:
    first, _, rest = body.partition("\n")
    header = _PATH_HEADER.match(first)
    if not header:
        return None, body
    path = PurePosixPath(header.group("path"))
    parts = path.parts
    if path.is_absolute() or ".." in parts:
        return None, body
    if parts[0] != "src":
        path = PurePosixPath("src", *parts)
    return str(path), body


def _declared_dependencies(blocks: list[CodeBlock]) -> list[str]:
    names: list[str] = []
    for block in blocks:
        if _info_lang(block.info) != "toml":
            continue
        try:
            manifest = tomllib.loads(block.body)
        except tomllib.TOMLDecodeError:
            continue
        for table in ("dependencies", "dev-dependencies", "build-dependencies"):
            names.extend(manifest.get(table, {}) or {})
    return names


def extract_crate(record: Record, profiles: dict[str, Profile], profile: str | None = None) -> CrateSource | Rejection:
    """The crate to compile for ``record``, or why it cannot be compiled."""
    blocks = code_blocks(record.answer)
    rust = [b for b in blocks if _info_lang(b.info) in _RUST_INFOS or (not b.info and _looks_rusty(b.body))]
    if not rust:
        return Rejection("no code: the answer has no ```rust block")
    all_code = "\n".join(b.body for b in rust)
    chosen = profile or record.crate or guess_profile(all_code)
    if chosen not in profiles:
        return Rejection(f"unknown profile {chosen!r}")
    for dependency in _declared_dependencies(blocks):
        if not profiles[chosen].allows(dependency):
            pinned = ", ".join(sorted(profiles[chosen].requirements))
            return Rejection(
                f"dependency {dependency!r} is outside the {chosen} profile's pinned set ({pinned})", chosen
            )
    files: dict[str, list[str]] = {}
    loose: list[str] = []
    for block in rust:
        path, body = _split_header(block.body)
        if path is None:
            loose.append(body)
        else:
            files.setdefault(path, []).append(body)
    if "src/build.rs" in files or any(p.endswith("/build.rs") for p in files):
        files = {p: b for p, b in files.items() if not p.endswith("build.rs")}
    merged = {path: "\n".join(bodies) for path, bodies in files.items()}
    has_main = bool(_FN_MAIN.search("\n".join(loose))) or "src/main.rs" in merged
    kind = "bin" if has_main and "src/lib.rs" not in merged else "lib"
    root = "src/main.rs" if kind == "bin" else "src/lib.rs"
    if loose:
        merged[root] = "\n".join(loose) + ("\n" + merged[root] if root in merged else "")
    if root not in merged:
        # Only module files were given: declare each as a module of the crate root.
        mods = [PurePosixPath(p).stem for p in merged if PurePosixPath(p).parent == PurePosixPath("src")]
        merged[root] = "".join(f"pub mod {m};\n" for m in mods)
    library_name = None
    if kind == "lib" and "src/main.rs" in merged:
        library_name = _library_name(merged["src/main.rs"], profiles[chosen])
    return CrateSource(profile=chosen, kind=kind, files=merged, library_name=library_name)


_NOT_A_LIBRARY = {"std", "core", "alloc", "crate", "self", "super", "proc_macro"}


def _library_name(main: str, profile: Profile) -> str:
    """The name a lib+bin answer's ``main.rs`` calls its own library by (``use my_app::...``)."""
    for match in re.finditer(r"\b(?:use|extern\s+crate)\s+(?:::)?([A-Za-z_]\w*)", main):
        name = match.group(1)
        if name not in _NOT_A_LIBRARY and name not in profile.crate_names:
            return name
    for match in re.finditer(r"\b([A-Za-z_]\w*)::", main):
        name = match.group(1)
        if name not in _NOT_A_LIBRARY and name not in profile.crate_names and name[0].islower():
            return name
    return "app"


def _looks_rusty(body: str) -> bool:
    return bool(re.search(r"^\s*(use |fn |pub |impl |struct |#\[)", body, re.M))
