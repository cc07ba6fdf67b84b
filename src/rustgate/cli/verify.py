"""``rustgate verify DIR``: does a dataset folder still match its manifest?"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_TAMPERED, EXIT_UNREADABLE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("verify", help="check a dataset folder against its manifest.json")
    parser.add_argument("folder", metavar="DIR", help="a `rustgate build` output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rustgate.data.manifest import load_manifest, verify_dataset
    from rustgate.data.signing import KEY_ENV, signing_key

    try:
        problems = verify_dataset(args.folder)
        signed = "signature" in load_manifest(args.folder)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        print(f"rustgate verify: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    for problem in problems:
        print(problem)
    if problems:
        print(f"rustgate verify: {len(problems)} problem(s) in {args.folder}", file=sys.stderr)
        return EXIT_TAMPERED
    print(f"{args.folder}: every record matches the manifest")
    if signing_key() is not None:
        print(f"{args.folder}: the manifest's signature is valid")
    else:
        state = "signed, but not checked" if signed else "not signed"
        print(
            f"{args.folder}: note: the manifest is {state}: without {KEY_ENV} this proves no accidental edit, "
            "not the absence of a forgery (docs/datasets.md)",
            file=sys.stderr,
        )
    return EXIT_OK
