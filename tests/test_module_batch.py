"""Many answers in one rustc (``method="replay"``): every entry exactly what a single check writes.

The screen's rules each have a case that batches and a near twin that must be checked alone.
With real rustc and the real crates, batched and single mode are compared record by record
(verdict, reason, every diagnostic, details) on the shipped corpus, the hostile corpus and the
pinned rig-core's own examples, in shuffled orders and several batch sizes; and samples built to
poison their neighbours (late lints hidden by an error, deny attributes, impls on shared types,
macro and item name clashes, recursion limits) never change another record's entry.
"""

from __future__ import annotations

import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from corpus import ALL
from hostile import cases

from rustgate.cargo.batch_screen import screen
from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.templates import load_profiles
from rustgate.executors import batching, node
from rustgate.executors.local import LocalExecutor
from rustgate.gates.compile import CompileGate, Method
from rustgate.ledger import Ledger
from rustgate.records import GateResult, Record

PROFILES = load_profiles()
FENCE = "```"


def answer(code: str, header: str | None = None) -> str:
    head = f"// {header}\n" if header else ""
    return f"Here:\n\n{FENCE}rust\n{head}{code.strip()}\n{FENCE}\n"


def record(rid: str, text: str, crate: str = "rust") -> Record:
    return Record.model_validate(
        {
            "id": rid,
            "crate": crate,
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}],
        }
    )


def source_of(code: str, crate: str = "rust") -> CrateSource:
    source = extract_crate(record("r", answer(code), crate), PROFILES)
    assert isinstance(source, CrateSource), source
    return source


# (batches, refused twin): the twin differs by the one thing the rule is about.
SCREEN_PAIRS = [
    ("pub fn f() -> u32 { g() }\nfn g() -> u32 { 1 }", "pub fn f() -> u32 { crate::g() }\nfn g() -> u32 { 1 }"),
    ("macro_rules! one { () => { 1 } }\npub fn f() -> u32 { one!() }",
     "#[macro_export]\nmacro_rules! one { () => { 1 } }\npub fn f() -> u32 { one!() }"),
    ("macro_rules! m { () => { self::f() } }\npub fn f() {}",
     "macro_rules! m { () => { $crate::f() } }\npub fn f() {}"),
    ("pub fn f() {}\npub mod inner { pub use super::f; }", "pub use super::f;\npub fn f() {}"),
    ("pub mod a { pub mod b { pub use super::X; } pub struct X; }",
     "pub mod a { pub mod b { pub use super::super::X; } }\npub struct X;"),
    ("#![allow(dead_code)]\nfn unused() {}", "#![deny(dead_code)]\nfn unused() {}"),
    ("#![allow(unused)]\npub fn f() {}", "#![recursion_limit = \"256\"]\npub fn f() {}"),
    ("pub const L: u32 = line!();", 'pub const F: &str = file!();'),
    ('pub const S: &str = concat!("a", "b");', 'pub const S: &str = env!("CARGO_PKG_NAME");'),
    ('pub const S: &str = stringify!(x);', 'pub const S: &str = module_path!();'),
    ("#[derive(Debug, Clone)]\npub struct P;", "#[no_mangle]\npub extern \"C\" fn exported() {}"),
    ("#[cfg_attr(all(), derive(Debug))]\npub struct P;", "#[cfg_attr(all(), path = \"p.rs\")]\npub mod p {}"),
    ("use std::fmt;\npub struct P;\nimpl fmt::Display for P {\n"
     "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(\"p\") }\n}",
     "pub struct P;\nimpl PartialEq<P> for String {\n    fn eq(&self, _: &P) -> bool { true }\n}"),
    ("pub trait Shout { fn shout(&self) -> String; }\n"
     "impl Shout for String { fn shout(&self) -> String { self.clone() } }",
     "pub struct P;\nimpl From<P> for String { fn from(_: P) -> String { String::new() } }"),
    ("pub struct W<T>(pub T);\nimpl<T> Default for W<T> where T: Default {\n"
     "    fn default() -> Self { W(T::default()) }\n}",
     "pub struct W<T>(pub T);\nimpl<T: Default> Default for Box<W<T>> {\n"
     "    fn default() -> Self { Box::new(W(T::default())) }\n}"),
    ("pub fn f() -> u32 { 1 }", "extern crate core;\npub fn f() -> u32 { 1 }"),
    ("fn main() { println!(\"hi\"); }", "#![allow(unused)]\nfn main() { println!(\"hi\"); }"),
    ("fn main() { println!(\"hi\"); }", "//! A program.\nfn main() { println!(\"hi\"); }"),
]  # fmt: skip


