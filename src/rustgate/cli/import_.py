"""``rustgate import SRC OUT``: Strandset-Rust-v1 or alpaca rows -> canonical records."""

from __future__ import annotations

import argparse
import sys
from itertools import islice

EXIT_OK, EXIT_ROW_ERRORS, EXIT_UNREADABLE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import", help="convert Strandset-Rust-v1 / alpaca rows into canonical records")
    parser.add_argument("source", metavar="SRC", help="JSONL, Parquet or a datasets folder")
    parser.add_argument("output", metavar="OUT", help="where to write (.jsonl, .parquet, or a folder)")
    parser.add_argument("--shape", choices=["auto", "strandset", "alpaca"], default="auto")
    parser.add_argument("--prefix", help="id prefix for rows without ids (default: the source's name)")
    parser.add_argument(
        "--limit", type=_count, default=None, help="keep only the first N converted records (reading stops there)"
    )
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from rustgate.data.formats import write_records
    from rustgate.data.importers import import_stream
    from rustgate.data.jsonl import InputError
    from rustgate.overlap import WritesOverInput, refuse_overlap

    try:
        refuse_overlap({"OUT": args.output}, [args.source], folders=["OUT"])
    except WritesOverInput as exc:
        print(f"rustgate import: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    errors: list[InputError] = []
    try:  # streamed: converted rows are written as they come, and nothing is written on a failure
        records = import_stream(args.source, errors, shape=args.shape, prefix=args.prefix)
        count = write_records(args.output, islice(records, args.limit), with_gates=False)
    except (OSError, ValueError) as exc:
        print(f"rustgate import: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    for error in errors:
        print(f"{error}", file=sys.stderr)
    print(f"wrote {count} records to {args.output} ({len(errors)} row(s) skipped)")
    return EXIT_ROW_ERRORS if errors else EXIT_OK
