"""Records and checks shared by the test/run tier tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence

from rustgate.gates.compile import CompileGate
from rustgate.records import GateResult, Record


def answer(name: str, files: dict[str, str], crate: str = "rust") -> Record:
    """A record whose answer gives each file in its own block, named on its first line."""
    blocks = "\n\n".join(f"```rust\n// {path}\n{code.strip()}\n```" for path, code in files.items())
    return Record.model_validate(
        {
            "id": name,
            "crate": crate,
            "messages": [
                {"role": "user", "content": "Write it."},
                {"role": "assistant", "content": f"Here:\n\n{blocks}\n"},
            ],
        }
    )


def main_rs(name: str, code: str, crate: str = "rust") -> Record:
    return answer(name, {"src/main.rs": code}, crate)


def check(
    records: Sequence[Record], tiers: Sequence[str] = ("compile", "test", "run"), **kwargs: object
) -> list[GateResult]:
    return CompileGate(tiers=tiers, use_cache=False, **kwargs).check(list(records))  # type: ignore[arg-type]


def tier(result: GateResult, name: str) -> dict[str, object]:
    tiers = result.details.get("tiers") or {}
    assert name in tiers, (
        f"{result.id if hasattr(result, 'id') else ''} has no {name} tier: {json.dumps(result.details)[:800]}"
    )
    return dict(tiers[name])


def survivors(marker: str) -> list[str]:
    """Host processes whose command line holds ``marker`` (none may outlive a run)."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]
