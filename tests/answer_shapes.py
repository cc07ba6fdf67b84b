# ruff: noqa: E501  (a corpus of answers: long literal lines read better whole)
"""Answers as people write them, one rule of the reading each, with a near twin that must fail.

Every sample carries ``reader``: the package a careful reader would build from the answer
(file -> text). ``bench/answer_shapes_oracle.py`` compiles that form with plain
``cargo check --all-targets`` on the profile's template, so each label is confirmed by cargo,
not by the gate. Rejections (``reader`` None) are verdicts about what the answer teaches,
not compile results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

F = "```"


@dataclass(frozen=True)
class Shape:
    id: str
    rule: str  # the rule of docs/compile-gate.md "How an answer is read"
    crate: str
    expect: str  # pass / fail / rejected
    answer: str
    reader: dict[str, str] | None  # the careful reader's package, or None for a rejection
    code: str | None = None  # a diagnostic code the verdict must carry
    read_as: dict[int, str] = field(default_factory=dict)  # block index -> how it must be read

    def row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "crate": self.crate,
            "messages": [
                {"role": "user", "content": f"Rule {self.rule}: show me."},
                {"role": "assistant", "content": self.answer},
            ],
        }


def fill(template: str, **parts: str) -> str:
    for name, text in parts.items():
        template = template.replace(f"<{name}>", text)
    return template


def _main(body: str) -> dict[str, str]:
    return {"src/main.rs": body}


def _lib(body: str) -> dict[str, str]:
    return {"src/lib.rs": body}


ADD = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}"
ADD_BAD = 'pub fn add(a: i32, b: i32) -> i32 {\n    a + "b"\n}'

# Rule 0: markdown as renderers read it.
LIST_ITEM = f"Steps:\n\n1. Write the function:\n\n   {F}rust\n   {ADD.replace(chr(10), chr(10) + '   ')}\n   {F}\n\n2. Done.\n"
QUOTED = f"> A note from the docs:\n>\n> {F}rust\n> {ADD.replace(chr(10), chr(10) + '> ')}\n> {F}\n"
ON_MARKER = f"- {F}rust\n  {ADD.replace(chr(10), chr(10) + '  ')}\n  {F}\n- and a second point\n\n{F}rust\npub fn two() -> i32 {{ add(1, 1) }}\n{F}\n"
TILDES = f"~~~rust\n{ADD}\n   ~~~\n"

# Rule 1: pieces, then the full listing (and the other way round).
COUNTER = "pub struct Counter {\n    pub n: u32,\n}"
BUMP = "impl Counter {\n    pub fn bump(&mut self) {\n        self.n += 1;\n    }\n}"
MAIN_OK = 'fn main() {\n    let mut c = Counter { n: 0 };\n    c.bump();\n    println!("{}", c.n);\n}'
MAIN_BAD = MAIN_OK.replace("c.bump();", "c.bump(2);")
PIECES = (
    f"First the struct:\n\n{F}rust\n{COUNTER}\n{F}\n\nThen a method:\n\n{F}rust\n{BUMP}\n{F}\n\n"
    f"The whole program:\n\n{F}rust\n<full>\n{F}\n"
)
FULL_THEN_PIECE = f"The program:\n\n{F}rust\n<full>\n{F}\n\nThe line that matters:\n\n{F}rust\n<piece>\n{F}\n"

# Rule 2: usage snippets.
PARSE = "pub fn parse_port(s: &str) -> Result<u16, std::num::ParseIntError> {\n    s.parse()\n}"
USAGE = f"The function:\n\n{F}rust\n{PARSE}\n{F}\n\nUse it like this:\n\n{F}rust\n<usage>\n{F}\n"
AXUM_APP = (
    "use axum::{routing::get, Router};\n\npub fn app() -> Router {\n"
    '    Router::new().route("/", get(|| async { "hi" }))\n}'
)
AXUM_USAGE = f"The router:\n\n{F}rust\n{AXUM_APP}\n{F}\n\nServe it:\n\n{F}rust\n<usage>\n{F}\n"
AXUM_SERVE = 'let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;\naxum::serve(listener, app()).await?;'
AXUM_SERVE_06 = (
    "let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 3000));\n"
    "axum::Server::bind(&addr).serve(app().into_make_service()).await?;"
)

# Rule 3: alternatives, and versions the text marks as wrong.
SUM = "fn main() {\n    let v = vec![1, 2, 3];\n    let s: i32 = v.iter().sum();\n    println!(\"{s}\");\n}"
FOLD = "fn main() {\n    let v = vec![1, 2, 3];\n    let s = v.iter().fold(0, |a, b| a + b);\n    println!(\"{s}\");\n}"
FOLD_BAD = FOLD.replace("let s =", "let s: String =")
ALTERNATIVES = f"With `sum`:\n\n{F}rust\n{SUM}\n{F}\n\nOr, with a fold:\n\n{F}rust\n<second>\n{F}\n"
MOVED = 'fn main() {\n    let s = String::from("a");\n    let t = s;\n    println!("{s} {t}");\n}'
CLONED = 'fn main() {\n    let s = String::from("a");\n    let t = s.clone();\n    println!("{s} {t}");\n}'
MARKED = f"<lead>\n\n{F}<info>\n{MOVED}\n{F}\n\n<fix>\n\n{F}rust\n{CLONED}\n{F}\n"

# Rule 4: file names wherever people put them.
MATH = "pub fn double(x: i32) -> i32 {\n    x * 2\n}"
USES_MATH = 'mod math;\n\nfn main() {\n    println!("{}", math::double(2));\n}'
FILES_IN_PROSE = f"In `src/math.rs`:\n\n{F}rust\n{MATH}\n{F}\n\nAnd **src/main.rs**:\n\n{F}rust\n<main>\n{F}\n"
FILES_IN_INFO = f'{F}rust filename="src/math.rs"\n{MATH}\n{F}\n\n{F}rust\n// in main.rs\n<main>\n{F}\n'

# Rule 5: blocks that are not code.
NOT_CODE = (
    f"{F}rust\n{SUM}\n{F}\n\nRun it:\n\n{F}console\n$ cargo run\n   Compiling app v0.1.0\n{F}\n\n"
    f"Output:\n\n{F}\n6\n{F}\n\nThe layout:\n\n{F}\nsrc/\n└── main.rs\n{F}\n\n{F}json\n{{\"ok\": true}}\n{F}\n"
    f"{F}\n<unlabelled>\n{F}\n"
)

# Rule 6: test code is type-checked; hidden code is never a pass.
TESTS = f"{F}rust\n{ADD}\n\n#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    #[test]\n    fn adds() {{\n        assert_eq!(<call>, 3);\n    }}\n}}\n{F}\n"
TOKIO_TEST = (
    f"{F}rust\npub async fn answer() -> u32 {{\n    42\n}}\n\n#[cfg(test)]\nmod tests {{\n"
    f"    #[tokio::test]\n    async fn it_answers() {{\n        let got: <ty> = super::answer().await;\n"
    f"        assert_eq!(got, 42);\n    }}\n}}\n{F}\n"
)
HIDDEN = f"{F}rust\n<attr>\n\n{ADD}\n{F}\n"

# Rule 8: the answer's own manifest.
AXUM_MAIN = (
    "use axum::{routing::get, Router};\n\n#[tokio::main]\nasync fn main() {\n"
    '    let app: Router = Router::new().route("/", get(|| async { "hi" }));\n'
    '    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();\n'
    "    axum::serve(listener, app).await.unwrap();\n}"
)
MANIFEST = f'{F}toml\n[package]\nname = "hello"\n...\n\n[dependencies]\n<deps>\n{F}\n\n{F}rust\n{AXUM_MAIN}\n{F}\n'

# Rule 10: reasons a person can act on.
DISPLAY = "<use>pub struct Id(pub u32);\n\nimpl fmt::Display for Id {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n        write!(f, \"#{}\", self.0)\n    }\n}"


def _r(code: str) -> str:
    return f"{F}rust\n{code}\n{F}\n"


SHAPES: list[Shape] = [
    Shape("md-list-item", "0", "rust", "pass", LIST_ITEM, _lib(ADD), read_as={0: "code"}),
    Shape("md-list-item-broken", "0", "rust", "fail", LIST_ITEM.replace("a + b", 'a + "b"'), _lib(ADD_BAD), "E0277"),
    Shape("md-blockquote", "0", "rust", "pass", QUOTED, _lib(ADD)),
    Shape("md-blockquote-broken", "0", "rust", "fail", QUOTED.replace("a + b", 'a + "b"'), _lib(ADD_BAD), "E0277"),
    Shape("md-fence-on-list-marker", "0", "rust", "pass", ON_MARKER, _lib(ADD + "\npub fn two() -> i32 { add(1, 1) }")),
    Shape(
        "md-fence-on-list-marker-broken", "0", "rust", "fail", ON_MARKER.replace("add(1, 1)", "add(1)"),
        _lib(ADD + "\npub fn two() -> i32 { add(1) }"), "E0061",
    ),  # fmt: skip
    Shape("md-tildes-indented-closer", "0", "rust", "pass", TILDES, _lib(ADD)),
    Shape("md-tildes-broken", "0", "rust", "fail", TILDES.replace("a + b", 'a + "b"'), _lib(ADD_BAD), "E0277"),
    Shape(
        "pieces-then-full", "1", "rust", "pass", fill(PIECES, full=f"{COUNTER}\n\n{BUMP}\n\n{MAIN_OK}"),
        _main(f"{COUNTER}\n\n{BUMP}\n\n{MAIN_OK}"), read_as={0: "piece", 1: "piece", 2: "code"},
    ),  # fmt: skip
    Shape(
        "pieces-then-full-broken", "1", "rust", "fail", fill(PIECES, full=f"{COUNTER}\n\n{BUMP}\n\n{MAIN_BAD}"),
        _main(f"{COUNTER}\n\n{BUMP}\n\n{MAIN_BAD}"), "E0061",
    ),  # fmt: skip
    Shape(
        "full-then-piece", "1", "rust", "pass",
        fill(FULL_THEN_PIECE, full=f"{COUNTER}\n\n{BUMP}\n\n{MAIN_OK}", piece="    let mut c = Counter { n: 0 };"),
        _main(f"{COUNTER}\n\n{BUMP}\n\n{MAIN_OK}"), read_as={1: "piece"},
    ),  # fmt: skip
    Shape(
        "full-then-wrong-quote", "1", "rust", "fail",
        fill(FULL_THEN_PIECE, full=f"{COUNTER}\n\n{BUMP}\n\n{MAIN_OK}", piece="let mut c = Counter { count: 0 };"),
        {**_lib(f"{COUNTER}\n\n{BUMP}\n\npub fn usage() {{\n    let mut c = Counter {{ count: 0 }};\n}}")}, "E0560",
    ),  # fmt: skip
    Shape(
        "usage-snippet", "2", "rust", "pass", fill(USAGE, usage='let port = parse_port("8080")?;\nassert_eq!(port, 8080);'),
        _lib(f"{PARSE}\n\npub fn usage() -> Result<(), Box<dyn std::error::Error>> {{\n"
             '    let port = parse_port("8080")?;\n    assert_eq!(port, 8080);\n    Ok(())\n}'),
        read_as={1: "usage"},
    ),  # fmt: skip
    Shape(
        "usage-snippet-broken", "2", "rust", "fail", fill(USAGE, usage='let port: String = parse_port("8080")?;'),
        _lib(f"{PARSE}\n\npub fn usage() -> Result<(), Box<dyn std::error::Error>> {{\n"
             '    let port: String = parse_port("8080")?;\n    Ok(())\n}'),
        "E0308",
    ),  # fmt: skip
    Shape(
        "usage-async-axum", "2", "axum", "pass", fill(AXUM_USAGE, usage=AXUM_SERVE),
        _lib(f"{AXUM_APP}\n\npub async fn usage() -> Result<(), Box<dyn std::error::Error>> {{\n"
             f"    {AXUM_SERVE.replace(chr(10), chr(10) + '    ')}\n    Ok(())\n}}"),
    ),  # fmt: skip
    Shape(
        "usage-async-axum-06-api", "2", "axum", "fail", fill(AXUM_USAGE, usage=AXUM_SERVE_06),
        _lib(f"{AXUM_APP}\n\npub async fn usage() -> Result<(), Box<dyn std::error::Error>> {{\n"
             f"    {AXUM_SERVE_06.replace(chr(10), chr(10) + '    ')}\n    Ok(())\n}}"),
        "E0433",
    ),  # fmt: skip
    Shape("alternatives", "3", "rust", "pass", fill(ALTERNATIVES, second=FOLD), _main(SUM) | {"examples/fold.rs": FOLD}),
    Shape(
        "alternatives-one-broken", "3", "rust", "fail", fill(ALTERNATIVES, second=FOLD_BAD),
        _main(SUM) | {"examples/fold.rs": FOLD_BAD}, "E0308",
    ),  # fmt: skip
    Shape(
        "marked-wrong-then-fixed", "3", "rust", "pass", fill(MARKED, lead="This won't compile:", info="rust", fix="The fixed version clones it:"),
        _main(CLONED), read_as={0: "replaced"},
    ),  # fmt: skip
    Shape(
        "compile-fail-then-fixed", "3", "rust", "pass", fill(MARKED, lead="First try:", info="rust,compile_fail", fix="Clone it:"),
        _main(CLONED), read_as={0: "ignored"},
    ),  # fmt: skip
    Shape(
        "unmarked-two-versions", "3", "rust", "fail", fill(MARKED, lead="One version:", info="rust", fix="Another one clones it:"),
        _main(MOVED) | {"examples/cloned.rs": CLONED}, "E0382",
    ),  # fmt: skip
    Shape(
        "file-names-in-prose", "4", "rust", "pass", fill(FILES_IN_PROSE, main=USES_MATH),
        {"src/math.rs": MATH, "src/main.rs": USES_MATH},
    ),  # fmt: skip
    Shape(
        "file-names-in-prose-broken", "4", "rust", "fail", fill(FILES_IN_PROSE, main=USES_MATH.replace("double", "triple")),
        {"src/math.rs": MATH, "src/main.rs": USES_MATH.replace("double", "triple")}, "E0425",
    ),  # fmt: skip
    Shape(
        "file-names-in-info-and-comment", "4", "rust", "pass", fill(FILES_IN_INFO, main=USES_MATH),
        {"src/math.rs": MATH, "src/main.rs": USES_MATH},
    ),  # fmt: skip
    Shape(
        "file-names-in-info-broken", "4", "rust", "fail", fill(FILES_IN_INFO, main=USES_MATH.replace("(2)", '("2")')),
        {"src/math.rs": MATH, "src/main.rs": USES_MATH.replace("(2)", '("2")')}, "E0308",
    ),  # fmt: skip
    Shape(
        "not-code-blocks", "5", "rust", "pass", fill(NOT_CODE, unlabelled="Hello, world!"), _main(SUM),
        read_as={1: "not code", 2: "not code", 3: "not code", 4: "not code", 5: "not code"},
    ),  # fmt: skip
    Shape(
        "unlabelled-rust-broken", "5", "rust", "fail",
        fill(NOT_CODE, unlabelled='pub fn helper() -> u8 {\n    "no"\n}'),
        _main(SUM + '\n\npub fn helper() -> u8 {\n    "no"\n}'), "E0308",
    ),  # fmt: skip
    Shape("unit-test", "6", "rust", "pass", fill(TESTS, call="add(1, 2)"), _lib(fill(TESTS, call="add(1, 2)")[8:-4])),
    Shape(
        "unit-test-broken", "6", "rust", "fail", fill(TESTS, call="add(1, 2, 3)"),
        _lib(fill(TESTS, call="add(1, 2, 3)")[8:-4]), "E0061",
    ),  # fmt: skip
    Shape("tokio-test", "6", "rust", "pass", fill(TOKIO_TEST, ty="u32"), _lib(fill(TOKIO_TEST, ty="u32")[8:-4])),
    Shape(
        "tokio-test-broken", "6", "rust", "fail", fill(TOKIO_TEST, ty="String"),
        _lib(fill(TOKIO_TEST, ty="String")[8:-4]), "E0308",
    ),  # fmt: skip
    Shape("cfg-always-true", "6", "rust", "pass", fill(HIDDEN, attr="#![cfg(not(any()))]"), _lib(ADD)),
    Shape("cfg-never-true", "6", "rust", "rejected", fill(HIDDEN, attr="#![cfg(any())]"), None, "RG-HIDDEN"),
    Shape(
        "manifest-pinned-major", "8", "axum", "pass", fill(MANIFEST, deps='axum = "0.8"\ntokio = { version = "1", features = ["full"] }'),
        _main(AXUM_MAIN),
    ),  # fmt: skip
    Shape(
        "manifest-other-major", "8", "axum", "rejected", fill(MANIFEST, deps='axum = "0.7"\ntokio = "1"'), None,
        "RG-VERSION",
    ),  # fmt: skip
    Shape(
        "manifest-unused-extra", "8", "axum", "pass", fill(MANIFEST, deps='axum = "0.8"\nsea-orm = "1"'),
        _main(AXUM_MAIN),
    ),  # fmt: skip
    Shape(
        "manifest-used-extra", "8", "axum", "rejected",
        fill(MANIFEST, deps='axum = "0.8"\nsea-orm = "1"').replace("use axum::", "use sea_orm::Database;\nuse axum::"),
        None, "RG-CRATE",
    ),  # fmt: skip
    Shape("std-use-given", "10", "rust", "pass", _r(fill(DISPLAY, use="use std::fmt;\n\n")), _lib(fill(DISPLAY, use="use std::fmt;\n\n"))),
    Shape(
        "std-use-missing", "10", "rust", "fail", _r(fill(DISPLAY, use="")), _lib(fill(DISPLAY, use="")), "E0433",
    ),  # fmt: skip
]

# Rule 7: a fullstack leptos answer is checked as the server and, its library again, as the client.
FULLSTACK_APP = """use leptos::prelude::*;
<top_use>
#[server]
pub async fn count_visits() -> Result<i64, ServerFnError> {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    let (n,): (i64,) = sqlx::query_as("SELECT 1").fetch_one(&pool).await?;
    Ok(n)
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[<kind>]
pub fn App() -> impl IntoView {
    let visits = Resource::new(|| (), |_| count_visits());
    view! {
        <Suspense fallback=|| view! { <p>"Loading..."</p> }>
            {move || visits.get().map(|n| view! { <p>{format!("{n:?}")}</p> })}
        </Suspense>
    }
}
"""
FULLSTACK_LIB = """pub mod app;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::<hydrate>(app::App);
}
"""
FULLSTACK_MAIN = """#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() {
    use axum::Router;
    use leptos::prelude::*;
    use leptos_axum::{generate_route_list, LeptosRoutes};
    use visits::app::{shell, App};

    let conf = get_configuration(None).unwrap();
    let leptos_options = conf.leptos_options;
    let addr = leptos_options.site_addr;
    let routes = generate_route_list(App);
    let app = Router::new()
        .leptos_routes(&leptos_options, routes, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .with_state(leptos_options);
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app.into_make_service()).await.unwrap();
}

