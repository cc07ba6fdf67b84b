"""``evaluate``: every model answers every prompt ``samples`` times; each answer is compiled (real
rustc against the pinned profile) and judged (k samples); the leaderboard is written.

Answers flow one by one: a compile batch starts as soon as answers land (the batcher gathers the
ones arriving together), and each answer is judged as soon as its compile verdict is in, so
generation, compilation and judging overlap. API models run side by side; local models one after
another (memory). Every generation, compile verdict and judgement is cached in the ledger, so a
rerun costs nothing and a killed run resumes where it stopped. Outputs are written atomically:
``answers.jsonl`` (every answer with its verdicts and scores; rewritten every few seconds while
running), ``leaderboard.json``, ``leaderboard.md`` and ``leaderboard.html``.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate.atomic import atomic_write_json, atomic_write_jsonl, atomic_write_text
from rustgate.batcher import GateBatcher
from rustgate.cargo.run_tiers import RUN_TIERS
from rustgate.eval.config import EvalConfig, EvalConfigError
from rustgate.eval.invented import invented_diagnostics
from rustgate.eval.leaderboard import FORMAT, Leaderboard, collect, compare, model_result, pass_ks, rank
from rustgate.eval.models import Generation, Job, ModelUnderTest, make_model, system_prompt
from rustgate.eval.progress import EvalProgress
from rustgate.eval.render import to_html, to_markdown
from rustgate.eval.suite import Suite, load_suite
from rustgate.gates.base import StageContext
from rustgate.gates.judge import JudgeGate
from rustgate.ledger import Ledger
from rustgate.llm.costs import Accounting, PriceTable
from rustgate.llm.errors import BudgetExceeded
from rustgate.overlap import WritesOverInput, refuse_overlap
from rustgate.paths import default_ledger_path
from rustgate.records import GateResult, Message, Record

OUTPUTS = ("answers.jsonl", "leaderboard.json", "leaderboard.md", "leaderboard.html")
EXIT_ERRORS, EXIT_BUDGET = 1, 3


@dataclass
class EvalResult:
    output: Path
    leaderboard: Leaderboard
    answers: int
    errors: list[str] = field(default_factory=list)
    stopped_by_budget: str | None = None
    suite_errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 done, 1 some answers hit infrastructure errors (rerun retries them), 3 out of budget."""
        return EXIT_BUDGET if self.stopped_by_budget else EXIT_ERRORS if self.errors else 0


def evaluate(config: EvalConfig, *, ledger: Ledger | None = None, progress: bool = True) -> EvalResult:
    """Run the evaluation described by ``config`` and write its outputs (see the module docstring)."""
    return asyncio.run(aevaluate(config, ledger=ledger, progress=progress))


async def aevaluate(config: EvalConfig, *, ledger: Ledger | None = None, progress: bool = True) -> EvalResult:
    suite = load_suite(config.suite).limited(config.limit)
    check_output(config.output)
    inputs = [suite.source, *(Path(p) for m in config.models for p in (m.path, m.adapter) if p)]
    try:
        refuse_overlap(
            {"the output folder": config.output, "the ledger": config.ledger or default_ledger_path()},
            inputs,
            folders=["the output folder"],
        )
    except WritesOverInput as exc:
        raise EvalConfigError(str(exc)) from None
    own_ledger = ledger is None
    if ledger is None:
        ledger = Ledger(config.ledger) if config.ledger else Ledger()
    try:
        return await _Run(config, suite, ledger, progress).run()
    finally:
        if own_ledger:
            ledger.close()


def check_output(folder: Path) -> None:
    """Refuse a folder holding files this command did not write (never overwrite a user's file).

    Ours: a ``leaderboard.json`` in our format, or (a run killed before its first leaderboard)
    an ``answers.jsonl`` whose first row is an eval answer."""
    try:
        board = folder / "leaderboard.json"
        if board.is_file() and json.loads(board.read_text(encoding="utf-8")).get("format") == FORMAT:
            return
        answers = folder / "answers.jsonl"
        if answers.is_file():
            with open(answers, encoding="utf-8") as handle:
                first = json.loads(handle.readline() or "{}")
            if "eval" in (first.get("meta") or {}) and "leaderboard.json" not in os.listdir(folder):
                return
    except (OSError, ValueError, AttributeError, RecursionError):
        pass
    clashes = [name for name in OUTPUTS if (folder / name).exists()]
    if clashes:
        raise EvalConfigError(
            f"{folder}: holds {', '.join(clashes)} not written by rustgate eval; choose another output"
        )


