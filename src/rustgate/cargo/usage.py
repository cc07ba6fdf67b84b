"""Usage snippets compiled the way rustdoc compiles a doc example, and loose blocks joined.

A snippet of statements becomes the body of a function in its own module of the answer's
crate, with the crate's items in scope (``use super::*``), ``async`` when it awaits, and an
error type every ``?`` converts into (any ``Debug`` error: ``io::Error``, ``anyhow::Error``,
``Box<dyn Error>`` ...). The wrapper takes one line, so line ``n + 1`` of the module is line
``n`` of the snippet.
"""

from __future__ import annotations

from collections import Counter

from rustgate.cargo.lexer import LexError, tokenize
from rustgate.cargo.reading import ReadBlock
from rustgate.cargo.shape import Shape

_ALLOW = "#![allow(unused, dead_code, unreachable_code, clippy::all)]"
# No ``Debug`` on the error type itself, so the blanket ``From`` does not overlap ``From<T> for T``.
_ERROR = (
    "pub struct UsageError; impl<E: ::core::fmt::Debug> ::core::convert::From<E> for UsageError "
    "{ fn from(_: E) -> Self { UsageError } }"
)


def usage_function(body: str, shape: Shape | None) -> str:
    """The module that compiles ``body`` as a function's body."""
    asynchronous = "async " if shape is not None and shape.awaits else ""
    signature = f"pub {asynchronous}fn usage() -> ::core::result::Result<(), UsageError>"
    code = body.rstrip()
    last = code.rsplit("\n", 1)[-1].strip() if code else ""
    if last in ("Ok(())", "Ok::<(), UsageError>(())"):
        return f"{_ALLOW} use super::*; {_ERROR} {signature} {{\n{code}\n}}\n"
    return f"{_ALLOW} use super::*; {_ERROR} {signature} {{ let _ = {{\n{code}\n}}; Ok(()) }}\n"


def joined(blocks: list[ReadBlock]) -> str:
    """Loose blocks of one program, in order. An import an earlier block already made (the same
    name from the same path) is dropped from a later block's ``use``: the reader sees one file,
    not the same import twice. Imports inside one block are left as written. Line counts are kept."""
    bound: dict[str, str] = {}  # name (or "*path" for a glob) -> the path it was imported from
    parts = []
    for block in blocks:
        lines = block.body.split("\n")
        here: dict[str, str] = {}
        statements = [
            (first, last, _imports("\n".join(lines[first : last + 1]))) for first, last in _use_statements(lines)
        ]
        # A name the block itself imports twice is its own error: left for rustc to report.
        twice = Counter(name for *_, imports in statements for name, _ in imports or ())
        for first, last, imports in statements:
            if imports is None:
                continue
            here.update(imports)
            fresh = [(name, path) for name, path in imports if bound.get(name) != path or twice[name] > 1]
            if len(fresh) == len(imports):
                continue
            for index in range(first, last + 1):
                lines[index] = ""
            lines[first] = " ".join(_use_line(name, path) for name, path in fresh)
        bound.update(here)
        parts.append("\n".join(lines))
    return "\n".join(parts)


def shared_globs(programs: list[list[ReadBlock]]) -> list[str]:
    """The glob imports (``use leptos::prelude::*;``) any program of the answer shows: a tutorial
    imports its prelude once, in its full listing, and its other examples assume it. A glob
    cannot clash with a name the code defines or imports (those shadow it), so adding one to
    every program only supplies what the answer already said to import."""
    globs: list[str] = []
    for program in programs if len(programs) > 1 else []:
        for block in program:
            lines = block.body.split("\n")
            for first, last in _use_statements(lines):
                for name, path in _imports("\n".join(lines[first : last + 1])) or ():
                    line = f"use {path};"
                    if name.startswith("*") and line not in globs:
                        globs.append(line)
    return globs


def with_globs(code: str, globs: list[str]) -> str:
    """``code`` with the answer's glob imports it lacks, at its end (no line of it moves)."""
    have = {line.rstrip() for line in code.split("\n")}
    missing = [g for g in globs if g not in have]
    return code + ("\n" + "\n".join(missing) + "\n" if missing else "")


def _use_statements(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line of each top-level ``use`` statement (one that starts a line)."""
    found = []
    index = 0
    while index < len(lines):
        if lines[index].startswith("use "):
            end = index
            while end < len(lines) and not lines[end].rstrip().endswith(";"):
                end += 1
            if end < len(lines):
                found.append((index, end))
            index = end
        index += 1
    return found


def _imports(statement: str) -> list[tuple[str, str]] | None:
    """(bound name, path) of each import of one ``use`` statement; None when it is not plain."""
    try:
        tokens = [t.text for t in tokenize(statement)]
    except LexError:
        return None
    if len(tokens) < 3 or tokens[0] != "use" or tokens[-1] != ";" or tokens.count(";") != 1:
        return None
    out: list[tuple[str, str]] = []

    def tree(prefix: list[str], i: int) -> int:
        path = list(prefix)
        while True:
            text = tokens[i]
            if text == "{":
                i += 1
                while tokens[i] != "}":
                    i = tree(path, i)
                    if tokens[i] == ",":
                        i += 1
                return i + 1
            if text == "*":
                out.append(("*" + "::".join(path), "::".join([*path, "*"])))
                return i + 1
            if text == "::":
                path.append("")
                i += 1
                continue
            if not (text[:1].isalpha() or text[:1] == "_"):
                raise ValueError(text)
            path.append(text)
            i += 1
            if tokens[i] == "::":
                i += 1
                continue
            full = [part for part in path if part]
            if full[-1] == "self":
                full = full[:-1]
            name = full[-1] if full else ""
            if tokens[i] == "as":
                name, i = tokens[i + 1], i + 2
            out.append((name, ("::" if path[0] == "" else "") + "::".join(full)))
            return i

    try:
        end = tree([], 1)
    except (IndexError, ValueError):
        return None
    return out if end == len(tokens) - 1 and all(name for name, _ in out) else None


def _use_line(name: str, path: str) -> str:
    if name.startswith("*"):
        return f"use {path};"
    last = path.rsplit("::", 1)[-1]
    return f"use {path};" if last == name else f"use {path} as {name};"
