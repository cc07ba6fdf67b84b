"""Where an answer's blocks go in the sample package: path headers, safe names, module files.

A block names its file on its first line (``// src/lib.rs``, ``<!-- templates/a.html -->``,
``# static/app.css``) or in its info string (```` ```rust src/main.rs ````, ```` ```html title="x" ````).
Every path is checked before anything touches the disk: relative, normalised, inside the
package, short ASCII names, no file that is also a folder. ``build.rs`` at the package root is a
build script and is never used; ``src/build.rs`` is an ordinary module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from rustgate.markdown import CodeBlock

MAX_FILES = 256  # real apps have many files; the answer's size is bounded by max_answer_bytes
MAX_DEPTH = 8
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_PATHISH = r"[A-Za-z0-9_./-]+\.[A-Za-z0-9]{1,8}"
# First-line headers in the comment styles of the languages answers carry.
_HEADERS = [
    re.compile(rf"//+!?\s*(?:(?:file(?:name)?|path)\s*:\s*|in\s+)?(?P<path>{_PATHISH}):?\s*", re.I),
    re.compile(rf"/\*+\s*(?:(?:file(?:name)?|path)\s*:\s*)?(?P<path>{_PATHISH})\s*\*+/\s*", re.I),
    re.compile(rf"<!--\s*(?:(?:file(?:name)?|path)\s*:\s*)?(?P<path>{_PATHISH})\s*-->\s*", re.I),
    re.compile(rf"(?:#|--)\s*(?:(?:file(?:name)?|path)\s*:\s*)?(?P<path>{_PATHISH})\s*", re.I),
]
_INFO_PATH = re.compile(rf"(?:title|file(?:name)?|path)\s*=\s*\"?(?P<quoted>{_PATHISH})\"?|[\s:](?P<bare>{_PATHISH})")
# Files a package's manifest owns: an answer never supplies them.
_NEVER_FROM_ANSWER = {"Cargo.toml", "Cargo.lock", "build.rs", ".cargo/config.toml", ".cargo/config"}
_TOP_LEVEL_SOURCES = ("src/", "examples/", "tests/", "benches/")


class LayoutError(ValueError):
    """A path the sample cannot have; the answer is rejected with this message."""


@dataclass(frozen=True)
class PlacedBlock:
    path: str | None  # where the block goes, or None for loose code (the crate root)
    body: str
    block: CodeBlock


def header_path(block: CodeBlock) -> tuple[str | None, str]:
    """(path named by the block, its body); the header line stays in the body (a comment)."""
    first = block.body.split("\n", 1)[0].strip()
    for pattern in _HEADERS:
        matched = pattern.fullmatch(first)
        if matched:
            return matched.group("path"), block.body
    info = _INFO_PATH.search(" " + block.info.strip()) if len(block.info) <= 200 else None
    if info:
        return info.group("quoted") or info.group("bare"), block.body
    return None, block.body


def normalise(raw: str, *, rust: bool) -> str | None:
    """The package-relative path for a header, or None for a file the answer may not supply.

    Bare Rust names (``main.rs``, ``handlers.rs``) live in ``src/``; ``build.rs`` alone is the
    build script. Raises ``LayoutError`` for anything unsafe.
    """
    if raw.startswith(("/", "\\", "~")) or "\\" in raw:
        raise LayoutError(f"path header {raw!r} is absolute")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if ".." in parts:
        raise LayoutError(f"path header {raw!r} leaves the package")
    if not parts:
        raise LayoutError(f"path header {raw!r} names no file")
    path = "/".join(parts)
    if path in _NEVER_FROM_ANSWER or path.endswith("/Cargo.toml"):
        return None
    if rust and not path.startswith(_TOP_LEVEL_SOURCES):
        path = f"src/{path}"
    if len(parts) > MAX_DEPTH:
        raise LayoutError(f"path header {raw!r} is nested more than {MAX_DEPTH} folders deep")
    for part in PurePosixPath(path).parts:
        if not _NAME.fullmatch(part):
            raise LayoutError(f"path header {raw!r}: {part[:40]!r} is not a plain file name (ASCII, <= 64 chars)")
    return path


def check_tree(paths: list[str]) -> None:
    """No path is both a file and a folder; not too many files."""
    if len(paths) > MAX_FILES:
        raise LayoutError(f"the answer has {len(paths)} files (at most {MAX_FILES})")
    files = set(paths)
    for path in paths:
        parent = PurePosixPath(path).parent
        while str(parent) not in (".", ""):
            if str(parent) in files:
                raise LayoutError(f"{parent} is both a file and a folder in the answer")
            parent = parent.parent


def _declares(text: str, module: str) -> bool:
    """Whether a synthesized file already has a ``mod`` line for ``module`` (any visibility)."""
    return re.search(rf"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+{re.escape(module)}\s*;", text) is not None


def module_parents(files: dict[str, str], roots: set[str], added: dict[str, str]) -> dict[str, str]:
    """Module files to write so every given ``src/**.rs`` is declared by a parent module.

    ``added`` holds the files already synthesized (a crate root the answer lacks): only those,
    and parents the answer did not give, get ``pub mod child;`` lines. A given parent that
    forgets a ``mod`` is left alone, and the dep-info check reports the orphan.
    """
    added = dict(added)
    wanted = sorted(p for p in files if p.startswith("src/") and p.endswith(".rs") and not p.startswith("src/bin/"))
    for path in wanted:
        if path in roots:
            continue
        current = PurePosixPath(path)
        while True:
            module = current.parent.name if current.name == "mod.rs" else current.stem
            folder = current.parent.parent if current.name == "mod.rs" else current.parent
            at_top = str(folder) == "src"
            parent_candidates = sorted(roots) if at_top else [f"{folder}.rs", f"{folder}/mod.rs"]
            existing = [p for p in parent_candidates if p in files or p in added]
            if existing:
                if existing[0] in added and not _declares(added[existing[0]], module):
                    added[existing[0]] += f"pub mod {module};\n"
                break
            parent = parent_candidates[0]
            added[parent] = f"pub mod {module};\n"
            if str(folder) == "src":
                break
            current = PurePosixPath(parent)
    return added
