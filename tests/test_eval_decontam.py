"""The shipped eval suites feed ``rustgate build``'s decontamination by default, and so does a
suite the user names in the build config: a dataset never trains on its own benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import distinct_code, gated, write_records, write_rows

from rustgate.cli.main import main
from rustgate.data.decontam import decontaminate, load_eval_prompts
from rustgate.data.jsonl import read_jsonl
from rustgate.eval.suite import load_suite


def test_eval_prompts_include_every_shipped_suite_prompt() -> None:
    shipped = load_suite("rustweb-60").prompts
    prompts = load_eval_prompts([])
    assert len(prompts) == len(shipped) == 60  # rustweb-15 is a subset: each prompt once
    assert set(prompts) == {p.prompt for p in shipped} | {p.prompt for p in load_suite("rustweb-15").prompts}
    assert load_eval_prompts([], shipped=False) == []


def test_realistic_answers_are_not_dropped_by_the_shipped_suites() -> None:
    examples = [item.record for item in read_jsonl(Path(__file__).parent.parent / "examples/answers.jsonl").records]
    kept, drops = decontaminate(examples, load_eval_prompts([]))
    assert len(kept) == len(examples) == 15 and drops == []


def test_build_drops_records_overlapping_shipped_and_user_suites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = {"correctness": 8.0, "completeness": 8.0, "idiomatic": 8.0, "crate_knowledge": 8.0, "explanation": 8.0}
    rig_prompt = next(p for p in load_suite("rustweb-15").prompts if p.crate == "rig").prompt
    axum_prompt = next(p for p in load_suite("rustweb-60").prompts if p.id == "axum-graceful-shutdown").prompt
    records = [
        gated(f"axum-{i:02d}", distinct_code(i), crate="axum", judge_scores=scores) for i in range(8)
    ] + [
        gated("rig-verbatim", distinct_code(50), crate="rig", prompt=rig_prompt, judge_scores=scores),
        # a reworded request that still copies a long run of the benchmark prompt's words
        gated("axum-reworded", distinct_code(51), crate="axum", judge_scores=scores,
              prompt="Please help: " + axum_prompt.split(":", 1)[1]),
        gated("axum-user-suite", distinct_code(52), crate="axum", judge_scores=scores,
              prompt="Write middleware that rejects requests whose tenant header names an unknown tenant"),
    ]  # fmt: skip
    write_records(tmp_path / "gated.jsonl", records)
    user_suite = {
        "id": "tenant-1",
        "crate": "axum",
        "prompt": "Write middleware that rejects requests whose tenant header names an unknown tenant.",
    }
    write_rows(tmp_path / "my-suite.jsonl", [user_suite])
    (tmp_path / "build.toml").write_text(
        '[build]\ninputs = ["gated.jsonl"]\noutput = "out"\nrequired_gates = ["compile", "judge"]\n'
        '[build.decontam]\neval_prompts = ["my-suite.jsonl"]\n'
        "[build.split]\ntest = 2\n"
    )
    assert main(["build", str(tmp_path / "build.toml")]) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    ids = {r["id"] for r in manifest["records"]}
    assert ids == {f"axum-{i:02d}" for i in range(8)}
    card = (tmp_path / "out/README.md").read_text()
    assert "contaminated" in card
