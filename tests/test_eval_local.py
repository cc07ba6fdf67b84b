"""Train -> eval on CPU: a tiny random Gemma 4 is fine-tuned by ``arcwright-train``, then
``arcwright-train eval`` runs the base and base + adapter locally (transformers ``generate``,
chat template, batches) over a small suite, compiled by real cargo and judged over the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

import tomlkit  # noqa: E402
from test_train_support import build_tiny_gemma4, make_record, write_dataset  # noqa: E402

from arcwright_train.cli import main as train_main  # noqa: E402
from rustgate.cli.main import main as rustgate_main  # noqa: E402
from rustgate.eval.models import system_prompt  # noqa: E402
from rustgate.testing.llm_server import LLMServer  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.timeout(600), pytest.mark.usefixtures("warm_cache", "api_keys")]
pytest_plugins = ["llm_fixtures"]

SUITE = [
    {"id": "axum-1", "crate": "axum", "prompt": "Serve hello on /."},
    {"id": "leptos-1", "crate": "leptos", "prompt": "Show a counter button in Leptos."},
    {"id": "rig-1", "crate": "rig", "prompt": "Build a rig agent that answers questions about Rust lifetimes."},
]
NEW_TOKENS = 12


def train_adapter(tmp_path: Path) -> tuple[Path, Path]:
    import torch

    torch.manual_seed(0)
    model = build_tiny_gemma4(tmp_path / "tiny-gemma4")
    data = write_dataset(tmp_path / "ds", [make_record(i) for i in range(8)], [make_record(20)])
    config = tmp_path / "train.toml"
    assert train_main(["init", str(config)]) == 0
    doc = tomlkit.parse(config.read_text())
    settings: dict[str, Any] = {
        "model_name_or_path": str(model), "output_dir": str(tmp_path / "run"), "max_steps": 3,
        "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "max_length": 256,
        "learning_rate": 2e-2, "gradient_checkpointing": False,
    }  # fmt: skip
    for key, value in settings.items():
        doc[key] = value
    doc["dataset"]["path"] = str(data)
    config.write_text(tomlkit.dumps(doc))
    assert train_main(["train", "--config", str(config)]) == 0
    return model, tmp_path / "run"


def generate_directly(model_dir: Path, adapter: Path | None, prompt: dict[str, str]) -> str:
    """The same answer computed without rustgate: transformers (+ peft), chat template, greedy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model: Any = AutoModelForCausalLM.from_pretrained(model_dir)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    tokenizer = AutoTokenizer.from_pretrained(adapter or model_dir)
    chat = [
        {"role": "system", "content": system_prompt(None, prompt["crate"])},
        {"role": "user", "content": prompt["prompt"]},
    ]
    text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    encoded = tokenizer([text], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.eval().generate(**encoded, max_new_tokens=NEW_TOKENS, do_sample=False)
    return str(tokenizer.decode(out[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True))


def test_train_then_evaluate_adapter_against_base(
    tmp_path: Path, llm_server: LLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model, run = train_adapter(tmp_path)
    suite = tmp_path / "suite.jsonl"
    suite.write_text("".join(json.dumps(row) + "\n" for row in SUITE))
    argv = [
        "eval", str(run), "--judge", "anthropic:test-judge", "--judge-base-url", llm_server.url,
        "--suite", str(suite), "--max-tokens", str(NEW_TOKENS), "--batch-size", "2", "--device", "cpu",
        "--ledger", str(tmp_path / "ledger.sqlite3"), "--no-progress",
    ]  # fmt: skip
    capsys.readouterr()
    assert train_main(argv) == 0
    printed = capsys.readouterr().out
    assert "| Rank | Model | Leptos | Axum | Rig | Overall |" in printed and "vs tiny-gemma4" in printed

    out = run / "eval"
    board = json.loads((out / "leaderboard.json").read_text())
    labels = {m["label"] for m in board["models"]}
    assert labels == {"tiny-gemma4", "tiny-gemma4+run"}
    (comparison,) = board["comparisons"]
    assert (comparison["a"], comparison["b"]) == ("tiny-gemma4+run", "tiny-gemma4")
    adapter = next(m for m in board["models"] if m["label"] == "tiny-gemma4+run")
    assert adapter["settings"]["adapter"] == str(run.resolve()) and adapter["settings"]["adapter_hash"]
    assert adapter["settings"]["sampling"]["max_tokens"] == NEW_TOKENS
    assert adapter["settings"]["sampling"]["do_sample"] is False

    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == 6
    answers = {(r["meta"]["eval"]["model"], r["meta"]["eval"]["prompt_id"]): r for r in rows}
    for row in rows:
        assert row["gates"]["compile"]["verdict"] in {"pass", "fail", "rejected"}  # real cargo's verdict
        assert row["gates"]["judge"]["scores"]["correctness"] == 8.0  # the server's default judgement
        assert 0 < row["meta"]["eval"]["generation"]["output_tokens"] <= NEW_TOKENS
    base_texts = [answers[("tiny-gemma4", p["id"])]["messages"][-1]["content"] for p in SUITE]
    tuned_texts = [answers[("tiny-gemma4+run", p["id"])]["messages"][-1]["content"] for p in SUITE]
    assert base_texts != tuned_texts  # the adapter changes what the model says
    # The longest prompt sits alone in its batch (no padding): identical to a direct generation.
    longest = max(SUITE, key=lambda p: len(p["prompt"]))
    assert answers[("tiny-gemma4+run", longest["id"])]["messages"][-1]["content"] == generate_directly(
        model, run, longest
    )
    assert answers[("tiny-gemma4", longest["id"])]["messages"][-1]["content"] == generate_directly(
        model, None, longest
    )

    # A rerun generates nothing and asks the judge nothing: every answer comes from the ledger.
    asked = llm_server.request_count
    assert train_main(argv) == 0
    assert llm_server.request_count == asked
    rerun = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert all(r["meta"]["eval"]["generation"]["cached"] for r in rerun)

    # rustgate eval speaks the same local models (--local DIR+ADAPTER), sharing the ledger's answers.
    assert (
        rustgate_main([
            "eval", "--local", f"{model}+{run}", "--judge", "anthropic:test-judge", "--judge-base-url",
            llm_server.url, "--suite", str(suite), "--max-tokens", str(NEW_TOKENS), "--output",
            str(tmp_path / "again"), "--ledger", str(tmp_path / "ledger.sqlite3"), "--no-progress",
        ])  # fmt: skip
        == 0
    )
    assert llm_server.request_count == asked
