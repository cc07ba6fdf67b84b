"""From markdown answer to crate: blocks, file headers, profiles, refused dependencies."""

from __future__ import annotations

import pytest

from rustgate.cargo.extract import CrateSource, Rejection, extract_crate, guess_profile
from rustgate.cargo.templates import load_profiles
from rustgate.markdown import code_blocks
from rustgate.records import Message, Record

PROFILES = load_profiles()


def record(answer: str, crate: str | None = None) -> Record:
    row: dict[str, object] = {
        "id": "r1",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}],
    }
    if crate:
        row["crate"] = crate
    return Record.model_validate(row)


def crate_of(answer: str, crate: str | None = None) -> CrateSource:
    source = extract_crate(record(answer, crate), PROFILES)
    assert isinstance(source, CrateSource), source
    return source


def test_blocks_in_order_form_one_crate() -> None:
    source = crate_of("a\n```rust\npub struct A;\n```\ntext\n```rs\npub fn f() -> A { A }\n```\n")
    assert source.kind == "lib"
    assert source.files == {"src/lib.rs": "pub struct A;\n\npub fn f() -> A { A }\n"}


def test_fn_main_makes_a_bin() -> None:
    source = crate_of("```rust\n#[tokio::main]\nasync fn main() {}\n```")
    assert source.kind == "bin" and source.root_file == "src/main.rs"


def test_path_headers_place_files() -> None:
    answer = (
        "```rust\n// src/main.rs\nmod routes;\nfn main() { routes::hi(); }\n```\n"
        "```rust\n// File: routes.rs\npub fn hi() {}\n```\n"
    )
    source = crate_of(answer)
    assert source.kind == "bin"
    assert set(source.files) == {"src/main.rs", "src/routes.rs"}
    assert source.files["src/routes.rs"].startswith("// File: routes.rs")


def test_header_outside_the_crate_is_refused() -> None:
    rejection = extract_crate(record("```rust\n// ../../etc/evil.rs\npub fn f() {}\n```"), PROFILES)
    assert isinstance(rejection, Rejection) and "leaves the package" in rejection.reason


def test_module_files_only_get_a_generated_root() -> None:
    source = crate_of("```rust\n// src/a.rs\npub fn a() {}\n```\n```rust\n// src/b.rs\npub fn b() {}\n```")
    assert source.files["src/lib.rs"] == "pub mod a;\npub mod b;\n"


def test_build_rs_is_dropped() -> None:
    source = crate_of("```rust\n// build.rs\nfn main() {}\n```\n```rust\n// src/lib.rs\npub fn f() {}\n```")
    assert set(source.files) == {"src/lib.rs"}


def test_profile_from_crate_field_then_use_paths() -> None:
    assert crate_of("```rust\nuse axum::Router;\n```").profile == "axum"
    assert crate_of("```rust\nuse leptos::prelude::*;\n```").profile == "leptos"
    assert crate_of("```rust\nuse rig::completion::Prompt;\n```").profile == "rig"
    assert crate_of("```rust\nuse std::fmt;\n```").profile == "rust"
    assert crate_of("```rust\nuse std::fmt;\n```", crate="axum").profile == "axum"
    assert guess_profile("let x = axum_extra::TypedHeader;") == "axum"


def test_dependency_outside_pins_is_rejected_by_name_when_used() -> None:
    toml = '```toml\n[dependencies]\naxum = "0.8"\nsea-orm = "1"\nsurrealdb = "2"\n```\n'
    used = toml + "```rust\nuse axum::Router;\nuse sea_orm::Database;\npub fn f(_: surrealdb::Surreal) {}\n```"
    rejection = extract_crate(record(used), PROFILES)
    assert isinstance(rejection, Rejection) and rejection.code == "RG-CRATE"
    assert "'sea-orm'" in rejection.reason and "'surrealdb'" in rejection.reason and rejection.profile == "axum"
    assert rejection.missing_crates == ("sea-orm", "surrealdb")
    # Declared but never used: the code does not need it, so it is noted, not refused.
    unused = crate_of(toml + "```rust\nuse axum::Router;\n```")
    assert unused.profile == "axum" and any("'sea-orm'" in n and "never uses" in n for n in unused.notes)


