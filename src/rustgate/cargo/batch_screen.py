"""Which samples may share one rustc as modules of a batch crate (``cargo.module_batch``).

A sample compiled as a module must mean what it means as a crate, and nothing in it may reach
or change a neighbour. Whatever could differ is refused here and checked alone: paths through the
crate root (``crate::``, ``$crate``, a ``super`` above the sample), ``#[macro_export]``, crate-level
inner attributes, ``extern crate`` and ``extern`` blocks, symbol attributes, ``#[path]``, the
macros whose value names the file, module or environment, and trait impls whose trait and type
both come from outside the sample (a neighbour's inference could pick them up). Only a single
``src/lib.rs`` or ``src/main.rs`` target qualifies, with every file under ``src/``.

The screen is conservative on purpose: a refused sample costs one rustc of its own, a wrongly
accepted one could take a verdict from its neighbours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rustgate.cargo.extract import CrateSource, has_main
from rustgate.cargo.lexer import Token, tokens_or_error

_MACRO_NAMES = "env option_env file module_path include include_str include_bytes concat_idents"
_ATTRIBUTE_NAMES = (
    "macro_export path no_mangle export_name link_section link used global_allocator panic_handler lang "
    "start no_main no_std no_core feature recursion_limit type_length_limit crate_name crate_type "
    "windows_subsystem no_builtins compiler_builtins needs_allocator"
)
_FORBIDDEN_MACROS = frozenset(_MACRO_NAMES.split())
_FORBIDDEN_ATTRIBUTES = frozenset(_ATTRIBUTE_NAMES.split())
_TYPE_ITEMS = frozenset({"struct", "enum", "union"})
_ITEM_BEFORE_IMPL = frozenset({";", "}", "{", "]"})


@dataclass(frozen=True)
class Screen:
    """``group``: the batch this sample may join (same kind of crate and package), or None with ``why``."""

    group: str | None
    why: str = ""
    kind: str = ""  # "lib" or "bin": how the batch crate holds it


def screen(source: CrateSource, *, fullstack: bool = False) -> Screen:
    if fullstack:
        return Screen(None, "a fullstack answer is compiled again as its client side")
    if source.lib == "src/lib.rs" and not (source.bins or source.tests or source.alternatives or source.test_roots):
        kind = "lib"
    elif (
        source.lib is None
        and source.bins == ["src/main.rs"]
        and not (source.tests or source.alternatives or source.test_roots)
    ):
        kind = "bin"
    else:
        return Screen(None, "not a single src/lib.rs or src/main.rs target")
    outside = [p for p in source.files if not p.startswith("src/") and p != "Cargo.toml"]
    if outside:
        return Screen(None, f"{outside[0]} is outside src/")
    if source.synthesized:
        return Screen(None, "rustgate wrote some of its module files")
    local_types: set[str] = set()
    local_traits: set[str] = set()
    streams: dict[str, list[Token]] = {}
    for path, text in source.files.items():
        if not path.endswith(".rs"):
            continue
        stream, problem = tokens_or_error(text)
        if problem is not None:
            return Screen(None, f"{path} cannot be tokenized")
        streams[path] = stream
        for i, token in enumerate(stream[:-1]):
            if token.kind == "ident" and stream[i + 1].kind == "ident":
                if token.text in _TYPE_ITEMS:
                    local_types.add(stream[i + 1].text)
                elif token.text == "trait":
                    local_traits.add(stream[i + 1].text)
    root = "src/lib.rs" if kind == "lib" else "src/main.rs"
    for path, stream in streams.items():
        why = _refusal(stream, root=path == root, kind=kind, local_types=local_types, local_traits=local_traits)
        if why:
            return Screen(None, f"{path}: {why}")
    if kind == "bin" and not has_main(streams[root]):
        return Screen(None, "a program without a top-level `fn main`")
    if kind == "bin" and ("//!" in source.files[root] or "/*!" in source.files[root]):
        return Screen(None, "an inner doc comment in a program's root")  # include! refuses inner attributes
    package = json.dumps([source.library_name, sorted(source.package.items())])
    return Screen(f"{kind}/{package}", kind=kind)


def _refusal(stream: list[Token], *, root: bool, kind: str, local_types: set[str], local_traits: set[str]) -> str:
    depth = 0  # brace depth
    module_depths: list[int] = []  # brace depths of the inline `mod x {` blocks we are inside
    pending_mod = False
    for i, token in enumerate(stream):
        prev = stream[i - 1] if i else None
        nxt = stream[i + 1] if i + 1 < len(stream) else None
        text = token.text
        if token.kind == "open" and text == "{":
            if pending_mod:
                module_depths.append(depth)
            depth += 1
            pending_mod = False
            continue
        if token.kind == "close" and text == "}":
            depth -= 1
            if module_depths and module_depths[-1] == depth:
                module_depths.pop()
            continue
        if text == ";":
            pending_mod = False
        if token.kind != "ident" and text not in ("#", "$"):
            continue
        if text == "mod" and token.kind == "ident" and nxt is not None and nxt.kind == "ident":
            pending_mod = True
        if (
            text == "crate"
            and token.kind == "ident"
            and (nxt is not None and nxt.text == "::" or prev and prev.text == "$")
        ):
            return "a path through the crate root (`crate::`, `$crate`)"
        if text == "super" and token.kind == "ident":
            after = stream[i + 2] if i + 2 < len(stream) else None
            if nxt is not None and nxt.text == "::" and after is not None and after.text == "super":
                return "`super::super`"
            if root and not module_depths:
                return "`super` at the crate root"
        if (
            text == "extern"
            and token.kind == "ident"
            and nxt is not None
            and (nxt.text in ("crate", "{") or nxt.kind == "str")
        ):
            return "`extern crate` or an `extern` block"
        if token.kind == "ident" and text in _FORBIDDEN_MACROS and nxt is not None and nxt.text == "!":
            return f"`{text}!` names the file, module or environment"
        if text == "#" and nxt is not None:
            inner = nxt.text == "!"
            attr = stream[i + 3] if inner and i + 3 < len(stream) else stream[i + 2] if i + 2 < len(stream) else None
            if attr is None:
                continue
            if attr.text in _FORBIDDEN_ATTRIBUTES:
                return f"the `#[{attr.text}]` attribute"
            if attr.text == "cfg_attr":
                hidden = _attribute_names(stream, i) & _FORBIDDEN_ATTRIBUTES
                if hidden:
                    return f"the `#[{min(hidden)}]` attribute (in `cfg_attr`)"
            if inner and root and depth == 0 and (kind == "bin" or attr.text not in ("allow", "doc")):
                return f"the crate-level attribute `#![{attr.text}]`"
        if (
            text == "impl"
            and token.kind == "ident"
            and (prev is None or prev.text in _ITEM_BEFORE_IMPL or prev.text == "unsafe")
        ):
            why = _foreign_impl(stream, i, local_types, local_traits)
            if why:
                return why
    return ""


def _attribute_names(stream: list[Token], start: int) -> set[str]:
    """The identifiers inside the attribute that starts at ``start`` (up to its closing ``]``)."""
    names: set[str] = set()
    depth = 0
    for token in stream[start + 1 :]:
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
            if depth <= 0:
                break
        elif token.kind == "ident":
            names.add(token.text)
    return names


def _foreign_impl(stream: list[Token], start: int, local_types: set[str], local_traits: set[str]) -> str:
    """A trait impl whose trait and self type are both from outside the sample (or unclear)."""
    i = _skip_angles(stream, start + 1)
    angle = 0
    trait: list[Token] = []
    self_type: list[Token] | None = None
    while i < len(stream):
        token = stream[i]
        i += 1
        if token.text == "<":
            angle += 1
        elif token.text in (">", ">>"):
            angle -= 1 if token.text == ">" else 2
        elif angle == 0 and token.text in ("{", ";", "where"):
            break
        elif angle == 0 and token.text == "for" and self_type is None and trait:
            self_type = []
            continue
        (trait if self_type is None else self_type).append(token)
    if self_type is None:
        return ""  # an inherent impl: only on the sample's own types
    path = _path_head(trait)
    if len(path) == 1 and path[0] in local_traits:
        return ""
    head = [t for t in self_type if t.text not in ("&", "&&", "mut") and t.kind != "lifetime"]
    if head and head[0].kind == "ident" and head[0].text in local_types and (len(head) == 1 or head[1].text == "<"):
        return ""
    return f"an impl of a trait from outside the sample (`{'::'.join(path)}`) for a type from outside it"


def _skip_angles(stream: list[Token], i: int) -> int:
    """The index after a balanced ``<...>`` starting at ``i`` (an impl's own generics), else ``i``."""
    if i >= len(stream) or stream[i].text != "<":
        return i
    angle = 0
    while i < len(stream):
        text = stream[i].text
        angle += 1 if text == "<" else -1 if text == ">" else -2 if text == ">>" else 0
        i += 1
        if angle <= 0:
            return i
    return i


def _path_head(tokens: list[Token]) -> list[str]:
    """The path of a trait reference, its generic arguments dropped: ``fmt::Display`` -> [fmt, Display]."""
    out: list[str] = []
    angle = 0
    for token in tokens:
        if token.text == "<":
            angle += 1
        elif token.text in (">", ">>"):
            angle -= 1 if token.text == ">" else 2
        elif angle == 0 and token.kind == "ident":
            out.append(token.text)
        elif angle == 0 and token.text not in ("::",):
            return out + ["?"]
    return out
