"""At 100k records: unchanged lines are not parsed again, remembered outcomes never outlive their
context, errors are never remembered, and ``check`` streams its input in chunks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from data_fixtures import bad_code, distinct_code, row, write_rows

import rustgate.hook as hook
from rustgate.cargo.templates import load_profiles
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.cli.main import main as rustgate_main
from rustgate.data.jsonl import parse_line
from rustgate.gates import compile as compile_module
from rustgate.gates.compile import CompileGate, CompileSettings
from rustgate.hook import Outcome, validate
from rustgate.ledger import Ledger
from rustgate.records import Record

pytestmark = pytest.mark.cargo
MP = pytest.MonkeyPatch

PROSE = {
    "id": "prose",
    "messages": [{"role": "user", "content": "Explain."}, {"role": "assistant", "content": "No code here."}],
}


def _dataset(path: Path, base: int = 100) -> Path:
    return write_rows(
        path,
        [*(row(f"ok-{i}", distinct_code(base + i)) for i in range(5)), row("bad", bad_code(base)), PROSE,
         '{"id": "cut-off", '],
    )  # fmt: skip


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the lines the hook parses (the real parser runs)."""
    parsed: list[int] = []

    def counted(raw: bytes, file: str, line: int) -> Any:
        parsed.append(line)
        return parse_line(raw, file, line)

    monkeypatch.setattr(hook, "parse_line", counted)
    return parsed


def _printed(outcome: Outcome) -> list[str]:
    return [str(f) for f in outcome.findings]


def test_unchanged_lines_are_not_parsed_again(warm_cache: Path, tmp_path: Path, monkeypatch: MP) -> None:
    data = _dataset(tmp_path / "d.jsonl")
    settings = CompileSettings(jobs=2)
    parsed = _counting(monkeypatch)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        first = validate([data], ledger=ledger, compile_settings=settings)
        assert len(parsed) == 8 and (first.compiled, first.cached) == (6, 0)
        parsed.clear()
        again = validate([data], ledger=ledger, compile_settings=settings)
        assert parsed == [] and (again.records, again.compiled, again.cached) == (8, 0, 8)
        assert _printed(again) == _printed(first) and len(first.findings) == 3
        # One line edited: only it is read again, and its new verdict is found.
        lines = data.read_text().splitlines()
        lines[1] = json.dumps(row("ok-1", bad_code(999)))
        data.write_text("\n".join(lines) + "\n")
        edited = validate([data], ledger=ledger, compile_settings=settings)
    assert parsed == [2] and (edited.compiled, edited.cached) == (1, 7)
    assert f"{data}:2: ok-1: fail: " in "\n".join(_printed(edited))
    assert len(edited.findings) == 4


def test_a_repeated_id_beside_unchanged_lines_is_still_found(warm_cache: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", [row(f"r-{i}", distinct_code(200 + i)) for i in range(3)])
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        assert validate([data], ledger=ledger).ok
        with data.open("a") as handle:
            handle.write(json.dumps(row("r-0", distinct_code(299))) + "\n")
        other = write_rows(tmp_path / "e.jsonl", [row("r-1", distinct_code(298))])
        outcome = validate([data, other], ledger=ledger)
    assert _printed(outcome) == [
        f"{data}:4: r-0: schema: duplicate id (first seen on line 1)",
        f"{other}:1: r-1: schema: duplicate id (also at {data}:2)",
    ]
    assert outcome.cached == 3


def _contexts(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], None]]:
    """Each thing outside a line that can change its outcome, changed alone."""
    toolchain = detect_toolchain()
    profiles = load_profiles()

    def other_toolchain() -> None:
        changed = dataclasses.replace(toolchain, verbose_version=toolchain.verbose_version + "\nLLVM version: 99")
        monkeypatch.setattr(compile_module, "detect_toolchain", lambda: changed)

    def other_lockfile() -> None:
        rust = dataclasses.replace(profiles["rust"], lock_text=profiles["rust"].lock_text + "\n# edited\n")
        monkeypatch.setattr(compile_module, "load_profiles", lambda: {**profiles, "rust": rust})

    return {
        "toolchain": other_toolchain,
        "lockfile": other_lockfile,
        "gate version": lambda: monkeypatch.setattr(CompileGate, "version", "99"),
        "rustgate code": lambda: monkeypatch.setattr(compile_module, "code_fingerprint", lambda: "edited"),
    }


@pytest.mark.parametrize("change", ["toolchain", "lockfile", "gate version", "rustgate code"])
def test_the_context_covers_what_decides_a_verdict(warm_cache: Path, monkeypatch: MP, change: str) -> None:
    before = CompileGate().context()
    assert before is not None
    _contexts(monkeypatch)[change]()
    assert CompileGate().context() != before


