"""The first wall against hostile answers: refuse code that would make the compiler read files
outside the sample.

This works on tokens (``cargo.lexer``), so comments, ``cfg_attr``, raw identifiers and macros
that pass a macro's name around do not hide an ``include_str!``. It is never the only wall: the
sandbox (``cargo.isolation``) hides the host from rustc, and the dep-info check (``replay``)
refuses any verdict whose compile read a file outside the sample. A reason names the file and
line; nothing here can raise for a sample.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from rustgate.cargo.lexer import Token, string_value

# Macros (std and pinned crates) whose argument is a path the compiler opens.
READING_MACROS = {
    "include",
    "include_str",
    "include_bytes",
    "include_dir",
    "query_file",
    "query_file_as",
    "query_file_scalar",
    "query_file_unchecked",
    "query_file_as_unchecked",
}
# Names never harmless when merely mentioned: importing or passing them lets a later call hide.
_NEVER_NAMED = READING_MACROS - {"include"}
# Attribute keys whose string value is a path a compiler or proc macro opens (#[path], askama's
# #[template(path = ...)], rust-embed's #[folder = ...]) ...
READING_KEYS = {"path", "folder"}
# ... inside these attributes. Elsewhere ``path = "/api"`` is a proc macro's own key (utoipa's
# #[utoipa::path(get, path = "/todos")]), not a file.
READING_ATTRIBUTES = {"path", "folder", "template", "cfg_attr"}


def _normalise(path: PurePosixPath) -> str | None:
    """``a/./b/../c`` -> ``a/c``; None when ``..`` climbs above the start."""
    parts: list[str] = []
    for part in path.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def _escapes(literal: str, bases: Iterable[PurePosixPath]) -> bool:
    """The literal path leaves the sample from one of ``bases`` (or is absolute, or odd)."""
    if not literal or literal.startswith(("/", "\\", "~")) or "\0" in literal or "\\" in literal:
        return True
    return any(_normalise(base / literal) is None for base in bases)


def _matching_close(tokens: list[Token], start: int) -> int:
    """Index of the token closing the group opened at ``start`` (or len(tokens) if unclosed)."""
    depth = 0
    for index in range(start, len(tokens)):
        kind = tokens[index].kind
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _coverage(n: int, spans: list[tuple[int, int]]) -> list[bool]:
    """For each token index, whether some span covers it (linear, however many spans)."""
    diff = [0] * (n + 1)
    for start, end in spans:
        diff[min(start, n)] += 1
        diff[min(end, n)] -= 1
    covered, running = [], 0
    for index in range(n):
        running += diff[index]
        covered.append(running > 0)
    return covered


@dataclass
class _Spans:
    reading_attribute: list[bool]  # inside an attribute that names files (#[path], #[template], cfg_attr)
    macro_body: list[bool]  # inside a macro_rules! definition
    use_declaration: list[bool]
    meta_fragments: bool  # the file forwards attributes through #[$meta]


def _spans(tokens: list[Token]) -> _Spans:
    """Where each token stands (reading attribute, macro body, use declaration), in one pass."""
    attributes: list[tuple[int, int]] = []
    macro_bodies: list[tuple[int, int]] = []
    uses: list[tuple[int, int]] = []
    meta_fragments = False
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token.kind == "punct" and token.text == "#":
            j = i + 1
            if j < n and tokens[j].text == "!":
                j += 1
            if j < n and tokens[j].kind == "open" and tokens[j].text == "[":
                end = _matching_close(tokens, j)
                first = tokens[j + 1] if j + 1 < n else None
                meta_fragments = meta_fragments or (first is not None and first.text == "$")
                if first is not None and first.kind == "ident" and first.text in READING_ATTRIBUTES:
                    attributes.append((j + 1, end))
        elif token.kind == "ident" and token.text == "macro_rules" and not token.raw:
            j = i + 1
            while j < n and tokens[j].kind != "open":
                j += 1
            if j < n:
                macro_bodies.append((j + 1, _matching_close(tokens, j)))
        elif token.kind == "ident" and token.text == "use" and not token.raw:
            j = i + 1
            while j < n and not (tokens[j].kind == "punct" and tokens[j].text == ";"):
                j += 1
            uses.append((i + 1, j))
        i += 1
    return _Spans(_coverage(n, attributes), _coverage(n, macro_bodies), _coverage(n, uses), meta_fragments)


def file_access_problems(files: dict[str, str], tokens: dict[str, list[Token]]) -> list[str]:
    """Why each read in ``tokens`` (per ``.rs`` file of ``files``) could reach outside the sample.

    Allowed: a reading macro called with one plain string literal, and a reading attribute key
    set to one, whose path stays inside the sample from every directory it can be resolved
    from. Everything else that could name a path is refused.
    """
    problems: list[str] = []
    source_dirs = sorted({PurePosixPath(name).parent for name in tokens})
    for name, stream in tokens.items():
        here = PurePosixPath(name).parent
        own_bases = [here, here / PurePosixPath(name).stem]
        spans = _spans(stream)

        def refuse(token: Token, why: str, name: str = name) -> None:
            problems.append(f"{name}:{token.line}: {why}")

        for index, token in enumerate(stream):
            nxt = stream[index + 1] if index + 1 < len(stream) else None
            # A macro called through a metavariable ($m!) can be any macro, include_str! too.
            if token.kind == "punct" and token.text == "$" and nxt is not None and nxt.kind == "ident":
                after = stream[index + 2] if index + 2 < len(stream) else None
                if after is not None and after.kind == "punct" and after.text == "!":
                    refuse(token, f"a macro called through a metavariable (${nxt.text}!) is refused")
                continue
            if token.kind != "ident":
                continue
            if token.text in READING_MACROS:
                if nxt is not None and nxt.kind == "punct" and nxt.text == "!":
                    bases = source_dirs if spans.macro_body[index] else [here]
                    why = _literal_call_problem(stream, index + 2, bases)
                    if why:
                        refuse(token, f"{token.text}! {why}")
                elif token.text in _NEVER_NAMED or spans.use_declaration[index]:
                    refuse(token, f"naming {token.text} other than to call it (an import, alias or macro argument)")
                continue
            if token.text in READING_KEYS and nxt is not None and nxt.kind == "punct" and nxt.text == "=":
                in_attribute = spans.reading_attribute[index]
                if not (in_attribute or spans.meta_fragments):
                    continue
                value = stream[index + 2] if index + 2 < len(stream) else None
                literal = string_value(value) if value is not None and value.kind == "str" else None
                if literal is None:
                    if in_attribute:
                        refuse(token, f"#[{token.text} = ...] with a computed value")
                    continue
                bases = source_dirs if spans.macro_body[index] or not in_attribute else own_bases
                if _escapes(literal, bases):
                    refuse(token, f"{token.text} = {literal!r} reaches outside the sample")
    return problems


def _literal_call_problem(stream: list[Token], open_index: int, bases: list[PurePosixPath]) -> str | None:
    """None when ``stream[open_index:]`` is ``( "literal" [,] )`` naming a path inside the sample."""
    if open_index >= len(stream) or stream[open_index].kind != "open":
        return "without a literal argument is refused"
    close = _matching_close(stream, open_index)
    inner = stream[open_index + 1 : close]
    if inner and inner[-1].kind == "punct" and inner[-1].text == ",":
        inner = inner[:-1]
    if len(inner) != 1 or inner[0].kind != "str":
        return "with a computed path is refused"
    literal = string_value(inner[0])
    if literal is None:
        return "with an unreadable string literal is refused"
    if _escapes(literal, bases):
        return f"of {literal!r} reaches outside the sample"
    return None


def unsafe_includes(files: dict[str, str]) -> list[str]:
    """``file_access_problems`` for plain file texts (the ``.rs`` ones are tokenized here)."""
    from rustgate.cargo.lexer import tokens_or_error

    streams: dict[str, list[Token]] = {}
    problems: list[str] = []
    for name, text in files.items():
        if name.endswith(".rs"):
            tokens, error = tokens_or_error(text)
            if error is not None:
                problems.append(f"{name}:{error.line}: the code cannot be read as Rust ({error})")
            streams[name] = tokens
    return problems + file_access_problems(files, streams)