def test_a_renamed_pinned_package_is_the_pin() -> None:
    toml = '```toml\n[dependencies]\nrig = { package = "rig-core", version = "0.13" }\n```\n'
    assert crate_of(toml + "```rust\nuse rig::agent::Agent;\n```").profile == "rig"
    swapped = '```toml\n[dependencies]\nserde = { package = "tokio", version = "1" }\n```\n'
    assert rejected(swapped + "```rust\nuse serde::Serialize;\nuse tokio::fs;\n```").code == "RG-CRATE"


def test_pinned_dependencies_are_accepted_under_either_name() -> None:
    toml = '```toml\n[dependencies]\nrig-core = "0.13"\ntokio = { version = "1" }\n```\n'
    answer = toml + "```rust\nuse rig::agent::Agent;\n```"
    assert crate_of(answer).profile == "rig"


def test_no_code_is_rejected() -> None:
    rejection = extract_crate(record("Use a HashMap.\n```text\nnot code\n```"), PROFILES)
    assert isinstance(rejection, Rejection) and rejection.reason.startswith("no code")


def test_longer_fences_and_tildes() -> None:
    blocks = code_blocks('````rust\nlet s = "```";\n````\n~~~toml\n[a]\n~~~\n')
    assert [(b.info, b.body) for b in blocks] == [("rust", 'let s = "```";\n'), ("toml", "[a]\n")]


def test_lib_and_bin_keep_both_and_name_the_library() -> None:
    answer = (
        "```rust\n// src/lib.rs\npub fn hi() {}\n```\n"
        "```rust\n// src/main.rs\nuse std::env;\nuse tokio::time;\nuse my_app::hi;\nfn main() { hi(); }\n```\n"
    )
    source = crate_of(answer)
    assert source.kind == "lib+bin" and set(source.files) == {"src/lib.rs", "src/main.rs"}
    assert source.library_name == "my_app"
    assert crate_of("```rust\nfn main() {}\n```").library_name is None


def rejected(answer: str, crate: str | None = None) -> Rejection:
    result = extract_crate(record(answer, crate), PROFILES)
    assert isinstance(result, Rejection), result
    return result


def test_a_lone_bin_file_is_compiled_as_a_binary() -> None:
    source = crate_of("```rust\n// src/bin/tool.rs\nfn main() {}\n```")
    assert source.bins == ["src/bin/tool.rs"] and source.lib is None


def test_a_lone_nested_module_gets_its_parents_declared() -> None:
    source = crate_of("```rust\n// src/handlers/users.rs\npub fn list() {}\n```")
    assert source.files["src/lib.rs"] == "pub mod handlers;\n"
    assert source.files["src/handlers.rs"] == "pub mod users;\n"
    assert source.given_sources() == ["src/handlers/users.rs"]


def test_only_a_build_script_is_no_code() -> None:
    assert rejected('```rust\n// build.rs\nfn main() { println!("x"); }\n```').reason.startswith("no code")


def test_modules_named_build_are_ordinary_modules() -> None:
    answer = (
        "```rust\n// src/lib.rs\nmod build;\nmod rebuild;\n```\n```rust\n// src/build.rs\npub fn b() {}\n```\n"
        "```rust\n// src/rebuild.rs\npub fn r() {}\n```"
    )
    assert set(crate_of(answer).files) == {"src/lib.rs", "src/build.rs", "src/rebuild.rs"}


def test_a_line_separator_in_a_comment_keeps_the_line_whole() -> None:
    source = crate_of("```rust\n// note \u2028 pub fn broken( {\npub fn ok() {}\n```")
    assert source.files["src/lib.rs"] == "// note \u2028 pub fn broken( {\npub fn ok() {}\n"


def test_ignore_and_compile_fail_blocks_are_not_compiled() -> None:
    answer = (
        "```rust,ignore\nthis is not rust\n```\n```rust,compile_fail\nlet x: u8 = 300;\n```\n"
        "```rust\npub fn f() {}\n```"
    )
    source = crate_of(answer)
    assert source.files == {"src/lib.rs": "pub fn f() {}\n"}
    # All the Rust the answer has, marked only for rustdoc's harness: the reader builds it.
    assert crate_of("```rust,ignore\nfn main() {}\n```").files == {"src/main.rs": "fn main() {}\n"}
    assert rejected("```rust,compile_fail\nfn main() {}\n```").reason.startswith("no code")
    assert rejected("This is wrong:\n\n```rust,ignore\nfn main() {}\n```").reason.startswith("no code")


