"""``rustgate report``: pass rates, judge scores, rustc error codes and cost per accepted sample.

The numbers come from the gate results carried on the records; the page is plain HTML with
PNG charts drawn by matplotlib (the ``report`` extra, imported only when charts are drawn), and
the markdown summary needs nothing beyond rustgate itself.
"""

from __future__ import annotations

import functools
import html
import statistics
import subprocess
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rustgate.atomic import atomic_open, atomic_write_text
from rustgate.data.formats import iter_records
from rustgate.data.jsonl import InputError, refuse_repeats
from rustgate.data.manifest import load_manifest, manifest_header
from rustgate.data.output_dir import OutputRefused
from rustgate.records import Record
from rustgate.stats import Tally, crate_of


class ReportStats:
    """Everything the report shows, fed one record at a time: counters per gate and crate, which
    gates each record passed (as counts of pass-sets), costs, and the judge scores for the
    histograms. A file of any length costs these, not the records."""

    def __init__(self) -> None:
        self.records = 0
        self.tallies: dict[str, Tally] = {}
        self.pass_sets: Counter[frozenset[str]] = Counter()
        self.crates: set[str] = set()
        self.scores: dict[str, array[float]] = {}
        self.threshold: float | None = None
        self.total_usd = 0.0

    def add(self, record: Record) -> None:
        self.records += 1
        current = record.content_hash()
        self.pass_sets[frozenset(g for g, r in record.gates.items() if r.passed and r.content_hash == current)] += 1
        for gate in record.gates:
            self.tallies.setdefault(gate, Tally(gate))  # earlier records had no verdict of this gate
        for tally in self.tallies.values():
            tally.add(record)
        self.crates.add(crate_of(record))
        judge = record.gates.get("judge")
        for dim, value in ((judge.scores or {}) if judge else {}).items():
            self.scores.setdefault(dim, array("d")).append(float(value))
        if self.threshold is None and judge is not None and isinstance(judge.details.get("threshold"), int | float):
            self.threshold = float(judge.details["threshold"])
        self.total_usd += record_cost(record)

    def gate_names(self) -> list[str]:
        order = {"compile": 0, "judge": 1}
        return sorted(self.tallies, key=lambda g: (order.get(g, 9), g))

    def passing(self, gates: Sequence[str]) -> int:
        """Records that passed every one of ``gates``, for exactly the content they hold."""
        wanted = set(gates)
        return sum(count for passed, count in self.pass_sets.items() if wanted <= passed)

    def funnel(self) -> list[tuple[str, int]]:
        """inputs -> each gate passed in turn -> ..."""
        gates = self.gate_names()
        return [("inputs", self.records)] + [(f"{g} pass", self.passing(gates[: i + 1])) for i, g in enumerate(gates)]

    def costs(self) -> dict[str, Any]:
        gates = self.gate_names()
        accepted = self.passing(gates) if gates else 0
        return {
            "total_usd": round(self.total_usd, 4),
            "accepted": accepted,
            "per_accepted_usd": round(self.total_usd / accepted, 5) if accepted else None,
        }

    def top_codes(self) -> list[tuple[str, int]]:
        return self.tallies["compile"].top_codes() if "compile" in self.tallies else []

    def top_lints(self) -> list[tuple[str, int]]:
        return self.tallies["compile"].top_lints() if "compile" in self.tallies else []


def gather(paths: Sequence[str | Path]) -> tuple[ReportStats, list[InputError]]:
    """Stats of records from files, or from dataset folders (their ``*.jsonl`` splits), streamed;
    unreadable rows and ids repeated within a file are reported, as reading them whole did."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and (path / "manifest.json").is_file():
            files += sorted(path.glob("*.jsonl"))
        else:
            files.append(path)
    stats = ReportStats()
    errors: list[InputError] = []
    for path in files:
        for loaded in refuse_repeats(iter_records(path), errors):
            stats.add(loaded.record)
    return stats, errors


def load_funnel(paths: Sequence[str | Path]) -> list[tuple[str, int]] | None:
    """The build's funnel from a dataset folder's manifest (the records it kept cannot show it)."""
    for path in map(Path, paths):
        manifest = path / "manifest.json"
        if path.is_dir() and manifest.is_file():
            try:
                head = manifest_header(manifest)
                if "funnel" not in head:  # an older manifest lists it after the records
                    head = load_manifest(path)
                return [(str(s["stage"]), int(s["records"])) for s in head.get("funnel") or []]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                return None
    return None


@functools.lru_cache(maxsize=128)
def explain(code: str) -> str:
    """What a rustc error code means: the first line of ``rustc --explain`` ("" without rustc)."""
    if not code.startswith("E") or not code[1:].isdigit():
        return ""
    try:
        done = subprocess.run(["rustc", "--explain", code], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    paragraph: list[str] = []
    for line in done.stdout.splitlines():
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    text = " ".join(paragraph).rstrip(":")
    return text if len(text) <= 160 else text[:157].rsplit(" ", 1)[0] + "..."


def record_cost(record: Record) -> float:
    """What a record cost in API calls: its generation (every attempt, ``Record.provenance()``)
    plus each judge sample's calls (``details.samples[].cost_usd``, malformed retries included)."""
    provenance = record.provenance()
    cost = provenance.cost_usd if provenance is not None else 0.0
    for result in record.gates.values():
        for sample in result.details.get("samples", []) or []:
            if isinstance(sample, dict):
                cost += float(sample.get("cost_usd", 0.0) or 0.0)
    return cost


