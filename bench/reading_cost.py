"""What the answer reading costs: rustc targets per package with and without the extra units
(alternatives, test-mode roots, the client side of a fullstack answer), usage modules, and
reading time per record.

    python bench/reading_cost.py
"""
import sys
import time

sys.path.insert(0, "tests")
from answer_shapes import SHAPES
from corpus import ALL

from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.replay import _targets
from rustgate.cargo.sides import client_source
from rustgate.cargo.templates import load_profiles
from rustgate.records import Record

P = load_profiles()
for name, rows in (("corpus", [s.row() for s in ALL]), ("answer-shapes", [s.row() for s in SHAPES])):
    recs = [Record.model_validate(r) for r in rows]
    t = time.perf_counter()
    srcs = [extract_crate(r, P) for r in recs]
    dt = time.perf_counter() - t
    ok = [s for s in srcs if isinstance(s, CrateSource)]
    base = sum(1 + len(s.bins) + len(s.tests) if s.lib else len(s.bins) + len(s.tests) for s in ok)
    clients = [c for s in ok if P[s.profile].client and (c := client_source(s, P[s.profile].client))]
    units = sum(len(_targets(s)) for s in ok) + sum(len(_targets(c)) for c in clients)
    usage = sum(sum(1 for e in s.reading if e["read_as"] == "usage") for s in ok)
    print(f"{name}: records={len(recs)} packages={len(ok)} rustc_targets={units} (lib/bin/test alone: {base}) "
          f"client_side_targets={sum(len(_targets(c)) for c in clients)} "
          f"usage_modules={usage} reading_ms_per_record={1000*dt/len(recs):.2f}")