#[cfg(not(feature = "ssr"))]
pub fn main() {}
"""
FULLSTACK_TOML = '[package]\nname = "visits"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\ncrate-type = ["cdylib", "rlib"]\n\n[features]\nhydrate = ["leptos/hydrate"]\nssr = ["leptos/ssr", "dep:leptos_axum", "dep:sqlx"]'
FULLSTACK = f"""A fullstack leptos app: the server renders the page, the browser hydrates it.

{F}toml
{FULLSTACK_TOML}
{F}

The library holds the app and the client's entry point:

{F}rust
// src/lib.rs
<lib>{F}

The app, with a server function the page calls:

{F}rust
// src/app.rs
<app>{F}

And the server:

{F}rust
// src/main.rs
{FULLSTACK_MAIN}{F}
"""


def _fullstack(top_use: str = "", hydrate: str = "hydrate_body", kind: str = "component") -> tuple[str, dict[str, str]]:
    app = fill(FULLSTACK_APP, top_use=top_use, kind=kind)
    lib = fill(FULLSTACK_LIB, hydrate=hydrate)
    answer = fill(FULLSTACK, lib=lib, app=app)
    return answer, {"Cargo.toml": FULLSTACK_TOML, "src/lib.rs": lib, "src/app.rs": app, "src/main.rs": FULLSTACK_MAIN}


SHAPES += [
    Shape("fullstack-both-sides", "7", "leptos-ssr", "pass", *_fullstack()),
    Shape("fullstack-client-entry-broken", "7", "leptos-ssr", "fail", *_fullstack(hydrate="hydrate_everything"), "E0425"),
    Shape(
        "fullstack-server-crate-on-client", "7", "leptos-ssr", "fail",
        *_fullstack(top_use="use sqlx::SqlitePool;\n"), "RG-SERVER-ONLY",
    ),  # fmt: skip
    Shape(
        "fullstack-server-crate-behind-cfg", "7", "leptos-ssr", "pass",
        *_fullstack(top_use='#[cfg(feature = "ssr")]\nuse sqlx::SqlitePool;\n'),
    ),  # fmt: skip
    Shape("fullstack-island", "7", "leptos-ssr", "pass", *_fullstack(kind="island")),
]

# Rule 2: an answer that is one usage snippet and nothing else.
ONLY_USAGE = f"Collect the words:\n\n{F}rust\nlet words: Vec<&str> = \"a b c\".split(' ').collect();\nprintln!(\"{{}}\", words.len());\n{F}\n"

# Rule 1/3: independent examples joined into one listing, each with its own imports.
EXAMPLES = f"""Count with a map:

{F}rust
use std::{{collections::HashMap, fmt::Write}};

pub fn counts(words: &[&str]) -> HashMap<String, usize> {{
    let mut out = HashMap::new();
    for w in words {{
        *out.entry(w.to_string()).or_insert(0) += 1;
    }}
    out
}}
{F}

Or list the keys:

{F}rust
<second_use>

pub fn keys(map: &HashMap<String, usize>) -> Vec<String> {{
    map.keys().cloned().collect()
}}
{F}
"""
EXAMPLES_LIB = (
    "use std::{collections::HashMap, fmt::Write};\n\npub fn counts(words: &[&str]) -> HashMap<String, usize> {\n"
    "    let mut out = HashMap::new();\n    for w in words {\n        *out.entry(w.to_string()).or_insert(0) += 1;\n"
    "    }\n    out\n}\n\npub fn keys(map: &HashMap<String, usize>) -> Vec<String> {\n    map.keys().cloned().collect()\n}\n"
)

# Rule 5: an answer whose Rust is all ```rust,ignore (a book's multi-file program).
SPLIT_MAIN = "mod my;\n\nfn main() {\n    my::function();\n}\n"
SPLIT_MY = "pub fn function() {\n    println!(\"called `my::function()`\");\n}\n"
IGNORED_FILES = f"""In `split.rs`:

{F}rust,ignore
{SPLIT_MAIN}{F}

In `my.rs`:

{F}rust,ignore
<my>{F}

{F}shell
$ rustc split.rs && ./split
called `my::function()`
{F}
"""

# Rule 2/5: a block written for rustdoc (hidden lines, no `fn main`) is compiled as rustdoc does.
DOCTEST = f"""The state machine:

{F}rust
use std::time::Instant;

enum State {{
    Waiting(Delay),
    Done,
}}
<hidden>struct Delay {{ when: Instant }};

pub fn is_done(state: &State) -> bool {{
    matches!(state, State::Done)
}}
{F}
"""
DOCTEST_LIB = (
    "use std::time::Instant;\n\nenum State {\n    Waiting(Delay),\n    Done,\n}\nstruct Delay { when: Instant }\n\n"
    "pub fn is_done(state: &State) -> bool {\n    matches!(state, State::Done)\n}\n"
)

# Rule 5: an API sketch (elided bodies, and the text says it is one) beside real code.
SKETCH = f"""<lead>

{F}rust
impl Counter {{
    fn new() -> Counter {{ ... }}
    fn bump(&mut self) {{ ... }}
}}
{F}

The real thing:

{F}rust
{ADD}
{F}
"""

# Rule 10: a module of a pinned crate used without its `use` is a missing import, not a crate.
PINNED_MODULE = f"""{F}rust
<use>use axum::Router;

