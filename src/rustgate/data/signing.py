"""A keyed signature over a dataset manifest, so a forger cannot edit a record and its entry together.

Without a key the manifest's content hashes catch accidental edits (a hand edit, a merge, a
re-import) but not a deliberate forgery: whoever edits a record can recompute its hash. With a
key (``RUSTGATE_SIGNING_KEY``, or a file named by ``RUSTGATE_SIGNING_KEY_FILE``) ``rustgate build``
signs the manifest with HMAC-SHA256, and ``rustgate verify`` and the trainer refuse a manifest
whose signature is missing or wrong. Forging then needs the key, which the gating machine keeps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

KEY_ENV = "RUSTGATE_SIGNING_KEY"
KEY_FILE_ENV = "RUSTGATE_SIGNING_KEY_FILE"
ALGORITHM = "hmac-sha256"


def signing_key() -> bytes | None:
    """The key from the environment (the variable, else the file it names), or None."""
    value = os.environ.get(KEY_ENV)
    if value:
        return value.encode("utf-8")
    path = os.environ.get(KEY_FILE_ENV)
    if path:
        data = Path(path).read_bytes().strip()
        if data:
            return data
    return None


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value`` that signing hashes (sorted keys, ASCII, no spaces)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _canonical_chunks(manifest: Mapping[str, Any], records: Sequence[str] | None) -> Iterator[bytes]:
    """``canonical_json`` of the manifest less its signature, in pieces; ``records`` (each record
    entry's ``canonical_json``), when given, stand for ``manifest["records"]`` without being decoded."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    if records is not None:
        body["records"] = None
    yield b"{"
    for number, key in enumerate(sorted(body)):
        yield (b"," if number else b"") + json.dumps(key, ensure_ascii=True).encode("ascii") + b":"
        if key == "records" and records is not None:
            yield b"[" + b",".join(r.encode("ascii") for r in records) + b"]"
        else:
            yield canonical_json(body[key]).encode("ascii")
    yield b"}"


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"rustgate-key-id:" + key).hexdigest()[:12]


def signature_for(manifest: Mapping[str, Any], key: bytes, records: Sequence[str] | None = None) -> dict[str, str]:
    """The ``signature`` entry for ``manifest`` (with ``records`` standing for its record list)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for chunk in _canonical_chunks(manifest, records):
        mac.update(chunk)
    return {"alg": ALGORITHM, "key_id": key_id(key), "value": mac.hexdigest()}


def sign(manifest: dict[str, Any], key: bytes) -> dict[str, Any]:
    return {**manifest, "signature": signature_for(manifest, key)}


def signature_problem(manifest: dict[str, Any], key: bytes) -> str | None:
    """None when ``manifest`` carries a valid signature by ``key``; else what is wrong."""
    signature = manifest.get("signature")
    if not isinstance(signature, dict):
        return "the manifest is not signed, and a signing key is set: it was not made by a trusted build"
    if signature.get("alg") != ALGORITHM:
        return f"unknown signature algorithm {signature.get('alg')!r}"
    if signature.get("key_id") != key_id(key):
        return "the manifest was signed with another key"
    expected = signature_for(manifest, key)["value"]
    if not hmac.compare_digest(expected, str(signature.get("value", ""))):
        return "the signature does not match the manifest: it was edited after the build"
    return None
