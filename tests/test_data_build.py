"""``rustgate build`` end to end: the folder, its manifest and card, and ``verify`` catching tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import distinct_code, gated, write_records, write_rows

from rustgate.cli.main import main
from rustgate.data.config import load_config
from rustgate.data.manifest import verify_dataset

EVAL = "Implement a leptos counter component whose button doubles the value on every click"


def make_inputs(root: Path) -> Path:
    scores = {"correctness": 8.0, "completeness": 7.0, "idiomatic": 9.0, "crate_knowledge": 8.0, "explanation": 7.0}
    main_records = []
    for crate, n in (("axum", 12), ("leptos", 10), ("rig", 6)):
        main_records += [
            gated(f"{crate}-{i:02d}", distinct_code(100 * len(crate) + i), crate=crate, judge_scores=scores)
            for i in range(n)
        ]
    main_records.append(
        gated("axum-fail", distinct_code(999), crate="axum", compile_verdict="fail", judge_scores=scores)
    )
    main_records.append(gated("axum-nojudge", distinct_code(998), crate="axum"))
    # same code as rig-01: an exact duplicate
    main_records.append(gated("axum-dup", distinct_code(300 + 1), crate="axum", judge_scores=scores))
    main_records.append(gated("leptos-leak", distinct_code(997), crate="leptos", prompt=EVAL, judge_scores=scores))
    write_records(root / "gated.jsonl", main_records)
    with open(root / "gated.jsonl", "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    replay = [gated(f"strand-{i:03d}", distinct_code(5000 + i)) for i in range(40)]
    write_records(root / "replay.jsonl", replay)
    write_rows(root / "eval.jsonl", [{"prompt": EVAL}])
    (root / "build.toml").write_text(
        "[build]\ntrust_row_verdicts = true\n"  # verdicts checked: test_forged_verdicts.py
        'inputs = ["gated.jsonl"]\nreplay = ["replay.jsonl"]\noutput = "out"\n'
        'required_gates = ["compile", "judge"]\nseed = 7\n'
        "[build.sizing]\ncounts = { axum = 10, leptos = 8, rig = 8 }\nreplay_share = 0.25\n"
        '[build.decontam]\neval_prompts = ["eval.jsonl"]\nngram = 8\n'
        "[build.split]\ntest = 0.2\n"
    )
    return root / "build.toml"


def test_build_writes_splits_manifest_and_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_inputs(tmp_path)
    assert main(["build", str(config)]) == 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'gated.jsonl'}:33: <no id>: invalid JSON" in err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "manifest.json", "test.jsonl", "train.jsonl"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "rustgate-dataset/1"
    assert manifest["required_gates"] == ["compile", "judge"]
    assert manifest["toolchain"] == "rustc 1.95.0 (59807616e 2026-04-14)"
    assert manifest["models"] == ["anthropic:claude-test"] and manifest["prompt_hashes"] == ["abc123"]
    assert manifest["config"]["inputs"] == ["gated.jsonl"] and manifest["config"]["output"] == "out"
    assert manifest["config"]["seed"] == 7 and set(manifest["pins"]) >= {"axum", "leptos", "rig", "rust"}
    ids = {r["id"]: r for r in manifest["records"]}
    assert not {"axum-fail", "axum-nojudge", "axum-dup", "leptos-leak"} & set(ids)
    crates = [r["crate"] for r in manifest["records"]]
    # framework 10 + 8 + 6 (rig short of 8), replay 25% of the final set: 24 * 0.25 / 0.75 = 8
    assert (crates.count("axum"), crates.count("leptos"), crates.count("rig"), crates.count("rust")) == (10, 8, 6, 8)
    total = len(manifest["records"])
    assert manifest["splits"]["test"]["count"] == round(total * 0.2)
    assert manifest["splits"]["train"]["count"] + manifest["splits"]["test"]["count"] == total
    entry = ids["axum-00"] if "axum-00" in ids else next(r for r in manifest["records"] if r["crate"] == "axum")
    assert entry["gates"]["judge"]["scores"]["correctness"] == 8.0 and entry["gates"]["compile"]["verdict"] == "pass"
    card = (out / "README.md").read_text()
    assert "| axum |" in card and "rig: target 8, only 6 available" in card
    assert "exact-duplicate" in card and "contaminated" in card and "gates" in card and "sizing" in card
    assert "| correctness | 24 | 8.00 |" in card
    assert verify_dataset(out) == []
    assert main(["verify", str(out)]) == 0
    # the same config and seed build the same dataset
    first = (out / "train.jsonl").read_text()
    assert main(["build", str(config), "-o", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "train.jsonl").read_text() == first


def test_verify_names_edited_added_missing_and_moved_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", str(make_inputs(tmp_path))]) == 0
    out = tmp_path / "out"
    train = (out / "train.jsonl").read_text().splitlines()
    test = (out / "test.jsonl").read_text().splitlines()
    edited = json.loads(train[0])
    edited["messages"][1]["content"] += "\n// sneaky edit"
    moved = train[2]
    extra = gated("late-arrival", distinct_code(4242)).to_row(with_gates=True)
    new_train = [json.dumps(edited), *train[3:], json.dumps(extra)]  # train[1] removed, train[2] moved
    (out / "train.jsonl").write_text("\n".join(new_train) + "\n")
    (out / "test.jsonl").write_text("\n".join([*test, moved]) + "\n")
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    kinds = {line.split(": ")[2] for line in printed.splitlines()}
    assert kinds == {"edited", "stale", "added", "missing", "moved", "count"}
    assert f"{out / 'train.jsonl'}:1: {edited['id']}: edited" in printed
    assert f"{out / 'train.jsonl'}:{len(new_train)}: late-arrival: added" in printed
    assert f"{json.loads(train[1])['id']}: missing" in printed


def test_example_configs_are_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "examples" / "build-reference.toml")
    assert config.sizing.targets() == {"leptos": 334, "axum": 317, "rig": 158}
    assert config.split.test == 109 and config.sizing.replay_share == 0.28
    shipped = load_config(Path(__file__).parent.parent / "examples" / "build.toml")
    assert shipped.inputs[0].is_file() and shipped.gate_missing == ["compile"]


def test_a_large_replay_pool_is_presampled_before_dedupe(tmp_path: Path) -> None:
    from rustgate.data.assemble import assemble

    write_records(tmp_path / "main.jsonl", [gated(f"axum-{i}", distinct_code(i), crate="axum") for i in range(30)])
    write_records(tmp_path / "replay.jsonl", [gated(f"r-{i:04d}", distinct_code(10_000 + i)) for i in range(600)])
    (tmp_path / "b.toml").write_text(
        '[build]\ntrust_row_verdicts = true\ninputs = ["main.jsonl"]\nreplay = ["replay.jsonl"]\n'
        "[build.sizing]\ncounts = { axum = 30 }\nreplay_share = 0.25\n"
    )
    result = assemble(load_config(tmp_path / "b.toml"))
    presampled = [d for d in result.drops if "pre-sampled to 130" in d.reason]  # 3 * 10 + 100
    assert len(presampled) == 600 - 130
    kept = [r for r in result.train + result.test if r.crate == "rust"]
    assert len(kept) == 10 and len(result.train) + len(result.test) == 40
