"""What one Rust block is, read from its tokens: the items it defines, whether it is a program
(``fn main``) or a run of statements (a usage snippet), and the code lines it shows.

These are the facts the answer reading (``cargo.reading``) relates blocks by: a block whose
items or lines reappear in another is a piece of it; two programs that define the same items
are alternatives. One pass over the tokens, so linear in the block's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rustgate.cargo.lexer import LexError, Token, tokenize

_ITEM_WORDS = {"struct", "enum", "trait", "type", "mod", "static", "union"}
_QUALIFIERS = {"async", "const", "unsafe", "extern", "default"}
# Macros that only make sense as statements (inside a function body).
_STATEMENT_MACROS = {"println", "print", "eprintln", "eprint", "dbg", "assert", "assert_eq", "assert_ne",
                     "debug_assert", "debug_assert_eq", "debug_assert_ne", "panic", "todo", "unimplemented",
                     "write", "writeln", "let", "select", "join", "try_join", "pin",
                     # expression macros, never items: a block of one is a usage snippet
                     "view", "rsx", "html", "json", "vec", "format"}  # fmt: skip
_TRIVIAL_LINE = re.compile(r"[\s{}()\[\];,]*")
_ELISION = re.compile(r"(?://+\s*)?(?:\.\.\.|…)(?:\s*\w.*)?|//.*|/\*.*\*/")


@dataclass(frozen=True)
class Shape:
    keys: frozenset[str]  # the items defined: "fn main", "struct User", "impl Foo for Bar::new" ...
    lines: frozenset[str]  # the code lines shown, whitespace-normalised (elisions and braces left out)
    has_main: bool
    statements: bool  # top-level statements (``let ...;``, ``foo().await?;``): a usage snippet
    awaits: bool
    readable: bool = True  # the tokenizer could read it (else rustc will say why)
    locals: frozenset[str] = frozenset()  # names bound by ``let`` or as function parameters, at any depth
    uses: frozenset[str] = frozenset()  # plain names the code refers to (not fields, methods or path tails)

    def piece_of(self, other: Shape) -> bool:
        """Is this block shown again, whole, inside ``other``? (Identical blocks: both are.)"""
        if self.lines and self.lines <= other.lines:
            return True
        return bool(self.keys) and not self.statements and self.keys < other.keys


def code_lines(body: str) -> frozenset[str]:
    lines = set()
    for raw in body.split("\n"):
        line = " ".join(raw.split())
        if not line or _TRIVIAL_LINE.fullmatch(line) or _ELISION.fullmatch(line):
            continue
        lines.add(line)
    return frozenset(lines)


def shape_of(body: str) -> Shape:
    try:
        tokens = list(tokenize(body))
    except LexError:
        return Shape(frozenset(), code_lines(body), False, False, False, readable=False)
    keys, has_main, statements = _top_level(tokens)
    awaits = any(t.text == "await" and i and tokens[i - 1].text == "." for i, t in enumerate(tokens))
    bound, used = _names(tokens)
    return Shape(frozenset(keys), code_lines(body), has_main, statements, awaits, locals=bound, uses=used)


_NOT_NAMES = frozenset(
    {"as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
     "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
     "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while"}
)  # fmt: skip


def _names(tokens: list[Token]) -> tuple[frozenset[str], frozenset[str]]:
    """(local bindings, names used): one pass. A ``let`` binds the lower-case names of its pattern;
    a function binds its parameters. Used names are identifiers not after ``.`` or ``::``."""
    bound: set[str] = set()
    used: set[str] = set()
    n = len(tokens)
    for i, token in enumerate(tokens):
        if token.kind != "ident" or token.text in _NOT_NAMES:
            if token.text == "let":
                _pattern_names(tokens, i + 1, bound)
            elif token.text == "fn" and i + 2 < n and tokens[i + 2].text == "(":
                _parameter_names(tokens, i + 2, bound)
            continue
        before = tokens[i - 1].text if i else ""
        after = tokens[i + 1].text if i + 1 < n else ""
        if before in (".", "::", "'") or after in ("!", "::"):
            continue
        used.add(token.text)
    return frozenset(bound), frozenset(used)


def _pattern_names(tokens: list[Token], i: int, bound: set[str]) -> None:
    depth = 0
    while i < len(tokens):
        token = tokens[i]
        if depth == 0 and token.text in ("=", ";", ":", "else"):
            return
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
            if depth < 0:
                return
        elif token.kind == "ident" and token.text not in _NOT_NAMES and token.text[:1].islower():
            after = tokens[i + 1].text if i + 1 < len(tokens) else ""
            if after not in ("(", "{", "::", "!"):
                bound.add(token.text)
        i += 1


def _parameter_names(tokens: list[Token], i: int, bound: set[str]) -> None:
    """Names before a ``:`` at the top level of a parameter list starting at ``i`` (its ``(``)."""
    end = _skip_group(tokens, i)
    depth = 0
    for j in range(i, min(end, len(tokens) - 1)):
        token = tokens[j]
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 1 and token.kind == "ident" and tokens[j + 1].text == ":" and token.text not in _NOT_NAMES:
            bound.add(token.text)


def _skip_group(tokens: list[Token], i: int) -> int:
    """Index just past the bracket group that opens at ``i``."""
    depth = 0
    while i < len(tokens):
        if tokens[i].kind == "open":
            depth += 1
        elif tokens[i].kind == "close":
            depth -= 1
            if depth <= 0:
                return i + 1
        i += 1
    return i


def _top_level(tokens: list[Token]) -> tuple[set[str], bool, bool]:  # noqa: C901 - one walk, one dispatch
    keys: set[str] = set()
    has_main = statements = False
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token.text == ";":
            i += 1
            continue
        # Outer and inner attributes, visibility.
        if token.text == "#":
            j = i + 1
            if j < n and tokens[j].text == "!":
                j += 1
            if j < n and tokens[j].text == "[":
                i = _skip_group(tokens, j)
                continue
        if token.text == "pub":
            i += 1
            if i < n and tokens[i].text == "(":
                i = _skip_group(tokens, i)
            continue
        j = i
        while j < n and tokens[j].text in _QUALIFIERS and tokens[j].kind == "ident":
            j += 1
            if j < n and tokens[j].kind == "str":  # extern "C"
                j += 1
        word = tokens[j].text if j < n else ""
        after = tokens[j + 1] if j + 1 < n else None
        if word == "fn" and after is not None and after.kind == "ident":
            keys.add(f"fn {after.text}")
            has_main = has_main or after.text == "main"
            i = _item_end(tokens, j)
        elif word in _ITEM_WORDS and after is not None and after.kind == "ident" and tokens[j].kind == "ident":
            keys.add(f"{word} {after.text}")
            i = _item_end(tokens, j)
        elif j > i and tokens[i].text == "const" == tokens[j - 1].text and after is not None and word != "fn":
            keys.add(f"const {word}")  # `const NAME: T = ...;` (the qualifier loop ate `const`)
            i = _item_end(tokens, j)
        elif word == "impl" or word == "trait":
            i = _impl(tokens, j, keys)
        elif word in ("use", "extern", "crate") or (j > i and tokens[j - 1].text == "extern"):
            i = _item_end(tokens, j)
        elif word == "macro_rules" and after is not None and after.text == "!":
            name = tokens[j + 2].text if j + 2 < n else ""
            keys.add(f"macro {name}")
            i = _item_end(tokens, j)
        elif tokens[i].kind == "ident" and _macro_call(tokens, i):
            end, name = _macro_call(tokens, i) or (i + 1, "")
            statements = statements or name in _STATEMENT_MACROS or (end < n and tokens[end].text == ".")
            i = _item_end(tokens, i)
        else:
            statements = True
            i = _item_end(tokens, i)
    return keys, has_main, statements


def _macro_call(tokens: list[Token], i: int) -> tuple[int, str] | None:
    """``name!(...)`` or ``a::b::name! {...}`` at ``i``: (index past the call, the macro's name)."""
    n = len(tokens)
    j = i
    while j + 2 < n and tokens[j + 1].text == "::" and tokens[j + 2].kind == "ident":
        j += 2
    if j + 2 < n and tokens[j + 1].text == "!" and tokens[j + 2].kind == "open":
        return _skip_group(tokens, j + 2), tokens[j].text
    return None


def _item_end(tokens: list[Token], i: int) -> int:
    """Past the item or statement starting at ``i``: its ``;``, or the brace group that ends it."""
    n = len(tokens)
    while i < n:
        token = tokens[i]
        if token.text == ";":
            return i + 1
        if token.kind == "open":
            closing = _skip_group(tokens, i)
            if token.text == "{" and (closing >= n or tokens[closing].text not in (".", "?", ";", "else", ")")):
                return closing
            i = closing
            continue
        i += 1
    return n


def _impl(tokens: list[Token], j: int, keys: set[str]) -> int:
    """An ``impl``/``trait`` block: one key per member (``impl Display for Id::fmt``)."""
    n = len(tokens)
    k = j
    while k < n and tokens[k].text != "{" and tokens[k].text != ";":
        k += 1
    header = " ".join(t.text for t in tokens[j:k])[:200]
    if k >= n or tokens[k].text == ";":
        keys.add(header)
        return k + 1
    end = _skip_group(tokens, k)
    members, depth = [], 0
    for m in range(k, end - 1):
        if tokens[m].kind == "open":
            depth += 1
        elif tokens[m].kind == "close":
            depth -= 1
        elif depth == 1 and tokens[m].text in ("fn", "const", "type") and tokens[m + 1].kind == "ident":
            members.append(tokens[m + 1].text)
    if members:
        keys.update(f"{header}::{m}" for m in members)
    else:
        keys.add(header)
    return end
