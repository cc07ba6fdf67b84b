"""Builders shared by the arcwright_train tests: gated dataset folders and a tiny offline Gemma 4.

Imported by the other ``test_train_*`` modules; it holds no tests itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rustgate.atomic import atomic_write_json, atomic_write_jsonl
from rustgate.data.manifest import MANIFEST, build_manifest
from rustgate.records import GateResult, Message, Record

CRATES = ("axum", "leptos", "rig", "rust")
# Tokens the Gemma 4 chat template emits; each becomes one special token of the tiny tokenizer.
GEMMA4_SPECIALS = [
    "<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "<|channel>", "<channel|>", "<|think|>",
    "<|image|>", "<|audio|>", "<|video|>", "<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>",
    "<|tool_response>", "<tool_response|>", '<|"|>',
]  # fmt: skip


def make_record(
    index: int, *, crate: str | None = None, verdicts: dict[str, str] | None = None, prompt: str | None = None
) -> Record:
    """A small chat record with the gates' verdicts attached (all pass unless told otherwise)."""
    crate = crate or CRATES[index % len(CRATES)]
    record = Record(
        id=f"{crate}-{index:04d}",
        crate=crate,
        messages=[
            Message(role="system", content="You write idiomatic Rust."),
            Message(role="user", content=prompt or f"Write a function returning {index}."),
            Message(role="assistant", content=f"```rust\nfn value() -> u32 {{ {index} }}\n```"),
        ],
    )
    for gate, verdict in (verdicts or {"compile": "pass", "judge": "pass"}).items():
        record = record.with_gate(GateResult(gate=gate, verdict=verdict, version="1"))
    return record


def write_dataset(
    folder: Path,
    train: list[Record],
    test: list[Record],
    *,
    required_gates: tuple[str, ...] = ("compile", "judge"),
    unlisted: tuple[str, ...] = (),
) -> Path:
    """A rustgate dataset folder (splits + manifest.json), written by rustgate's own manifest builder."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {"train": train, "test": test}
    for split, records in splits.items():
        atomic_write_jsonl(folder / f"{split}.jsonl", (r.to_row(with_gates=True) for r in records))
    manifest = build_manifest(splits, required_gates=list(required_gates), config={}, pins={})
    manifest["records"] = [entry for entry in manifest["records"] if entry["id"] not in unlisted]
    atomic_write_json(folder / MANIFEST, manifest)
    return folder


def write_rows(path: Path, records: list[Record]) -> Path:
    """A bare JSONL file of records with their verdicts on each row."""
    atomic_write_jsonl(path, (r.to_row(with_gates=True) for r in records))
    return path


def build_with_rustgate(tmp: Path, records: list[Record], *, test: int = 2) -> Path:
    """A dataset folder made by ``rustgate build``'s own code with its default gates (compile only)."""
    from rustgate.data.assemble import assemble
    from rustgate.data.config import BuildConfig
    from rustgate.data.writer import write_dataset as write_built

    inputs = write_rows(tmp / "gated.jsonl", records)
    config = BuildConfig.model_validate(
        {
            "inputs": [inputs],
            "output": tmp / "built",
            "trust_row_verdicts": True,  # gated by the test itself
            "dedupe": {"exact": False, "near": False},
            "split": {"test": test},
        }
    ).resolved(tmp)
    return write_built(assemble(config), config)


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_raw(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def tamper(folder: Path, split: str, record_id: str, new_answer: str) -> None:
    """Edit one record's answer after gating, leaving the manifest as it was."""
    path = folder / f"{split}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if row["id"] == record_id:
            row["messages"][-1]["content"] = new_answer
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_config(path: Path, model: Path, data: Path, out: Path, **extra: Any) -> Path:
    """``arcwright-train init``, then the edits a user makes for a small CPU run."""
    import tomlkit

    from arcwright_train.cli import main

    assert main(["init", str(path), "--force"]) == 0
    doc = tomlkit.parse(path.read_text())
    settings: dict[str, Any] = {
        "model_name_or_path": str(model),
        "output_dir": str(out),
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 1,
        "max_length": 256,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "gradient_checkpointing": False,
        **extra,
    }
    for key, value in settings.items():
        doc[key] = value
    doc["dataset"]["path"] = str(data)  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))
    return path


def config_for(model: Path, data: Path, out: Path, **extra: Any) -> Any:
    """A validated ``TrainConfig`` for a tiny CPU run, without a file."""
    from arcwright_train.config import TrainConfig

    return TrainConfig.model_validate(
        {"model_name_or_path": str(model), "output_dir": str(out), "max_steps": 1, "max_length": 256,
         "gradient_checkpointing": False, "dataset": {"path": str(data)}, **extra}
    )  # fmt: skip


def build_tiny_gemma4(target: Path) -> Path:
    """A randomly initialised ~34k-parameter Gemma 4 text model + byte-level tokenizer, saved offline.

    The tokenizer carries TRL's copy of the real Gemma 4 chat template, so prompt/completion
    rendering and masking are exercised exactly as for the real model.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import Gemma4ForCausalLM, Gemma4TextConfig, PreTrainedTokenizerFast
    from trl.chat_template_utils import gemma4_v5_chat_template

    vocab = {token: i for i, token in enumerate(GEMMA4_SPECIALS)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(GEMMA4_SPECIALS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<bos>", eos_token="<turn|>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.chat_template = gemma4_v5_chat_template
    popped: dict[str, Any] = {"global_head_dim": 16}  # full-attention head size, read from kwargs
    config = Gemma4TextConfig(
        vocab_size=len(vocab),
        vocab_size_per_layer_input=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        **popped,
        hidden_size_per_layer_input=8,
        sliding_window=16,
        max_position_embeddings=1024,
        layer_types=["sliding_attention", "full_attention"],
        pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["<turn|>"],
        bos_token_id=vocab["<bos>"],
    )
    Gemma4ForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
