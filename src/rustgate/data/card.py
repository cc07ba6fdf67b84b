"""The dataset card (``README.md``): what the dataset holds, how it was made, what was dropped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rustgate.data.dedupe import Drop
from rustgate.data.sampling import Sampled, crate_key
from rustgate.stats import Scores, Tally


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _counts_table(splits: Mapping[str, Sequence[Sampled]]) -> str:
    crates = sorted({crate_key(r) for rs in splits.values() for r in rs})
    rows = []
    for crate in [*crates, "total"]:
        cells = [sum(1 for r in rs if crate in ("total", crate_key(r))) for rs in splits.values()]
        rows.append([crate, *cells, sum(cells)])
    return _table(["crate", *splits, "all"], rows)


_VERDICT_COLUMNS = ("pass", "fail", "rejected", "timeout", "error", "inconclusive")


def _gate_tables(tallies: Mapping[str, Tally], gates: Sequence[str]) -> str:
    parts = []
    for gate in gates:
        table = tallies[gate].by_crate() if gate in tallies else {}
        if not table:
            parts.append(f"**{gate}**: no verdicts recorded.")
            continue
        rows = [
            [c, t["total"], t["pass"], t["fail"], t["rejected"], t["timeout"], t["error"], t.get("inconclusive", 0),
             f"{t['pass_rate']:.1%}"]  # fmt: skip
            for c, t in table.items()
        ]
        parts.append(
            f"**{gate}**\n\n"
            + _table(["crate", "gated", *_VERDICT_COLUMNS, "pass rate"], rows)
        )
        lints = tallies[gate].top_lints()
        if lints:
            parts.append(f"**{gate}: clippy lints found**\n\n" + _table(["lint", "found"], [list(x) for x in lints]))
    return "\n\n".join(parts)


def _score_table(scores: Scores) -> str:
    if not scores.dimensions:
        return "No judge scores in this dataset."
    rows = []
    for dim, stat in sorted(scores.dimensions.items()):
        hist = " ".join(f"{k}:{stat.buckets[k]}" for k in sorted(stat.buckets))
        rows.append([dim, stat.n, f"{stat.mean:.2f}", f"{stat.low:g}", f"{stat.high:g}", hist])
    return _table(["dimension", "n", "mean", "min", "max", "histogram (score:count)"], rows)


def _drop_table(drops: Sequence[Drop]) -> str:
    if not drops:
        return "Nothing was dropped."
    by_stage = Counter(d.stage for d in drops)
    rows: list[list[Any]] = []
    for stage, count in by_stage.most_common():
        examples = ""
        for drop in (d for d in drops if d.stage == stage):  # enough for 300 characters, not all of them
            examples += ("; " if examples else "") + f"{drop.id}: {drop.reason}"
            if len(examples) > 300:
                break
        rows.append([stage, count, examples[:300] + ("..." if len(examples) > 300 else "")])
    return _table(["stage", "dropped", "examples"], rows)


def render_card(
    *,
    name: str,
    splits: Mapping[str, Sequence[Sampled]],
    tallies: Mapping[str, Tally],
    scores: Scores,
    drops: Sequence[Drop],
    manifest: Mapping[str, Any],
    shortfall: Mapping[str, tuple[int, int]],
) -> str:
    """Markdown with Hugging Face front matter; ``tallies`` count the verdicts of every record read
    (before the gates filter), ``scores`` the judge scores of the records kept."""
    total = sum(len(rs) for rs in splits.values())
    pins = manifest.get("pins", {})
    pin_lines = [f"  - **{p}**: " + ", ".join(f"`{k} {v}`" for k, v in sorted(d.items())) for p, d in pins.items() if d]
    shortfalls = [f"- {crate}: target {want}, only {have} available" for crate, (want, have) in shortfall.items()]
    config = manifest.get("config", {})
    hashes = ", ".join(f"`{h[:12]}`" for h in manifest.get("prompt_hashes", []))
    return "\n".join(
        [
            "---",
            "license: other",
            "task_categories: [text-generation]",
            "tags: [rust, code, rustgate]",
            "configs:",
            "  - config_name: default",
            "    data_files:",
            *[f"      - split: {s}\n        path: {s}.jsonl" for s in splits],
            "---",
            "",
            f"# {name}",
            "",
            f"{total} Rust instruction/answer pairs in chat form, built by `rustgate build` on "
            f"{manifest.get('created_at')}. Every record passed the gates "
            f"{', '.join(f'`{g}`' for g in manifest.get('required_gates', []))}; `manifest.json` lists each "
            "record's content hash and gate verdicts, and `rustgate verify` checks the files against it.",
            "",
            "## Counts per crate and split",
            "",
            _counts_table(splits),
            "",
            *(["Targets not met:", "", *shortfalls, ""] if shortfalls else []),
            f"Split: seeded (`seed = {config.get('seed')}`), stratified by crate.",
            "",
            "## Gate pass rates (all input records)",
            "",
            _gate_tables(tallies, manifest.get("required_gates", [])),
            "",
            "## Judge score distribution (kept records)",
            "",
            _score_table(scores),
            "",
            "## What was dropped, and why",
            "",
            _drop_table(drops),
            "",
            "## Provenance",
            "",
            f"- toolchain: `{manifest.get('toolchain')}`",
            f"- models: {', '.join(f'`{m}`' for m in manifest.get('models', [])) or 'none recorded'}",
            f"- prompt hashes: {hashes or 'none recorded'}",
            "- crate pins:",
            *(pin_lines or ["  (templates not found)"]),
            "",
        ]
    )
