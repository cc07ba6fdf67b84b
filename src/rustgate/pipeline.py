"""``Pipeline``: gates in order over generated or existing records, with a budget and resume.

Each record flows through the chain on its own (generate -> compile -> repair -> judge), so a
slow cargo batch never idles the LLM calls of other records. Non-LLM gates (compile) are fed in
micro-batches, since one cargo run over many answers beats many runs over one.

Resume: a record that finished is stored in the ledger (namespace ``run:<run id>``) the moment
it finishes, and every LLM call is cached there too. A run killed with SIGKILL and restarted
skips finished records and replays the calls of half-done ones from the cache: no finished call
is repeated, and the output -- rewritten atomically from the ledger -- loses and duplicates none.
The output is streamed from the ledger in item order, so the run never holds the finished rows;
re-writing it while the run goes on takes at most about a tenth of the run's time.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate.atomic import atomic_write_json, atomic_write_jsonl
from rustgate.batcher import GateBatcher
from rustgate.gates.base import Gate
from rustgate.gates.compile import CompileGate
from rustgate.gates.generate import GenerationError, GenerationSpec, Generator
from rustgate.ledger import Ledger, stable_hash
from rustgate.llm.costs import Accounting
from rustgate.llm.errors import BudgetExceeded
from rustgate.pipeline_progress import ProgressView
from rustgate.records import GateResult, Record

REPAIRABLE = ("fail", "rejected")
ROWS_AT_ONCE = 2000  # rows read back from the ledger per query, when resuming and writing


def last_code_gate(code_gates: Iterable[str]) -> str:
    """The repair loop's default gate: the last gate of the order that judges the code (its
    verdict covers the tiers of those before it), else ``compile``."""
    return ([*code_gates] or ["compile"])[-1]


def repairable(result: GateResult, *, missing_crates: bool = False) -> bool:
    """A verdict the generator may be asked to fix: a fail, or a rejection of the answer's own
    making -- but not a crate the profile lacks (no bug in the answer) unless asked."""
    if result.verdict not in REPAIRABLE:
        return False
    return missing_crates or not result.details.get("missing_crates")


@dataclass
class RunSummary:
    run_id: str
    total: int
    done: int = 0
    resumed: int = 0
    accepted: int = 0
    errors: list[str] = field(default_factory=list)
    verdicts: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)  # gate -> records it did not need to see
    repairs_tried: int = 0
    repairs_fixed: int = 0
    stopped_by_budget: str | None = None
    wall_s: float = 0.0
    accounting: dict[str, Any] = field(default_factory=dict)

    @property
    def cost_per_accepted(self) -> float | None:
        spent = float(self.accounting.get("spent_usd", 0.0))
        return spent / self.accepted if self.accepted else None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "total": self.total,
            "done": self.done,
            "resumed": self.resumed,
            "accepted": self.accepted,
            "errors": self.errors,
            "verdicts": {g: dict(c) for g, c in self.verdicts.items()},
            "skipped": dict(self.skipped),
            "repairs": {"tried": self.repairs_tried, "fixed": self.repairs_fixed},
            "stopped_by_budget": self.stopped_by_budget,
            "wall_s": round(self.wall_s, 3),
            "cost_per_accepted_usd": self.cost_per_accepted,
            "accounting": self.accounting,
        }


class Pipeline:
    """Generate (optional) then run ``gates`` in order; write every record with its verdicts.

    A record a gate does not pass skips the gates after it (judge only what compiles: the calls
    saved are counted). When the ``repair_gate`` (by default the last code gate of the order:
    ``compile``, or ``run``/``test``/``clippy`` where those stand instead) does not pass a
    generated answer -- wherever it stands in the order -- the answer goes back to the generator
    with what the gate found (compiler errors, failing tests, the panic: ``gates.feedback``), and
    the repaired answer runs through every gate again, up to ``repair_attempts`` times.
    """

    def __init__(
        self,
        gates: Sequence[Gate],
        *,
        output: str | Path,
        ledger: Ledger,
        generator: Generator | None = None,
        specs: Sequence[GenerationSpec] | None = None,
        records: Sequence[Record] | None = None,
        accounting: Accounting | None = None,
        max_usd: float | None = None,
        repair_attempts: int | None = None,
        repair_gate: str | None = None,
        repair_missing_crates: bool = False,
        max_in_flight: int = 256,
        batch_size: int = 64,
        batch_wait_s: float = 0.01,
        write_every_s: float = 5.0,
        progress: bool = True,
    ) -> None:
        if (generator is None) == (records is None):
            raise ValueError("give either a generator with specs, or records to gate")
        if generator is not None and not specs:
            raise ValueError("a generator needs specs (what to write)")
        self.gates = list(gates)
        self.output = Path(output)
        self.ledger = ledger
        self.generator = generator
        self.items: list[GenerationSpec | Record] = list(specs or []) if generator else list(records or [])
        self.accounting = accounting or Accounting(max_usd=max_usd)
        if max_usd is not None:
            self.accounting.max_usd = max_usd
        for stage in [generator, *self.gates]:
            client = getattr(stage, "client", None)
            if client is not None:  # one purse for the whole run
                client.accounting = self.accounting
        repair_gate = repair_gate or last_code_gate(g.name for g in self.gates if isinstance(g, CompileGate))
        has_repair_gate = repair_gate in {g.name for g in self.gates}
        if generator is not None and repair_attempts and not has_repair_gate:
            raise ValueError(f"repair_gate {repair_gate!r} is not one of the gates: repairs could never run")
        # Unset: two repairs when the repair gate is there, none (and nothing to say) when it is not.
        self.repair_attempts = repair_attempts if repair_attempts is not None else (2 if has_repair_gate else 0)
        self.repair_gate = repair_gate
        self.repair_missing_crates = repair_missing_crates
        self.max_in_flight = max_in_flight
        self.batch_size, self.batch_wait_s = batch_size, batch_wait_s
        self.write_every_s = write_every_s
        self.progress = progress
        self.run_id = self._fingerprint()
        self.namespace = f"run:{self.run_id}"

    # -- identity -----------------------------------------------------------------------------
    def _fingerprint(self) -> str:
        """The run's identity: each stage's ``identity()`` (what can change a verdict, never jobs,
        concurrency or where the output goes), the repair settings, and the items. The same
        config on another machine, or with other ``jobs``, resumes the same run."""
        stages = [s.identity() for s in [self.generator, *self.gates] if s is not None]
        repair = [self.repair_attempts, self.repair_gate, self.repair_missing_crates] if self.generator else None
        items = [self._key(i) if isinstance(i, GenerationSpec) else [i.id, i.content_hash()] for i in self.items]
        return stable_hash("run/2", stages, repair, items)[:16]

    @staticmethod
    def _key(item: GenerationSpec | Record) -> str:
        return item.record_id if isinstance(item, GenerationSpec) else item.id

    # -- running ------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        return asyncio.run(self.arun())

    async def arun(self) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary(run_id=self.run_id, total=len(self.items))
        keys = [self._key(item) for item in self.items]
        stored = await asyncio.to_thread(self._resume, keys, summary)  # finished: their rows are in the ledger
        summary.resumed = len(stored)
        unstored: dict[str, dict[str, Any]] = {}  # rows with an `error` in them: written, never remembered
        todo = [item for item, key in zip(self.items, keys, strict=True) if key not in stored]
        batchers = {
            g.name: GateBatcher(g, max_batch=self.batch_size, wait_s=self.batch_wait_s)
            for g in self.gates
            if getattr(g, "client", None) is None
        }
        queue: asyncio.Queue[GenerationSpec | Record] = asyncio.Queue()
        for item in todo:
            queue.put_nowait(item)
        view = ProgressView(len(self.items), enabled=self.progress)
        view.start(done=summary.resumed, accounting=self.accounting, accepted=summary.accepted)

        async def worker() -> None:
            while not queue.empty() and summary.stopped_by_budget is None:
                item = queue.get_nowait()
                try:
                    record = await self._process(item, batchers, summary)
                except BudgetExceeded as exc:
                    summary.stopped_by_budget = str(exc)
                    return
                except GenerationError as exc:
                    summary.errors.append(f"{self._key(item)}: {exc}")
                    view.advance(self.accounting, summary.accepted)
                    continue
                row = record.to_row(with_gates=True)
                self._tally(summary, record)
                if any(r.verdict == "error" for r in record.gates.values()):
                    unstored[record.id] = row
                else:
                    self.ledger.put_value(self.namespace, record.id, row)
                    stored.add(record.id)
                    unstored.pop(record.id, None)
                view.advance(self.accounting, summary.accepted)

        async def writer() -> None:
            pause = self.write_every_s
            while True:
                await asyncio.sleep(pause)
                # Re-writing the partial output grows with it: keep it to a tenth of the run's time.
                pause = max(self.write_every_s, 10 * self._write(keys, stored, unstored, summary))

        writer_task = asyncio.create_task(writer())
        try:
            await asyncio.gather(*(worker() for _ in range(min(self.max_in_flight, max(1, len(todo))))))
        finally:
            writer_task.cancel()
            for batcher in batchers.values():
                batcher.close()
            view.stop()
            for stage in [self.generator, *self.gates]:
                client = getattr(stage, "client", None)
                if client is not None:
                    await client.aclose()
        summary.wall_s = time.monotonic() - started
        summary.accounting = self.accounting.to_json()
        self._write(keys, stored, unstored, summary)
        return summary

    async def _gate(self, gate: Gate, record: Record, batchers: dict[str, GateBatcher]) -> GateResult:
        if gate.name in batchers:
            return await batchers[gate.name].submit(record)
        (result,) = await gate.evaluate([record])
        return result

    async def _process(
        self, item: GenerationSpec | Record, batchers: dict[str, GateBatcher], summary: RunSummary
    ) -> Record:
        if isinstance(item, GenerationSpec):
            record = await self._generate_and_repair(item, batchers, summary)
        else:
            record = await self._through_gates(item, batchers)
        skipped = next((g.name for g in self.gates if g.name not in record.gates), None)
        if skipped is not None:
            summary.skipped[skipped] += 1  # the calls saved by judging only what passed before
        return record

    async def _generate_and_repair(
        self, item: GenerationSpec, batchers: dict[str, GateBatcher], summary: RunSummary
    ) -> Record:
        assert self.generator is not None
        record = await self._through_gates(await self.generator.generate(item), batchers)
        attempts = 0
        while attempts < self.repair_attempts:
            verdict = record.gates.get(self.repair_gate)
            if verdict is None or not repairable(verdict, missing_crates=self.repair_missing_crates):
                break
            attempts += 1
            summary.repairs_tried += 1
            try:
                repaired = await self.generator.repair(item, record, verdict)
            except GenerationError as exc:
                record.meta.setdefault("repair_errors", []).append(str(exc))
                break
            # A new answer: every gate judges it afresh, whatever the order.
            record = await self._through_gates(repaired, batchers)
            if record.gate_passed(self.repair_gate):
                summary.repairs_fixed += 1
        return record

    async def _through_gates(self, record: Record, batchers: dict[str, GateBatcher]) -> Record:
        """The gates in order; a record one of them does not pass skips the rest."""
        for gate in self.gates:
            blocked = [name for name, r in record.gates.items() if r.verdict != "pass" and name != gate.name]
            if blocked:
                break
            record = record.with_gate(await self._gate(gate, record, batchers))
        return record

    # -- bookkeeping --------------------------------------------------------------------------
    def _tally(self, summary: RunSummary, record: Record) -> None:
        summary.done += 1
        for name, result in record.gates.items():
            summary.verdicts.setdefault(name, Counter())[result.verdict] += 1
        if all(g.name in record.gates for g in self.gates) and record.passed([g.name for g in self.gates]):
            summary.accepted += 1

    def _resume(self, keys: list[str], summary: RunSummary) -> set[str]:
        """The keys whose finished rows the ledger holds, each counted into ``summary`` (and let go)."""
        stored: set[str] = set()
        for start in range(0, len(keys), ROWS_AT_ONCE):
            for key, row in self.ledger.get_values(self.namespace, keys[start : start + ROWS_AT_ONCE]).items():
                if key not in stored:  # an item listed twice is one finished record
                    stored.add(key)
                    self._tally(summary, Record.model_validate(row))
        return stored

    def _rows(self, keys: list[str], stored: set[str], unstored: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Every finished row in item order, read back from the ledger a chunk at a time."""
        for start in range(0, len(keys), ROWS_AT_ONCE):
            chunk = keys[start : start + ROWS_AT_ONCE]
            found = self.ledger.get_values(self.namespace, [k for k in chunk if k in stored])
            for key in chunk:
                row = unstored.get(key) or found.get(key)
                if row is not None:
                    yield row

    def _write(
        self, keys: list[str], stored: set[str], unstored: dict[str, dict[str, Any]], summary: RunSummary
    ) -> float:
        """The output and its summary, atomically; the seconds it took."""
        started = time.monotonic()
        atomic_write_jsonl(self.output, self._rows(keys, stored, unstored))
        summary.accounting = self.accounting.to_json()
        atomic_write_json(self.output.with_suffix(".summary.json"), summary.to_json())
        return time.monotonic() - started

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> Pipeline:
        """Build a pipeline from a TOML file (see ``examples/pipeline.toml``)."""
        from rustgate.pipeline_config import pipeline_from_toml

        return pipeline_from_toml(path, **overrides)
