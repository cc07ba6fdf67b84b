"""Two GRPO steps of TRL's real GRPOTrainer on a tiny random Gemma 4, rewarded by the real
``CompileReward`` on real cargo: the rewards the trainer logged are the gate's verdicts for the
completions it generated.

The random model's generations are steered (``bad_words_ids``) to a few whole-snippet tokens
(``train_fixtures.SNIPPETS``), so
its completions are real markdown answers -- some compile, some fail, some have no code -- and
the scores are decided by rustc, not by the test.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytestmark = pytest.mark.usefixtures("warm_cache")
pytest_plugins = ["train_fixtures"]


def test_two_grpo_steps_log_the_gates_rewards(snippet_model: tuple[Path, list[list[int]]], tmp_path: Path) -> None:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rustgate.gates.compile import CompileGate
    from rustgate.ledger import Ledger
    from rustgate.rewards import CompileReward

    torch.manual_seed(0)
    path, banned = snippet_model
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    reward = CompileReward(CompileGate(ledger=ledger), crate="rust")
    prompts = Dataset.from_dict({"prompt": ["Print two plus two in Rust."] * 4, "crate": ["rust"] * 4})
    config = GRPOConfig(
        output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, num_generations=4,
        max_completion_length=3, learning_rate=1e-4, beta=0.0, logging_steps=1, report_to="none",
        use_cpu=True, bf16=False, save_strategy="no", seed=0,
        generation_kwargs={"bad_words_ids": banned, "do_sample": True},
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=model, reward_funcs=reward, args=config, train_dataset=prompts, processing_class=tokenizer
    )
    trainer.train()

    logged = [h for h in trainer.state.log_history if "rewards/compile_reward/mean" in h]
    assert len(logged) == 2 and len(reward.history) == 2
    verdicts = [v for call in reward.history for v in call["verdicts"]]
    assert set(verdicts) <= {"pass", "fail", "no code"} and len(verdicts) == 8
    checker = CompileReward(CompileGate(ledger=ledger), crate="rust")  # the gate again, from the ledger
    for step, call in zip(logged, reward.history, strict=True):
        assert any(s in text for text in call["texts"] for s in ("```rust", "four"))
        again = checker(completions=call["texts"])
        assert again == call["rewards"]
        expected = sum(r for r in again if r is not None) / len(again)
        assert math.isclose(step["rewards/compile_reward/mean"], expected, rel_tol=1e-5, abs_tol=1e-6)
        compiled = [e for e in checker.last if e["verdict"] in ("pass", "fail")]
        assert compiled and all(e["cached"] for e in compiled)  # compiled once: the ledger served the rest
