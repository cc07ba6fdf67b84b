"""A verdict in a row is a claim, not a proof (issue 20, item 5): ``build`` re-derives each compile
verdict through the ledger (no compile when the ledger has it), and a row whose claim disagrees
with the gate is dropped as forged; a row whose claim holds is kept. Real rustc, real ledger."""

from __future__ import annotations

import json
from pathlib import Path

from data_fixtures import bad_code, distinct_code, row, write_rows
from test_cli_check import rustgate

from rustgate.ledger import Ledger


def _config(root: Path, *, trust: bool = False) -> Path:
    config = root / "build.toml"
    config.write_text(
        f'[build]\ninputs = ["gated.jsonl"]\noutput = "out"\nledger = "l.db"\nseed = 3\n'
        f"trust_row_verdicts = {'true' if trust else 'false'}\n[build.split]\ntest = 1\n"
        "[build.dedupe]\nexact = false\nnear = false\n"
    )
    return config


def _kept(root: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for name in ("train.jsonl", "test.jsonl") for line in (root / "out" / name).open()]
    return {r["id"]: r for r in rows}


def _gate_then_flip(root: Path) -> Path:
    """Rows gated by a real ``check``; then ``bad-1``'s fail is hand-edited to a pass."""
    answers = write_rows(
        root / "answers.jsonl",
        [*(row(f"good-{i}", distinct_code(9400 + i)) for i in range(4)), row("bad-1", bad_code(94))],
    )
    done = rustgate("check", str(answers), "-o", str(root / "checked.jsonl"), "--ledger", str(root / "l.db"))
    assert done.returncode == 1, done.stderr
    lines = []
    for line in (root / "checked.jsonl").read_text().splitlines():
        data = json.loads(line)
        if data["id"] == "bad-1":
            assert data["gates"]["compile"]["verdict"] == "fail"
            data["gates"]["compile"]["verdict"] = "pass"  # the forgery: content and its hash untouched
            data["gates"]["compile"]["diagnostics"] = []
        lines.append(json.dumps(data))
    (root / "gated.jsonl").write_text("\n".join(lines) + "\n")
    return root / "gated.jsonl"


def test_a_flipped_verdict_is_dropped_as_forged_and_the_true_ones_cost_no_compile(
    warm_cache: Path, tmp_path: Path
) -> None:
    _gate_then_flip(tmp_path)
    with Ledger(tmp_path / "l.db") as ledger:
        before = ledger.count("gate_results")
    done = rustgate("build", str(_config(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "forged 1" in done.stdout, done.stdout
    kept = _kept(tmp_path)
    assert sorted(kept) == [f"good-{i}" for i in range(4)]
    with Ledger(tmp_path / "l.db") as ledger:
        assert ledger.count("gate_results") == before  # every verdict came from the ledger
    card = (tmp_path / "out" / "README.md").read_text()
    assert "bad-1" in card and "forged" in card


def test_trusting_row_verdicts_is_an_explicit_choice(warm_cache: Path, tmp_path: Path) -> None:
    _gate_then_flip(tmp_path)
    done = rustgate("build", str(_config(tmp_path, trust=True)))
    assert done.returncode == 0, done.stderr
    assert "bad-1" in _kept(tmp_path)  # what the opt-out means: the row's word is taken


def test_claims_the_ledger_never_saw_are_compiled_and_held_to_the_result(warm_cache: Path, tmp_path: Path) -> None:
    """A shared dataset from elsewhere: every row claims ``pass`` with its own content hash, and the
    ledger is empty. The true claims are confirmed by compiling; the false ones dropped as forged,
    a claimed ``fail`` of correct code included."""
    from rustgate.records import GateResult, Record

    def claimed(rid: str, code: str, verdict: str) -> dict[str, object]:
        record = Record.model_validate(row(rid, code))
        result = GateResult(gate="compile", verdict=verdict, version="3",  # type: ignore[arg-type]
                            content_hash=record.content_hash())  # fmt: skip
        return record.with_gate(result).to_row(with_gates=True)

    write_rows(
        tmp_path / "gated.jsonl",
        [
            claimed("true-pass", distinct_code(9501), "pass"),
            claimed("true-pass-2", distinct_code(9502), "pass"),
            claimed("false-pass", bad_code(95), "pass"),
            claimed("false-fail", distinct_code(9503), "fail"),
        ],
    )
    done = rustgate("build", str(_config(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "forged 2" in done.stdout, done.stdout
    kept = _kept(tmp_path)
    assert sorted(kept) == ["true-pass", "true-pass-2"]
    for record in kept.values():  # the dataset carries the gate's own verdict, not the claim
        compile_gate = record["gates"]["compile"]  # type: ignore[index]
        assert compile_gate["verdict"] == "pass" and compile_gate["details"]["profile"] == "rust"  # type: ignore[index]
