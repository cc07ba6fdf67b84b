"""Completions that compile by avoiding the task: a compile-only reward is won by trivial code,
so these do not get the full reward (``CompileReward``).

Each rule reads the completion's Rust code as tokens (never a regex over comments or strings):

- ``no crate``: the prompt is about a crate (``axum``, ``leptos``, ``rig``...) and no path of the
  code starts with it;
- ``empty main``: the only item is an empty ``fn main``;
- ``stub body``: a function whose whole body is ``todo!()``, ``unimplemented!()``, ``loop {}``
  or ``unreachable!()``;
- ``silenced``: a crate-wide ``#![allow(...)]`` of ``warnings``, ``unused`` or ``dead_code``;
- ``uninvoked macro``: a ``macro_rules!`` that the code never invokes (its body is never
  compiled).

Code hidden behind a ``cfg`` that is never true is the gate's own rejection (``RG-HIDDEN``).
"""

from __future__ import annotations

from rustgate.cargo.extract import path_roots
from rustgate.cargo.lexer import tokens_or_error
from rustgate.markdown import code_blocks

CRATE_ROOTS = {"axum": ("axum",), "leptos": ("leptos",), "rig": ("rig", "rig_core")}
_STUBS = ({"todo", "!", "(", ")"}, {"unimplemented", "!", "(", ")"}, {"unreachable", "!", "(", ")"}, {"loop", "{", "}"})
_SILENCING = {"warnings", "unused", "dead_code"}


def rust_code(completion: str) -> str:
    """The completion's Rust blocks joined (a completion with no fence: none)."""
    return "\n".join(b.body for b in code_blocks(completion) if b.lang in ("rust", "rs", ""))


def avoidance(code: str, crate: str | None) -> str | None:
    """Why this compiling code avoids its task, or None."""
    stream, problem = tokens_or_error(code)
    if problem is not None:
        return None  # not ours to judge: the gate read it
    words = [t.text if t.kind != "str" else '""' for t in stream]
    roots = CRATE_ROOTS.get(crate or "", (crate,) if crate and crate != "rust" else ())
    if roots and not set(roots) & set(path_roots(stream)):
        return f"no crate: the code never uses {crate}"
    if words == ["fn", "main", "(", ")", "{", "}"]:
        return "empty main: the code is an empty fn main"
    stub = _stub_body(words)
    if stub:
        return f"stub body: {stub}"
    silenced = _silenced(words)
    if silenced:
        return f"silenced: #![allow({silenced})] over the whole crate"
    macro = _uninvoked_macro(words)
    if macro:
        return f"uninvoked macro: macro_rules! {macro} is never invoked"
    return None


def _stub_body(words: list[str]) -> str | None:
    for i, word in enumerate(words):
        if word != "fn":
            continue
        try:
            start = words.index("{", i)
        except ValueError:
            return None
        depth, end = 0, start
        for end in range(start, len(words)):
            depth += {"{": 1, "}": -1}.get(words[end], 0)
            if depth == 0:
                break
        body = words[start + 1 : end]
        if body and body[-1] == ";":
            body = body[:-1]
        if set(body) in _STUBS and len(body) == len(set(body)):
            name = words[i + 1] if i + 1 < len(words) else "?"
            return f"fn {name} is only {' '.join(body)}"
    return None


def _silenced(words: list[str]) -> str | None:
    for i in range(len(words) - 4):
        if words[i : i + 4] == ["#", "!", "[", "allow"]:
            inside = words[i + 5 : words.index("]", i) if "]" in words[i:] else len(words)]
            hit = sorted(set(inside) & _SILENCING)
            if hit:
                return ", ".join(hit)
    return None


def _uninvoked_macro(words: list[str]) -> str | None:
    for i in range(len(words) - 2):
        if words[i : i + 2] == ["macro_rules", "!"]:
            name = words[i + 2]
            calls = sum(1 for j in range(len(words) - 1) if words[j] == name and words[j + 1] == "!" and j != i + 2)
            if calls == 0:
                return name
    return None