def test_limits_and_sandbox_are_in_the_context(warm_cache: Path) -> None:
    base = CompileGate().context()
    assert base is not None and base["backend"] in ("bwrap", "namespaces")
    assert CompileGate(timeout_s=30).context() != base
    assert CompileGate(memory_mb=2048).context() != base
    assert CompileGate(sandbox="none").context() != base
    assert CompileGate(max_answer_bytes=4096).context() != base
    assert CompileGate(jobs=1).context() == base  # how fast is no part of it


def test_a_new_context_reads_every_line_again(warm_cache: Path, tmp_path: Path, monkeypatch: MP) -> None:
    data = _dataset(tmp_path / "d.jsonl", base=300)
    parsed = _counting(monkeypatch)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        first = validate([data], ledger=ledger)
        parsed.clear()
        # A longer time limit: every line is read again; the compile cache still serves the code.
        longer = validate([data], ledger=ledger, compile_settings=CompileSettings(timeout_s=90))
        assert len(parsed) == 8 and longer.compiled == 0
        parsed.clear()
        _contexts(monkeypatch)["gate version"]()
        bumped = validate([data], ledger=ledger)
    assert len(parsed) == 8 and bumped.compiled == 6  # a new gate version: a new cache key too
    assert _printed(bumped) == _printed(longer) == _printed(first)