pub fn app() -> Router {{
    Router::new().route("/", routing::get(|| async {{ "hi" }}))
}}
{F}
"""
_AXUM_ROUTING = 'use axum::Router;\n\npub fn app() -> Router {\n    Router::new().route("/", routing::get(|| async { "hi" }))\n}\n'

SHAPES += [
    Shape(
        "usage-only", "2", "rust", "pass", ONLY_USAGE,
        _main("fn main() {\n    let words: Vec<&str> = \"a b c\".split(' ').collect();\n    println!(\"{}\", words.len());\n}\n"),
        read_as={0: "usage"},
    ),  # fmt: skip
    Shape(
        "usage-only-broken", "2", "rust", "fail", ONLY_USAGE.replace("Vec<&str>", "Vec<u8>"),
        _main("fn main() {\n    let words: Vec<u8> = \"a b c\".split(' ').collect();\n    println!(\"{}\", words.len());\n}\n"),
        "E0277",
    ),  # fmt: skip
    Shape("examples-share-imports", "1", "rust", "pass", fill(EXAMPLES, second_use="use std::collections::HashMap;"), _lib(EXAMPLES_LIB)),
    Shape(
        "examples-clashing-imports", "1", "rust", "fail",
        fill(EXAMPLES, second_use="use std::collections::BTreeMap as HashMap;"),
        _lib(EXAMPLES_LIB.replace("\n\npub fn keys", "\nuse std::collections::BTreeMap as HashMap;\n\npub fn keys")), "E0252",
    ),  # fmt: skip
    Shape(
        "ignored-only-files", "5", "rust", "pass", fill(IGNORED_FILES, my=SPLIT_MY),
        {"src/main.rs": SPLIT_MAIN, "src/my.rs": SPLIT_MY}, read_as={0: "code", 1: "code", 2: "not code"},
    ),  # fmt: skip
    Shape(
        "ignored-only-files-broken", "5", "rust", "fail", fill(IGNORED_FILES, my=SPLIT_MY.replace("pub fn", "fn")),
        {"src/main.rs": SPLIT_MAIN, "src/my.rs": SPLIT_MY.replace("pub fn", "fn")}, "E0603",
    ),  # fmt: skip
    Shape(
        "ignored-only-marked-wrong", "5", "rust", "fail",
        fill(IGNORED_FILES, my=SPLIT_MY).replace("In `my.rs`:", "This won't compile, in `my.rs`:"),
        {"src/main.rs": SPLIT_MAIN}, "E0583", read_as={1: "ignored"},
    ),  # fmt: skip
    Shape("doctest-item-semicolon", "5", "rust", "pass", fill(DOCTEST, hidden="# "), _lib(DOCTEST_LIB)),
    Shape(
        "doctest-item-semicolon-not-hidden", "5", "rust", "fail", fill(DOCTEST, hidden=""),
        _lib(DOCTEST_LIB.replace("when: Instant }", "when: Instant };")),
    ),  # fmt: skip
    Shape(
        "api-sketch", "5", "rust", "pass", fill(SKETCH, lead="The API looks roughly like this:"), _lib(ADD),
        read_as={0: "not code", 1: "code"},
    ),  # fmt: skip
    Shape(
        "api-sketch-unmarked", "5", "rust", "fail", fill(SKETCH, lead="The counter:"),
        _lib("impl Counter {\n    fn new() -> Counter { ... }\n    fn bump(&mut self) { ... }\n}\n" + ADD),
    ),  # fmt: skip
    Shape(
        "pinned-module-used", "10", "axum", "pass", fill(PINNED_MODULE, use="use axum::routing;\n"),
        _lib("use axum::routing;\n" + _AXUM_ROUTING),
    ),  # fmt: skip
    Shape("pinned-module-no-use", "10", "axum", "fail", fill(PINNED_MODULE, use=""), _lib(_AXUM_ROUTING), "E0433"),
]

# Rule 1: an excerpt of a function shown elsewhere (it uses that function's locals).
COUNTER_MAIN = (
    "fn main() {\n    let mut count = 0;\n    let step = 2;\n    for _ in 0..3 {\n        count += step;\n    }\n"
    '    println!("{count}");\n}'
)
EXCERPT = f"""The loop adds the step each time:

{F}rust
<excerpt>
{F}

The whole program:

{F}rust
{COUNTER_MAIN}
{F}
"""
# Rule 2: a snippet that continues the one before it (it uses that one's `let`).
STEPS = f"""First build the list:

{F}rust
let mut names = vec!["b".to_string(), "a".to_string()];
{F}

Then sort and print it:

{F}rust
<then>
{F}
"""
# Rule 1: a tutorial's first version of a function, then the version it ends with.
DRAFTS = f"""Start with a stub:

{F}rust
pub fn greet(name: &str) -> String {{
    <first>
}}
{F}

<lead>

{F}rust
pub fn greet(name: &str) -> String {{
    format!("Hello, {{name}}!")
}}
{F}
"""
GREETS = 'pub fn greet(name: &str) -> String {\n    format!("Hello, {name}!")\n}\n'
# Rule 5: markup for a view macro, shown in a rust fence, beside the component.
LEPTOS_COUNTER = (
    "use leptos::prelude::*;\n\n#[component]\npub fn Counter() -> impl IntoView {\n    let (count, set_count) = signal(0);\n"
    "    view! {\n        <button on:click=move |_| set_count.set(count.get() + 1)>{count}</button>\n    }\n}"
)
MARKUP = f"""The component:

{F}rust
{LEPTOS_COUNTER}
{F}

