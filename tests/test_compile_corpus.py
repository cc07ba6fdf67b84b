"""The compile gate against real cargo and real crates: every corpus sample's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import ALL, AXUM, LEPTOS, RIG, RUST, Sample

from rustgate.gates.compile import CompileGate
from rustgate.records import GateResult, Record

pytestmark = pytest.mark.cargo

SECRET = "hunter2-do-not-leak"


def _records(samples: list[Sample]) -> list[Record]:
    return [Record.model_validate(s.row()) for s in samples]


@pytest.fixture(scope="module")
def corpus_results(warm_cache: Path) -> dict[str, GateResult]:
    mp = pytest.MonkeyPatch()
    mp.setenv("RUSTGATE_TEST_SECRET", SECRET)
    try:
        samples = [s for s in ALL if s.id != "hostile-macro-bomb"]
        results = CompileGate(timeout_s=60).check(_records(samples))
    finally:
        mp.undo()
    return {s.id: r for s, r in zip(samples, results, strict=True)}


def test_corpus_has_enough_samples_per_framework() -> None:
    for group in (AXUM, LEPTOS, RIG):
        assert len(group) >= 8
        assert {s.expect for s in group} >= {"pass", "fail"}


@pytest.mark.parametrize("sample", [s for s in ALL if s.id != "hostile-macro-bomb"], ids=lambda s: s.id)
def test_sample_verdict(sample: Sample, corpus_results: dict[str, GateResult]) -> None:
    result = corpus_results[sample.id]
    assert result.verdict == sample.expect, (sample.why, result.reason, [d.short() for d in result.diagnostics])
    if sample.code:
        assert sample.code in {d.code for d in result.diagnostics}
    if result.verdict == "fail":
        first = next(d for d in result.diagnostics if d.level.startswith("error"))
        assert first.message
        if first.code and first.code.startswith("E"):
            assert first.line is not None and first.line >= 1


def test_results_carry_toolchain_and_profile(corpus_results: dict[str, GateResult]) -> None:
    result = corpus_results["axum-good-path-param"]
    assert result.details["profile"] == "axum"
    assert result.details["toolchain"].startswith("rustc ")
    assert corpus_results["rig-good-agent"].details["profile"] == "rig"


def test_diagnostics_point_into_the_sample(corpus_results: dict[str, GateResult]) -> None:
    result = corpus_results["rig-bad-system-prompt"]
    diag = next(d for d in result.diagnostics if d.code == "E0599")
    assert "system_prompt" in diag.message
    assert (diag.file, diag.line) == ("src/lib.rs", 6)
    assert diag.rendered and "system_prompt" in diag.rendered
    keys = [(d.level, d.code, d.message, d.line, d.column) for d in result.diagnostics]
    assert len(keys) == len(set(keys)), "diagnostics are de-duplicated"


def test_compile_time_environment_is_scrubbed(corpus_results: dict[str, GateResult]) -> None:
    leaked = corpus_results["hostile-env-secret"]
    assert leaked.verdict == "fail"
    assert "RUSTGATE_TEST_SECRET" in (leaked.reason or "")
    assert all(SECRET not in (d.rendered or "") + d.message for d in leaked.diagnostics)


def test_sample_build_script_never_runs(corpus_results: dict[str, GateResult]) -> None:
    assert corpus_results["hostile-build-script"].verdict == "pass"
    assert not Path("/tmp/rustgate-pwned").exists()


def test_profile_guessed_from_use_paths(warm_cache: Path) -> None:
    sample = next(s for s in RIG if s.id == "rig-good-agent")
    row = sample.row()
    del row["crate"]
    (result,) = CompileGate().check([Record.model_validate(row)])
    assert result.verdict == "pass"
    assert result.details["profile"] == "rig"


def test_replay_agrees_with_cargo_batch(warm_cache: Path) -> None:
    """Design (a), rustc replay, must give the verdicts real `cargo check` gives (design b)."""
    samples = [s for s in AXUM + LEPTOS + RIG + RUST]
    records = _records(samples)
    replay = CompileGate(method="replay").check(records)
    batch = CompileGate(method="batch").check(records)
    for sample, a, b in zip(samples, replay, batch, strict=True):
        assert a.verdict == b.verdict, sample.id
        codes_a = {d.code for d in a.diagnostics if d.level == "error"}
        codes_b = {d.code for d in b.diagnostics if d.level == "error"}
        assert codes_a == codes_b, sample.id


def test_batch_mode_checks_every_target_of_a_sample(warm_cache: Path) -> None:
    """A batch package holds one target per sample: a library with a broken binary is replayed
    whole, so `method="batch"` fails it as the replay does (it used to check the library only)."""
    answer = (
        "```rust\n// src/lib.rs\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```\n\n"
        "```rust\n// src/main.rs\nuse calc::add;\n\nfn main() {\n"
        "    let sum: <ty> = add(1, 2);\n    println!(\"{sum}\");\n}\n```\n"
    )
    rows = [
        {"id": f"lib-bin-{ty}", "crate": "rust", "messages": [
            {"role": "user", "content": "Add two numbers."},
            {"role": "assistant", "content": answer.replace("<ty>", ty)},
        ]}
        for ty in ("i32", "String")
    ]  # fmt: skip
    records = [Record.model_validate(r) for r in rows]
    for method in ("replay", "batch"):
        good, broken = CompileGate(method=method).check(records)  # type: ignore[arg-type]
        assert good.verdict == "pass", (method, good.reason)
        assert broken.verdict == "fail" and "E0308" in {d.code for d in broken.diagnostics}, (method, broken.reason)