@pytest.mark.parametrize(("batched", "alone"), SCREEN_PAIRS, ids=[str(i) for i in range(len(SCREEN_PAIRS))])
def test_each_screen_rule_batches_a_case_and_refuses_its_twin(batched: str, alone: str) -> None:
    accepted = screen(source_of(batched))
    assert accepted.group is not None, accepted.why
    refused = screen(source_of(alone))
    assert refused.group is None and refused.why


def test_only_single_target_packages_in_src_are_batched() -> None:
    lib_and_bin = answer("pub fn f() {}", "src/lib.rs") + answer("fn main() { demo::f() }", "src/main.rs")
    source = extract_crate(record("r", lib_and_bin), PROFILES)
    assert isinstance(source, CrateSource) and source.kind == "lib+bin"
    assert screen(source).group is None
    assert screen(source_of("pub fn f() {}"), fullstack=True).group is None
    lib, program = screen(source_of("pub fn f() {}")), screen(source_of("fn main() {}"))
    assert (lib.kind, program.kind) == ("lib", "bin") and lib.group != program.group


# --- real rustc: batched entries against single ones -------------------------------------------


def _entry(result: GateResult) -> dict[str, Any]:
    entry = result.model_dump()
    entry.pop("duration_s")
    return entry


def _check(records: list[Record], method: Method) -> list[GateResult]:
    return CompileGate(timeout_s=60, method=method, use_cache=False).check(records)


def _assert_same_entries(records: list[Record], seed: int, members: int, monkeypatch: pytest.MonkeyPatch) -> None:
    single = {r.id: _entry(x) for r, x in zip(records, _check(records, "single"), strict=True)}
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    monkeypatch.setattr(batching, "MAX_MEMBERS", members)
    batched = {r.id: _entry(x) for r, x in zip(shuffled, _check(shuffled, "replay"), strict=True)}
    for rid, entry in single.items():
        assert batched[rid] == entry, rid


CORPUS = [Record.model_validate(s.row()) for s in ALL if s.id != "hostile-macro-bomb"]