def test_errors_are_never_remembered(warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rustgate.cargo import module_batch
    from rustgate.executors import node

    data = write_rows(tmp_path / "d.jsonl", [row(f"e-{i}", distinct_code(400 + i)) for i in range(3)])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("rustc: exec format error")

    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        with monkeypatch.context() as patch:
            patch.setattr(node, "check_replay", broken)
            patch.setattr(module_batch, "run_limited", broken)  # the batched replay's rustc fails the same way
            failing = validate([data], ledger=ledger)
        assert {f.verdict for f in failing.findings} == {"error"} and len(failing.findings) == 3
        parsed = _counting(monkeypatch)
        recovered = validate([data], ledger=ledger)
    assert parsed == [1, 2, 3] and recovered.ok and recovered.compiled == 3


def test_check_reuses_what_extraction_made_of_unchanged_content(
    warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [Record.model_validate(r) for r in (row("x-1", distinct_code(500)), row("x-2", bad_code(500)), PROSE)]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        first = CompileGate(ledger=ledger).check(records)
        extracted: list[str] = []
        real = compile_module.extract_crate
        monkeypatch.setattr(
            compile_module, "extract_crate", lambda r, *a, **k: extracted.append(r.id) or real(r, *a, **k)
        )
        again = CompileGate(ledger=ledger).check(records)
        assert extracted == []
        assert [r.model_dump(exclude={"cached"}) for r in again] == [r.model_dump(exclude={"cached"}) for r in first]
        assert [r.cached for r in again] == [True, True, False]  # a rejection is no compile
        edited = records[0].model_copy(update={"id": "x-3"})
        CompileGate(ledger=ledger, timeout_s=5).check([edited])  # other limits: another memo
        assert extracted == ["x-3"]


def test_check_streams_in_chunks(warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rustgate.cli import check

    data = _dataset(tmp_path / "d.jsonl", base=600)
    ledger = str(tmp_path / "ledger.sqlite3")
    outputs = []
    for chunk in (check.CHUNK, 2):
        monkeypatch.setattr(check, "CHUNK", chunk)
        report, gated = tmp_path / f"r{chunk}.json", tmp_path / f"g{chunk}.jsonl"
        code = rustgate_main(["check", str(data), "--ledger", ledger, "--report-json", str(report), "-o", str(gated)])
        assert code == 2  # the cut-off line is an input error; every other record is still checked
        payload = json.loads(report.read_text())
        payload["summary"].pop("wall_s")
        payload["summary"].pop("cached")  # the second run is served from the ledger
        for record in payload["records"]:
            record.pop("duration_s")
            record.pop("cached")
        outputs.append((payload, [json.loads(line)["gates"]["compile"]["verdict"] for line in gated.open()]))
    assert outputs[0] == outputs[1]
    assert outputs[0][1] == ["pass"] * 5 + ["fail", "rejected"]
    assert outputs[0][0]["summary"]["records"] == 7


def test_the_hook_reads_in_chunks(warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _dataset(tmp_path / "d.jsonl", base=700)
    whole = validate([data], ledger=Ledger(":memory:"))
    monkeypatch.setattr(hook, "CHUNK", 2)
    chunked = validate([data], ledger=Ledger(":memory:"))
    assert _printed(chunked) == _printed(whole) and chunked.compiled == whole.compiled == 6


def _reference(ledger_path: Path, tmp_path: Path, paths: list[Path]) -> Outcome:
    """The same check with the memo emptied (the compile cache kept): what every line says read afresh."""
    import shutil
    import sqlite3
    import tempfile

    copy = Path(tempfile.mkdtemp(dir=tmp_path)) / "reference.sqlite3"
    shutil.copyfile(ledger_path, copy)  # the ledger is closed: its WAL is checkpointed into the file
    db = sqlite3.connect(copy)
    db.execute("DELETE FROM memo_files")
    db.commit()
    db.close()
    with Ledger(copy) as ledger:
        return validate(paths, ledger=ledger)


def test_after_any_edit_the_memo_says_what_a_fresh_read_says(
    warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    import rustgate.linescan as linescan

    monkeypatch.setattr(linescan, "ends_group", lambda digest: digest[0] < 24)  # many small groups
    rng = random.Random(7)
    lines = []
    for i in range(240):
        kind = i % 8
        if kind == 0:
            lines.append(json.dumps(row(f"c-{i}", distinct_code(800 + i % 3))))
        elif kind == 1:
            lines.append(json.dumps(row(f"b-{i}", bad_code(800))))
        elif kind == 2:
            lines.append(json.dumps({**PROSE, "id": f"p-{i}"}) + "\r")
        elif kind == 3:
            lines.append("")
        elif kind == 4:
            lines.append(f'{{"id": "cut-{i}", ')
        else:
            lines.append(json.dumps({**PROSE, "id": f"q-{i}"}))
    data, other = tmp_path / "d.jsonl", tmp_path / "e.jsonl"
    other.write_text(json.dumps({**PROSE, "id": "q-5"}) + "\n")  # q-5 is in d.jsonl too, later on
    ledger_path = tmp_path / "ledger.sqlite3"
    parsed = _counting(monkeypatch)
    for round_no in range(8):
        data.write_text("\n".join(lines) + ("\n" if round_no % 3 else ""))
        parsed.clear()
        with Ledger(ledger_path) as ledger:
            outcome = validate([other, data], ledger=ledger)
        read_again = len(parsed)
        expected = _reference(ledger_path, tmp_path, [other, data])
        assert _printed(outcome) == _printed(expected)
        assert (outcome.records, expected.compiled) == (expected.records, 0)
        if round_no:
            assert read_again < len(lines) / 3  # mostly served by the memo
        at = rng.randrange(len(lines))
        edit = round_no % 4
        if edit == 0:  # a block copied elsewhere: its ids repeat
            lines[rng.randrange(len(lines)) : 0] = lines[at : at + 5]
        elif edit == 1:  # a block moved
            block = lines[at : at + 20]
            del lines[at : at + 20]
            lines[rng.randrange(len(lines)) : 0] = block
        elif edit == 2:  # lines removed, and one edited to fail
            del lines[at : at + 3]
            lines[at % len(lines)] = json.dumps(row(f"x-{round_no}", bad_code(801)))
        else:  # new lines, one of them reusing an id seen further down
            lines[at:at] = [json.dumps({**PROSE, "id": f"n-{round_no}"}), json.dumps({**PROSE, "id": "q-237"})]


def test_a_line_too_long_to_hold_is_an_error_and_memory_stays_bounded(warm_cache: Path, tmp_path: Path) -> None:
    import tracemalloc

    from rustgate.data.jsonl import MAX_LINE_BYTES, iter_lines

    data = tmp_path / "d.jsonl"
    with data.open("w") as handle:
        handle.write(json.dumps(row("before", distinct_code(950))) + "\n")
        handle.write('{"id": "huge", "pad": "' + "x" * (3 * MAX_LINE_BYTES) + '"}\n')
        handle.write(json.dumps(row("after", distinct_code(951))) + "\n")
    huge = 3 * MAX_LINE_BYTES + len('{"id": "huge", "pad": ""}') + 1
    expected = f"{data}:2: <no id>: schema: a line of {huge} bytes, over the 16 MiB limit for one record: not read"
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        for _ in range(2):  # read afresh, then with the other lines remembered
            tracemalloc.start()
            outcome = validate([data], ledger=ledger)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert _printed(outcome) == [expected]
            assert outcome.records == 3 and peak < 2.5 * MAX_LINE_BYTES
        assert outcome.cached == 2  # the two good lines; the long one is read past again, never kept
    tracemalloc.start()
    rows = list(iter_lines(data))  # what check and build read through
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    read_error = expected.replace(": schema: ", ": ")  # an InputError names no verdict
    assert [str(r) if not hasattr(r, "record") else r.record.id for r in rows] == ["before", read_error, "after"]
    assert peak < 2.5 * MAX_LINE_BYTES
