"""Fenced code blocks in a markdown answer: the one parser every module uses.

Lines end at ``\\n`` (``\\r\\n`` and a lone ``\\r`` too), never at U+2028 and other characters
``str.splitlines`` treats as breaks: a comment holding U+2028 stays one line, as rustc reads it.
A block opens with three or more backticks or tildes (indented at most three spaces) and closes
with a fence of the same character at least as long; an unclosed block runs to the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# rustdoc's block attributes that mean "this is Rust, but do not compile it".
_NOT_COMPILED = {"ignore", "compile_fail"}
_RUST_LANGS = {"rust", "rs"}


@dataclass(frozen=True)
class CodeBlock:
    info: str  # the whole info string: "rust", "rust,ignore", "toml", "html // src/chat.html", ...
    body: str  # the lines between the fences, each ending in "\n"
    line: int  # the opening fence's line in the answer (1-based)

    @property
    def lang(self) -> str:
        """The language word of the info string, lower-cased (``rust,ignore`` -> ``rust``)."""
        return info_lang(self.info)

    @property
    def flags(self) -> frozenset[str]:
        """The comma/space separated words after the language (``ignore``, ``no_run`` ...)."""
        words = re.split(r"[\s,{}]+", self.info.lower())
        return frozenset(w for w in words[1:] if w)

    @property
    def is_rust(self) -> bool:
        return self.lang in _RUST_LANGS

    @property
    def compiled(self) -> bool:
        """A Rust block rustdoc would compile: not marked ``ignore`` or ``compile_fail``."""
        return self.is_rust and not (self.flags & _NOT_COMPILED)


def split_lines(text: str) -> list[str]:
    """Lines as markdown and rustc see them (no U+2028/U+0085 splits)."""
    return _LINE_BREAK.split(text)


def info_lang(info: str) -> str:
    return re.split(r"[\s,{]", info.strip().lower(), maxsplit=1)[0] if info.strip() else ""


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Fenced blocks in order; linear in the length of the answer."""
    blocks: list[CodeBlock] = []
    lines = split_lines(markdown)
    i = 0
    while i < len(lines):
        opened = _FENCE.fullmatch(lines[i])
        if not opened:
            i += 1
            continue
        fence = opened.group("fence")
        closing = re.compile(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not closing.fullmatch(lines[i]):
            body.append(lines[i])
            i += 1
        blocks.append(
            CodeBlock(info=opened.group("info").strip(), body="".join(f"{line}\n" for line in body), line=start + 1)
        )
        i += 1
    return blocks
