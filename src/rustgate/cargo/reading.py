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

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from rustgate.cargo.layout import header_path
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
_FIXED = re.compile(
    r"\b(fix(?:ed)?|correct(?:ed)?|working|right way|instead|solution|should be|do this)\b|✅", re.I
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
            read.append(ReadBlock(block, "ignored", block.body, note=f"marked {block.info!r}: not compiled"))
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
        body = unhide(block.body) if block.is_rust else block.body
        read.append(ReadBlock(block, "code", body, raw_path, named_by, shape_of(body)))
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
        reading.programs = _programs([b for b in loose if b.role == "code"])
    else:
        for b in loose:
            b.programs = [0]
    return reading


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
            if not a.shape.piece_of(b.shape):
                continue
            if b.shape.piece_of(a.shape) and b.line < a.line:
                continue  # the same code twice: the later copy is the one compiled
            a.role = "piece"
            a.note = f"a piece of the block at line {b.line}: compiled there"
            break


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
