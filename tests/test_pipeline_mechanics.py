"""Pipeline mechanics against the local server: order and skipping, the repair loop, cache hits,
budget stop, faults, existing datasets. A small real gate (``MarkerGate``) stands in the compile
slot here; the real compile gate runs in ``test_pipeline_cargo.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from llm_helpers import MarkerGate, make_client, sample_record

from rustgate.gates.generate import Generator, load_topics, make_specs
from rustgate.gates.judge import JudgeGate
from rustgate.ledger import Ledger
from rustgate.llm import Accounting, RetryPolicy
from rustgate.pipeline import Pipeline
from rustgate.records import GateResult, Record
from rustgate.testing.llm_server import LLMServer, Reply

pytest_plugins = ["llm_fixtures"]
pytestmark = pytest.mark.usefixtures("api_keys")

GOOD = "Add them:\n\n```rust\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```\n"
BROKEN = "Add them:\n\n```rust\npub fn add(a: i32, b: i32) -> i32 {\n    BROKEN\n}\n```\n"


def pair(answer: str, instruction: str = "Write an add function for the API.", when: str | None = None) -> Reply:
    return Reply.ok_data({"instruction": instruction, "answer": answer}, when=when)


def build(server: LLMServer, ledger: Ledger, out: Path, n: int = 3, **kw: object) -> Pipeline:
    specs = make_specs("axum", load_topics("axum")[:n])
    generator = Generator(make_client(server, ledger))
    judge = JudgeGate(make_client(server, ledger, "openai"))
    kw.setdefault("repair_gate", "marker")
    return Pipeline(
        [MarkerGate(), judge], generator=generator, specs=specs, output=out, ledger=ledger, progress=False, **kw
    )  # type: ignore[arg-type]


def rows(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_generate_gate_judge_writes_every_record_with_provenance(
    llm_server: LLMServer, ledger: Ledger, tmp_path: Path
) -> None:
    summary = build(llm_server, ledger, tmp_path / "out.jsonl").run()
    out = rows(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == ["axum-router-basics-00", "axum-path-params-00", "axum-query-extractor-00"]
    assert all(r["gates"]["judge"]["verdict"] == "pass" and r["gates"]["marker"]["verdict"] == "pass" for r in out)
    prov = out[0]["meta"]["provenance"]
    assert prov["model"] == "anthropic:test-model" and prov["attempt"] == 0 and len(prov["prompt_hash"]) == 12
    assert summary.accepted == 3 and summary.done == 3 and not summary.errors
    assert llm_server.request_count == 6  # 3 generations + 3 judgements
    assert summary.cost_per_accepted is not None and summary.cost_per_accepted > 0
    saved = json.loads((tmp_path / "out.summary.json").read_text())
    assert saved["accounting"]["by_gate"]["judge"]["openai:test-model"]["calls"] == 3


def test_judge_only_what_passes_the_gate_before_it(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    llm_server.script(pair(BROKEN, "Write add, a broken one."))
    summary = build(llm_server, ledger, tmp_path / "o.jsonl", repair_attempts=0).run()
    verdicts = {r["id"]: {g: v["verdict"] for g, v in r["gates"].items()} for r in rows(tmp_path / "o.jsonl")}
    failed = [rid for rid, v in verdicts.items() if v["marker"] == "fail"]
    assert len(failed) == 1 and "judge" not in verdicts[failed[0]]
    assert summary.skipped["judge"] == 1 and summary.accepted == 2
    assert llm_server.request_count == 5  # the judge call for the failing record was saved


def test_repair_loop_feeds_diagnostics_back_until_it_passes(
    llm_server: LLMServer, ledger: Ledger, tmp_path: Path
) -> None:
    llm_server.script(
        pair(BROKEN, "Write add, first try."),
        pair(BROKEN, "Write add, still broken.", when="attempt 1"),
        pair(GOOD, when="attempt 2"),
    )
    summary = build(llm_server, ledger, tmp_path / "o.jsonl", n=1, repair_attempts=2).run()
    (record,) = rows(tmp_path / "o.jsonl")
    assert record["gates"]["marker"]["verdict"] == "pass" and record["gates"]["judge"]["verdict"] == "pass"
    assert record["meta"]["provenance"]["attempt"] == 2
    assert [r["verdict"] for r in record["meta"]["repairs"]] == ["fail", "fail"]
    assert "cannot find value `BROKEN`" in record["meta"]["repairs"][0]["diagnostics"][0]
    repair_prompt = llm_server.requests[2].last_user
    assert "attempt 2" in repair_prompt and "E0425" in repair_prompt
    assert (summary.repairs_tried, summary.repairs_fixed) == (2, 1)


def test_repairs_stop_after_k_attempts(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    llm_server.script(*[pair(BROKEN) for _ in range(3)])
    summary = build(llm_server, ledger, tmp_path / "o.jsonl", n=1, repair_attempts=2).run()
    (record,) = rows(tmp_path / "o.jsonl")
    assert record["gates"]["marker"]["verdict"] == "fail" and len(record["meta"]["repairs"]) == 2
    assert summary.accepted == 0 and summary.skipped["judge"] == 1


def test_rerun_costs_nothing(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    build(llm_server, ledger, tmp_path / "a.jsonl").run()
    before = llm_server.request_count
    again = build(llm_server, ledger, tmp_path / "a.jsonl").run()  # same run: resumed from the ledger
    # The same stages and items written elsewhere are the same run (a run id never depends on where
    # it writes): its finished records resume into the new output, and no call is made.
    other = build(llm_server, ledger, tmp_path / "b.jsonl").run()
    assert llm_server.request_count == before
    assert again.resumed == 3 and other.resumed == 3 and other.accepted == 3
    assert other.accounting["spent_usd"] == 0

    def essence(path: Path) -> list[tuple[str, str, dict[str, str]]]:
        return [
            (r["id"], r["messages"][1]["content"], {g: v["verdict"] for g, v in r["gates"].items()}) for r in rows(path)
        ]

    assert essence(tmp_path / "a.jsonl") == essence(tmp_path / "b.jsonl")


def test_budget_stops_cleanly_and_a_rerun_finishes(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    # At 1 USD/Mtok a generation reserves ~0.0044 (input + 4096 max_tokens) and costs ~0.0004,
    # a judgement ~0.0008: this budget affords two or three records.
    stopped = build(llm_server, ledger, out, n=6, max_usd=0.0075, max_in_flight=1).run()
    assert stopped.stopped_by_budget is not None and "max_usd=0.0075" in stopped.stopped_by_budget
    assert 0 < stopped.done < 6 and stopped.accounting["spent_usd"] <= 0.0075
    partial = rows(out)
    assert len(partial) == stopped.done and all("judge" in r["gates"] for r in partial)
    calls = llm_server.request_count
    finished = build(llm_server, ledger, out, n=6).run()
    assert finished.done == 6 and finished.resumed == stopped.done and finished.stopped_by_budget is None
    assert len(rows(out)) == 6 and len({r["id"] for r in rows(out)}) == 6
    assert calls < 12 and llm_server.request_count == 12  # 6 generations + 6 judgements, none asked twice


def test_api_faults_never_become_passes_and_are_retried_next_run(
    llm_server: LLMServer, ledger: Ledger, tmp_path: Path
) -> None:
    out = tmp_path / "o.jsonl"
    llm_server.script(*[Reply.server_error(500, when="Compile result") for _ in range(8)])
    pipe = build(llm_server, ledger, out, n=2)
    for gate in pipe.gates:
        if isinstance(gate, JudgeGate):
            gate.client.retry = RetryPolicy(max_attempts=4, base_s=0.01)
    summary = pipe.run()
    assert summary.accepted == 0 and summary.verdicts["judge"]["error"] == 2
    assert all(r["gates"]["judge"]["verdict"] == "error" for r in rows(out))
    healed = build(llm_server, ledger, out, n=2).run()
    assert healed.resumed == 0 and healed.accepted == 2  # errors were not stored as finished


def test_gate_an_existing_dataset_without_a_generator(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    records = [sample_record("axum-1", GOOD), sample_record("axum-2", BROKEN), sample_record("axum-3", GOOD)]
    marker = MarkerGate()
    judge = JudgeGate(make_client(llm_server, ledger), threshold=9.0)
    summary = Pipeline(
        [marker, judge], records=records, output=tmp_path / "o.jsonl", ledger=ledger, progress=False
    ).run()
    assert summary.verdicts["marker"] == {"pass": 2, "fail": 1} and summary.verdicts["judge"] == {"fail": 2}
    assert marker.batches == [3]  # the non-LLM gate saw one micro-batch, not three calls


def test_reference_order_judge_then_gate(llm_server: LLMServer, ledger: Ledger, tmp_path: Path) -> None:
    specs = make_specs("rig", load_topics("rig")[:2])
    pipe = Pipeline(
        [JudgeGate(make_client(llm_server, ledger)), MarkerGate()],
        generator=Generator(make_client(llm_server, ledger)),
        specs=specs,
        output=tmp_path / "o.jsonl",
        ledger=ledger,
        progress=False,
        accounting=Accounting(),
    )
    summary = pipe.run()
    sent = [r for r in llm_server.requests if r.tool_name == "submit_scores"]
    assert len(sent) == 2 and all("Compile result (fact): not checked" in r.last_user for r in sent)
    assert summary.accepted == 2


def test_progress_shows_eta_and_live_cost() -> None:
    import io

    from rich.console import Console

    from rustgate.pipeline_progress import ProgressView

    out = io.StringIO()
    view = ProgressView(4, console=Console(file=out, force_terminal=True, width=150))
    accounting = Accounting(max_usd=2.0)
    view.start(done=1, accounting=accounting, accepted=1)
    accounting.record("judge", "m", input_tokens=10, output_tokens=10, usd=0.125, cached=False)
    view.advance(accounting, accepted=2)
    view.stop()
    text = out.getvalue()
    assert "2/4" in text and "$0.1250 / $2" in text and "accepted 2" in text and "eta" in text
    assert not ProgressView(4, console=Console(file=io.StringIO())).enabled  # not a terminal: silent


class _FlakyGate(MarkerGate):
    """MarkerGate, except that its infrastructure "fails" on answers saying ``OUTAGE``."""

    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        results = await super().evaluate(records)
        return [
            self.error("toolchain missing") if "OUTAGE" in r.answer else g
            for r, g in zip(records, results, strict=True)
        ]


def test_the_output_is_streamed_from_the_ledger_in_item_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finished rows live in the ledger, not in the run; the output reads them back a few at a time,
    with the rows an `error` kept out of the ledger in their place; a resume redoes only those."""
    from rustgate import pipeline

    monkeypatch.setattr(pipeline, "ROWS_AT_ONCE", 3)
    answers = [GOOD, BROKEN, GOOD.replace("Add", "OUTAGE, add"), GOOD, BROKEN, GOOD, GOOD]
    records = [sample_record(f"r-{i}", answer) for i, answer in reversed(list(enumerate(answers)))]
    out = tmp_path / "o.jsonl"
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        gate = _FlakyGate()
        summary = Pipeline([gate], records=records, output=out, ledger=ledger, progress=False).run()
        assert [r["id"] for r in rows(out)] == [r.id for r in records]
        assert [r["gates"]["marker"]["verdict"] for r in rows(out)] == [
            "pass", "pass", "fail", "pass", "error", "fail", "pass"
        ]  # fmt: skip
        assert summary.done == 7 and summary.accepted == 4
        again = Pipeline([_FlakyGate()], records=records, output=out, ledger=ledger, progress=False)
        resumed = again.run()
    assert resumed.resumed == 6 and resumed.done == 7
    assert [r["id"] for r in rows(out)] == [r.id for r in records]


@pytest.mark.parametrize("rows_at_once", [2, 2000])
def test_a_resumed_item_listed_twice_is_counted_once_however_rows_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_at_once: int
) -> None:
    from rustgate import pipeline

    monkeypatch.setattr(pipeline, "ROWS_AT_ONCE", rows_at_once)
    records = [sample_record(f"r-{i}", GOOD if i != 2 else BROKEN) for i in range(4)]
    items = [records[0], records[1], records[2], records[3], records[0]]  # r-0 twice, in two chunks of 2
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        Pipeline([MarkerGate()], records=items, output=tmp_path / "o.jsonl", ledger=ledger, progress=False).run()
        again = Pipeline([MarkerGate()], records=items, output=tmp_path / "o.jsonl", ledger=ledger, progress=False)
        summary = again.run()
    assert (summary.resumed, summary.done, summary.accepted) == (4, 4, 3)
    assert [r["id"] for r in rows(tmp_path / "o.jsonl")] == ["r-0", "r-1", "r-2", "r-3", "r-0"]
