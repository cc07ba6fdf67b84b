"""Shared fixtures: a warm cargo cache (real cargo, real crates) reused by every test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rustgate.cargo.templates import load_profiles  # noqa: E402
from rustgate.cargo.toolchain import detect_toolchain  # noqa: E402
from rustgate.cargo.warm import warm_profile  # noqa: E402


@pytest.fixture(scope="session")
def warm_cache() -> Iterator[Path]:
    """Every default profile warm in ``RUSTGATE_CACHE_DIR`` (the user cache when unset); warms on
    first use. On-demand profiles (``axum-full``) are warmed by the tests that use them."""
    from rustgate.paths import cache_dir

    root = cache_dir()
    os.environ["RUSTGATE_CACHE_DIR"] = str(root)
    toolchain = detect_toolchain()
    for profile in load_profiles().values():
        if not profile.on_demand:
            warm_profile(profile, toolchain)
    yield root


@pytest.fixture()
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture(scope="session")
def build_cache(warm_cache: Path) -> Path:
    """The warm cache plus the ``rust`` profile's build with code (the test and run tiers)."""
    profile = load_profiles()["rust"]
    warm_profile(profile, detect_toolchain(), codegen=True)
    return warm_cache
