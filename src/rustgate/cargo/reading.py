"""How a careful reader reads an answer's blocks: which are code, which file each becomes,
which are pieces of a fuller listing, which are usage snippets, which are alternatives.

The rules (docs/compile-gate.md, "How an answer is read"):

- Blocks that are not code (console, output, trees, json ...) and Rust marked ``ignore`` or
  ``compile_fail`` (or a variant) are never compiled.
- A block names its file on its first line, in its info string, or in the paragraph right
  before it (``In `src/routes.rs`:``, ``**src/main.rs**``).
- A block whose lines all reappear in another, or whose items are a strict subset of
  another's, is a *piece* of it and is not compiled on its own: the fuller listing is.
- A block of statements is a *usage* snippet: compiled as a function body, as rustdoc does.
- Loose blocks that redefine items of the program so far (a second ``fn main``) start an
  *alternative* program, compiled on its own; unless the text marks the earlier one as wrong
  or the later one as the fix, which *replaces* it.
- Blocks of one file that redefine its items replace the earlier version.

Piece detection compares blocks pairwise, so it is bounded: answers with more than
``MAX_RELATED`` Rust blocks are read block after block, as one listing.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from rustgate.cargo.layout import header_path
from rustgate.cargo.lexer import LexError, tokenize
from rustgate.cargo.shape import Shape, shape_of
from rustgate.markdown import CodeBlock, split_lines

MAX_RELATED = 200
_RUSTY_STARTS = ("use ", "fn ", "pub ", "impl ", "struct ", "enum ", "mod ", "#[", "#![", "async fn ", "trait ")
_TREE = re.compile(r"[├└│]|^\s*\$ ", re.M)
_OUTPUT_LEAD = re.compile(r"(output|prints?|you(?:'ll| will| should) see|result|returns|response)\s*:?\s*$", re.I)
_WRONG = re.compile(
    r"(won'?t|will not|doesn'?t|does not|fails? to|can'?t|cannot|不)\s+(compile|build|work|type-?check)"
    r"|\b(wrong|incorrect|broken|buggy|mistake|anti-?pattern|don'?t do this|common error)\b|❌",
    re.I,
)
_FIXED = re.compile(r"\b(fix(?:ed)?|correct(?:ed)?|working|right way|instead|solution|should be|do this)\b|✅", re.I)
_ALTERNATIVE = re.compile(
    r"(?:^|[.:!?]\s+)or\b|\balternative(?:ly)?\b|\banother (?:way|option|approach|version)\b"
    r"|\bdifferent (?:way|approach)\b",
    re.I,
)
# A block that opens with an element (``<progress max="50" .../>``): the inside of a view macro.
_MARKUP = re.compile(r"\s*(?://[^\n]*\n\s*)*<[A-Za-z][\w:-]*(?:\s*/?>(?!::)|\s*\n|\s+[\w:-]+\s*=)")
# An API sketch: bodies elided as ``{ ... }`` under prose that says it is a sketch.
_ELIDED_BODY = re.compile(r"\{\s*(?:\.\.\.|…)\s*\}")
_SKETCH = re.compile(
    r"\b(roughly|approximately|sketch(?:ed)?|simplified|pseudo-?code|outline|skeleton|in a nutshell"
    r"|(?:api|interface|signatures?) (?:looks?|is|are)(?: something)? like)\b",
    re.I,
)
_PATH_WORD = r"(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(?:rs|toml|html|css|scss|sql|js|json|ya?ml|txt|md)"
_PROSE_PATH = re.compile(rf"(?<![\w/.-]){_PATH_WORD}(?![\w/-])")
_ONLY_PATH = re.compile(rf"\W*(?:(?:file(?:name)?|path)\s*:?\s*)?(?P<path>{_PATH_WORD})\W*", re.I)
_LANG_EXTENSIONS = {"html": "html", "css": "css", "scss": "scss", "sql": "sql", "toml": "toml", "js": "js",
                    "javascript": "js", "json": "json", "yaml": "yaml", "yml": "yml", "text": "txt"}  # fmt: skip

Role = str  # "code", "usage", "piece", "replaced", "ignored", "not code", "data", "manifest"


@dataclass
class ReadBlock:
    block: CodeBlock
    role: Role
    body: str
    path: str | None = None  # the path the answer names for it (header, info string or prose)
    named_by: str | None = None  # "header", "info", "prose"
    shape: Shape | None = None
    note: str = ""
    programs: list[int] = field(default_factory=list)  # loose code: the programs it belongs to
    file: str | None = None  # the package file it became (set when the package is laid out)

    @property
    def line(self) -> int:
        return self.block.line

    def entry(self) -> dict[str, Any]:
        """How this block was read, for the record's details and the report."""
        out: dict[str, Any] = {"line": self.line, "lang": self.block.lang or "-", "read_as": self.role}
        if self.file:
            out["file"] = self.file
        if self.named_by:
            out["named_by"] = self.named_by
        if len(self.programs) > 0 and max(self.programs) > 0:
            out["programs"] = [p + 1 for p in self.programs]
        if self.note:
            out["why"] = self.note
        return out