@pytest.mark.cargo
@pytest.mark.parametrize(("seed", "members"), [(1, 12), (2, 3)])
def test_batched_entries_equal_single_entries_on_the_corpus(
    seed: int, members: int, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sum(screen_of(r) is not None for r in CORPUS) >= 25  # most of the corpus is batched at all
    _assert_same_entries(CORPUS, seed, members, monkeypatch)


def screen_of(rec: Record) -> str | None:
    source = extract_crate(rec, PROFILES)
    return screen(source).group if isinstance(source, CrateSource) else None


@pytest.mark.cargo
def test_batched_entries_equal_single_entries_on_the_hostile_corpus(
    warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "secret.txt"
    canary.write_text('pub const LEAKED: &str = "canary";\n')
    slow = {"macro-bomb", "deep-recursion", "type-bomb"}
    records = [Record.model_validate(c.row()) for c in cases(str(canary), os.getpid()) if c.id not in slow]
    _assert_same_entries(records, 3, 6, monkeypatch)


def _rig_examples() -> list[Record]:
    registry = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "registry" / "src"
    version = PROFILES["rig"].locked["rig-core"]
    found = sorted(registry.glob(f"*/rig-core-{version}/examples/*.rs"))
    if not found:
        pytest.skip("the pinned rig-core's sources are not in cargo's registry")
    return [record(f"rig-example-{p.stem}", answer(p.read_text(encoding="utf-8")), "rig") for p in found[:40]]


@pytest.mark.cargo
def test_batched_entries_equal_single_entries_on_rig_cores_own_examples(
    warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _rig_examples()
    assert sum(screen_of(r) is not None for r in records) >= len(records) // 2
    _assert_same_entries(records, 4, 8, monkeypatch)


# Each poisoner would change a neighbour's entry if batching let it; each victim has a known entry alone.
VICTIMS = [
    ("victim-dead-code-warning", "pub fn used() {}\nfn dead() {}"),
    ("victim-deny-dead-code", "#[deny(dead_code)]\nmod m {\n    fn dead() {}\n}\npub fn f() {}"),
    ("victim-unused-import", "use std::collections::HashMap;\npub fn f() {}"),
    ("victim-ambiguous-default", "pub fn f() -> bool {\n    String::new() == Default::default()\n}"),
    ("victim-program", "struct Never { field: u32 }\nfn main() {\n    let x = 1;\n}"),
    ("victim-async-main", "async fn main() {}"),
    ("victim-clean", "pub fn add(a: u32, b: u32) -> u32 { a + b }"),
    ("victim-vec-macro", "pub fn v() -> Vec<u32> { vec![1, 2] }"),
    # rustc prints `Result` bare while the name is unique in the crate, its full path once it is not
    ("victim-must-use-result", "pub fn f() -> Result<(), std::fmt::Error> { Ok(()) }\npub fn g() { f(); }"),
    ("victim-must-use-local", "#[must_use]\npub struct Guard;\npub fn k() -> Guard { Guard }\npub fn m() { k(); }"),
    # errors read from a batch: a borrow-check error (rustc's last phase), a lint error (alone, rustc goes on)
    ("victim-borrowck", "pub fn f() -> Vec<u8> {\n    let v = Vec::new();\n    let w = v;\n    drop(w);\n    v\n}"),
    ("victim-lint-error", "#[deny(unused_variables)]\npub fn f() { let x = 1; }\nfn dead() {}"),
    ("victim-nested-must-use",
     "pub mod inner {\n    #[must_use]\n    pub struct Guard;\n}\npub fn make() -> inner::Guard { inner::Guard }\n"
     "pub fn m() { make(); }"),
]  # fmt: skip
POISONERS = [
    ("poison-type-error", "pub fn f() -> u32 { \"not a number\" }"),
    ("poison-glob", "pub use std::collections::*;\npub use std::fmt::*;\npub fn f() {}"),
    ("poison-impl-shared",
     "#[derive(Default)]\npub struct P;\nimpl PartialEq<P> for String {\n    fn eq(&self, _: &P) -> bool { true }\n}"),
    ("poison-deny-warnings", "#![deny(warnings)]\nfn dead() {}\npub fn f() {}"),
    ("poison-item-deny", "#[deny(unused_variables)]\npub fn f() { let unused = 1; }"),
    ("poison-macro-clash", "macro_rules! vec { () => { 0u8 } }\npub fn f() -> u8 { vec!() }"),
    ("poison-item-clash", "pub struct String;\npub fn main() {}\npub fn f() -> String { String }"),
    ("poison-recursion", "#![recursion_limit = \"8\"]\npub fn f() {}"),
    ("poison-main-name", "pub fn main() -> u32 { 1 }"),
    ("poison-result-alias",
     "pub type Result<T> = std::result::Result<T, Error>;\npub struct Error;\npub struct Guard;"),
    # fatal errors: rustc stops at once, before any neighbour's later errors
    ("poison-trait-overflow",
     "pub struct S<T>(T);\npub trait Tr { fn go(self); }\nimpl<T> Tr for S<T> where S<S<T>>: Tr {\n"
     "    fn go(self) { S(self).go() }\n}\npub fn y() { S(1u8).go(); }"),
    ("poison-macro-recursion", "macro_rules! r { () => { r!(); } }\npub fn y() { r!(); }"),
    ("poison-glob-trait", "use std::io::*;\npub fn w(out: &mut Vec<u8>) { let _ = out.write_all(b\"x\"); }"),
]  # fmt: skip


@pytest.mark.cargo
@pytest.mark.parametrize("seed", [5, 6])
def test_poisoning_samples_never_change_a_neighbours_entry(
    seed: int, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [record(rid, answer(code)) for rid, code in VICTIMS + POISONERS]
    single = {r.id: x for r, x in zip(records, _check(records, "single"), strict=True)}
    expected = {"victim-borrowck": "fail", "victim-lint-error": "fail", "poison-trait-overflow": "fail",
                "victim-deny-dead-code": "fail", "victim-ambiguous-default": "fail", "victim-async-main": "fail",
                "victim-clean": "pass", "victim-program": "pass", "poison-type-error": "fail"}  # fmt: skip
    for rid, verdict in expected.items():
        assert single[rid].verdict == verdict, (rid, single[rid].reason)
    assert any(d.code == "dead_code" for d in single["victim-program"].diagnostics)
    assert any(d.code == "E0382" for d in single["victim-borrowck"].diagnostics)
    assert any(d.code == "dead_code" for d in single["victim-lint-error"].diagnostics)
    assert any(d.message == "unused `Result` that must be used" for d in single["victim-must-use-result"].diagnostics)
    assert any(d.message == "unused `Guard` that must be used" for d in single["victim-nested-must-use"].diagnostics)
    _assert_same_entries(records, seed, len(records), monkeypatch)


@pytest.mark.cargo
def test_batched_and_single_mode_share_ledger_entries(warm_cache: Path, tmp_path: Path) -> None:
    records = [record(f"r{i}", answer(f"pub fn f{i}() -> u32 {{ {i} }}")) for i in range(4)]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = CompileGate(timeout_s=60, method="replay", ledger=ledger).check(records)
    again = CompileGate(timeout_s=60, method="single", ledger=ledger).check(records)
    assert [r.verdict for r in first] == ["pass"] * 4 and not any(r.cached for r in first)
    assert all(r.cached for r in again)
    assert [_entry(a) | {"cached": True} for a in first] == [_entry(b) for b in again]


def _batch_states(records: list[Record]) -> tuple[dict[str, dict[str, Any]], Counter[str]]:
    executor = LocalExecutor(jobs=1)  # one thread: all records in one batch
    results = CompileGate(timeout_s=60, method="replay", use_cache=False, executor=executor).check(records)
    return {r.id: _entry(x) for r, x in zip(records, results, strict=True)}, executor.batch_counts


@pytest.mark.cargo
def test_errors_are_read_from_a_batch_only_when_rustc_ran_every_body(warm_cache: Path) -> None:
    code = dict(VICTIMS + POISONERS)
    plain = [record(rid, answer(code[rid])) for rid in ("victim-borrowck", "poison-type-error", "victim-clean")]
    single = {r.id: _entry(x) for r, x in zip(plain, _check(plain, "single"), strict=True)}
    batched, states = _batch_states(plain)
    assert batched == single
    assert states == {"done": 2, "again": 1}  # both failures decided in the batch; the pass is checked again
    assert batched["victim-borrowck"]["verdict"] == "fail"
    # A neighbour's fatal error (trait overflow) stops rustc before borrow checking: the victim's
    # type error comes, its borrow error never does, and the canary is silent.
    two_phases = 'pub fn a() -> u32 {\n    "x"\n}\n' + code["victim-borrowck"]
    fatal = [record("victim-two-phases", answer(two_phases)),
             record("poison-trait-overflow", answer(code["poison-trait-overflow"]))]  # fmt: skip
    single = {r.id: _entry(x) for r, x in zip(fatal, _check(fatal, "single"), strict=True)}
    assert {"E0308", "E0382"} <= {d["code"] for d in single["victim-two-phases"]["diagnostics"]}
    batched, states = _batch_states(fatal)
    assert batched == single and states["done"] == 0


@pytest.mark.cargo
def test_an_error_listing_a_traits_implementors_is_read_alone(warm_cache: Path) -> None:
    # "and 46 others" alone; beside a neighbour that loads serde_json (which implements FromStr), 49.
    victim = "use std::str::FromStr;\nfn need<T: FromStr>() {}\npub fn f() {\n    need::<std::time::Instant>();\n}"
    loads = "pub fn g() -> serde_json::Value {\n    serde_json::json!({\"a\": 1})\n}"
    records = [record("victim-implementors", answer(victim), "axum"), record("loads-serde-json", answer(loads), "axum"),
               record("type-error", answer("pub fn h() -> u32 { \"no\" }"), "axum")]  # fmt: skip
    single = {r.id: _entry(x) for r, x in zip(records, _check(records, "single"), strict=True)}
    assert "and 46 others" in (single["victim-implementors"]["diagnostics"][0]["rendered"] or "")
    batched, states = _batch_states(records)
    assert batched == single and states["alone"] == 1 and states["done"] == 1  # the type error is read from the batch


def _real_text() -> list[Record]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from real_text import load_rows, record_of

    folder = Path(__file__).resolve().parents[1] / "bench" / "real_text"
    return [record_of(row) for row in load_rows(sorted(folder.glob("*.jsonl")))]


@pytest.mark.cargo
def test_batched_entries_equal_single_entries_on_answers_nobody_here_wrote(
    warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/real_text: 86 answers taken verbatim from books, READMEs and docs (48 pass, 37 fail)."""
    records = _real_text()
    assert len(records) >= 80
    _assert_same_entries(records, 7, 12, monkeypatch)


@pytest.mark.cargo
def test_a_batch_past_its_window_sends_every_member_alone_with_its_full_time(
    warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [record(rid, answer(code)) for rid, code in VICTIMS[:4]]
    single = {r.id: _entry(x) for r, x in zip(records, _check(records, "single"), strict=True)}
    seen: list[float] = []
    real = node.check_modules

    def spy(sources: Any, warm: Any, toolchain: Any, manifest: str, limits: Any, *rest: Any, **kw: Any) -> Any:
        seen.append(limits.timeout_s)
        return real(sources, warm, toolchain, manifest, limits, *rest, **kw)

    monkeypatch.setattr(node, "check_modules", spy)
    monkeypatch.setattr(batching, "WINDOW_S", 0.0)
    monkeypatch.setattr(batching, "WINDOW_PER_MEMBER_S", 0.0005)  # no rustc finishes in 2 ms
    batched, states = _batch_states(records)
    assert seen == [pytest.approx(0.002)] and states == {"alone": 4}
    assert batched == single  # the singles ran with the sample's own 60 s, not the batch's window
    monkeypatch.setattr(batching, "WINDOW_S", 10.0)
    monkeypatch.setattr(batching, "WINDOW_PER_MEMBER_S", 2.0)
    seen.clear()
    _batch_states(records)
    assert seen and seen[0] == pytest.approx(18.0)  # 10 s + 2 s a member, under the sample's 60 s


@pytest.mark.cargo
def test_clean_members_of_several_batches_with_errors_share_their_second_batch(
    warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two first batches of four, each with a type error: their six clean members (late lints
    # unread) are pooled into full second batches, not batched again three by three.
    codes = [f'pub fn bad{b}() -> u32 {{ "no" }}' if i == 0 else f"pub fn f{b}{i}() -> u32 {{ {i} }}"
             for b in range(2) for i in range(4)]  # fmt: skip
    records = [record(f"r{n}", answer(code)) for n, code in enumerate(codes)]
    single = {r.id: _entry(x) for r, x in zip(records, _check(records, "single"), strict=True)}
    batches: list[set[str]] = []
    real = node.check_modules

    def spy(sources: list[CrateSource], *rest: Any, **kw: Any) -> Any:
        batches.append({next(iter(s.files.values())) for s in sources})
        return real(sources, *rest, **kw)

    monkeypatch.setattr(node, "check_modules", spy)
    monkeypatch.setattr(batching, "MAX_MEMBERS", 4)
    batched, states = _batch_states(records)
    assert batched == single
    assert [len(b) for b in batches] == [4, 4, 4, 2] and states == {"done": 8, "again": 6}
    first_a, first_b, pooled = batches[0], batches[1], batches[2]
    assert pooled & first_a and pooled & first_b  # the second batch holds clean members of both
