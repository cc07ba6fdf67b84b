"""``rustgate check PATH...``: a per-record compile verdict for JSONL datasets.

Files are streamed in chunks: reading, gating and writing the report and the gated output
happen chunk by chunk, so a 100k-record file costs the memory of one chunk, not of the file.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

from rich.console import Console
from rich.table import Table

from rustgate.atomic import atomic_open, dumps_line, dumps_pretty
from rustgate.cargo.isolation import UNSAFE_WARNING, IsolationError, requested_backend
from rustgate.cli.gate_args import add_compile_arguments, compile_settings
from rustgate.cli.progress import Reporter
from rustgate.data.formats import detect_format, iter_records
from rustgate.data.jsonl import InputError, LoadedRecord
from rustgate.display import one_line
from rustgate.executors import ExecutorError
from rustgate.gates.base import StageContext
from rustgate.ledger import Ledger
from rustgate.overlap import WritesOverInput, refuse_overlap
from rustgate.paths import default_ledger_path
from rustgate.records import GateResult, Record
from rustgate.stats import Tally, crate_of

EXIT_OK, EXIT_NOT_ALL_PASS, EXIT_INPUT = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="compile-check the answers in JSONL datasets")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="JSONL files of canonical records")
    parser.add_argument("--report-json", metavar="OUT", help="write per-record verdicts and a summary here")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write every record with its compile verdict here (.jsonl or .parquet): the input of `rustgate build`",
    )
    add_compile_arguments(parser)
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not update the ledger")
    parser.add_argument("--ledger", metavar="PATH", help="ledger file (default: in the cache dir)")
    parser.set_defaults(func=run)


CHUNK = 5000  # records read, gated and written together: memory does not grow with the input
SHOWN = 1000  # non-passing records listed on the console (all of them are in --report-json)


def run(args: argparse.Namespace) -> int:
    try:
        settings = compile_settings(args, use_cache=not args.no_cache)
    except ValueError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    ledger_path = None if args.no_cache else (args.ledger or default_ledger_path())
    try:
        outputs = {"--output": args.output, "--report-json": args.report_json, "--ledger": ledger_path}
        refuse_overlap(outputs, args.paths)
    except WritesOverInput as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    try:
        total = sum(_count_lines(path) for path in args.paths)
    except OSError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    try:
        if requested_backend(args.sandbox) == "none":
            print(f"rustgate check: WARNING: {UNSAFE_WARNING}", file=sys.stderr)
    except IsolationError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    ledger = None if args.no_cache else Ledger(args.ledger) if args.ledger else Ledger()
    try:
        gate = settings.build(StageContext(ledger))
    except ExecutorError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    started = time.monotonic()
    summary = _Summary()
    with ExitStack() as stack:
        report = stack.enter_context(atomic_open(args.report_json)) if args.report_json else None
        output = _Output(stack, args.output) if args.output else None
        if report is not None:
            report.write('{"records": [')
        reporter = stack.enter_context(Reporter("check", total, estimate=True))
        for chunk in _chunks(args.paths, summary):
            records = [item.record for item in chunk]
            results = gate.check(records, on_result=_progress(reporter, records))
            gated = [record.with_gate(result) for record, result in zip(records, results, strict=True)]
            summary.add(gated)
            if report is not None:
                report.write("".join(("," if summary.rows_written + i else "") + "\n" + dumps_line(report_row(r))
                                     for i, r in enumerate(gated)))  # fmt: skip
            summary.rows_written += len(gated)
            if output is not None:
                output.write(gated)
        result = summary.result(time.monotonic() - started)
        if report is not None:
            report.write('\n],\n"summary": ' + dumps_pretty(result) + "}\n")
        if output is not None:
            output.finish()
    if gate.isolation is not None and not gate.isolation.isolated:
        print(f"rustgate check: WARNING: {UNSAFE_WARNING}", file=sys.stderr)  # again, after the table scrolls
    print_summary(summary, result)
    if args.output:
        print(f"wrote {summary.rows_written} gated records to {args.output}", file=sys.stderr)
    if ledger is not None:
        ledger.close()
    if summary.input_errors:
        return EXIT_INPUT
    return EXIT_OK if summary.all_pass else EXIT_NOT_ALL_PASS


def _progress(reporter: Reporter, records: list[Record]) -> Callable[[int, GateResult], None]:
    return lambda index, result: reporter.advance(f"{records[index].id}: {result.verdict}")


def _count_lines(path: str) -> int:
    """A cheap upper bound on the records in ``path`` (for the progress bar), and a readability check."""
    if detect_format(path) != "jsonl":
        return 1
    count = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return max(1, count)


def _chunks(paths: list[str], summary: _Summary) -> Iterator[list[LoadedRecord]]:
    """Good records in chunks of ``CHUNK``, file by file; each bad line printed (file, line, id) as met."""
    for path in paths:
        seen: dict[str, int] = {}
        chunk: list[LoadedRecord] = []
        for parsed in iter_records(path):
            if isinstance(parsed, LoadedRecord) and parsed.record.id in seen:
                message = f"duplicate id (first seen on line {seen[parsed.record.id]})"
                parsed = InputError(parsed.file, parsed.line, parsed.record.id, message)
            if isinstance(parsed, InputError):
                summary.input_errors += 1
                print(f"{parsed}", file=sys.stderr)
                continue
            seen[parsed.record.id] = parsed.line
            chunk.append(parsed)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


class _Output:
    """The gated records, written as they come (JSONL) or at the end (Parquet, datasets folders)."""

    def __init__(self, stack: ExitStack, path: str) -> None:
        from rustgate.data.formats import detect_format

        self.path = path
        self.held: list[Record] | None = None if detect_format(path) == "jsonl" else []
        self.handle = stack.enter_context(atomic_open(path)) if self.held is None else None

    def write(self, records: list[Record]) -> None:
        if self.handle is not None:
            self.handle.write("".join(dumps_line(r.to_row(with_gates=True)) + "\n" for r in records))
        elif self.held is not None:
            self.held.extend(records)

    def finish(self) -> None:
        if self.held is not None:
            from rustgate.data.formats import write_records

            write_records(self.path, self.held, with_gates=True)


class _Summary:
    """What the table and ``--report-json`` say, counted as chunks pass (no record is kept)."""

    def __init__(self) -> None:
        self.tally = Tally("compile")
        self.records = self.cached = self.input_errors = self.rows_written = 0
        self.toolchains: set[str] = set()
        self.sandboxes: set[str] = set()
        self.problems: list[str] = []  # the first ``SHOWN`` non-passing records, as printed
        self.not_passing = 0

    @property
    def all_pass(self) -> bool:
        return self.not_passing == 0

    def add(self, records: list[Record]) -> None:
        for record in records:
            result = record.gates["compile"]
            self.tally.add(record)
            self.records += 1
            self.cached += result.cached
            self.toolchains.add(str(result.details.get("toolchain")))
            self.sandboxes.add(str(result.details.get("sandbox")))
            if result.verdict != "pass":
                self.not_passing += 1
                if len(self.problems) < SHOWN:
                    problem = one_line(result.first_problem(), 300)
                    self.problems.append(f"  {one_line(record.id, 120)}: {result.verdict}: {problem}")

    def result(self, elapsed: float) -> dict[str, Any]:
        toolchains = sorted(self.toolchains - {"None"})
        return {
            "records": self.records,
            "input_errors": self.input_errors,
            "by_crate": self.tally.by_crate(),
            "top_error_codes": dict(self.tally.top_codes()),
            **({"clippy_lints": dict(self.tally.top_lints(limit=50))} if self.tally.lints else {}),
            "cached": self.cached,
            "wall_s": round(elapsed, 3),
            "toolchain": toolchains[0] if len(toolchains) == 1 else toolchains,
            "sandbox": sorted(self.sandboxes - {"None"}),
        }


def report_row(record: Record) -> dict[str, Any]:
    result: GateResult = record.gates["compile"]
    return {
        "id": record.id,
        "crate": crate_of(record),
        "profile": result.details.get("profile"),
        "verdict": result.verdict,
        "reason": result.reason,
        "diagnostics": [
            {"level": d.level, "code": d.code, "message": d.message, "file": d.file, "line": d.line, "column": d.column}
            for d in result.diagnostics
        ],
        "duration_s": result.duration_s,
        "cached": result.cached,
        # How the answer was read, each side of a fullstack answer, each tier: why the verdict is what it is.
        **{key: result.details[key] for key in ("reading", "sides", "tiers") if key in result.details},
    }


def print_summary(summary: _Summary, result: dict[str, Any]) -> None:
    console = Console(stderr=False)
    table = Table(title=f"compile gate: {result['records']} records in {result['wall_s']:.1f}s")
    columns: tuple[str, ...] = ("total", "pass", "fail", "rejected", "timeout", "error")
    if any(row.get("inconclusive") for row in result["by_crate"].values()):
        columns += ("inconclusive",)  # the test and run tiers' own verdict, shown where it occurs
    for column in ("crate", *columns, "pass rate"):
        table.add_column(column, justify="left" if column == "crate" else "right")
    for crate, row in result["by_crate"].items():
        table.add_row(
            crate,
            *(str(row.get(k, 0)) for k in columns),
            f"{row['pass_rate']:.0%}",
        )
    console.print(table)
    if result["top_error_codes"]:
        codes = ", ".join(f"{code} x{count}" for code, count in result["top_error_codes"].items())
        console.print(f"top rustc error codes: {codes}", soft_wrap=True)
    if result.get("clippy_lints"):
        lints = ", ".join(f"{name} x{count}" for name, count in list(result["clippy_lints"].items())[:10])
        console.print(f"clippy lints: {lints}", soft_wrap=True, markup=False)
    for line in summary.problems:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if summary.not_passing > len(summary.problems):
        console.print(f"  ... and {summary.not_passing - len(summary.problems)} more (all in --report-json)")