@dataclass
class Reading:
    blocks: list[ReadBlock]
    programs: int = 1  # complete programs among the loose code (alternatives + 1)

    def of(self, *roles: Role) -> list[ReadBlock]:
        return [b for b in self.blocks if b.role in roles]

    def entries(self) -> list[dict[str, Any]]:
        return [b.entry() for b in self.blocks]


def looks_rusty(body: str) -> bool:
    return any(line.lstrip().startswith(_RUSTY_STARTS) for line in split_lines(body))


def unhide(body: str) -> str:
    """rustdoc's hidden lines (``# use x;``) are compiled without their ``# ``."""
    if "#" not in body:
        return body
    out = []
    for line in body.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("# ") or stripped == "#":
            line = line[: len(line) - len(stripped)] + stripped[2:]
        elif stripped.startswith("##"):
            line = line[: len(line) - len(stripped)] + stripped[1:]
        out.append(line)
    return "\n".join(out)


_BRACED_ITEMS = frozenset({"struct", "enum", "union", "impl", "trait", "fn", "mod"})
_ITEM_PREFIXES = frozenset({"pub", "crate", "unsafe", "async", "default", "extern", "const"})


def as_doctest(raw: str, body: str) -> str:
    """A block written for rustdoc (it has hidden lines) and without ``fn main`` is compiled as
    rustdoc compiles it, inside ``fn main``: there an empty statement after an item
    (``struct Delay { when: Instant };``) is legal. The gate keeps the items at module level, so
    those ``;`` are blanked; nothing else changes."""
    if body == raw:
        return body
    try:
        tokens = list(tokenize(body))
    except LexError:
        return body
    depth, lines = 0, set()
    item: str | None = None  # the keyword of the top-level item being read; "}" once it closed
    for i, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
            continue
        if token.kind == "close":
            depth -= 1
            if depth == 0 and token.text == "}" and item in _BRACED_ITEMS:
                item = "}"
            continue
        if depth != 0:
            continue
        if token.text == "fn" and i + 1 < len(tokens) and tokens[i + 1].text == "main":
            return body
        if token.text == ";":
            if item == "}" and tokens[i - 1].line == token.line:
                lines.add(token.line)
            item = None
        elif item == "}":
            item = token.text if token.kind == "ident" and token.text not in _ITEM_PREFIXES else None
        elif item is None and token.kind == "ident" and token.text not in _ITEM_PREFIXES:
            item = token.text
    if not lines:
        return body
    out = body.split("\n")
    for number in lines:
        text = out[number - 1]
        cut = text.rfind("};")
        if cut >= 0:
            out[number - 1] = text[: cut + 1] + " " + text[cut + 2 :]
    return "\n".join(out)


def prose_path(block: CodeBlock, extensions: tuple[str, ...]) -> str | None:
    """The file the paragraph right before the block names, if it names exactly one."""
    lead = block.lead.strip()
    if not lead or len(lead) > 240 or "\n" in lead.strip():
        return None
    plain = lead.replace("*", "").replace("`", "").replace("_", "_").strip()
    only = _ONLY_PATH.fullmatch(plain.lstrip("#").strip())
    if only:
        found = {only.group("path")}
    elif plain.endswith(":"):
        found = set(_PROSE_PATH.findall(plain))
    else:
        return None
    fitting = {p for p in found if p.rsplit(".", 1)[-1] in extensions}
    return fitting.pop() if len(fitting) == 1 and len(found) == 1 else None


def _marked(block: CodeBlock, pattern: re.Pattern[str]) -> bool:
    said = block.lead or block.prose[-200:]
    return bool(pattern.search(said))


