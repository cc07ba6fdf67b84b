"""An answer's doc examples (the fenced code in its library's ``///`` and ``//!`` comments) as the
programs rustdoc would make of them, for the test tier.

``cargo test`` runs these as doctests. rustdoc cannot be replayed in the sandbox as rustc is
(it compiles and runs each example itself, with no window or process limits of ours), so each
example is turned into the program rustdoc would build -- hidden ``#`` lines kept, the code
wrapped in ``fn main`` unless it has one, a trailing ``Ok::<(), E>(())`` made a ``Result``-returning
body, crate attributes and ``extern crate`` lines hoisted -- and built as a binary linking the
answer's library, then run in the sandbox like any program. ``ignore``, ``compile_fail`` and
``test_harness`` examples are not built (counted as ignored); ``no_run`` ones are built, not run;
``should_panic`` ones must panic. Fences tagged with another language (``text``, ``toml``,
``sh``...) are not code. Indented (four-space) code blocks are not read.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from rustgate.cargo.extract import CrateSource, guess_library_name
from rustgate.cargo.lexer import tokens_or_error
from rustgate.cargo.templates import Profile

_ATTRIBUTES = {"rust", "ignore", "should_panic", "no_run", "compile_fail", "test_harness", "standalone_crate"}
_NOT_BUILT = {"ignore", "compile_fail", "test_harness"}
_FENCE = re.compile(r"^(```+|~~~+)\s*(.*)$")
_MAIN = re.compile(r"(?m)^\s*(?:pub\s+)?(?:async\s+)?fn\s+main\s*\(")
_OK_TAIL = re.compile(r"^(?:Ok|Result::Ok)::<.*>\(\(\)\)\s*;?$")
_HOISTED = re.compile(r"^\s*(#!\[|(?:#\[macro_use\]\s*)?extern\s+crate\b)")
PREFIX = "rustgate_doc_example"


@dataclass(frozen=True)
class DocExample:
    file: str  # the library file the comment is in
    line: int  # the fence's line in that file
    program: str  # what rustdoc would compile
    should_panic: bool = False
    no_run: bool = False
    built: bool = True  # False: ignore / compile_fail / test_harness

    @property
    def label(self) -> str:
        return f"{self.file} - doc example (line {self.line})"

    def path(self, index: int) -> str:
        return f"src/bin/{PREFIX}_{index}.rs"


def doc_examples(source: CrateSource) -> list[DocExample]:
    """The doc examples of the answer's library, in file and line order (none without a library:
    rustdoc tests only a library's documentation)."""
    if source.lib is None:
        return []
    found: list[DocExample] = []
    for path in sorted(p for p in source.files if _in_library(source, p)):
        found += _examples_in(path, source.files[path])
    return found


def _in_library(source: CrateSource, path: str) -> bool:
    """A file of the library: under ``src/``, not a program's root nor under ``src/bin/`` (a
    module only a binary declares counts too: the library never compiles it)."""
    if not path.endswith(".rs") or not path.startswith("src/") or path in source.bins or path.startswith("src/bin/"):
        return False
    return path not in source.alternatives and not PurePosixPath(path).stem.startswith(PREFIX)


def _examples_in(path: str, text: str) -> list[DocExample]:
    found = []
    fence: str | None = None
    tags: set[str] = set()
    start = 0
    body: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped.startswith(("///", "//!")) or stripped.startswith("////"):
            fence = None  # the doc comment ended: an unclosed fence is dropped
            continue
        line = stripped[3:]
        line = line[1:] if line.startswith(" ") else line
        marker = _FENCE.match(line.strip())
        if fence is None:
            if marker:
                fence, start, body = marker.group(1), number, []
                tags = {t for t in re.split(r"[\s,]+", marker.group(2).strip()) if t}
            continue
        if marker and marker.group(1).startswith(fence) and not marker.group(2):
            example = _example(path, start, tags, body)
            if example is not None:
                found.append(example)
            fence = None
            continue
        body.append(line)
    return found


def _is_rust(tags: set[str]) -> bool:
    return all(t in _ATTRIBUTES or re.fullmatch(r"edition\d{4}|E\d{4}|ignore-[\w-]+", t) for t in tags)


def _example(path: str, line: int, tags: set[str], body: list[str]) -> DocExample | None:
    if not _is_rust(tags):
        return None
    code = [_unhide(b) for b in body]
    built = not (tags & _NOT_BUILT or any(t.startswith("ignore-") for t in tags))
    return DocExample(path, line, _program(code), "should_panic" in tags, "no_run" in tags, built)


def _unhide(line: str) -> str:
    """rustdoc's hidden lines: ``# code`` is code, ``#`` alone a blank line, ``##`` a literal ``#``."""
    if line.startswith("##"):
        return line[1:]
    if line == "#":
        return ""
    if line.startswith("# "):
        return line[2:]
    return line


def _program(code: list[str]) -> str:
    hoisted = [c for c in code if _HOISTED.match(c)]
    rest = [c for c in code if not _HOISTED.match(c)]
    head = ["#![allow(unused)]", *hoisted]
    text = "\n".join(rest)
    if _MAIN.search(text):
        return "\n".join([*head, text, ""])
    lines = [r for r in rest if r.strip()]
    if lines and _OK_TAIL.match(lines[-1].strip()):
        inner = ["fn main() {", "    fn _inner() -> Result<(), impl core::fmt::Debug> {", text, "    }"]
        return "\n".join([*head, *inner, "    _inner().unwrap()", "}", ""])
    return "\n".join([*head, "fn main() {", text, "}", ""])


def doc_example_source(source: CrateSource, examples: list[DocExample], profile: Profile) -> CrateSource:
    """The answer's library with each built example as a program of its own (and nothing else
    of the answer's: its binaries and tests ran in the build before). The library keeps the
    name its binaries use; a library alone takes its ``[package]`` name, else the crate the
    examples import that is neither std nor a pinned crate nor the answer's own item."""
    files = {p: t for p, t in source.files.items() if _in_library(source, p) or not p.endswith(".rs")}
    bins = []
    for index, example in enumerate(examples):
        if example.built:
            files[example.path(index)] = example.program
            bins.append(example.path(index))
    name = source.library_name or _package_name(source) or _imported_name(examples, profile, source)
    return dataclasses.replace(
        source, files=files, bins=bins, tests=[], alternatives={}, test_roots=[], library_name=name or "app"
    )


def _package_name(source: CrateSource) -> str | None:
    name = source.package.get("name", "").replace("-", "_")
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else None


def _imported_name(examples: list[DocExample], profile: Profile, source: CrateSource) -> str | None:
    streams = []
    for example in examples:
        stream, problem = tokens_or_error(example.program)
        if problem is None:
            streams.append(stream)
    return guess_library_name(streams, profile, set(source.local_names))
