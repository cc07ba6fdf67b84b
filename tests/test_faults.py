"""Faults of the machine are never the code's (issue 20, items 1 and 2). Real rustc, real sandbox,
a real size-limited tmpfs for the scratch folder, real signals: a full disk or a kill from outside
is ``error`` and never stored; a verdict a limit caused is stored with its limits and compiled
again when they grow; a timeout under load is confirmed alone before it is stored. Each case has
a near twin whose failure is the code's own and is stored and served as usual."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import GateResult, Record

FENCE = "```"
# A library whose metadata is a few hundred KB: rustc must write it into the scratch folder.
BIG_LIB = "\n".join(f"pub fn f{i}<T: Clone>(x: T) -> (T, T) {{ (x.clone(), x) }}" for i in range(3000))
MISSING_INCLUDE = 'pub const TEXT: &str = include_str!("notes.txt");'  # the code's own I/O error


def record(rid: str, code: str) -> Record:
    answer = f"{FENCE}rust\n{code}\n{FENCE}"
    return Record(id=rid, messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}])


def slow_const(iterations: int, salt: int = 0) -> str:
    """Code whose check takes time proportional to ``iterations`` (const evaluation, ~4 µs each)."""
    return (
        f"// sample {salt}\n#[allow(long_running_const_eval)]\npub const X: u64 = {{ let mut i = 0u64; "
        f"let mut s = 0u64; while i < {iterations} {{ s = s.wrapping_mul(31).wrapping_add(i); i += 1; }} s }};\n"
        "pub fn f() -> u64 { X }"
    )


def check(ledger: Path, records: list[Record], **settings: object) -> list[GateResult]:
    with Ledger(ledger) as store:
        return CompileGate(ledger=store, **settings).check(records)  # type: ignore[arg-type]


_IN_TMPFS = """
import json, sys
from pathlib import Path
from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import Record
rows = [Record.model_validate_json(line) for line in Path(sys.argv[1]).read_text().splitlines()]
with Ledger(Path(sys.argv[2])) as store:
    results = CompileGate(ledger=store, jobs=1).check(rows)
