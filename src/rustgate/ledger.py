"""The SQLite ledger: every gate verdict and every LLM call, keyed by a hash of its inputs.

WAL mode lets several runs (a pre-commit hook beside a pipeline) share one file safely;
each write is its own short transaction so a killed run loses at most the call in flight.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from rustgate.paths import default_ledger_path
from rustgate.records import GateResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gate_results (
    key TEXT PRIMARY KEY,
    gate TEXT NOT NULL,
    record_id TEXT,
    result TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_calls (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS line_memo (
    context TEXT NOT NULL,
    file TEXT NOT NULL,
    hashes BLOB NOT NULL,
    entries TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (context, file)
);
"""
# Snapshots of one file kept per context (a toolchain or setting switched back and forth).
LINE_MEMO_CONTEXTS = 4


def stable_hash(*parts: Any) -> str:
    """sha256 over the canonical JSON of ``parts``: the ledger's key function."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class Ledger:
    """A thread-safe handle on one ledger file (``:memory:`` works for throwaway runs)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- gate verdicts -------------------------------------------------------------------
    def get_result(self, key: str) -> GateResult | None:
        with self._lock:
            row = self._conn.execute("SELECT result FROM gate_results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return GateResult.model_validate_json(row[0])

    def get_results(self, keys: list[str]) -> dict[str, GateResult]:
        """Many lookups in few queries: re-checking a thousand unchanged records stays instant."""
        found: dict[str, GateResult] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, result FROM gate_results WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    found[key] = GateResult.model_validate_json(blob)
        return found

    def put_result(self, key: str, result: GateResult, record_id: str | None = None) -> None:
        """Store a verdict. ``error`` verdicts are never stored: infrastructure may recover."""
        if result.verdict == "error":
            return
        blob = result.model_copy(update={"cached": False, "content_hash": None}).model_dump_json()
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO gate_results (key, gate, record_id, result, created) VALUES (?, ?, ?, ?, ?)",
                (key, result.gate, record_id, blob, time.time()),
            )
            self._conn.commit()

    # -- LLM calls -----------------------------------------------------------------------
    def get_call(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT response FROM llm_calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_call(
        self,
        key: str,
        *,
        provider: str,
        model: str,
        response: dict[str, Any],
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
    ) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_calls"
                " (key, provider, model, response, input_tokens, output_tokens, cost_usd, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, provider, model, json.dumps(response), input_tokens, output_tokens, cost_usd, time.time()),
            )
            self._conn.commit()

    # -- small named state (run progress, verified content hashes) -----------------------
    def get_value(self, namespace: str, key: str) -> Any | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put_value(self, namespace: str, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO kv (namespace, key, value, created) VALUES (?, ?, ?, ?)",
                (namespace, key, json.dumps(value), time.time()),
            )
            self._conn.commit()

    def get_values(self, namespace: str, keys: list[str]) -> dict[str, Any]:
        """Many ``get_value`` in few queries."""
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, value FROM kv WHERE namespace = ? AND key IN ({marks})", [namespace, *chunk]
                ).fetchall()
                found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put_values(self, namespace: str, items: dict[str, Any]) -> None:
        """Many ``put_value`` in one transaction."""
        if not items:
            return
        now = time.time()
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO kv (namespace, key, value, created) VALUES (?, ?, ?, ?)",
                [(namespace, key, json.dumps(value), now) for key, value in items.items()],
            )
            self._conn.commit()

    # -- remembered dataset lines (rustgate.memo) ----------------------------------------
    def get_line_memo(self, context: str, file: str) -> tuple[bytes, str] | None:
        """One file's snapshot under ``context``: its line hashes (packed) and their entries (JSON)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT hashes, entries FROM line_memo WHERE context = ? AND file = ?", (context, file)
            ).fetchone()
        return None if row is None else (bytes(row[0]), str(row[1]))

    def put_line_memo(self, context: str, file: str, hashes: bytes, entries: str) -> None:
        """Replace one file's snapshot; keep the newest few contexts of that file, drop older ones."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO line_memo (context, file, hashes, entries, created) VALUES (?, ?, ?, ?, ?)",
                (context, file, hashes, entries, time.time()),
            )
            self._conn.execute(
                "DELETE FROM line_memo WHERE file = ? AND context NOT IN "
                "(SELECT context FROM line_memo WHERE file = ? ORDER BY created DESC LIMIT ?)",
                (file, file, LINE_MEMO_CONTEXTS),
            )
            self._conn.commit()

    def count(self, table: str) -> int:
        if table not in {"gate_results", "llm_calls", "kv", "line_memo"}:
            raise ValueError(f"unknown ledger table {table!r}")
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
