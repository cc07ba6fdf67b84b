"""Fenced code blocks in a markdown answer, found as CommonMark renderers find them.

markdown-it-py does the block parsing, so a fence inside a list item or a blockquote, a fence
opened on a list-marker line, tildes and indented closers are read as a reader sees them
rendered. Only the block level is parsed (inline markup is never interpreted), which keeps the
work linear in the answer's length.

Lines end at ``\\n`` (``\\r\\n`` and a lone ``\\r`` too), never at U+2028 and other characters
``str.splitlines`` treats as breaks: a comment holding U+2028 stays one line, as rustc reads it.
A NUL survives parsing (markdown-it would replace it with U+FFFD).

Each block carries the prose that introduces it: ``lead`` is the paragraph or heading right
before it (``In `src/db.rs`:``), ``prose`` all text since the previous block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# rustdoc's block attributes that mean "this is Rust, but do not compile it", and the variants
# authors use to mark an example as wrong.
_NOT_COMPILED = {
    "ignore",
    "compile_fail",
    "compile_error",
    "compilefail",
    "compile-fail",
    "does_not_compile",
    "doesnt_compile",
    "not_compile",
    "no_compile",
    "nocompile",
    "wont_compile",
    "fails",
    "fail",
    "wrong",
    "bad",
    "incorrect",
    "error",
}
_RUST_LANGS = {"rust", "rs"}
MAX_NESTING = 40  # blockquote/list depth read; deeper answers are refused, never half-read
_PROSE_CHARS = 600


@dataclass(frozen=True)
class CodeBlock:
    info: str  # the whole info string: "rust", "rust,ignore", "toml", "html // src/chat.html", ...
    body: str  # the lines between the fences, each ending in "\n"
    line: int  # the opening fence's line in the answer (1-based)
    lead: str = ""  # the paragraph or heading just before the block, as written
    prose: str = ""  # the text since the previous block (its last characters)

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
        """A Rust block rustdoc would compile: not marked ``ignore``, ``compile_fail`` or a variant."""
        return (
            self.is_rust and not (self.flags & _NOT_COMPILED) and not any(f.startswith("ignore-") for f in self.flags)
        )

    @property
    def harness_ignored(self) -> bool:
        """Marked ``ignore`` only: rustdoc's harness is told to skip it (it needs a crate the doc
        build lacks, or several files), which says nothing about the code being wrong."""
        if not self.is_rust or self.compiled:
            return False
        marks = self.flags & _NOT_COMPILED
        return marks <= {"ignore"} and (bool(marks) or any(f.startswith("ignore-") for f in self.flags))


@dataclass(frozen=True)
class ParsedMarkdown:
    blocks: list[CodeBlock]
    too_deep: bool  # nesting beyond MAX_NESTING: part of the answer was not read


def split_lines(text: str) -> list[str]:
    """Lines as markdown and rustc see them (no U+2028/U+0085 splits)."""
    return _LINE_BREAK.split(text)


def info_lang(info: str) -> str:
    return re.split(r"[\s,{]", info.strip().lower(), maxsplit=1)[0] if info.strip() else ""


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})
    md.disable(["inline", "text_join"], ignoreInvalid=True)  # block structure only
    return md


_MD = _parser()
_SENTINELS = "\ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007"


def read_markdown(markdown: str) -> ParsedMarkdown:
    """Fenced blocks in order, each with the prose that introduces it."""
    text = _LINE_BREAK.sub("\n", markdown)
    nul = None
    if "\0" in text:  # keep NULs: markdown-it would turn them into U+FFFD
        nul = next((s for s in _SENTINELS if s not in text), None)
        if nul is not None:
            text = text.replace("\0", nul)
    blocks: list[CodeBlock] = []
    prose: list[str] = []
    lead = ""
    too_deep = False
    for token in _MD.parse(text):
        if token.level >= MAX_NESTING - 2:
            too_deep = True
        if token.type == "inline":
            prose.append(token.content)
            lead = token.content
        elif token.type in ("paragraph_open", "heading_open"):
            lead = ""
        elif token.type == "fence" and token.map is not None:
            body = token.content if nul is None else token.content.replace(nul, "\0")
            info = token.info if nul is None else token.info.replace(nul, "\0")
            if body and not body.endswith("\n"):
                body += "\n"
            said = "\n".join(prose)[-_PROSE_CHARS:]
            blocks.append(CodeBlock(info=info.strip(), body=body, line=token.map[0] + 1, lead=lead, prose=said))
            prose, lead = [], ""
        elif token.type in ("code_block", "html_block", "hr", "table_open"):
            lead = ""
    return ParsedMarkdown(blocks, too_deep)


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Fenced blocks in order; linear in the length of the answer."""
    return read_markdown(markdown).blocks