def read_blocks(blocks: list[CodeBlock]) -> Reading:  # noqa: C901 - the reading, rule by rule
    read: list[ReadBlock] = []
    for block in blocks:
        lang = block.lang
        raw_path, _ = header_path(block)
        named_by = None if raw_path is None else ("header" if _header_named(block) else "info")
        rusty = not lang and looks_rusty(block.body) and not _TREE.search(block.body)
        if not lang and _OUTPUT_LEAD.search(block.lead):
            rusty = False
        if raw_path is None:
            wanted = ("rs",) if block.is_rust or rusty else ((_LANG_EXTENSIONS[lang],) if lang in _LANG_EXTENSIONS
                                                              else ())  # fmt: skip
            raw_path = prose_path(block, wanted) if wanted else None
            named_by = "prose" if raw_path else None
        headed_rust = not lang and raw_path is not None and raw_path.endswith(".rs")
        is_rust = block.is_rust or rusty or headed_rust
        if is_rust and block.is_rust and not block.compiled:
            read.append(
                ReadBlock(block, "ignored", block.body, raw_path, named_by, note=f"marked {block.info!r}: not compiled")
            )
            continue
        if not is_rust:
            if lang == "toml" and (raw_path is None or PurePosixPath(raw_path).name == "Cargo.toml"):
                read.append(ReadBlock(block, "manifest", block.body, note="read for its dependencies only"))
            elif raw_path is not None:
                read.append(ReadBlock(block, "data", block.body, raw_path, named_by))
            else:
                why = f"a {lang} block" if lang else "not Rust (output, a tree or prose)"
                read.append(ReadBlock(block, "not code", block.body, note=why))
            continue
        body = as_doctest(block.body, unhide(block.body)) if block.is_rust else block.body
        if _MARKUP.match(body):
            note = "markup for a `view!`/`html!` macro, not Rust on its own: not compiled"
            read.append(ReadBlock(block, "not code", block.body, note=note))
            continue
        if _ELIDED_BODY.search(body) and _marked(block, _SKETCH):
            note = "an API sketch (the text says so, and its bodies are elided as `{ ... }`): not compiled"
            read.append(ReadBlock(block, "not code", block.body, note=note))
            continue
        read.append(ReadBlock(block, "code", body, raw_path, named_by, shape_of(body)))
    if not any(b.role == "code" for b in read):
        _read_harness_ignored(read)
    code = [b for b in read if b.role == "code"]
    if len(code) <= MAX_RELATED:
        _mark_pieces(code)
    else:
        for b in code:
            b.note = f"more than {MAX_RELATED} Rust blocks: read in order as one listing"
    reading = Reading(read)
    _mark_replaced_files([b for b in code if b.role == "code" and b.path is not None])
    loose = [b for b in code if b.role == "code" and b.path is None]
    usages = [b for b in loose if b.shape is not None and b.shape.statements and not b.shape.has_main]
    if len(code) <= MAX_RELATED:
        _mark_wrong_usages(usages, loose)
        for b in usages:
            if b.role == "code":
                b.role = "usage"
                b.note = "statements: compiled as the body of a function, as rustdoc compiles an example"
        _mark_excerpts(code)
        reading.programs = _programs([b for b in loose if b.role == "code"])
    else:
        for b in loose:
            b.programs = [0]
    return reading


def _read_harness_ignored(read: list[ReadBlock]) -> None:
    """An answer whose Rust is all ``rust,ignore`` (a book's multi-file program, a listing that
    needs a crate the doc build lacks) is read as code: the reader builds it, and ``ignore`` is
    an instruction to rustdoc's harness, not a mark of wrong code. Blocks the text marks wrong
    stay ignored."""
    for b in read:
        if b.role == "ignored" and b.block.harness_ignored and not _marked(b.block, _WRONG):
            b.role, b.body = "code", unhide(b.block.body)
            b.shape = shape_of(b.body)
            b.note = f"marked {b.block.info!r}, but all the Rust the answer has: compiled, as a reader builds it"


def _header_named(block: CodeBlock) -> bool:
    first = block.body.split("\n", 1)[0].strip()
    return first.startswith(("//", "/*", "<!--", "#", "--"))


def _mark_pieces(code: list[ReadBlock]) -> None:
    """A block shown again, whole, in another (earlier or later) is a piece of it."""
    for a in code:
        if a.shape is None or not (a.shape.lines or a.shape.keys):
            continue
        for b in code:
            if b is a or b.shape is None or b.role != "code":
                continue
            if a.path is not None and a.path != b.path:
                continue  # a named file is never a piece of another file
            draft = _draft_of(a, b)
            offered = b.line > a.line and _marked(b.block, _ALTERNATIVE) and not a.shape.lines <= b.shape.lines
            if not draft and (offered or not a.shape.piece_of(b.shape)):
                continue  # an alternative the text offers ("Or, ...") is compiled on its own
            if not draft and b.shape.piece_of(a.shape) and b.line < a.line:
                continue  # the same code twice: the later copy is the one compiled
            a.role = "piece"
            a.note = (
                f"an earlier version of the items of the block at line {b.line}: that one is compiled"
                if draft
                else f"a piece of the block at line {b.line}: compiled there"
            )
            break


