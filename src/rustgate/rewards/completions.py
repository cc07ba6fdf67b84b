"""What TRL hands a reward function, as the records the gates read: one per completion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rustgate.records import Message, Record


def as_records(
    prompts: Sequence[Any] | None, completions: Sequence[Any], crates: Any, default_crate: str | None
) -> tuple[list[str], list[Record]]:
    """``(completion texts, records)``; ``crates`` is TRL's ``crate`` column (a list), if any."""
    texts = [completion_text(c) for c in completions]
    asks = [completion_text(p) for p in prompts] if prompts is not None else [""] * len(texts)
    chosen = _column(crates, len(texts), default_crate)
    records = [
        _record(i, ask, text, crate) for i, (ask, text, crate) in enumerate(zip(asks, texts, chosen, strict=True))
    ]
    return texts, records


def completion_text(value: Any) -> str:
    """A standard completion (a string) or a conversational one (a list of messages: the
    assistant's content)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        said = [
            m.get("content", "") for m in value if isinstance(m, dict) and m.get("role", "assistant") == "assistant"
        ]
        if not said:
            said = [m.get("content", "") for m in value if isinstance(m, dict)]
        return "\n".join(c if isinstance(c, str) else "" for c in said)
    return ""


def _column(values: Any, n: int, default: str | None) -> list[str | None]:
    if isinstance(values, list) and len(values) == n:
        return [v if isinstance(v, str) and v else default for v in values]
    return [default] * n


def _record(index: int, ask: str, text: str, crate: str | None) -> Record:
    messages = [Message(role="user", content=ask or "(prompt)"), Message(role="assistant", content=text or " ")]
    return Record(id=f"completion-{index}", messages=messages, crate=crate)
