"""Usage snippets compiled the way rustdoc compiles a doc example, and loose blocks joined.

A snippet of statements becomes the body of a function in its own module of the answer's
crate, with the crate's items in scope (``use super::*``), ``async`` when it awaits, and an
error type every ``?`` converts into (any ``Debug`` error: ``io::Error``, ``anyhow::Error``,
``Box<dyn Error>`` ...). The wrapper takes one line, so line ``n + 1`` of the module is line
``n`` of the snippet.
"""

from __future__ import annotations

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
    """Loose blocks of one program, in order; a ``use`` line an earlier block already has is
    blanked (the reader sees one file, not the same import twice). Line counts are kept."""
    seen: set[str] = set()
    parts = []
    for block in blocks:
        lines = block.body.split("\n")
        here: set[str] = set()
        for index, line in enumerate(lines):
            stripped = line.strip()
            if line.startswith("use ") and stripped.endswith(";"):
                if stripped in seen:
                    lines[index] = ""
                here.add(stripped)
        seen |= here
        parts.append("\n".join(lines))
    return "\n".join(parts)