Its button, on its own:

{F}rust
<fragment>
{F}
"""
# Rule 3: a glob import (a prelude) shown in one program of an answer applies to its others.
GLOBS = f"""A map of counts:

{F}rust
fn main() {{
    let mut m: HashMap<&str, i32> = HashMap::new();
    m.insert("a", 1);
    println!("{{m:?}}");
}}
{F}

Or with a sorted map, importing both:

{F}rust
<use>
fn main() {{
    let mut m: BTreeMap<&str, i32> = BTreeMap::new();
    m.insert("a", 1);
    println!("{{m:?}}");
}}
{F}
"""
_HASH_MAIN = 'fn main() {\n    let mut m: HashMap<&str, i32> = HashMap::new();\n    m.insert("a", 1);\n    println!("{m:?}");\n}\n'
_BTREE_MAIN = 'fn main() {\n    let mut m: BTreeMap<&str, i32> = BTreeMap::new();\n    m.insert("a", 1);\n    println!("{m:?}");\n}\n'

SHAPES += [
    Shape(
        "excerpt-of-function", "1", "rust", "pass", fill(EXCERPT, excerpt="for _ in 0..3 {\n    count += step * 1;\n}"),
        _main(COUNTER_MAIN), read_as={0: "piece", 1: "code"},
    ),  # fmt: skip
    Shape(
        "excerpt-unbound-name", "1", "rust", "fail", fill(EXCERPT, excerpt="for _ in 0..3 {\n    total += stride;\n}"),
        _main(COUNTER_MAIN) | {"examples/snippet.rs": "fn main() {\n    for _ in 0..3 {\n        total += stride;\n    }\n}\n"},
        "E0425", read_as={0: "usage"},
    ),  # fmt: skip
    Shape(
        "snippet-continues", "2", "rust", "pass", fill(STEPS, then='names.sort();\nprintln!("{names:?}");'),
        _main('fn main() {\n    let mut names = vec!["b".to_string(), "a".to_string()];\n    names.sort();\n    println!("{names:?}");\n}\n'),
        read_as={0: "usage", 1: "piece"},
    ),  # fmt: skip
    Shape(
        "snippet-continues-broken", "2", "rust", "fail", fill(STEPS, then='names.sort_by_len();\nprintln!("{names:?}");'),
        _main('fn main() {\n    let mut names = vec!["b".to_string(), "a".to_string()];\n    names.sort_by_len();\n    println!("{names:?}");\n}\n'),
        "E0599",
    ),  # fmt: skip
    Shape(
        "draft-then-final", "1", "rust", "pass", fill(DRAFTS, first="todo!()", lead="Now fill it in:"),
        _lib(GREETS), read_as={0: "piece", 1: "code"},
    ),  # fmt: skip
    Shape(
        "draft-offered-as-alternative", "3", "rust", "fail",
        fill(DRAFTS, first="name.len()", lead="Or, with a greeting:"),
        _lib('pub fn greet(name: &str) -> String {\n    name.len()\n}\n'), "E0308",
    ),  # fmt: skip
    Shape(
        "markup-fragment", "5", "leptos", "pass",
        fill(MARKUP, fragment="<button on:click=move |_| set_count.set(count.get() + 1)>{count}</button>"),
        _lib(LEPTOS_COUNTER), read_as={1: "not code"},
    ),  # fmt: skip
    Shape(
        "qualified-path-not-markup", "5", "rust", "fail",
        f"{F}rust\nlet v: Vec<u8> = <Vec<u8> as Default>::default();\nlet n: String = <u8 as Default>::default();\n{F}\n",
        _main("fn main() {\n    let v: Vec<u8> = <Vec<u8> as Default>::default();\n    let n: String = <u8 as Default>::default();\n}\n"),
        "E0308",
    ),  # fmt: skip
    Shape(
        "glob-import-shared", "3", "rust", "pass", fill(GLOBS, use="use std::collections::*;"),
        {"src/main.rs": "use std::collections::*;\n" + _HASH_MAIN, "examples/btree.rs": "use std::collections::*;\n" + _BTREE_MAIN},
    ),  # fmt: skip
    Shape(
        "glob-import-missing", "3", "rust", "fail", fill(GLOBS, use="use std::collections::BTreeMap;"),
        {"src/main.rs": _HASH_MAIN, "examples/btree.rs": "use std::collections::BTreeMap;\n" + _BTREE_MAIN}, "E0433",
    ),  # fmt: skip
]
