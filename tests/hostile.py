"""Hostile answers for the compile gate, one or more per class of attack found so far.

Each case names the verdicts it may get. Reads aimed at a host file or another process's
environment are built so that, were the read to succeed, the secret would surface in a
diagnostic (a const panic printing it, a parse error quoting it): the tests then look for the
canary in everything the gate writes and everything it would send to an LLM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FENCE = "```"
ISOLATED_READ = frozenset({"rejected", "fail"})  # refused, or the file is simply not there
REFUSED = frozenset({"rejected"})


@dataclass(frozen=True)
class Case:
    id: str
    answer: str
    verdicts: frozenset[str]  # what any sandbox mode may answer
    unsafe_verdicts: frozenset[str] | None = None  # stricter, with RUSTGATE_SANDBOX=none (no isolation)
    crate: str = "rust"

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "crate": self.crate,
            "messages": [
                {"role": "user", "content": f"hostile case {self.id}"},
                {"role": "assistant", "content": self.answer},
            ],
        }

    def allowed(self, sandbox: str) -> frozenset[str]:
        return self.unsafe_verdicts if sandbox == "none" and self.unsafe_verdicts is not None else self.verdicts


def rust(code: str, header: str | None = None) -> str:
    head = f"// {header}\n" if header else ""
    return f"Here:\n\n{FENCE}rust\n{head}{code.strip()}\n{FENCE}\n"


def _reads(target: str, tag: str) -> list[Case]:
    """Every known way around a text check, aimed at ``target`` (an absolute host path)."""
    leak = 'const _: () = panic!("{}", LEAK);'
    codes = {
        "ident-to-macro": f'macro_rules! m {{ ($i:ident) => {{ $i!("{target}") }} }}\n'
        f"const LEAK: &str = m!(include_str);\n{leak}",
        "comment-before-bang": f'const LEAK: &str = include_str/**/!("{target}");\n{leak}',
        "comment-before-paren": f'const LEAK: &str = include_str! /* x */ ("{target}");\n{leak}',
        "raw-ident": f'const LEAK: &str = r#include_str!("{target}");\n{leak}',
        "alias": f'use std::include_str as read;\nconst LEAK: &str = read!("{target}");\n{leak}',
        "qualified": f'const LEAK: &str = ::core::include_str!("{target}");\n{leak}',
        "escaped": 'const LEAK: &str = include_str!("' + target.replace("/", "\\x2f") + f'");\n{leak}',
        "bytes": f'const LEAK: &[u8] = include_bytes!("{target}");\nconst _: () = panic!("{{}}", LEAK.len());',
        "doc-attr": f'#[doc = include_str!("{target}")]\npub struct S;',
        "include-as-code": f'include!("{target}");',
        "cfg-attr-path": f'#[cfg_attr(all(), path = "{target}")]\nmod leak;',
        "meta-fragment": f'macro_rules! m {{ ($m:meta) => {{ #[$m] mod leak; }} }}\nm!(path = "{target}");',
        "comment-in-path": f'#[path /* c */ = "{target}"]\nmod leak;',
        "tt-passthrough": f"macro_rules! m {{ ($($t:tt)*) => {{ $($t)* }} }}\n"
        f'm!(const LEAK: &str = include_str!("{target}"););\n{leak}',
    }
    cases = [Case(f"read-{tag}-{name}", rust(code), ISOLATED_READ, REFUSED) for name, code in codes.items()]
    # The include sits in a macro deep in the tree; "../" counted from the call site climbs out.
    climb = "../" * 12 + target.lstrip("/")
    modules = "mod a { " + " ".join(f"pub mod {m} {{" for m in "bcdefghij") + " pub mod k; " + "}" * 10
    nested = (
        f"{FENCE}rust\n// src/a/b/c/d/e/f/g/h/i/j/k/mod.rs\n#[macro_export]\n"
        f'macro_rules! grab {{ () => {{ include_str!("{climb}") }} }}\n{FENCE}\n'
        f"{FENCE}rust\n// src/lib.rs\n{modules}\nconst LEAK: &str = grab!();\n{leak}\n{FENCE}\n"
    )
    cases.append(Case(f"read-{tag}-macro-call-site", nested, ISOLATED_READ, REFUSED))
    return cases


def cases(canary_file: str, environ_pid: int) -> list[Case]:
    out: list[Case] = []
    out += _reads(canary_file, "file")
    out += _reads(f"/proc/{environ_pid}/environ", "environ")
    out += [
        Case(
            "env-macro",
            rust('const LEAK: &str = env!("RUSTGATE_CANARY_ENV");\nconst _: () = panic!("{}", LEAK);'),
            frozenset({"fail"}),
        ),  # fmt: skip
        Case(
            "option-env",
            rust(
                'pub const V: Option<&str> = option_env!("RUSTGATE_CANARY_ENV");\nconst _: () = assert!(V.is_none());'
            ),
            frozenset({"pass"}),
        ),  # fmt: skip
        Case(
            "self-environ",
            rust('const LEAK: &str = include_str!("/proc/self/environ");\nconst _: () = panic!("{}", LEAK);'),
            ISOLATED_READ,
            REFUSED,
        ),  # fmt: skip
        # One record must never cost the others their verdicts.
        Case("toml-deps-number", f"{FENCE}toml\ndependencies = 5\n{FENCE}\n" + rust("pub fn f() {}"), REFUSED),
        # A lone surrogate can no longer reach the gate: no Record holds one (rustgate.safejson);
        # tests/test_hostile_rows.py and tests/test_extract.py show both layers refusing it.
        # Work the parent does before any limit applies must be linear.
        Case("blank-lines", rust("\n" * 30_000 + "pub fn f() {}"), frozenset({"pass"})),
        Case("long-use", rust("use " + "a::" * 27_000 + "b"), frozenset({"fail"})),
        Case("big-answer", rust("// filler\n" * 31_000 + "pub fn f() -> u32 { 1 }"), frozenset({"pass"})),
        # Output a compiler can be driven to print.
        Case(
            "huge-message",
            rust(
                "const X: [u8; 1 << 26] = [b'x'; 1 << 26];\n"
                'const _: () = panic!("{}", unsafe { core::str::from_utf8_unchecked(&X) });'
            ),
            frozenset({"rejected", "fail"}),
        ),  # fmt: skip
        Case(
            "many-errors",
            rust(
                'macro_rules! bad { ($($i:ident)*) => { $( pub fn $i() -> u32 { "x" } )* } }\n'
                + "\n".join("bad!(" + " ".join(f"f{i}_{j}" for j in range(40)) + ");" for i in range(60))
            ),
            frozenset({"fail"}),
        ),  # fmt: skip
        # Verdicts that were wrong: code never compiled passed, correct code failed.
        Case("only-bin-file", rust('pub fn x() -> u32 { "no" }\nfn main() {}', "src/bin/tool.rs"), frozenset({"fail"})),
        Case("only-nested-module", rust('pub fn x() -> u32 { "no" }', "src/handlers/users.rs"), frozenset({"fail"})),
        Case("only-build-script", rust("fn main() {}", "build.rs"), REFUSED),
        Case(
            "module-named-build",
            rust("mod build;\npub fn f() -> u32 { build::b() }", "src/lib.rs")
            + rust("pub fn b() -> u32 { 1 }", "src/build.rs"),
            frozenset({"pass"}),
        ),
        Case(
            "rebuild-module",
            rust("mod rebuild;\npub use rebuild::r;", "src/lib.rs") + rust("pub fn r() {}", "src/rebuild.rs"),
            frozenset({"pass"}),
        ),  # fmt: skip
        Case("line-separator-comment", rust("// a \u2028 pub fn broken( {\npub fn ok() {}"), frozenset({"pass"})),
        Case(
            "ignored-blocks",
            f"{FENCE}rust,ignore\nthis is prose\n{FENCE}\n{FENCE}rust,compile_fail\nlet x: u8 = 256;\n"
            f"{FENCE}\n" + rust("pub fn f() {}"),
            frozenset({"pass"}),
        ),  # fmt: skip
        Case(
            "target-deps",
            f"{FENCE}toml\n[target.'cfg(unix)'.dependencies]\nnix = \"0.29\"\n{FENCE}\n"
            + rust("pub fn f() { nix::unistd::sync(); }"),
            REFUSED,
        ),  # fmt: skip
        Case("broken-manifest", f"{FENCE}toml\n[dependencies\nserde = 1\n{FENCE}\n" + rust("pub fn f() {}"), REFUSED),
        Case("include-in-comment", rust('// include_str!("/etc/passwd")\npub fn f() {}'), frozenset({"pass"})),
        Case(
            "orphan-module",
            rust("fn main() {}", "src/main.rs") + rust('pub fn x() -> u32 { "no" }', "src/orphan.rs"),
            REFUSED,
        ),  # fmt: skip
        # Sample faults are the sample's verdict, never an infrastructure `error`.
        Case("line-separator-message", rust('compile_error!("a\u2028b");'), frozenset({"fail"})),
        Case("big-const", rust("pub const BIG: [u8; 134217728] = [0; 134217728];"), frozenset({"pass"})),
        Case("file-and-folder", rust("pub fn a() {}", "src/a.rs") + rust("pub fn b() {}", "src/a.rs/b.rs"), REFUSED),
        Case("long-file-name", rust("pub fn f() {}", "src/" + "x" * 300 + ".rs"), REFUSED),
        Case("deep-nesting", rust("mod m {" * 15_000 + "}" * 15_000), frozenset({"fail"})),
        Case(
            "macro-bomb",
            rust(
                "macro_rules! bomb { () => { 1 }; ($x:tt $($rest:tt)*) => { bomb!($($rest)*) + bomb!($($rest)*) }; }\n"
                "pub const N: u64 = bomb!(" + "a " * 40 + ");"
            ),
            frozenset({"timeout", "fail"}),
        ),  # fmt: skip
        Case("escape-\x1b[2J-\x1b]0;pwned\x07-id", rust("pub fn f() {}"), frozenset({"pass"})),
    ]
    return out
