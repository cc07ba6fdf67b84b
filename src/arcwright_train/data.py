"""Turn gated records into trainer rows, and count what ``max_length`` will cut before training.

``completion`` loss uses TRL's prompt/completion rows: the prompt is every turn before the last
assistant turn, the completion is that turn, and TRL masks the prompt tokens with -100. That is the
route that works for Gemma 4 in TRL 1.16 (``assistant_only_loss`` needs a chat template with
``{% generation %}`` markers, which TRL ships for Gemma 1-3 but not Gemma 4). ``full`` loss trains
on the whole ``messages`` conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rustgate.records import Record

LossMode = Literal["completion", "full"]
SHOW_AT_MOST = 20


class OverlongError(ValueError):
    """Examples whose answer ``max_length`` would cut away entirely (nothing left to learn from)."""


class LabelCheckError(RuntimeError):
    """The prepared dataset has an example with no unmasked label, or lost examples on the way."""


def _last_assistant(record: Record) -> int:
    return max(i for i, m in enumerate(record.messages) if m.role == "assistant")


def to_row(record: Record, loss: LossMode) -> dict[str, Any]:
    """One trainer row; turns after the last assistant turn carry no answer and are left out."""
    end = _last_assistant(record)
    messages = [{"role": m.role, "content": m.content} for m in record.messages[: end + 1]]
    if loss == "full":
        return {"messages": messages}
    return {"prompt": messages[:end], "completion": messages[end:]}


def to_rows(records: Sequence[Record], loss: LossMode) -> list[dict[str, Any]]:
    return [to_row(r, loss) for r in records]


@dataclass
class TokenStats:
    """Token counts for one split under one tokenizer and ``max_length``."""

    examples: int = 0
    prompt_tokens: int = 0
    answer_tokens: int = 0
    longest: int = 0
    truncated: list[str] = field(default_factory=list)  # answer partly cut: it never learns to stop there
    cut_away: list[str] = field(default_factory=list)  # answer entirely cut: no label left

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.answer_tokens


def _ids(encoded: Any) -> list[int]:
    ids = encoded["input_ids"] if isinstance(encoded, Mapping) else encoded
    return list(ids)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def token_stats(records: Sequence[Record], tokenizer: Any, max_length: int) -> TokenStats:
    """Render each record with the chat template as TRL will, and see what ``max_length`` leaves."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the tokenizer has no chat template; pick a chat (instruction-tuned) model")
    stats = TokenStats()
    for record in records:
        row = to_row(record, "completion")
        prompt = _ids(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True))
        full = _ids(tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True))
        # Where the answer starts, as TRL computes it (prompt alone may render differently).
        start = _common_prefix(prompt, full)
        stats.examples += 1
        stats.prompt_tokens += start
        stats.answer_tokens += len(full) - start
        stats.longest = max(stats.longest, len(full))
        if start >= min(len(full), max_length):
            stats.cut_away.append(record.id)
        elif len(full) > max_length:
            stats.truncated.append(record.id)
    return stats


def drop_overlong(
    records: Sequence[Record],
    stats: TokenStats,
    policy: Literal["error", "drop"],
    max_length: int,
    split: str,
) -> list[Record]:
    """Refuse (or, when asked, drop) examples that would train on nothing but their prompt."""
    if not stats.cut_away:
        return list(records)
    if policy == "error":
        names = ", ".join(stats.cut_away[:SHOW_AT_MOST])
        more = f" and {len(stats.cut_away) - SHOW_AT_MOST} more" if len(stats.cut_away) > SHOW_AT_MOST else ""
        raise OverlongError(
            f"{len(stats.cut_away)} {split} examples have prompts of max_length={max_length} tokens or more, "
            f"so their answers would be cut away and leave no label: {names}{more}. "
            'Raise max_length, or set overlong = "drop" to skip them.'
        )
    gone = set(stats.cut_away)
    return [r for r in records if r.id not in gone]


def all_dropped_message(count: int, split: str, max_length: int) -> str:
    return (
        f"all {count} {split} examples were dropped (longer than max_length={max_length}: their prompts leave "
        "no room for an answer); raise max_length"
    )


def check_labels(dataset: Any, expected: int | None, split: str) -> int:
    """After TRL prepared ``dataset``: every example keeps an unmasked label, none went missing.

    TRL silently filters fully masked examples; we refuse instead so counts in metrics are true.
    ``expected`` is None under packing, where rows no longer map one-to-one to examples.
    Returns the number of unmasked label tokens.
    """
    if expected is not None and len(dataset) != expected:
        raise LabelCheckError(
            f"{split}: {expected} examples went in but {len(dataset)} came out of dataset preparation "
            "(TRL drops examples whose labels are all masked)"
        )
    unmasked = 0
    for index, labels in enumerate(dataset["labels"]):
        # The first position is never predicted (labels shift by one), so it does not count.
        count = sum(1 for label in labels[1:] if label != -100)
        if count == 0:
            raise LabelCheckError(f"{split}: example {index} has no unmasked label after truncation")
        unmasked += count
    return unmasked
