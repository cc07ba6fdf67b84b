"""Decontamination: drop training records that overlap the evaluation prompts.

Word n-grams (lower-cased, punctuation split off) of each eval prompt are indexed; a record
whose prompt or code shares ``min_shared`` of them is dropped, so the benchmark measures what the
model learned rather than what it memorised. An eval prompt shorter than ``n`` words is indexed
whole, so short prompts are not silently exempt.

The prompts of rustgate's shipped eval suites (``rustgate.eval.suites``) are always included
unless ``shipped=False``, so a dataset never trains on the benchmark that will grade it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from rustgate import safejson
from rustgate.data.dedupe import Drop, code_of
from rustgate.eval.suites import shipped_suite_paths
from rustgate.records import Record

_WORD = re.compile(r"\w+|[^\w\s]")
NGram = tuple[str, ...]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def ngrams(seq: Sequence[str], n: int) -> set[NGram]:
    if len(seq) < n:
        return set()
    return {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}


def load_eval_prompts(paths: Iterable[str | Path], *, shipped: bool = True) -> list[str]:
    """Prompts from JSONL (``prompt``/``instruction``/``question`` or the last user message) or text,
    plus (``shipped``) those of the shipped eval suites; each distinct prompt once."""
    prompts: list[str] = []
    for path in [*(shipped_suite_paths() if shipped else []), *paths]:
        text = Path(path).read_text(encoding="utf-8")
        if Path(path).suffix not in {".jsonl", ".json", ".ndjson"}:
            prompts += [block.strip() for block in text.split("\n\n") if block.strip()]
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = safejson.loads(line)
            except safejson.UnsafeJSON as exc:  # refused whole: a partial list would let contamination in
                raise ValueError(f"{path}:{number}: {exc}") from exc
            prompt = _prompt_of(row)
            if prompt is None:
                raise ValueError(f"{path}:{number}: no prompt/instruction/question/user message")
            prompts.append(prompt)
    return list(dict.fromkeys(prompts))


def _prompt_of(row: object) -> str | None:
    if isinstance(row, str):
        return row
    if not isinstance(row, dict):
        return None
    for key in ("prompt", "instruction", "question"):
        if isinstance(row.get(key), str):
            return str(row[key])
    users = [m.get("content") for m in row.get("messages", []) if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1]) if users else None


class EvalIndex:
    def __init__(self, prompts: Iterable[str], n: int = 10) -> None:
        self.n = n
        self.grams: dict[int, dict[NGram, int]] = {}
        for index, prompt in enumerate(prompts):
            seq = words(prompt)
            if not seq:
                continue
            size = min(n, len(seq))
            table = self.grams.setdefault(size, {})
            for gram in ngrams(seq, size):
                table.setdefault(gram, index)

    def shared(self, text: str) -> tuple[int, int | None]:
        """(how many eval n-grams ``text`` contains, index of one eval prompt it overlaps)."""
        seq = words(text)
        count, which = 0, None
        for size, table in self.grams.items():
            for gram in ngrams(seq, size):
                hit = table.get(gram)
                if hit is not None:
                    count, which = count + 1, hit
        return count, which


def contamination(record: Record, index: EvalIndex, min_shared: int = 1) -> str | None:
    """Why ``record`` overlaps the eval prompts (its prompt, then its code), or None when it does not."""
    for part, text in (("prompt", record.prompt), ("code", code_of(record))):
        count, which = index.shared(text)
        if count >= min_shared:
            return f"{part} shares {count} {index.n}-gram(s) with eval prompt #{which}"
    return None


def decontaminate(
    records: Sequence[Record], prompts: Sequence[str], *, n: int = 10, min_shared: int = 1
) -> tuple[list[Record], list[Drop]]:
    if not prompts:
        return list(records), []
    index = EvalIndex(prompts, n)
    kept: list[Record] = []
    drops: list[Drop] = []
    for record in records:
        reason = contamination(record, index, min_shared)
        if reason is None:
            kept.append(record)
        else:
            drops.append(Drop(record.id, "contaminated", reason))
    return kept, drops
