"""The tiny random Gemma 4 the trainer tests share: built once per session (a test module loads
it with ``pytest_plugins = ["train_fixtures"]``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from test_train_support import build_tiny_gemma4

    torch.manual_seed(0)
    return build_tiny_gemma4(tmp_path_factory.mktemp("tiny-gemma4"))


# Whole answers as single tokens: a random model restricted to them writes real markdown answers
# (one compiles, one does not, one has no code), so a reward sees real verdicts.
SNIPPETS = [
    '\n```rust\nfn main() {\n    println!("{}", 2 + 2);\n}\n```\n',
    '\n```rust\nfn main() {\n    let n: u8 = "four";\n}\n```\n',
    "\nThe answer is four.\n",
]


@pytest.fixture(scope="session")
def snippet_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[int]]]:
    """The tiny model with ``SNIPPETS`` added to its vocabulary, and the ``bad_words_ids`` that
    keep its generations to them (and the end of turn)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    target = tmp_path_factory.mktemp("snippet-gemma4")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.add_tokens(SNIPPETS)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    allowed = {tokenizer.convert_tokens_to_ids(s) for s in SNIPPETS} | {tokenizer.eos_token_id}
    return target, [[i] for i in range(len(tokenizer)) if i not in allowed]
