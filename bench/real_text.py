"""The reading measured on real text nobody here wrote (issue 19's benchmark).

    python bench/real_text.py [--oracle] [--only ID ...] [--files bench/real_text/*.jsonl]

Each row of ``bench/real_text/*.jsonl`` is one answer taken verbatim from a public source
(a book chapter's section, a README, a docs page, a tutorial), kept with its repository, path
and commit or address, and the package a careful reader would build from it (``reader``:
file -> text). Its label is what plain ``cargo check --all-targets`` says of that package on
the profile's template (``--oracle`` re-confirms every label). The gate then reads the
markdown itself, as it reads any answer, and the verdicts are compared:

- ``shape_agreement``: the gate's verdict equals the careful reader's label;
- ``compiling_kept``: of the answers whose careful reading compiles, the share the gate passes;
- ``false_pass``: answers the gate passes whose careful reading does not compile.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from answer_shapes_oracle import cargo_check  # noqa: E402

from rustgate.cargo.templates import load_profiles  # noqa: E402
from rustgate.gates.compile import CompileGate  # noqa: E402
from rustgate.paths import cache_dir  # noqa: E402
from rustgate.records import Record  # noqa: E402

LABELS = {"pass", "fail", "rejected"}


def load_rows(paths: list[Path]) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            where = f"{path}:{number} ({row.get('id')})"
            missing = {"id", "crate", "source", "answer", "expect"} - set(row)
            if missing or row["expect"] not in LABELS:
                raise SystemExit(f"{where}: needs id, crate, source, answer and expect in {sorted(LABELS)}")
            if row["expect"] != "rejected" and not row.get("reader"):
                raise SystemExit(f"{where}: a pass/fail label needs the careful reader's package")
            rows.append(row)
    return rows


def record_of(row: dict) -> Record:
    question = row.get("question") or "Show me how to do this."
    return Record.model_validate(
        {
            "id": row["id"],
            "crate": row["crate"],
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": row["answer"]},
            ],
        }
    )


def oracle(rows: list[dict]) -> int:
    profiles = load_profiles()
    disagreed = 0
    for row in rows:
        if row["expect"] == "rejected":
            print(f"{row['id']:40} rejected  (a rejection: no compile form)")
            continue
        profile = profiles[row["crate"]]
        target_dir = cache_dir() / "oracle" / profile.name
        ok, first_error = cargo_check(row["reader"], profile, target_dir, profiles.get(profile.client))
        agrees = ok == (row["expect"] == "pass")
        disagreed += not agrees
        mark = "agrees" if agrees else "DISAGREES"
        print(f"{row['id']:40} {row['expect']:9} cargo={'ok' if ok else 'error':6} {mark}  {first_error[:90]}")
    print(f"oracle_disagreements={disagreed} ({len(rows)} answers)")
    return disagreed


def measure(rows: list[dict]) -> None:
    started = time.perf_counter()
    results = CompileGate(timeout_s=120).check([record_of(r) for r in rows])
    elapsed = time.perf_counter() - started
    agreed = kept = compiling = false_pass = 0
    by_crate: dict[str, list[int]] = {}
    for row, result in zip(rows, results, strict=True):
        same = result.verdict == row["expect"]
        agreed += same
        compiling += row["expect"] == "pass"
        kept += row["expect"] == "pass" and result.verdict == "pass"
        false_pass += row["expect"] != "pass" and result.verdict == "pass"
        tally = by_crate.setdefault(row["crate"], [0, 0])
        tally[0] += same
        tally[1] += 1
        mark = "" if same else "   <-- " + (result.reason or "")[:110]
        print(f"{row['id']:40} {row['crate']:10} label={row['expect']:8} gate={result.verdict:8}{mark}")
    for crate, (same, total) in sorted(by_crate.items()):
        print(f"  {crate:10} {same}/{total} agree")
    print(f"answers={len(rows)} seconds={elapsed:.1f}")
    print(
        f"shape_agreement={agreed / max(1, len(rows)):.3f} "
        f"compiling_kept={kept / max(1, compiling):.3f} false_pass={false_pass}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oracle", action="store_true", help="confirm every label with plain cargo")
    parser.add_argument("--only", nargs="*", help="answer ids (default: all)")
    parser.add_argument("--files", nargs="*", type=Path, help="corpus files (default: bench/real_text/*.jsonl)")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "bench" / "real_text").glob("*.jsonl"))
    rows = [r for r in load_rows(files) if not args.only or r["id"] in args.only]
    if args.oracle:
        raise SystemExit(1 if oracle(rows) else 0)
    measure(rows)


if __name__ == "__main__":
    main()