class _Run:
    def __init__(self, config: EvalConfig, suite: Suite, ledger: Ledger, progress: bool) -> None:
        self.config, self.suite, self.ledger = config, suite, ledger
        self.accounting = Accounting(max_usd=config.max_usd)
        prices = PriceTable(config.prices)
        # Built now: a missing key, unknown provider or bad adapter folder fails before any work.
        self.models: list[ModelUnderTest] = [
            make_model(m, ledger=ledger, accounting=self.accounting, prices=prices) for m in config.models
        ]
        j = config.judge
        self.judge_client = j.client(j.model, ledger=ledger, prices=prices, accounting=self.accounting)
        self.judge = JudgeGate(self.judge_client, samples=j.samples, temperature=j.temperature, max_tokens=j.max_tokens)
        self.compile = config.compile.build(StageContext(ledger))
        self.rows: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.errors: list[str] = []
        self.stopped_by_budget: str | None = None
        total = len(self.models) * len(suite.prompts) * config.samples
        self.view = EvalProgress(total, enabled=progress)
        self.compiled = 0

    def jobs(self, model: ModelUnderTest) -> list[Job]:
        template = model.config.system or self.config.system
        return [
            Job(prompt, sample, system_prompt(template, prompt.crate))
            for prompt in self.suite.prompts
            for sample in range(self.config.samples)
        ]

    async def run(self) -> EvalResult:
        started = time.monotonic()
        batcher = GateBatcher(self.compile, max_batch=64, wait_s=0.01)
        scoring: set[asyncio.Task[None]] = set()

        def on_answer_for(model: ModelUnderTest) -> Any:
            async def on_answer(job: Job, generation: Generation) -> None:
                task = asyncio.create_task(self.score(model, job, generation, batcher))
                scoring.add(task)
                task.add_done_callback(scoring.discard)

            return on_answer

        async def locals_in_turn(models: list[ModelUnderTest]) -> None:
            for model in models:
                await model.answer(self.jobs(model), on_answer_for(model))

        api = [m for m in self.models if m.config.kind == "api"]
        local = [m for m in self.models if m.config.kind == "local"]
        self.view.start(done=0, accounting=self.accounting, accepted=0)
        writer = asyncio.create_task(self._write_periodically())
        try:
            await asyncio.gather(*(m.answer(self.jobs(m), on_answer_for(m)) for m in api), locals_in_turn(local))
            while scoring:
                await asyncio.gather(*list(scoring))
        finally:
            writer.cancel()
            batcher.close()
            self.view.stop()
            for model in self.models:
                await model.aclose()
            await self.judge_client.aclose()
        board = self.leaderboard()
        self.write(board)
        return EvalResult(
            output=self.config.output,
            leaderboard=board,
            answers=len(self.rows),
            errors=self.errors,
            stopped_by_budget=self.stopped_by_budget,
            suite_errors=[str(e) for e in self.suite.errors],
            wall_s=time.monotonic() - started,
        )

    async def score(self, model: ModelUnderTest, job: Job, generation: Generation, batcher: GateBatcher) -> None:
        if generation.budget_stop:
            self.stopped_by_budget = self.stopped_by_budget or generation.error
            return
        record = self.record(model, job, generation)
        if generation.error is not None:
            self.errors.append(f"{record.id}: {generation.error}")
            error = GateResult(gate="generate", verdict="error", version="eval/1", reason=generation.error)
            self.finish(record.with_gate(error))
            return
        record = record.with_gate(await batcher.submit(record))
        try:
            judged = await self.judge.judge(record)
        except BudgetExceeded as exc:
            self.stopped_by_budget = self.stopped_by_budget or str(exc)
            return
        record = record.with_gate(judged)
        for gate in ("compile", "judge"):
            if record.gates[gate].verdict == "error":
                self.errors.append(f"{record.id}: {gate}: {record.gates[gate].reason}")
        self.finish(record)

    def record(self, model: ModelUnderTest, job: Job, generation: Generation) -> Record:
        meta = {
            "model": model.label,
            "prompt_id": job.prompt.id,
            "sample": job.sample,
            "suite": self.suite.name,
            "generation": {
                "cached": generation.cached,
                "cost_usd": generation.cost_usd,
                "input_tokens": generation.input_tokens,
                "output_tokens": generation.output_tokens,
                "seconds": generation.seconds,
            },
        }
        return Record(
            id=f"{model.label}::{job.prompt.id}::{job.sample}",
            crate=job.prompt.crate,
            messages=[
                Message(role="system", content=job.system),
                Message(role="user", content=job.prompt.prompt),
                Message(role="assistant", content=generation.text or ""),
            ],
            meta={"eval": meta},
        )

    def finish(self, record: Record) -> None:
        judge = record.gates.get("judge")
        compile_result = record.gates.get("compile")
        invented = invented_diagnostics(compile_result, record.answer)
        meta = record.meta["eval"]
        meta["score"] = statistics.fmean(judge.scores.values()) if judge and judge.scores else None
        meta["invented_api"] = [d.short() for d in invented]
        self.rows[(meta["model"], meta["prompt_id"], meta["sample"])] = record.to_row(with_gates=True)
        if compile_result is not None and compile_result.verdict == "pass":
            self.compiled += 1
        self.view.advance(self.accounting, self.compiled)

    # -- outputs ------------------------------------------------------------------------------------
    def ordered_rows(self) -> list[dict[str, Any]]:
        keys = [(m.label, p.id, s) for m in self.models for p in self.suite.prompts for s in range(self.config.samples)]
        return [self.rows[k] for k in keys if k in self.rows]

    async def _write_periodically(self, every_s: float = 5.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            rows = self.ordered_rows()
            await asyncio.to_thread(atomic_write_jsonl, self.config.output / "answers.jsonl", rows)

    def leaderboard(self) -> Leaderboard:
        crates = self.suite.crates
        labels = [m.label for m in self.models]
        tiers = [t for t in RUN_TIERS if t in self.compile.tiers]
        got = collect(self.ordered_rows(), labels, tiers)
        b = self.config.bootstrap
        results = [
            model_result(
                m.label, got.scored[m.label], crates, samples=self.config.samples,
                dimensions=got.dimensions[m.label], invented_names=got.invented[m.label],
                errors=got.errors[m.label], settings=m.settings(), resamples=b, seed=self.config.seed,
                tiers=tiers, inconclusive=got.inconclusive[m.label],
            )
            for m in self.models
        ]  # fmt: skip
        comparisons = [
            compare(a, b_label, got.scored, crates, resamples=b, seed=self.config.seed, tiers=tiers)
            for a, b_label in self.config.comparisons()
        ]
        per_crate: Counter[str] = Counter(p.crate for p in self.suite.prompts)
        return Leaderboard(
            created_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            suite={
                "name": self.suite.name,
                "source": str(self.suite.source),
                "hash": self.suite.hash,
                "prompts": len(self.suite.prompts),
                "per_crate": {c: per_crate[c] for c in crates},
            },
            crates=crates,
            samples=self.config.samples,
            pass_k=pass_ks(self.config.samples),
            judge={
                "model": self.judge_client.model_id,
                "base_url": self.config.judge.base_url,
                "samples": self.judge.samples,
                "temperature": self.judge.temperature,
                "version": self.judge.version,
            },
            compile={
                "toolchain": _toolchain(),
                "gate_version": self.compile.version,
                "method": self.compile.method,
                "tiers": list(self.compile.tiers),
                "run_window_s": self.compile.run_limits.window_s,
                "test_window_s": self.compile.run_limits.test_window_s,
            },
            bootstrap={"resamples": b, "seed": self.config.seed, "level": 0.95, "unit": "prompt"},
            models=rank(results),
            comparisons=comparisons,
            accounting=self.accounting.to_json(),
        )

    def write(self, board: Leaderboard) -> None:
        out = self.config.output
        atomic_write_jsonl(out / "answers.jsonl", self.ordered_rows())
        atomic_write_json(out / "leaderboard.json", board.model_dump(mode="json"))
        atomic_write_text(out / "leaderboard.md", to_markdown(board))
        atomic_write_text(out / "leaderboard.html", to_html(board))


def _toolchain() -> str:
    from rustgate.cargo.toolchain import ToolchainError, detect_toolchain

    try:
        return detect_toolchain().version
    except ToolchainError:
        return "unknown"
