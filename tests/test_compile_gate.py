"""The compile gate's promises beyond verdicts: cache, limits, runaways, infrastructure errors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from corpus import HOSTILE, RUST, Sample

from rustgate.cargo import toolchain as toolchain_module
from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import Record

pytestmark = pytest.mark.cargo


def _record(sample: Sample, record_id: str | None = None) -> Record:
    row = sample.row()
    if record_id:
        row["id"] = record_id
    return Record.model_validate(row)


def _by_id(samples: list[Sample], sample_id: str) -> Sample:
    return next(s for s in samples if s.id == sample_id)


GOOD = _by_id(RUST, "rust-good-iter")
BAD = _by_id(RUST, "rust-bad-borrow")
BOMB = _by_id(HOSTILE, "hostile-macro-bomb")


def test_second_run_is_served_from_the_ledger(warm_cache: Path, ledger_path: Path) -> None:
    records = [_record(GOOD), _record(BAD)]
    with Ledger(ledger_path) as ledger:
        first = CompileGate(ledger=ledger).check(records)
        assert [r.cached for r in first] == [False, False]
        assert ledger.count("gate_results") == 2
        second = CompileGate(ledger=ledger).check(records)
    assert [r.cached for r in second] == [True, True]
    assert [r.verdict for r in second] == ["pass", "fail"]
    assert second[1].diagnostics == first[1].diagnostics


def test_same_code_under_another_id_hits_the_cache(warm_cache: Path, ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        CompileGate(ledger=ledger).check([_record(GOOD)])
        (again,) = CompileGate(ledger=ledger).check([_record(GOOD, "renamed")])
    assert again.cached and again.verdict == "pass"


def test_no_cache_bypasses_the_ledger(warm_cache: Path, ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        CompileGate(ledger=ledger, use_cache=False).check([_record(GOOD)])
        assert ledger.count("gate_results") == 0


def test_cache_is_shared_by_concurrent_runs(warm_cache: Path, ledger_path: Path) -> None:
    """Two ledgers on one file (two processes' worth of connections) write without conflict."""
    samples = [_record(GOOD, f"g{i}") for i in range(3)] + [_record(BAD)]
    with Ledger(ledger_path) as one, Ledger(ledger_path) as two:

        async def both() -> None:
            await asyncio.gather(CompileGate(ledger=one).evaluate(samples), CompileGate(ledger=two).evaluate(samples))

        asyncio.run(both())
        assert one.count("gate_results") == 2


def test_runaway_sample_times_out_without_costing_the_others(warm_cache: Path) -> None:
    records = [_record(BOMB), _record(GOOD), _record(BAD)]
    started = time.monotonic()
    results = CompileGate(timeout_s=3, jobs=2).check(records)
    assert [r.verdict for r in results] == ["timeout", "pass", "fail"]
    assert results[0].duration_s < 30
    assert time.monotonic() - started < 60


def test_memory_limit_fails_the_sample(warm_cache: Path) -> None:
    (result,) = CompileGate(timeout_s=120, memory_mb=1024).check([_record(BOMB)])
    assert result.verdict == "fail"
    assert result.diagnostics[0].code == "RG-MEMORY"


def test_missing_toolchain_is_an_error_not_a_verdict(warm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toolchain_module.detect_toolchain.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("RUSTC", raising=False)
    monkeypatch.delenv("CARGO", raising=False)
    try:
        results = CompileGate().check([_record(GOOD), _record(BAD)])
    finally:
        toolchain_module.detect_toolchain.cache_clear()
    assert [r.verdict for r in results] == ["error", "error"]
    assert "rustc not found" in (results[0].reason or "")


def test_cold_profile_without_warm_up_is_an_error(tmp_path: Path) -> None:
    gate = CompileGate(warm_missing=False, cache_root=tmp_path / "empty")
    (result,) = gate.check([_record(GOOD)])
    assert result.verdict == "error"
    assert "rustgate warm" in (result.reason or "")


def test_errors_are_never_cached(tmp_path: Path, ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        CompileGate(warm_missing=False, cache_root=tmp_path / "empty", ledger=ledger).check([_record(GOOD)])
        assert ledger.count("gate_results") == 0


def test_gate_attaches_results_to_records(warm_cache: Path) -> None:
    gated = asyncio.run(CompileGate().apply([_record(GOOD), _record(BAD)]))
    assert gated[0].gates["compile"].verdict == "pass"
    assert gated[1].passed(["compile"]) is False


def test_concurrent_warm_ups_of_one_profile_take_turns(tmp_path: Path) -> None:
    """Two processes warming the same cold profile: both end warm, neither breaks the other."""
    import subprocess
    import sys

    base = tmp_path / "cache"
    script = (
        "import sys; from pathlib import Path\n"
        "from rustgate.cargo.templates import get_profile\n"
        "from rustgate.cargo.toolchain import detect_toolchain\n"
        "from rustgate.cargo.warm import warm_profile\n"
        "w = warm_profile(get_profile('rust'), detect_toolchain(), Path(sys.argv[1]))\n"
        "print(w.argv[w.argv.index('--crate-name') + 1])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(base)], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == ["rustgate_probe", "rustgate_probe"]
    (result,) = CompileGate(cache_root=base, warm_missing=False).check([_record(GOOD)])
    assert result.verdict == "pass"