def summary_markdown(stats: ReportStats, funnel: list[tuple[str, int]] | None = None) -> str:
    lines = [f"## rustgate report: {stats.records} records", ""]
    stages = funnel or stats.funnel()
    lines += ["funnel: " + " -> ".join(f"{stage} {count}" for stage, count in stages), ""]
    for gate in stats.gate_names():
        table = stats.tallies[gate].by_crate()
        lines += [
            f"**{gate}** pass rate: "
            + ", ".join(f"{c} {t['pass_rate']:.0%} ({t['pass']}/{t['total']})" for c, t in table.items()),
            "",
        ]
    if stats.scores:
        lines += ["| judge dimension | n | mean | min | max |", "|---|---|---|---|---|"]
        lines += [
            f"| {d} | {len(v)} | {statistics.fmean(v):.2f} | {min(v):g} | {max(v):g} |"
            for d, v in sorted(stats.scores.items())
        ]
        lines.append("")
    codes = stats.top_codes()
    if codes:
        lines += ["| rustc error code | records | what it means |", "|---|---|---|"]
        lines += [f"| {c} | {n} | {explain(c)} |" for c, n in codes]
        lines.append("")
    lints = stats.top_lints()
    if lints:
        lines += ["| clippy lint | found |", "|---|---|"]
        lines += [f"| {name} | {n} |" for name, n in lints]
        lines.append("")
    cost = stats.costs()
    per = f"${cost['per_accepted_usd']:.4f}" if cost["per_accepted_usd"] is not None else "n/a"
    lines.append(f"cost: ${cost['total_usd']:.4f} total, {cost['accepted']} accepted, {per} per accepted sample")
    return "\n".join(lines)


def _save(fig: Any, path: Path) -> None:
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")


def draw_charts(stats: ReportStats, out: Path, funnel: list[tuple[str, int]] | None = None) -> list[tuple[str, str]]:
    """(title, file name) of each chart written under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    charts: list[tuple[str, str]] = []
    stages = funnel or stats.funnel()
    if stages:
        fig, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(stages)))
        labels = [s for s, _ in reversed(stages)]
        counts = [n for _, n in reversed(stages)]
        bars = ax.barh(labels, counts, color="#4c72b0")
        ax.bar_label(bars, labels=[str(n) for n in counts], padding=3)
        ax.set_xlabel("records")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _save(fig, out / "funnel.png")
        plt.close(fig)
        charts.append(("Funnel: what each stage kept", "funnel.png"))
    gates = stats.gate_names()
    crates = sorted(stats.crates)
    if gates and crates:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / len(gates)
        for i, gate in enumerate(gates):
            table = stats.tallies[gate].by_crate()
            rates = [table.get(c, {}).get("pass_rate", 0.0) * 100 for c in crates]
            bars = ax.bar([x + i * width for x in range(len(crates))], rates, width, label=gate)
            shown = [f"{table.get(c, {}).get('pass', 0)}/{table.get(c, {}).get('total', 0)}" for c in crates]
            ax.bar_label(bars, labels=shown, fontsize=7, padding=2)
        ax.set_xticks([x + width * (len(gates) - 1) / 2 for x in range(len(crates))], crates)
        ax.set_ylabel("pass rate (%)")
        ax.set_ylim(0, 100)
        ax.legend()
        _save(fig, out / "pass_rates.png")
        plt.close(fig)
        charts.append(("Pass rate per crate per gate", "pass_rates.png"))
    scores = stats.scores
    if scores:
        threshold = stats.threshold
        fig, axes = plt.subplots(1, len(scores), figsize=(3 * len(scores), 2.8), squeeze=False)
        for ax, (dim, values) in zip(axes[0], sorted(scores.items()), strict=True):
            ax.hist(values, bins=[b + 0.5 for b in range(0, 11)])
            if threshold is not None:
                ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"pass mark {threshold:g} (mean)")
                ax.legend(fontsize=7)
            ax.set_title(dim)
            ax.set_xlim(0.5, 10.5)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _save(fig, out / "judge_scores.png")
        plt.close(fig)
        charts.append(("Judge score histograms per dimension", "judge_scores.png"))
    codes = stats.top_codes()
    if codes:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.barh([c for c, _ in reversed(codes)], [n for _, n in reversed(codes)])
        ax.set_xlabel("records failing with the code")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _save(fig, out / "error_codes.png")
        plt.close(fig)
        charts.append(("Top rustc error codes", "error_codes.png"))
    return charts


REPORT_MARKER = ".rustgate-report"


def write_report(stats: ReportStats, out: Path, funnel: list[tuple[str, int]] | None = None) -> Path:
    """``out/index.html`` with the charts beside it, and ``out/summary.md``.

    An existing ``out`` is written into only when it is empty or an earlier report (its marker
    file): a user's own ``index.html`` is never replaced."""
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT_MARKER).is_file():
        raise OutputRefused(f"{out} is not an earlier rustgate report (no {REPORT_MARKER}): choose another -o folder")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / REPORT_MARKER, "written by rustgate report; the files beside it are regenerated\n")
    charts = draw_charts(stats, out, funnel)
    summary = summary_markdown(stats, funnel)
    atomic_write_text(out / "summary.md", summary + "\n")
    figures = "\n".join(f'<h2>{html.escape(t)}</h2>\n<img src="{f}" alt="{html.escape(t)}">' for t, f in charts)
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>rustgate report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}img{max-width:100%}</style></head>"
        f"<body>\n<h1>rustgate report</h1>\n<pre>{html.escape(summary)}</pre>\n{figures}\n</body></html>\n"
    )
    atomic_write_text(out / "index.html", page)
    return out / "index.html"