def test_target_and_unreadable_manifests_are_checked() -> None:
    target = "```toml\n[target.'cfg(unix)'.dependencies]\nnix = \"0.29\"\n```\n```rust\npub fn f() {}\n```"
    assert "'nix'" in " ".join(crate_of(target).notes)
    assert "'nix'" in rejected(target.replace("pub fn f() {}", "pub fn f() { nix::unistd::sync(); }")).reason
    broken = "```toml\n[dependencies\nserde = 1\n```\n```rust\npub fn f() {}\n```"
    assert "cannot be parsed" in rejected(broken).reason
    wrong_type = "```toml\ndependencies = 5\n```\n```rust\npub fn f() {}\n```"
    assert "not a table" in rejected(wrong_type).reason


def test_include_in_a_comment_is_not_a_read() -> None:
    crate_of('```rust\n// include_str!("/etc/passwd")\npub fn f() {}\n```')


def test_unsafe_layouts_are_refused() -> None:
    clash = "```rust\n// src/a.rs\npub fn a() {}\n```\n```rust\n// src/a.rs/b.rs\npub fn b() {}\n```"
    assert "both a file and a folder" in rejected(clash).reason
    long_name = "```rust\n// src/" + "x" * 300 + ".rs\npub fn f() {}\n```"
    assert "not a plain file name" in rejected(long_name).reason


def test_empty_or_comment_only_code_is_no_code() -> None:
    assert rejected("```rust\n\n   \n```").reason.startswith("no code")
    assert rejected("```rust\n// just a comment\n/* and another */\n```").reason.startswith("no code")


def test_path_headed_files_of_other_languages_join_the_package() -> None:
    answer = (
        "```html\n<!-- templates/chat.html -->\n<p>hi</p>\n```\n"
        '```rust\n// src/main.rs\nconst PAGE: &str = include_str!("../templates/chat.html");\nfn main() {}\n```'
    )
    source = crate_of(answer)
    assert source.files["templates/chat.html"].endswith("<p>hi</p>\n")
    assert source.given_sources() == ["src/main.rs"]


def test_lone_surrogates_and_huge_answers_are_rejected() -> None:
    answer = "```rust\npub fn f() {} // \ud800\n```"
    with pytest.raises(ValueError, match="lone surrogate"):  # a record cannot hold one (safejson)
        record(answer)
    built = record("x")  # the extractor's own guard, for a record built without validation
    built.messages[-1] = Message.model_construct(role="assistant", content=answer)
    result = extract_crate(built, PROFILES)
    assert isinstance(result, Rejection) and "lone surrogate" in result.reason
    big = "```rust\n" + "pub fn f() {}\n" * 60_000 + "```"
    assert rejected(big).reason.startswith("answer too large")


def test_extern_crate_outside_the_profile_is_rejected_by_name() -> None:
    rejection = rejected("```rust\nextern crate not_pinned_anywhere;\npub fn f() {}\n```", crate="axum")
    assert rejection.missing_crates == ("not_pinned_anywhere",) and rejection.code == "RG-CRATE"


def test_members_of_a_use_tree_are_not_crates() -> None:
    from rustgate.cargo.extract import path_roots
    from rustgate.cargo.lexer import tokenize

    code = "use axum::{body::Body as AxumBody, routing::get};\nuse ::serde::Deserialize;\nfn f() { tokio::spawn(x); }"
    assert path_roots(list(tokenize(code))) == ["axum", "serde", "tokio"]
    answer = (
        "```rust\n// src/lib.rs\npub fn hi() {}\n```\n"
        "```rust\n// src/main.rs\nuse leptos::{config::get_configuration, prelude::*};\n"
        "use todo_app::hi;\nfn main() { hi(); }\n```"
    )
    assert crate_of(answer, crate="leptos").library_name == "todo_app"


def test_markers_pick_the_ssr_profile() -> None:
    answer = "```rust\nuse leptos::prelude::*;\nuse leptos_axum::LeptosRoutes;\npub fn f() {}\n```"
    assert crate_of(answer, crate="leptos").profile == "leptos-ssr"
    assert crate_of("```rust\nuse leptos::prelude::*;\npub fn f() {}\n```", crate="leptos").profile == "leptos"