def _draft_of(a: ReadBlock, b: ReadBlock) -> bool:
    """A tutorial's first version of a component or function, defined again (perhaps with more)
    by a later block: the later one is the code. Programs (``fn main``) that define the same
    items are alternatives, and so is a later block the text offers as one ("Or, ...")."""
    if a.shape is None or b.shape is None or b.line < a.line or a.path is not None or b.path is not None:
        return False
    if not a.shape.keys or a.shape.has_main or a.shape.statements or _marked(b.block, _ALTERNATIVE):
        return False
    return a.shape.keys <= b.shape.keys


def _mark_excerpts(code: list[ReadBlock]) -> None:
    """Snippets that use another block's local variables cannot be compiled alone, and are not
    meant to be. A snippet that continues an earlier snippet (it uses a ``let`` of that one) is
    compiled in the same function, after it. A snippet that uses the locals of a function shown
    in another block (``set_count.set(3)`` beside the component that binds ``set_count``) is an
    excerpt of that function: compiled there. A name no block binds is the snippet's own error."""
    items = {key.split()[-1].rsplit("::", 1)[-1] for b in code if b.shape is not None for key in b.shape.keys}
    snippets: list[ReadBlock] = []
    for b in code:
        if b.role != "usage" or b.shape is None or b.shape.keys:
            continue
        free = b.shape.uses - b.shape.locals - items
        earlier = [u for u in snippets if u.shape is not None and u.shape.locals & free]
        owners = [
            o for o in code
            if o is not b and o.role in ("code", "piece") and o.shape is not None and o.shape.keys
            and o.shape.locals & free
        ]  # fmt: skip
        if owners:
            shared = sorted(owners[0].shape.locals & free)[0] if owners[0].shape is not None else ""
            b.role = "piece"
            b.note = f"an excerpt of the code at line {owners[0].line} (uses its local `{shared}`): compiled there"
        elif earlier:
            first = earlier[-1]
            shared = sorted(first.shape.locals & free)[0] if first.shape is not None else ""
            first.body = f"{first.body.rstrip()}\n{b.body}"
            if first.shape is not None:  # the union of both, without reading the growing body again
                first.shape = dataclasses.replace(
                    first.shape, locals=first.shape.locals | b.shape.locals, awaits=first.shape.awaits or b.shape.awaits
                )
            b.role = "piece"
            b.note = f"continues the snippet at line {first.line} (uses its `{shared}`): compiled with it"
        else:
            snippets.append(b)


def _clash(a: Shape | None, b: Shape | None) -> bool:
    if a is None or b is None:
        return False
    return bool(a.keys & b.keys) or (a.has_main and b.has_main)


def _mark_replaced_files(named: list[ReadBlock]) -> None:
    """A later block of the same file that redefines its items is its new version."""
    by_path: dict[str, list[ReadBlock]] = {}
    for b in named:
        current = by_path.setdefault(str(b.path), [])
        for old in [x for x in current if _clash(x.shape, b.shape)]:
            old.role = "replaced"
            old.note = f"{b.path} is given again at line {b.line}: that version is compiled"
            current.remove(old)
        current.append(b)


def _mark_wrong_usages(usages: list[ReadBlock], loose: list[ReadBlock]) -> None:
    for b in usages:
        if not _marked(b.block, _WRONG):
            continue
        later = [x for x in loose if x.line > b.line and x.role == "code" and _marked(x.block, _FIXED)]
        if later:
            b.role = "replaced"
            b.note = f"the text marks it as wrong; the fix at line {later[0].line} is compiled"


def _programs(loose: list[ReadBlock]) -> int:
    """Group loose code into programs: a block that redefines items starts an alternative."""
    programs: list[list[ReadBlock]] = [[]]
    for b in loose:
        current = programs[-1]
        clash = [x for x in current if _clash(x.shape, b.shape)]
        if not clash:
            current.append(b)
            continue
        if _marked(b.block, _FIXED) or any(_marked(x.block, _WRONG) for x in clash):
            for old in clash:
                old.role = "replaced"
                old.note = f"the text marks it as replaced by the block at line {b.line}"
                current.remove(old)
            current.append(b)
            continue
        programs.append([x for x in current if x not in clash] + [b])
    for index, program in enumerate(programs):
        for b in program:
            b.programs.append(index)
    alive = [p for p in programs if any(b.role == "code" for b in p)]
    return max(1, len(alive))


def program_blocks(reading: Reading, index: int) -> list[ReadBlock]:
    return [b for b in reading.blocks if b.role == "code" and b.path is None and index in b.programs]
