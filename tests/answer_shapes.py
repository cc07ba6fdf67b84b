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