print(json.dumps([r.model_dump(mode="json") for r in results]))
"""


def check_on_small_disk(tmp_path: Path, ledger: Path, records: list[Record], free_kb: int) -> list[GateResult]:
    """Check ``records`` with the scratch folder on a 4 MiB tmpfs that has ``free_kb`` left."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to mount a private tmpfs")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(r.model_dump_json() + "\n" for r in records))
    disk = tmp_path / "disk"
    disk.mkdir(exist_ok=True)
    fill = (4096 - free_kb) * 1024
    script = (
        f"mount -t tmpfs -o size=4m tmpfs {disk} && head -c {fill} /dev/zero > {disk}/fill; "
        f'TMPDIR={disk} exec "$0" -c "$1" {rows} {ledger}'
    )
    flags = "-m" if os.geteuid() == 0 else "-rm"
    done = subprocess.run(
        ["unshare", flags, "sh", "-c", script, sys.executable, _IN_TMPFS],
        capture_output=True, text=True, timeout=300, env={**os.environ},
    )  # fmt: skip
    if done.returncode != 0 and "unshare" in done.stderr and "Operation not permitted" in done.stderr:
        pytest.skip(f"no private mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr[-2000:]
    return [GateResult.model_validate(r) for r in json.loads(done.stdout.strip().splitlines()[-1])]


@pytest.mark.parametrize("free_kb", [16, 128, 256, 512])
def test_a_full_scratch_disk_is_an_error_never_a_stored_fail(
    warm_cache: Path, tmp_path: Path, ledger_path: Path, free_kb: int
) -> None:
    rows = [record("big", BIG_LIB), record("own-io-error", MISSING_INCLUDE)]
    on_full = check_on_small_disk(tmp_path, ledger_path, rows, free_kb)
    # The correct library: error (the disk) or pass (it fit), never the code's fail.
    assert on_full[0].verdict in ("error", "pass"), on_full[0]
    if on_full[0].verdict == "error":
        assert "disk is full" in (on_full[0].reason or ""), on_full[0].reason
    # The twin: an I/O error the code itself causes is its own failure, whatever the disk.
    assert on_full[1].verdict in ("fail", "error"), on_full[1]
    freed = check(ledger_path, rows)
    assert freed[0].verdict == "pass", freed[0]
    assert bool(freed[0].cached) == (on_full[0].verdict == "pass")  # the disk's error was never stored
    assert freed[1].verdict == "fail" and "notes.txt" in (freed[1].reason or ""), freed[1]
    again = check(ledger_path, rows)
    assert again[1].cached and again[1].verdict == "fail"  # the code's failure is stored and served


def test_the_disk_fault_is_found_at_some_fill_level(warm_cache: Path, tmp_path: Path, ledger_path: Path) -> None:
    """The parametrized case above must not pass only because the library always fit."""
    results = check_on_small_disk(tmp_path, ledger_path, [record("big", BIG_LIB)], 256)
    assert results[0].verdict == "error", results[0]
    assert "(os error 28)" in (results[0].reason or "") and "TMPDIR" in (results[0].reason or "")
    assert stored_verdicts(ledger_path) == []  # nothing was stored for it


def stored_verdicts(ledger: Path) -> list[str]:
    """Every verdict the ledger file holds, read with plain sqlite3."""
    with sqlite3.connect(ledger) as conn:
        return [json.loads(row[0])["verdict"] for row in conn.execute("SELECT result FROM gate_results")]


def _descendant_rustc(parent: int) -> list[int]:
    """rustc processes below ``parent`` (this test's process), found through /proc."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)], names[int(entry.name)] = int(fields[1]), name
    found = []
    for pid, name in names.items():
        if not name.startswith("rustc"):
            continue
        up, hops = parents.get(pid), 0
        while up and up != parent and hops < 32:
            up, hops = parents.get(up), hops + 1
        if up == parent:
            found.append(pid)
    return found


def test_a_compiler_killed_from_outside_is_an_error_and_not_stored(warm_cache: Path, ledger_path: Path) -> None:
    rows = [record("slow", slow_const(2_000_000))]
    results: list[GateResult] = []
    worker = threading.Thread(target=lambda: results.extend(check(ledger_path, rows, timeout_s=120)))
    worker.start()
    deadline = time.monotonic() + 60
    killed = False
    while worker.is_alive() and time.monotonic() < deadline and not killed:
        for pid in _descendant_rustc(os.getpid()):
            os.kill(pid, signal.SIGKILL)  # what the kernel's OOM killer would do
            killed = True
        time.sleep(0.05)
    worker.join(180)
    assert killed, "the compiler was never seen running"
    assert results[0].verdict == "error", results[0]
    assert "SIGKILL from outside rustgate" in (results[0].reason or "")
    assert stored_verdicts(ledger_path) == []


def test_the_twin_a_crash_of_the_code_s_own_making_is_stored(warm_cache: Path, ledger_path: Path) -> None:
    """A compile that ends on its own (here: a type error) is stored and served: only outside kills are not."""
    rows = [record("wrong", 'pub fn f() -> u32 { "text" }')]
    first = check(ledger_path, rows)
    assert first[0].verdict == "fail" and not first[0].cached
    assert check(ledger_path, rows)[0].cached


# 30 million u64 in a static: const evaluation needs ~240 MB, and the metadata holds them all.
BIG_STATIC = "pub static A: [u64; 30_000_000] = [7; 30_000_000];\npub fn f() -> u64 { A[3] }"
CONST_BUG = "const T: [u8; 2] = [0; 2];\npub const Y: u8 = T[5];"  # E0080 of the code's own


def test_a_memory_limit_failure_is_compiled_again_under_a_larger_limit(warm_cache: Path, ledger_path: Path) -> None:
    rows = [record("big-static", BIG_STATIC), record("const-bug", CONST_BUG)]
    tight = check(ledger_path, rows, memory_mb=600)
    assert tight[0].verdict == "fail" and tight[0].details.get("limited_by") == ["memory_mb"], tight[0]
    assert any(d.code == "E0080" and "memory" in d.message for d in tight[0].diagnostics)
    assert tight[1].verdict == "fail" and "limited_by" not in tight[1].details  # the twin: the code's own E0080
    # Under a limit no larger, the stored verdict is served.
    assert all(r.cached for r in check(ledger_path, rows, memory_mb=500))
    roomy = check(ledger_path, rows, memory_mb=2048)
    assert not roomy[0].cached, "a verdict the memory limit caused was served under a larger limit"
    # With memory enough, the next limit it meets is the output file's (240 MB of metadata > 64 MiB).
    assert roomy[0].verdict == "rejected" and roomy[0].details.get("limited_by") == ["max_output_mb"], roomy[0]
    assert roomy[1].cached and roomy[1].verdict == "fail"  # the code's own failure: served at any limit
    assert not check(ledger_path, rows[:1], memory_mb=2048, max_output_mb=128)[0].cached
    assert check(ledger_path, rows[:1], memory_mb=2048, max_output_mb=32)[0].cached


def test_a_timeout_under_load_is_confirmed_alone_before_it_is_stored(warm_cache: Path, ledger_path: Path) -> None:
    """Ten compiles of ~1.2 s each on this machine's cores at once: under competition they overrun
    a 3 s limit; alone, each fits. None may be stored (or shown) as a timeout. Single mode: ten
    separate compiles (batched replay would put them in shared rustc runs, which fit the limit)."""
    rows = [record(f"load-{i}", slow_const(250_000, salt=i)) for i in range(10)]
    results = check(ledger_path, rows, jobs=10, timeout_s=3.0, method="single")
    assert [r.verdict for r in results] == ["pass"] * 10, [(r.verdict, r.reason) for r in results]
    confirmed = [r for r in results if r.details.get("confirmed_alone")]
    if (os.cpu_count() or 1) < 8:  # on a few cores, ten at once must have overrun at least once
        assert confirmed, "no compile timed out under load: the test did not exercise the confirmation"
    assert all(r.details.get("first_try") == "timeout" for r in confirmed)


def test_the_twin_a_real_timeout_is_confirmed_stored_and_rechecked_when_the_limit_grows(
    warm_cache: Path, ledger_path: Path
) -> None:
    rows = [record("endless", slow_const(50_000_000)), record("quick", "pub fn g() {}")]
    first = check(ledger_path, rows, jobs=2, timeout_s=1.5)
    assert first[0].verdict == "timeout" and first[0].details.get("confirmed_alone"), first[0]
    assert first[0].details.get("limited_by") == ["timeout_s"]
    assert first[1].verdict == "pass"
    assert check(ledger_path, rows, jobs=2, timeout_s=1.5)[0].cached  # stored, and served at the same limit
    longer = check(ledger_path, rows, jobs=2, timeout_s=2.5)
    assert not longer[0].cached and longer[0].verdict == "timeout"


HASHMAP_LIB = "use std::collections::HashMap;\npub fn f() -> HashMap<u8, u8> { HashMap::new() }"


def test_metadata_the_memory_limit_cannot_map_is_a_machine_fault(warm_cache: Path, ledger_path: Path) -> None:
    """Under a few hundred MB of address space rustc cannot map the sysroot's metadata (E0786,
    "only metadata stub found", then E0463 for `std`): correct code must not be stored as failing."""
    for memory_mb in (350, 400):
        result = check(ledger_path, [record(f"starved-{memory_mb}", HASHMAP_LIB)], memory_mb=memory_mb)[0]
        assert result.verdict == "error", result
        assert "could not load a dependency's metadata" in (result.reason or "")
    assert stored_verdicts(ledger_path) == []
    assert check(ledger_path, [record("roomy", HASHMAP_LIB)], memory_mb=2048)[0].verdict == "pass"


def test_the_twin_a_sample_that_copies_the_loader_s_wording_keeps_its_own_failure(
    warm_cache: Path, ledger_path: Path
) -> None:
    forged = (
        'compile_error!("only metadata stub found for `rlib` dependency `core`");\n'
        'compile_error!("found invalid metadata files for crate `alloc`");\n'
        'compile_error!("cannot resolve a prelude import");\n'
        'compile_error!("can\'t find crate for `std`");\npub fn f() {}'
    )
    rows = [record("forged-loader", forged)]
    first = check(ledger_path, rows)[0]
    assert first.verdict == "fail" and "limited_by" not in first.details, first
    assert check(ledger_path, rows)[0].cached  # the sample's own failure: stored and served


def test_a_crate_outside_the_profile_is_rejected_but_a_sample_that_only_says_so_fails(
    warm_cache: Path, ledger_path: Path
) -> None:
    """rustc's E0433 naming an unlinked crate makes the record out of scope (``rejected``); the same
    words from the sample's own ``compile_error!`` are the sample's failure, not a way out of it."""
    used = record("uses-unpinned", "pub fn f() { let _ = fancy_unknown::thing(); }")
    says = record("says-unpinned", 'compile_error!("use of unresolved module or unlinked crate `fancy_unknown`");')
    first, second = check(ledger_path, [used, says])
    assert first.verdict == "rejected" and first.details.get("missing_crates") == ["fancy_unknown"], first
    assert second.verdict == "fail" and "missing_crates" not in second.details, second
