"""The environment cargo gives each target (issue 20, item 7): ``env!`` of a variable cargo sets
for that target compiles, from the sample's own package; one cargo does not set there fails.
Each case has a near twin with the other verdict. Real rustc, replayed in the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from rustgate.gates.compile import CompileGate
from rustgate.records import Record

FENCE = "```"


def _answer(*blocks: tuple[str, str, str]) -> str:
    """(prose line naming the file, language, body) per block."""
    return "\n\n".join(f"{prose}\n\n{FENCE}{lang}\n{body.strip()}\n{FENCE}" for prose, lang, body in blocks)


MANIFEST = ("`Cargo.toml`:", "toml", '[package]\nname = "greeter-cli"\nversion = "2.3.4-beta.1"\nedition = "2021"\n')
LIB_ASSERT = 'const _: () = assert!(matches!(env!("{var}").as_bytes(), b"{value}"));\npub fn hi() {{}}'

CASES = [  # fmt: skip
    # (id, answer, expected verdict)
    ("bin-name", _answer(("", "rust", 'fn main() { println!("{}", env!("CARGO_BIN_NAME")); }')), "pass"),
    ("bin-name-in-a-lib", _answer(("", "rust", 'pub fn name() -> &\'static str { env!("CARGO_BIN_NAME") }')), "fail"),
    ("bin-name-of-src-bin", _answer(
        MANIFEST,
        ("`src/bin/tool-two.rs`:", "rust",
         'const _: () = assert!(matches!(env!("CARGO_BIN_NAME").as_bytes(), b"tool-two"));\nfn main() {}'),
    ), "pass"),
    ("bin-name-of-src-bin-wrong", _answer(
        MANIFEST,
        ("`src/bin/tool-two.rs`:", "rust",
         'const _: () = assert!(matches!(env!("CARGO_BIN_NAME").as_bytes(), b"tool_two"));\nfn main() {}'),
    ), "fail"),
    ("pkg-name", _answer(MANIFEST, ("`src/lib.rs`:", "rust",
                                    LIB_ASSERT.format(var="CARGO_PKG_NAME", value="greeter-cli"))), "pass"),
    ("pkg-name-probe", _answer(MANIFEST, ("`src/lib.rs`:", "rust",
                                          LIB_ASSERT.format(var="CARGO_PKG_NAME", value="rustgate_probe"))), "fail"),
    ("pkg-version", _answer(MANIFEST, ("`src/lib.rs`:", "rust",
                                       LIB_ASSERT.format(var="CARGO_PKG_VERSION_PRE", value="beta.1"))), "pass"),
    ("pkg-version-wrong", _answer(MANIFEST, ("`src/lib.rs`:", "rust",
                                             LIB_ASSERT.format(var="CARGO_PKG_VERSION_MAJOR", value="0"))), "fail"),
    ("crate-name", _answer(
        MANIFEST,
        ("`src/lib.rs`:", "rust", LIB_ASSERT.format(var="CARGO_CRATE_NAME", value="greeter_cli")),
        ("`src/main.rs`:", "rust", "fn main() { greeter_cli::hi(); }"),
    ), "pass"),
    ("crate-name-wrong", _answer(
        MANIFEST,
        ("`src/lib.rs`:", "rust", LIB_ASSERT.format(var="CARGO_CRATE_NAME", value="greeter-cli")),
        ("`src/main.rs`:", "rust", "fn main() { greeter_cli::hi(); }"),
    ), "fail"),
    ("bin-exe-in-integration-test", _answer(
        MANIFEST,
        ("`src/main.rs`:", "rust", 'fn main() { println!("hi"); }'),
        ("`tests/cli.rs`:", "rust",
         '#[test]\nfn runs() {\n    let exe = env!("CARGO_BIN_EXE_greeter-cli");\n'
         '    let out = std::process::Command::new(exe).output().unwrap();\n    assert!(out.status.success());\n}'),
    ), "pass"),
    ("bin-exe-of-no-such-bin", _answer(
        MANIFEST,
        ("`src/main.rs`:", "rust", 'fn main() { println!("hi"); }'),
        ("`tests/cli.rs`:", "rust", '#[test]\nfn runs() {\n    let _ = env!("CARGO_BIN_EXE_greeter");\n}'),
    ), "fail"),
    ("bin-exe-outside-tests", _answer(
        MANIFEST,
        ("`src/main.rs`:", "rust", 'fn main() { println!("{}", env!("CARGO_BIN_EXE_greeter-cli")); }'),
    ), "fail"),
]


@pytest.mark.parametrize(("rid", "answer", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_target_gets_the_environment_cargo_gives_it(
    warm_cache: Path, ledger_path: Path, rid: str, answer: str, expected: str
) -> None:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    record = Record.model_validate({"id": rid, "crate": "rust", "messages": messages})
    (result,) = CompileGate(use_cache=False).check([record])
    assert result.verdict == expected, (result.reason, [d.short() for d in result.diagnostics][:3], result.details)
    if expected == "fail":
        codes = {d.code for d in result.diagnostics} | {d.message[:60] for d in result.diagnostics}
        assert any("environment variable" in str(c) or c == "E0080" for c in codes), codes
