"""The SQLite ledger: every gate verdict and every LLM call, keyed by a hash of its inputs.

WAL mode lets several runs (a pre-commit hook beside a pipeline) share one file safely;
each write is its own short transaction so a killed run loses at most the call in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
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
DROP TABLE IF EXISTS line_memo;
"""
# The hook's memo (``rustgate.memo``): a cache, rebuilt from scratch when its layout changes.
_MEMO_SCHEMA = """
CREATE TABLE IF NOT EXISTS memo_files (
    context TEXT NOT NULL,
    file TEXT NOT NULL,
    groups BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (context, file)
);
CREATE TABLE IF NOT EXISTS memo_groups (
    context TEXT NOT NULL,
    key BLOB NOT NULL,
    nbytes INTEGER NOT NULL,
    blank INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    prints BLOB NOT NULL,
    ids TEXT NOT NULL,
    problems TEXT NOT NULL,
    PRIMARY KEY (context, key)
);
"""
_MEMO_COLUMNS = {
    "memo_files": ["context", "file", "groups", "created"],
    "memo_groups": ["context", "key", "nbytes", "blank", "hashes", "prints", "ids", "problems"],
}
# Snapshots of one file kept per context (a toolchain or setting switched back and forth).
LINE_MEMO_CONTEXTS = 4
# One remembered group of dataset lines (``rustgate.memo``): key, byte count, blank lines, line
# hashes, id fingerprints, ids (JSON), problems (JSON).
MemoGroupRow = tuple[bytes, int, int, bytes, bytes, str, str]
KEY_BYTES = 16


def stable_hash(*parts: Any) -> str:
    """sha256 over the canonical JSON of ``parts``: the ledger's key function."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


# How long a write waits for another process's lock before it is an error (seconds).
LOCK_WAIT_S = float(os.environ.get("RUSTGATE_LEDGER_LOCK_WAIT_S", "30"))


class LedgerError(RuntimeError):
    """The ledger file cannot be used; the message names the file, what is wrong and what to do."""


def ledger_problem(path: Path, exc: BaseException) -> str:
    """One line for a SQLite failure of the ledger at ``path``: a verdict is never made up from it."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        what = (f"is locked by another process (waited {LOCK_WAIT_S:g} s)",
                "wait for that run to finish, or pass --ledger with another path")  # fmt: skip
    elif "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered or "permission" in lowered:
        what = ("cannot be opened for writing",
                "check the permissions of the file and its folder, or pass --ledger with another path")  # fmt: skip
    elif "disk is full" in lowered or "disk i/o" in lowered:
        what = ("cannot be written (the disk is full or failing)", "free space, or pass --ledger on another disk")
    else:  # not a database, malformed, truncated
        what = ("is not a readable rustgate ledger (corrupt, truncated or another kind of file)",
                "move it aside (a cache: its verdicts are recomputed), or pass --ledger with another path")  # fmt: skip
    return f"ledger {path} {what[0]} [SQLite: {text}]: {what[1]}"


class Ledger:
    """A thread-safe handle on one ledger file (``:memory:`` works for throwaway runs)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=LOCK_WAIT_S, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LedgerError(ledger_problem(self.path, exc)) from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            for table, columns in _MEMO_COLUMNS.items():
                found = [row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")]
                if found and found != columns:  # an older layout of a cache: start it again
                    self._conn.execute(f"DROP TABLE {table}")
            self._conn.executescript(_MEMO_SCHEMA)
            self._conn.execute("SELECT count(*) FROM (SELECT key FROM gate_results LIMIT 1)").fetchone()
            self._conn.commit()
        except sqlite3.Error as exc:
            self._conn.close()
            raise LedgerError(ledger_problem(self.path, exc)) from None

    def _rows_in(self, query: str, params: list[Any], keys: Sequence[Any]) -> list[Any]:
        """``query`` (its ``IN ({marks})`` filled) over ``keys``, 500 at a time: SQLite caps the
        number of variables in one statement. The caller holds the lock."""
        rows: list[Any] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows += self._conn.execute(query.format(marks=",".join("?" * len(chunk))), [*params, *chunk]).fetchall()
        return rows

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
        with self._lock:
            rows = self._rows_in("SELECT key, result FROM gate_results WHERE key IN ({marks})", [], keys)
        return {key: GateResult.model_validate_json(blob) for key, blob in rows}

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
        with self._lock:
            query = "SELECT key, value FROM kv WHERE namespace = ? AND key IN ({marks})"
            rows = self._rows_in(query, [namespace], keys)
        return {key: json.loads(value) for key, value in rows}

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
    def get_memo(self, context: str, file: str) -> list[MemoGroupRow] | None:
        """One file's remembered groups under ``context``, in file order (None: none, or one is gone)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT groups FROM memo_files WHERE context = ? AND file = ?", (context, file)
            ).fetchone()
            if row is None:
                return None
            keys = _split_keys(bytes(row[0]))
            unique = list(dict.fromkeys(keys))
            query = "SELECT key, nbytes, blank, hashes, prints, ids, problems FROM memo_groups "
            rows = self._rows_in(query + "WHERE context = ? AND key IN ({marks})", [context], unique)
            found: dict[bytes, MemoGroupRow] = {bytes(row[0]): row for row in rows}
        if any(key not in found for key in unique):
            return None
        return [found[key] for key in keys]

    def put_memo(self, context: str, file: str, keys: list[bytes], new_groups: list[MemoGroupRow]) -> None:
        """Replace one file's snapshot (its group keys; ``new_groups`` are those not stored yet) and
        keep the newest few contexts of that file (``prune_memo`` then drops what nothing uses)."""
        with self._lock:
            self._conn.executemany(
                "INSERT OR IGNORE INTO memo_groups (context, key, nbytes, blank, hashes, prints, ids, problems) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(context, *group) for group in new_groups],
            )
            self._conn.execute(
                "INSERT OR REPLACE INTO memo_files (context, file, groups, created) VALUES (?, ?, ?, ?)",
                (context, file, b"".join(keys), time.time()),
            )
            self._conn.execute(
                "DELETE FROM memo_files WHERE file = ? AND context NOT IN "
                "(SELECT context FROM memo_files WHERE file = ? ORDER BY created DESC LIMIT ?)",
                (file, file, LINE_MEMO_CONTEXTS),
            )
            self._conn.commit()

    def prune_memo(self, context: str) -> None:
        """Drop every remembered group no file's snapshot refers to any more (once per run: it
        reads every snapshot of ``context``)."""
        with self._lock:
            self._conn.execute("DELETE FROM memo_groups WHERE context NOT IN (SELECT context FROM memo_files)")
            used = {
                key
                for (blob,) in self._conn.execute("SELECT groups FROM memo_files WHERE context = ?", (context,))
                for key in _split_keys(bytes(blob))
            }
            stored = self._conn.execute("SELECT key FROM memo_groups WHERE context = ?", (context,)).fetchall()
            self._conn.executemany(
                "DELETE FROM memo_groups WHERE context = ? AND key = ?",
                [(context, key) for (key,) in stored if bytes(key) not in used],
            )
            self._conn.commit()

    def count(self, table: str) -> int:
        if table not in {"gate_results", "llm_calls", "kv", "memo_files", "memo_groups"}:
            raise ValueError(f"unknown ledger table {table!r}")
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _split_keys(blob: bytes) -> list[bytes]:
    return [blob[i : i + KEY_BYTES] for i in range(0, len(blob), KEY_BYTES)]
