"""Benchmark: ``rustgate check`` re-checking 100,000 unchanged records, and ``rustgate build`` on them.

Writes ``--records`` distinct records (ids and prompts; their code repeats over ``--distinct``
programs, so the first check compiles 1,000 programs, not 100,000), checks them once to fill a
fresh ledger, then re-checks the unchanged file (with ``-o`` and ``--report-json``, as a user
re-gating a dataset does) and builds a dataset from the gated output. Each command is its own
process; its peak memory is that process's maximum resident set (``wait4``).

Three builds follow (no dedupe: all 100,000 records written; exact dedupe; near dedupe alone), each
with its peak memory, then ``rustgate report`` of the gated file and ``rustgate import`` of the same
records as alpaca rows. The last lines are ``build_peak_mb=B build_peak_vs_input=R`` and
``recheck_s=X recheck_peak_mb=Y``; the goals are X < 10 and Y < 500, and B well under the input.

    RUSTGATE_CACHE_DIR=/path/to/warm/cache python bench/check_scale.py [--records 100000] [--distinct 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hook import ensure_warm, record, write  # noqa: E402


def timed(argv: list[str], log: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one command."""
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=1000)
    args = parser.parse_args()
    ensure_warm()
    work = Path(tempfile.mkdtemp(prefix="rustgate-check-bench-"))
    try:
        return measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> int:
    data, ledger = work / "data.jsonl", work / "ledger.sqlite3"
    write(data, (record(i, 0, args.distinct) for i in range(args.records)))
    size_mb = data.stat().st_size / 1e6
    print(f"{args.records} records ({args.distinct} programs), {size_mb:.1f} MB")
    rustgate = [sys.executable, "-m", "rustgate"]
    check = [*rustgate, "check", str(data), "--ledger", str(ledger)]
    first_s, first_mb, code = timed([*check, "-o", str(work / "first.jsonl")], work / "first.log")
    print(f"first check (compiles the programs, fills the ledger): {first_s:.1f}s, peak {first_mb:.0f} MiB")
    if code not in (0, 1):
        print((work / "first.log").read_text()[-3000:], file=sys.stderr)
        return 1
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    gated = work / "gated.jsonl"
    recheck = [*check, "-o", str(gated), "--report-json", str(work / "report.json")]
    again_s, again_mb, code = timed(recheck, work / "again.log")
    print(f"re-check of {args.records} unchanged records (-o, --report-json): {again_s:.2f}s, peak {again_mb:.0f} MiB")
    bare_s, bare_mb, _ = timed(check, work / "bare.log")
    print(f"re-check without -o/--report-json: {bare_s:.2f}s, peak {bare_mb:.0f} MiB")
    builds = {  # what each build keeps: every record, one per program, or one per near-duplicate family
        "no dedupe": "exact = false\nnear = false",
        "exact dedupe": "exact = true\nnear = false",
        "near dedupe only": "exact = false\nnear = true",
    }
    peaks = []
    for label, dedupe in builds.items():
        config = work / "build.toml"
        config.write_text(
            f'[build]\ninputs = ["{gated}"]\noutput = "{work / "dataset"}"\nrequired_gates = ["compile"]\n'
            f"seed = 1\n[build.dedupe]\n{dedupe}\n[build.split]\ntest = 0.1\n"
        )
        build_s, build_mb, code = timed([*rustgate, "build", str(config)], work / "build.log")
        wrote = (work / "build.log").read_text().strip().splitlines()[-1][:90]
        print(f"build ({label}): {build_s:.2f}s, peak {build_mb:.0f} MiB, exit {code}: {wrote}")
        peaks.append(build_mb)
        if code != 0:
            print((work / "build.log").read_text()[-3000:], file=sys.stderr)
            return 1
    print(f"build_peak_mb={max(peaks):.0f} build_peak_vs_input={max(peaks) / (size_mb * 1e6 / (1 << 20)):.2f}")
    report_s, report_mb, code = timed([*rustgate, "report", str(gated), "--markdown-only"], work / "report.log")
    print(f"report --markdown-only of the gated file: {report_s:.2f}s, peak {report_mb:.0f} MiB, exit {code}")
    alpaca = work / "alpaca.jsonl"
    with alpaca.open("w") as handle:  # the same records as an outside file in alpaca shape
        for i in range(args.records):
            row = record(i, 0, args.distinct)
            messages = row["messages"]  # type: ignore[index]
            handle.write(json.dumps({"instruction": messages[0]["content"], "output": messages[1]["content"]}) + "\n")
    import_s, import_mb, code = timed([*rustgate, "import", str(alpaca), str(work / "imported.jsonl")], work / "i.log")
    print(f"import of {args.records} alpaca rows to JSONL: {import_s:.2f}s, peak {import_mb:.0f} MiB, exit {code}")
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"recheck_s={again_s:.2f} recheck_peak_mb={again_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
