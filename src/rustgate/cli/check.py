"""``rustgate check PATH...``: a per-record compile verdict for JSONL datasets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rustgate.atomic import atomic_write_json
from rustgate.cargo.isolation import UNSAFE_WARNING, IsolationError, requested_backend
from rustgate.cli.gate_args import add_compile_arguments, compile_settings
from rustgate.cli.progress import Reporter
from rustgate.data.jsonl import read_many
from rustgate.display import one_line
from rustgate.gates.base import StageContext
from rustgate.ledger import Ledger
from rustgate.records import GateResult, Record
from rustgate.stats import crate_of, top_error_codes, verdicts_by_crate

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


def run(args: argparse.Namespace) -> int:
    try:
        settings = compile_settings(args, use_cache=not args.no_cache)
    except ValueError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.output and any(Path(args.output).resolve() == Path(p).resolve() for p in args.paths):
        print(f"rustgate check: --output {args.output} is an input: write the gated records elsewhere", file=sys.stderr)
        return EXIT_INPUT
    try:
        loaded = read_many(args.paths)
    except OSError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    for error in loaded.errors:
        print(f"{error}", file=sys.stderr)
    records = [item.record for item in loaded.records]
    try:
        if requested_backend(args.sandbox) == "none":
            print(f"rustgate check: WARNING: {UNSAFE_WARNING}", file=sys.stderr)
    except IsolationError as exc:
        print(f"rustgate check: {exc}", file=sys.stderr)
        return EXIT_INPUT
    ledger = None if args.no_cache else Ledger(args.ledger) if args.ledger else Ledger()
    gate = settings.build(StageContext(ledger))
    started = time.monotonic()
    with Reporter("check", len(records)) as reporter:
        results = gate.check(records, on_result=lambda i, r: reporter.advance(f"{records[i].id}: {r.verdict}"))
    elapsed = time.monotonic() - started
    if gate.isolation is not None and not gate.isolation.isolated:
        print(f"rustgate check: WARNING: {UNSAFE_WARNING}", file=sys.stderr)  # again, after the table scrolls
    gated = [record.with_gate(result) for record, result in zip(records, results, strict=True)]
    summary = build_summary(gated, elapsed, len(loaded.errors))
    print_summary(gated, summary)
    if args.report_json:
        atomic_write_json(args.report_json, {"records": [report_row(r) for r in gated], "summary": summary})
    if args.output:
        from rustgate.data.formats import write_records

        write_records(args.output, gated, with_gates=True)
        print(f"wrote {len(gated)} gated records to {args.output}", file=sys.stderr)
    if ledger is not None:
        ledger.close()
    if loaded.errors:
        return EXIT_INPUT
    return EXIT_OK if all(r.verdict == "pass" for r in results) else EXIT_NOT_ALL_PASS


def report_row(record: Record) -> dict[str, Any]:
    result: GateResult = record.gates["compile"]
    return {
        "id": record.id,
        "crate": crate_of(record),
        "profile": result.details.get("profile"),
        "verdict": result.verdict,
        "reason": result.reason,
        "diagnostics": [
            {"level": d.level, "code": d.code, "message": d.message, "line": d.line, "column": d.column}
            for d in result.diagnostics
        ],
        "duration_s": result.duration_s,
        "cached": result.cached,
    }


def build_summary(records: list[Record], elapsed: float, input_errors: int) -> dict[str, Any]:
    toolchains = sorted({str(r.gates["compile"].details.get("toolchain")) for r in records} - {"None"})
    return {
        "records": len(records),
        "input_errors": input_errors,
        "by_crate": verdicts_by_crate(records, "compile"),
        "top_error_codes": dict(top_error_codes(records)),
        "cached": sum(1 for r in records if r.gates["compile"].cached),
        "wall_s": round(elapsed, 3),
        "toolchain": toolchains[0] if len(toolchains) == 1 else toolchains,
        "sandbox": sorted({str(r.gates["compile"].details.get("sandbox")) for r in records} - {"None"}),
    }


def print_summary(records: list[Record], summary: dict[str, Any]) -> None:
    console = Console(stderr=False)
    table = Table(title=f"compile gate: {summary['records']} records in {summary['wall_s']:.1f}s")
    for column in ("crate", "total", "pass", "fail", "rejected", "timeout", "error", "pass rate"):
        table.add_column(column, justify="left" if column == "crate" else "right")
    for crate, row in summary["by_crate"].items():
        table.add_row(
            crate,
            *(str(row[k]) for k in ("total", "pass", "fail", "rejected", "timeout", "error")),
            f"{row['pass_rate']:.0%}",
        )
    console.print(table)
    if summary["top_error_codes"]:
        codes = ", ".join(f"{code} x{count}" for code, count in summary["top_error_codes"].items())
        console.print(f"top rustc error codes: {codes}", soft_wrap=True)
    for record in records:
        result = record.gates["compile"]
        if result.verdict != "pass":
            line = f"  {one_line(record.id, 120)}: {result.verdict}: {one_line(result.first_problem(), 300)}"
            console.print(line, markup=False, highlight=False, soft_wrap=True)
