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
