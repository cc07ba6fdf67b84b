"""The small readers the answer reading is built from, each against its near twin."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rustgate.cargo.reading import as_doctest
from rustgate.cargo.shape import shape_of
from rustgate.cargo.usage import _imports, joined, shared_globs, with_globs
from rustgate.markdown import CodeBlock


@dataclass
class _Block:
    body: str


@pytest.mark.parametrize(
    ("statement", "imports"),
    [
        ("use std::fmt;", [("fmt", "std::fmt")]),
        ("use ::std::fmt as f;", [("f", "::std::fmt")]),
        (
            "use axum::{\n    response::{IntoResponse, Redirect},\n    http::StatusCode,\n};",
            [
                ("IntoResponse", "axum::response::IntoResponse"),
                ("Redirect", "axum::response::Redirect"),
                ("StatusCode", "axum::http::StatusCode"),
            ],
        ),
        ("use a::{self, b as c, d::*};", [("a", "a"), ("c", "a::b"), ("*a::d", "a::d::*")]),
        ("use a::{b;", None),  # not a plain statement: left as written
        ("use a::b; use c::d;", None),
    ],
)
def test_imports_of_a_use_statement(statement: str, imports: list[tuple[str, str]] | None) -> None:
    assert _imports(statement) == imports


def test_joined_blocks_import_a_name_once_and_keep_their_lines() -> None:
    first = "use std::{collections::HashMap, fmt};\nfn a() {}"
    second = "use std::collections::{BTreeSet, HashMap};\nfn b() {}"
    text = joined([_Block(first), _Block(second)])  # type: ignore[list-item]
    assert text.split("\n")[2] == "use std::collections::BTreeSet;"
    assert text.count("\n") == first.count("\n") + second.count("\n") + 1


def test_a_block_that_imports_a_name_twice_keeps_its_error() -> None:
    first = "use std::fmt;\nfn a() {}"
    twice = "use std::fmt;\nuse std::fmt;"
    assert joined([_Block(first), _Block(twice)]).count("use std::fmt;") == 3  # type: ignore[list-item]
    clash = "use core::fmt;"  # the same name from another path is not the same import
    assert "use core::fmt;" in joined([_Block(first), _Block(clash)])  # type: ignore[list-item]


def test_glob_imports_go_to_every_program_at_its_end() -> None:
    programs = [[_Block("fn main() {}")], [_Block("use leptos::{ev, prelude::*};\nfn main() {}")]]
    globs = shared_globs(programs)  # type: ignore[arg-type]
    assert globs == ["use leptos::prelude::*;"]
    assert with_globs("fn main() {}", globs) == "fn main() {}\nuse leptos::prelude::*;\n"
    assert with_globs("use leptos::prelude::*;\nfn main() {}", globs).count("prelude") == 1
    assert shared_globs(programs[:1]) == []  # one program: its blocks already share one file  # type: ignore[arg-type]


def test_rustdoc_blocks_drop_the_semicolon_after_an_item_only() -> None:
    body = "struct A { a: u8 };\nconst X: u8 = { 1 };\nuse std::{fmt, io};\nimpl A { fn f() {} };"
    raw = "# " + body
    expected = "struct A { a: u8 } \nconst X: u8 = { 1 };\nuse std::{fmt, io};\nimpl A { fn f() {} } "
    assert as_doctest(raw, body) == expected
    assert as_doctest(body, body) == body  # no hidden lines: not a rustdoc block, left for rustc
    with_main = body + "\nfn main() {}"
    assert as_doctest("# " + with_main, with_main) == with_main  # rustdoc does not wrap it either


@pytest.mark.parametrize(
    ("info", "harness"),
    [("rust,ignore", True), ("rust ignore-wasm", True), ("rust", False), ("rust,compile_fail", False),
     ("rust,ignore,compile_fail", False), ("rust,ignore,wrong", False), ("toml,ignore", False)],
)  # fmt: skip
def test_only_ignore_is_an_instruction_to_the_harness(info: str, harness: bool) -> None:
    assert CodeBlock(info=info, body="fn f() {}\n", line=1).harness_ignored is harness


def test_locals_and_uses_of_a_block() -> None:
    shape = shape_of(
        "fn App(initial: i32) -> impl IntoView {\n    let (count, set_count) = signal(initial);\n"
        "    let Some(x) = foo() else { return };\n    view! { <b on:click=move |_| set_count.set(x)>{count}</b> }\n}"
    )
    assert shape.locals == {"initial", "count", "set_count", "x"}
    assert {"signal", "foo", "set_count", "count"} <= shape.uses
    assert "set" not in shape.uses  # a method, not a name


@pytest.mark.parametrize(
    ("body", "markup"),
    [('<progress\n    max="50"\n/>', True), ("<Big/>", True), ('<div class="x">', True), ("// a\n<p>\"hi\"</p>", True),
     ("<T as Default>::default();", False), ("<Foo>::bar();", False), ("<Vec<u8>>::new();", False)],
)  # fmt: skip
def test_markup_for_a_view_macro_is_told_from_a_qualified_path(body: str, markup: bool) -> None:
    from rustgate.cargo.reading import _MARKUP

    assert bool(_MARKUP.match(body)) is markup
