"""Where rustgate keeps state that outlives a run (warm cargo builds, the ledger)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$RUSTGATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/rustgate``, else ``~/.cache/rustgate``."""
    explicit = os.environ.get("RUSTGATE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rustgate"


def default_ledger_path() -> Path:
    return cache_dir() / "ledger.sqlite3"
