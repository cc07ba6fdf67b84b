"""The test tier's doc examples: fenced code in a library's doc comments, built as rustdoc would
build it and run in the sandbox (real cargo, real runs). Each rule has a case that passes and a
near twin that fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_helpers import answer, check, tier

from rustgate.cargo.doc_examples import doc_examples
from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.templates import load_profiles

pytestmark = pytest.mark.usefixtures("build_cache")

DOUBLE = """//! Doubling numbers.

/// Doubles `x`.
///
/// ```
/// use mylib::double;
/// assert_eq!(double(3), 6);
/// ```
pub fn double(x: i32) -> i32 {
    x * 2
}
"""


def lib(name: str, code: str, **more: str):  # type: ignore[no-untyped-def]
    return answer(name, {"src/lib.rs": code, **more})


def source_of(code: str) -> CrateSource:
    source = extract_crate(lib("x", code), load_profiles())
    assert isinstance(source, CrateSource)
    return source


def test_reading_doc_examples_as_rustdoc_does() -> None:
    code = """/// Text and other languages are not code:
///
/// ```text
/// double(3) == 6
/// ```
///
/// ```toml
/// [dependencies]
/// ```
///
/// Hidden lines are code; a trailing Ok makes a Result body:
///
/// ```
/// # fn setup() -> i32 { 3 }
/// let x: i32 = "3".parse()?;
/// assert_eq!(x, setup());
/// Ok::<(), std::num::ParseIntError>(())
/// ```
///
/// ```no_run
/// loop {}
/// ```
///
/// ```should_panic
/// panic!("boom");
/// ```
///
/// ```ignore
/// not even rust
/// ```
pub fn double(x: i32) -> i32 {
    x * 2
}
"""
    examples = doc_examples(source_of(code))
    assert [e.line for e in examples] == [14, 21, 25, 29]  # the block names its file on line 1
    hidden, no_run, should_panic, ignored = examples
    assert (
        "fn setup() -> i32 { 3 }" in hidden.program
        and "fn _inner() -> Result<(), impl core::fmt::Debug>" in hidden.program
    )
    assert no_run.no_run and should_panic.should_panic and not ignored.built
    assert hidden.label == "src/lib.rs - doc example (line 14)"
    assert doc_examples(source_of(code.replace("pub fn", "fn").replace("///", "//"))) == []  # plain comments


def test_a_passing_doc_example_passes_and_its_failing_twin_fails() -> None:
    good, bad = check([lib("good", DOUBLE), lib("bad", DOUBLE.replace("x * 2", "x + 2"))], tiers=("compile", "test"))
    assert good.verdict == "pass", good.reason
    assert tier(good, "test")["tests"] == {"passed": 1, "failed": 0, "ignored": 0}
    assert tier(good, "test")["doc_examples"] == 1
    assert bad.verdict == "fail"
    (failure,) = tier(bad, "test")["failures"]  # type: ignore[misc]
    assert failure["test"] == "src/lib.rs - doc example (line 6)" and "left: 5" in failure["message"]


def test_doc_examples_count_with_the_answers_own_tests() -> None:
    unit = """
#[cfg(test)]
mod tests {
    #[test]
    fn four() {
        assert_eq!(super::double(2), 4);
    }
}
"""
    (both,) = check([lib("both", DOUBLE + unit)], tiers=("compile", "test"))
    assert both.verdict == "pass" and tier(both, "test")["tests"]["passed"] == 2  # type: ignore[index]
    (wrong_doc,) = check([lib("wrong", DOUBLE.replace("6);", "7);") + unit)], tiers=("compile", "test"))
    assert wrong_doc.verdict == "fail" and tier(wrong_doc, "test")["tests"]["passed"] == 1  # type: ignore[index]


def test_a_doc_example_that_does_not_compile_fails_the_test_tier() -> None:
    broken = DOUBLE.replace("assert_eq!(double(3), 6);", 'assert_eq!(double("3"), 6);')
    (result,) = check([lib("broken", broken)], tiers=("compile", "test"))
    assert result.verdict == "fail"
    (failure,) = tier(result, "test")["failures"]  # type: ignore[misc]
    assert failure["message"].startswith("does not compile:") and "E0308" in failure["message"]


def test_should_panic_must_panic_and_no_run_is_only_built() -> None:
    code = DOUBLE.replace("/// ```\n/// use", "/// ```should_panic\n/// use").replace("6);", "7);")
    (panics,) = check([lib("panics", code)], tiers=("compile", "test"))
    assert panics.verdict == "pass", panics.reason
    (calm,) = check([lib("calm", code.replace("7);", "6);"))], tiers=("compile", "test"))
    assert calm.verdict == "fail" and "did not panic" in calm.reason  # type: ignore[operator]
    server = DOUBLE.replace("/// ```\n/// use", "/// ```no_run\n/// use").replace("6);", "6);\n/// loop {}")
    (built,) = check([lib("server", server)], tiers=("compile", "test"))
    assert built.verdict == "pass" and tier(built, "test")["tests"]["passed"] == 1  # type: ignore[index]
    (unbuildable,) = check([lib("nobuild", server.replace("loop {}", "let n: u8 = 1u16;"))], tiers=("compile", "test"))
    assert unbuildable.verdict == "fail"


def test_a_library_with_binaries_is_named_as_its_binaries_name_it(tmp_path: Path) -> None:
    main = 'use mylib::double;\n\nfn main() {\n    println!("{}", double(4));\n}\n'
    (both,) = check([lib("app", DOUBLE, **{"src/main.rs": main})], tiers=("compile", "test", "run"))
    assert both.verdict == "pass", both.reason
    assert tier(both, "test")["tests"]["passed"] == 1 and tier(both, "run")["verdict"] == "pass"  # type: ignore[index]
    (ignored,) = check(
        [lib("ignored", DOUBLE.replace("/// ```\n/// use", "/// ```ignore\n/// use"))], tiers=("compile", "test")
    )
    assert ignored.verdict == "pass" and tier(ignored, "test")["verdict"] == "not applicable"


def test_a_module_of_the_binary_does_not_stop_the_doc_examples() -> None:
    main = 'use mylib::double;\n\nmod cli;\n\nfn main() {\n    println!("{} {}", cli::banner(), double(1));\n}\n'
    cli = 'pub fn banner() -> String {\n    "doubled".to_string()\n}\n'
    (app,) = check([lib("cli", DOUBLE, **{"src/main.rs": main, "src/cli.rs": cli})], tiers=("compile", "test"))
    assert app.verdict == "pass", app.reason
    assert tier(app, "test")["doc_examples"] == 1
