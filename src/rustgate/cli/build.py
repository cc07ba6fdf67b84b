"""``rustgate build CONFIG``: gated records -> a dataset folder (splits, manifest, card)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from rustgate.records import Record

EXIT_OK, EXIT_INPUT_ERRORS, EXIT_CONFIG, EXIT_EMPTY = 0, 1, 2, 3


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("build", help="assemble gated records into a train/test dataset folder")
    parser.add_argument("config", metavar="CONFIG", help="build config (TOML, see examples/build.toml)")
    parser.add_argument("-o", "--output", metavar="DIR", help="dataset folder (default: the config's output)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when any input row was unreadable")
    parser.add_argument(
        "--force",
        action="store_true",
        help="write the dataset files into an existing folder that is not an earlier dataset "
        "(other files there are left alone; inputs are never overwritten)",
    )
    parser.set_defaults(func=run)


def regate_with_ledger(
    ledger_path: Path | None, tiers: Sequence[str] = ("compile",), clippy_deny: Sequence[str] = ()
) -> Callable[[list[Record], list[str]], list[Record]]:
    """The ``regate`` step of ``assemble``: the compile gate, through the ledger, on the records
    ``assemble`` hands it (verdicts missing, stale, or claimed by the row and so to be verified).
    What the ledger holds costs no compile."""

    def regate(records: list[Record], gates: list[str]) -> list[Record]:
        if "compile" not in gates or not records:
            return records
        todo = list(range(len(records)))
        from rustgate.gates.compile import CompileGate
        from rustgate.ledger import Ledger

        print(f"rustgate build: compile verdicts of {len(todo)} record(s), through the ledger", file=sys.stderr)
        with Ledger(ledger_path) as ledger:
            gate = CompileGate(ledger=ledger, tiers=tiers, clippy_deny=clippy_deny)
            results = gate.check([records[i] for i in todo])
        out = list(records)
        for index, result in zip(todo, results, strict=True):
            out[index] = out[index].with_gate(result)
        return out

    return regate


def run(args: argparse.Namespace) -> int:
    from rustgate.data.assemble import assemble
    from rustgate.data.config import ConfigError, load_config
    from rustgate.data.output_dir import OutputRefused
    from rustgate.data.writer import write_dataset
    from rustgate.overlap import refuse_overlap
    from rustgate.paths import default_ledger_path

    try:
        config = load_config(args.config)
        refuse_overlap(
            {
                "the output folder": Path(args.output) if args.output else config.output,
                "the ledger": (config.ledger or default_ledger_path())
                if config.gate_missing or not config.trust_row_verdicts else None,
            },
            [args.config, *config.inputs, *config.replay, *config.decontam.eval_prompts],
        )  # an output folder that holds an input: refused by ``place_folder`` (or, with --force, merged around it)
        verifying = config.gate_missing or not config.trust_row_verdicts
        regate = regate_with_ledger(config.ledger, config.compile_tiers, config.clippy_deny) if verifying else None
        result = assemble(config, regate)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"rustgate build: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for error in result.errors:
        print(f"{error}", file=sys.stderr)
    by_stage = Counter(d.stage for d in result.drops)
    dropped = ", ".join(f"{stage} {count}" for stage, count in by_stage.most_common()) or "none"
    if not result.train and not result.test:
        print(f"rustgate build: nothing to write: every record was dropped ({dropped})", file=sys.stderr)
        for drop in result.drops[:10]:
            print(f"  {drop.id}: {drop.stage}: {drop.reason}", file=sys.stderr)
        return EXIT_EMPTY
    try:
        folder = write_dataset(result, config, Path(args.output) if args.output else None, force=args.force)
    except (OutputRefused, OSError, ValueError) as exc:  # ValueError: an input changed during the build
        print(f"rustgate build: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"wrote {folder}: train {len(result.train)}, test {len(result.test)}; dropped: {dropped}")
    for crate, (want, have) in result.shortfall.items():
        print(f"  {crate}: target {want}, only {have} available", file=sys.stderr)
    if result.errors:
        print(f"rustgate build: {len(result.errors)} unreadable input row(s), skipped", file=sys.stderr)
        return EXIT_INPUT_ERRORS if args.strict else EXIT_OK
    return EXIT_OK
