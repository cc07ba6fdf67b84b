"""``rustgate build`` in bounded memory: a plan of entries, the inputs read again, nothing laundered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import distinct_code, gated, write_records

from rustgate.data.assemble import assemble
from rustgate.data.config import load_config
from rustgate.data.dedupe import lsh_shape, near_duplicates
from rustgate.data.formats import write_records as write_any
from rustgate.data.manifest import verify_dataset
from rustgate.data.sources import InputChanged
from rustgate.data.writer import write_dataset
from rustgate.records import Record


def _config(root: Path, inputs: str = '"main.jsonl"', extra: str = "") -> Path:
    (root / "b.toml").write_text(
        "[build]\ntrust_row_verdicts = true\n"  # verdicts are checked in test_forged_verdicts.py
        f'inputs = [{inputs}]\noutput = "out"\n{extra}[build.split]\ntest = 2\n'
    )
    return root / "b.toml"


def _rows(folder: Path) -> dict[str, list[dict[str, object]]]:
    return {s: [json.loads(line) for line in (folder / f"{s}.jsonl").open()] for s in ("train", "test")}


@pytest.mark.parametrize("what", ["answer", "verdict"])
@pytest.mark.parametrize("name", ["main.jsonl", "main.parquet", "main-hf"])
def test_a_record_edited_between_plan_and_write_stops_the_build(tmp_path: Path, name: str, what: str) -> None:
    """The answer edited (its old verdicts riding along), or only its verdict turned to a fail (the
    same length in JSONL, so the line keeps its place): either way the row is not the one planned."""
    records = [gated(f"r-{i:02d}", distinct_code(i)) for i in range(8)]
    write_any(tmp_path / name, records)
    config = load_config(_config(tmp_path, inputs=f'"{name}"'))
    plan = assemble(config)
    assert "r-03" in {e.id for e in plan.train + plan.test}
    edited = records[3].to_row(with_gates=True)
    if what == "answer":
        edited["messages"][1]["content"] = "```rust\npub fn other() {}\n```"
    else:
        edited["gates"]["compile"]["verdict"] = "fail"
    write_any(tmp_path / name, [*records[:3], Record.model_validate(edited), *records[4:]])
    with pytest.raises(InputChanged, match=rf"{name}:4: r-03: changed while the build ran"):
        write_dataset(plan, config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.toml", name]  # no folder, no staging left


def test_a_replay_id_taken_by_main_is_dropped_once_and_its_repeat_is_an_input_error(tmp_path: Path) -> None:
    write_records(tmp_path / "main.jsonl", [gated(f"m-{i}", distinct_code(i)) for i in range(4)])
    replay = [gated("m-1", distinct_code(20)), gated("s-0", distinct_code(21)), gated("m-1", distinct_code(22))]
    write_records(tmp_path / "replay.jsonl", replay)
    plan = assemble(load_config(_config(tmp_path, extra='replay = ["replay.jsonl"]\n')))
    assert [(d.id, d.stage) for d in plan.drops if d.stage == "input"] == [("m-1", "input")]
    assert [str(e) for e in plan.errors] == [f"{tmp_path / 'replay.jsonl'}:3: m-1: duplicate id (first seen on line 1)"]


def test_a_repeated_id_across_input_files_is_an_input_error_and_the_first_is_kept(tmp_path: Path) -> None:
    write_records(tmp_path / "a.jsonl", [gated(f"a-{i}", distinct_code(i)) for i in range(4)])
    write_records(tmp_path / "b.jsonl", [gated("b-0", distinct_code(10)), gated("a-2", distinct_code(11))])
    plan = assemble(load_config(_config(tmp_path, inputs='"a.jsonl", "b.jsonl"')))
    assert [str(e) for e in plan.errors] == [
        f"{tmp_path / 'b.jsonl'}:2: a-2: duplicate id (first seen on {tmp_path / 'a.jsonl'}:3)"
    ]
    kept = {e.id: e.source for e in plan.train + plan.test}
    assert sorted(kept) == ["a-0", "a-1", "a-2", "a-3", "b-0"] and kept["a-2"] == 0


def test_parquet_hf_and_jsonl_inputs_build_the_same_dataset(tmp_path: Path) -> None:
    records = [gated(f"r-{i:02d}", distinct_code(i % 9)) for i in range(20)]  # 11 exact duplicates to drop
    built = {}
    for name in ("main.jsonl", "main.parquet", "main-hf"):
        write_any(tmp_path / name, records)
        config = load_config(_config(tmp_path, inputs=f'"{name}"'))
        plan = assemble(config)
        folder = write_dataset(plan, config, tmp_path / f"out-{name}")
        assert verify_dataset(folder) == []
        built[name] = (_rows(folder), sorted((d.id, d.stage, d.reason) for d in plan.drops))
    assert built["main.jsonl"] == built["main.parquet"] == built["main-hf"]
    assert len(built["main.jsonl"][1]) == 11


def _reference_near_duplicates(signatures: np.ndarray, threshold: float) -> dict[int, tuple[int, float]]:
    """The sequential LSH the build used before (a dict of byte keys per band), as the oracle."""
    bands, rows = lsh_shape(signatures.shape[1], threshold)
    buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
    found: dict[int, tuple[int, float]] = {}
    for row, sig in enumerate(signatures):
        keys = [sig[b * rows : (b + 1) * rows].tobytes() for b in range(bands)]
        best: tuple[float, int] | None = None
        for other in sorted({i for b, key in enumerate(keys) for i in buckets[b].get(key, ())}):
            similarity = float(np.mean(signatures[other] == sig))
            if similarity >= threshold and (best is None or similarity > best[0]):
                best = (similarity, other)
        if best is not None:
            found[row] = (best[1], best[0])
            continue
        for b, key in enumerate(keys):
            buckets[b].setdefault(key, []).append(row)
    return found


@pytest.mark.parametrize("seed", range(6))
def test_near_duplicates_agree_with_the_sequential_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 50, size=(60, 128), dtype=np.uint32)  # few values: chance band collisions
    rows = [base]
    for _ in range(4):  # copies of earlier rows with a share of their values changed
        picked = base[rng.integers(0, len(base), size=30)].copy()
        mask = rng.random(picked.shape) < rng.choice([0.02, 0.1, 0.3])
        picked[mask] = rng.integers(0, 50, size=int(mask.sum()), dtype=np.uint32)
        rows.append(picked)
    signatures = np.concatenate(rows)
    rng.shuffle(signatures)
    for threshold in (0.7, 0.85, 0.95):
        expected = _reference_near_duplicates(signatures, threshold)
        assert near_duplicates(signatures, range(len(signatures)), threshold) == expected
        assert expected  # the planted copies are found
    subset = sorted(rng.choice(len(signatures), size=100, replace=False).tolist())
    expected = {subset[i]: (subset[j], s) for i, (j, s) in _reference_near_duplicates(signatures[subset], 0.85).items()}
    assert near_duplicates(signatures, subset, 0.85) == expected


# The child's own high-water mark (VmHWM is per address space: a fork's copy of pytest is not in it).
_MEASURED = (
    "import sys\n"
    "from rustgate.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
    "print(f'peak_kib={hwm}')\n"
    "sys.exit(code)\n"
)


def _peak_mib(args: list[str], cwd: Path) -> tuple[int, float, str]:
    done = subprocess.run([sys.executable, "-c", _MEASURED, *args], cwd=cwd, capture_output=True, text=True)
    log = done.stdout + done.stderr
    peak = [int(line.split("=")[1]) for line in log.splitlines() if line.startswith("peak_kib=")]
    return done.returncode, peak[0] / 1024 if peak else float("nan"), log


def test_build_memory_does_not_grow_with_the_answers(tmp_path: Path) -> None:
    """150 MiB of answers (3,000 records of 54 KB each) build in less memory than they take (the
    whole build, imports included: about 60 MiB for ten records)."""
    pad = "This answer explains every line of the function at length. " * 900  # ~54 KB of prose
    with (tmp_path / "main.jsonl").open("w") as handle:
        for i in range(3000):
            record = gated(f"big-{i:05d}", distinct_code(i))
            row = record.to_row(with_gates=True)
            answer = row["messages"][1]["content"]
            row["messages"][1]["content"] = f"{pad}{i}\n\n{answer}"
            row["gates"]["compile"]["content_hash"] = type(record).model_validate(row).content_hash()
            handle.write(json.dumps(row) + "\n")
    size_mib = (tmp_path / "main.jsonl").stat().st_size / (1 << 20)
    _config(tmp_path)
    code, peak, log = _peak_mib(["build", "b.toml"], tmp_path)
    assert code == 0, log
    assert "train 2998, test 2" in log
    assert verify_dataset(tmp_path / "out") == []
    assert size_mib > 150 and peak < 120, f"peak {peak:.0f} MiB for {size_mib:.0f} MiB of input"


def test_a_streamed_manifest_reads_and_signs_as_one_built_in_memory(tmp_path: Path) -> None:
    from rustgate.data.manifest import ManifestRecords, manifest_header, write_manifest
    from rustgate.data.signing import sign, signature_problem

    records = ManifestRecords()
    for i in range(5):
        records.add(gated(f"r-{i}", distinct_code(i), judge_scores={"correctness": 7.5}), "train" if i % 2 else "test")
    header = records.header(["train", "test"], required_gates=["compile"], config={"note": "héllo"}, pins={})
    lines = records.lines(["train", "test"])
    key = b"k3y"
    write_manifest(tmp_path / "manifest.json", header, lines, key)
    loaded = json.loads((tmp_path / "manifest.json").read_text())
    assert [r["id"] for r in loaded["records"]] == ["r-1", "r-3", "r-0", "r-2", "r-4"]
    assert loaded["signature"] == sign({**header, "records": loaded["records"]}, key)["signature"]
    assert signature_problem(loaded, key) is None
    loaded["records"][0]["content_hash"] = "0" * 64
    assert "edited after the build" in str(signature_problem(loaded, key))
    assert manifest_header(tmp_path / "manifest.json") == header


@pytest.mark.parametrize("layout", ["records last", "records in the middle", "long header", "no records"])
def test_the_manifest_header_is_read_without_the_records(tmp_path: Path, layout: str) -> None:
    from rustgate.data.manifest import HEAD_BYTES, manifest_header

    header = {"format": "rustgate-dataset/1", "splits": {"train": {"file": "train.jsonl", "count": 2}}}
    records = [{"id": "a"}, {"id": "b"}]
    if layout == "records last":
        manifest = {**header, "records": records}
    elif layout == "records in the middle":  # how manifests before this change were laid out
        manifest = {**header, "records": records, "funnel": []}
    elif layout == "long header":
        manifest = {**header, "config": {"pad": "x" * HEAD_BYTES}, "records": records}
    else:
        manifest = dict(header)
    (tmp_path / "m.json").write_text(json.dumps(manifest, indent=2))
    expected = {k: v for k, v in manifest.items() if k != "records"}
    if layout == "records in the middle":
        expected.pop("funnel")  # after the records: not read
    if layout == "long header":
        expected = manifest  # read whole, as before
    assert manifest_header(tmp_path / "m.json") == expected
    (tmp_path / "bad.json").write_text('["not", "an object"]')
    with pytest.raises(ValueError, match="not a JSON object"):
        manifest_header(tmp_path / "bad.json")
