"""Benchmark: the Pipeline's own bookkeeping at scale, with a gate that costs nothing.

``--records`` existing records (default 50,000) through one trivial gate (it passes an answer
longer than 10 characters), then the same run again, resumed from the ledger. Prints the time of
each and the peak memory above what the input records took (the caller holds those), measured as
this process's VmHWM. What it shows is what the run itself holds: since the output is streamed
back from the ledger, that stays small however many rows are written.

    .venv/bin/python bench/pipeline_scale.py [--records 50000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hook import record  # noqa: E402

from rustgate.gates.base import Gate  # noqa: E402
from rustgate.ledger import Ledger  # noqa: E402
from rustgate.pipeline import Pipeline  # noqa: E402
from rustgate.records import GateResult, Record  # noqa: E402


class LengthGate(Gate):
    name = "length"
    version = "length/1"

    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        return [
            GateResult(gate=self.name, verdict="pass" if len(r.answer) > 10 else "fail", version=self.version)
            for r in records
        ]


def peak_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    records = [Record.model_validate(record(i, 0, 1000)) for i in range(args.records)]
    base = peak_mib()
    print(f"{args.records} input records held by the caller: peak {base:.0f} MiB")
    work = Path(tempfile.mkdtemp(prefix="rustgate-pipeline-scale-"))
    try:
        for label in ("run", "resume"):
            started = time.perf_counter()
            with Ledger(work / "ledger.sqlite3") as ledger:
                pipeline = Pipeline(
                    [LengthGate()], records=records, output=work / "out.jsonl", ledger=ledger, progress=False
                )
                summary = pipeline.run()
            seconds = time.perf_counter() - started
            print(
                f"{label}: {seconds:.2f}s, {summary.done} done ({summary.resumed} resumed), "
                f"peak {peak_mib() - base:.0f} MiB over the inputs"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
