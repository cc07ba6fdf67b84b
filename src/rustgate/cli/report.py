"""``rustgate report PATH...``: an HTML page with charts, and a markdown summary, of gated records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INPUT = 0, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="pass rates, judge scores, error codes and costs as HTML + markdown")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="gated records (files) or dataset folders")
    parser.add_argument("-o", "--out", metavar="DIR", default="rustgate-report", help="output folder")
    parser.add_argument("--markdown-only", action="store_true", help="print the summary, draw no charts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rustgate.data.output_dir import OutputRefused
    from rustgate.data.report import gather, load_funnel, summary_markdown, write_report
    from rustgate.overlap import refuse_overlap

    try:
        if not args.markdown_only:
            refuse_overlap({"-o": args.out}, args.paths, folders=["-o"])
        stats, errors = gather(args.paths)
    except (OSError, ValueError) as exc:
        print(f"rustgate report: {exc}", file=sys.stderr)
        return EXIT_INPUT
    for error in errors:
        print(f"{error}", file=sys.stderr)
    funnel = load_funnel(args.paths)
    if args.markdown_only:
        print(summary_markdown(stats, funnel))
        return EXIT_OK
    try:
        page = write_report(stats, Path(args.out), funnel)
    except OutputRefused as exc:
        print(f"rustgate report: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except ImportError:
        print(
            "rustgate report: charts need matplotlib: pip install 'rustgate[report]' (or use --markdown-only)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    print(summary_markdown(stats, funnel))
    print(f"\nwrote {page}")
    return EXIT_OK
