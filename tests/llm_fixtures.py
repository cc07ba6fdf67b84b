"""Fixtures for the LLM and pipeline tests: the local wire-format server, keys, a ledger, clients.

A test module loads them with ``pytest_plugins = ["llm_fixtures"]`` (``conftest.py`` belongs
to the lead); plain helpers are in ``llm_helpers``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rustgate.ledger import Ledger
from rustgate.testing.llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as handle:
        yield handle
