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


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"rustgate-key-id:" + key).hexdigest()[:12]


def sign(manifest: dict[str, Any], key: bytes) -> dict[str, Any]:
    digest = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
    return {**manifest, "signature": {"alg": ALGORITHM, "key_id": key_id(key), "value": digest}}


def signature_problem(manifest: dict[str, Any], key: bytes) -> str | None:
    """None when ``manifest`` carries a valid signature by ``key``; else what is wrong."""
    signature = manifest.get("signature")
    if not isinstance(signature, dict):
        return "the manifest is not signed, and a signing key is set: it was not made by a trusted build"
    if signature.get("alg") != ALGORITHM:
        return f"unknown signature algorithm {signature.get('alg')!r}"
    if signature.get("key_id") != key_id(key):
        return "the manifest was signed with another key"
    expected = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("value", ""))):
        return "the signature does not match the manifest: it was edited after the build"
    return None
