"""The leaderboard as markdown and as one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

import html
from collections.abc import Callable

from rustgate.eval.leaderboard import Comparison, Leaderboard, ModelResult
from rustgate.eval.metrics import OVERALL, Estimate

_TITLES = {"leptos": "Leptos", "axum": "Axum", "rig": "Rig", "rust": "Rust", OVERALL: "Overall"}
_ORDER = ("leptos", "axum", "rig", "rust")  # the benchmark's column order
_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")


def columns(board: Leaderboard) -> list[str]:
    return [c for c in _ORDER if c in board.crates] + [OVERALL]


def score(e: Estimate) -> str:
    return "-" if e.mean is None else f"{e.mean:.2f}"


def rate(e: Estimate) -> str:
    return "-" if e.mean is None else f"{100 * e.mean:.1f}%"


def interval(e: Estimate, fmt: Callable[[float], str]) -> str:
    if e.mean is None or e.low is None or e.high is None:
        return "-"
    return f"{fmt(e.mean)} [{fmt(e.low)}, {fmt(e.high)}]"


def _num(x: float) -> str:
    return f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _signed(x: float) -> str:
    return f"{x:+.2f}"


def _signed_pct(x: float) -> str:
    return f"{100 * x:+.1f} pt"


def _tiers(board: Leaderboard) -> list[str]:
    """The execution tiers the board was compiled with (``test``, ``run``), in gate order."""
    return list(board.models[0].tiers) if board.models else []


def _tier_title(tier: str) -> str:
    return f"{tier.capitalize()} pass@1"


def _describe(board: Leaderboard) -> list[str]:
    suite = board.suite
    per_crate = ", ".join(f"{_TITLES.get(c, c)} {n}" for c, n in suite["per_crate"].items())
    judge = board.judge
    return [
        f"Suite `{suite['name']}` ({suite['prompts']} prompts: {per_crate}; hash `{suite['hash']}`), "
        f"{board.samples} answer(s) per prompt and model.",
        f"Judge `{judge['model']}`, {judge['samples']} judgement(s) per answer, 5 dimensions 1-10 "
        "(columns: mean of the five). Compile: `cargo check` against the pinned crates "
        f"({board.compile['toolchain']}).",
        f"Intervals: 95% percentile bootstrap over prompts, {board.bootstrap['resamples']} resamples, "
        f"seed {board.bootstrap['seed']}. Invented API: share of answers whose compile errors name an API "
        "that does not exist (docs/evaluation.md).",
        *_describe_tiers(board),
    ]


def _describe_tiers(board: Leaderboard) -> list[str]:
    tiers = _tiers(board)
    if not tiers:
        return []
    what = {
        "test": f"Test: the answer's own tests built and run sandboxed ({board.compile.get('test_window_s', 30):g}s)",
        "run": f"Run: each program run sandboxed for {board.compile.get('run_window_s', 5):g}s, servers sent a GET",
    }
    undecided = ", ".join(f"{m.label} {sum(m.inconclusive.values())}" for m in board.models)
    return [
        "; ".join(what[t] for t in tiers) + ". An answer that does not compile fails each tier that applies to "
        "it; answers where a tier does not apply (no tests, no program) and inconclusive ones (the program "
        f"needed the network, an API key or a file outside the answer) are left out. Inconclusive: {undecided}."
    ]


def _main_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    cols = columns(board)
    tiers = _tiers(board)
    head = ["Rank", "Model", *(_TITLES.get(c, c) for c in cols), "Compile pass@1"]
    if board.samples > 1:
        head.append(f"pass@{board.samples}")
    head += [*map(_tier_title, tiers), "Invented API"]
    rows = []
    for m in board.models:
        row = [str(m.rank), m.label, *(score(m.judge[c]) for c in cols), rate(m.pass_at["1"][OVERALL])]
        if board.samples > 1:
            row.append(rate(m.pass_at[str(board.samples)][OVERALL]))
        row += [rate(m.tiers[t][OVERALL]) for t in tiers]
        rows.append([*row, rate(m.invented_api[OVERALL])])
    return head, rows


def _interval_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    tiers = _tiers(board)
    head = ["Model", "Column", "Judge mean", "Compile pass@1"]
    if board.samples > 1:
        head.append(f"pass@{board.samples}")
    head += [*map(_tier_title, tiers), "Invented API", "Prompts"]
    rows = []
    for m in board.models:
        for c in columns(board):
            row = [m.label, _TITLES.get(c, c), interval(m.judge[c], _num), interval(m.pass_at["1"][c], _pct)]
            if board.samples > 1:
                row.append(interval(m.pass_at[str(board.samples)][c], _pct))
            row += [interval(m.tiers[t][c], _pct) for t in tiers]
            rows.append([*row, interval(m.invented_api[c], _pct), str(m.judge[c].n)])
    return head, rows


def _comparison_rows(board: Leaderboard, c: Comparison) -> tuple[list[str], list[list[str]]]:
    cols = columns(board)
    head = ["Metric (A - B)", *(_TITLES.get(x, x) for x in cols)]
    rows = [
        ["Judge mean", *(interval(c.judge[x], _signed) for x in cols)],
        ["Compile pass@1", *(interval(c.pass_at_1[x], _signed_pct) for x in cols)],
        *([_tier_title(t), *(interval(c.tiers[t][x], _signed_pct) for x in cols)] for t in c.tiers),
        ["Invented API", *(interval(c.invented_api[x], _signed_pct) for x in cols)],
    ]
    return head, rows


def _dimension_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    dims = list(board.models[0].dimensions) if board.models else []
    rows = [
        [m.label, *("-" if m.dimensions[d] is None else f"{m.dimensions[d]:.2f}" for d in dims)] for m in board.models
    ]
    return ["Model", *dims], rows


def _settings_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    rows = []
    for m in board.models:
        s = m.settings
        where = s.get("model") or s.get("path") or ""
        if s.get("adapter"):
            where += f" + adapter {s['adapter']}"
        if s.get("base_url"):
            where += f" @ {s['base_url']}"
        sampling = ", ".join(f"{k}={v}" for k, v in s.get("sampling", {}).items())
        rows.append([m.label, s.get("kind", ""), where, sampling, str(m.answers), str(m.errors)])
    return ["Model", "Kind", "Where", "Sampling", "Answers", "Errors"], rows


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    align = ["---" if h in {"Model", "Column", "Metric (A - B)", "Kind", "Where", "Sampling"} else "---:" for h in head]
    lines = ["| " + " | ".join(map(esc, head)) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(board: Leaderboard) -> str:
    """What a command prints: the description, the main table and the paired comparisons."""
    parts = [*_describe(board), "", _md_table(*_main_rows(board))]
    for c in board.comparisons:
        parts += ["", f"{c.a} vs {c.b} (paired, same prompts):", "", _md_table(*_comparison_rows(board, c))]
    return "\n".join(parts)


def to_markdown(board: Leaderboard, *, title: str | None = None) -> str:
    parts = [f"# {title or 'Leaderboard: ' + board.suite['name']}", "", *_describe(board), ""]
    parts += [_md_table(*_main_rows(board)), "", "## 95% intervals", "", _md_table(*_interval_rows(board)), ""]
    for c in board.comparisons:
        parts += [f"## {c.a} vs {c.b} (paired, same prompts)", "", _md_table(*_comparison_rows(board, c)), ""]
    parts += ["## Judge dimensions (mean over all answers)", "", _md_table(*_dimension_rows(board)), ""]
    invented = [m for m in board.models if m.top_invented]
    if invented:
        parts += ["## Most frequent invented-API errors", ""]
        for m in invented:
            parts += [f"- **{m.label}**: " + "; ".join(f"`` {text} `` x{n}" for text, n in m.top_invented)]
        parts.append("")
    parts += ["## Models and sampling", "", _md_table(*_settings_rows(board)), ""]
    return "\n".join(parts)


# -- HTML ------------------------------------------------------------------------------------------
def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def bar_chart(
    board: Leaderboard, pick: Callable[[ModelResult, str], Estimate], *, top: float, label: str, percent: bool
) -> str:
    """Grouped bars (one group per column, one bar per model) with 95% interval whiskers, as SVG."""
    cols = columns(board)
    models = board.models
    width, height, left, bottom, pad = 760, 300, 48, 40, 16
    plot_h = height - bottom - pad
    group_w = (width - left - pad) / max(1, len(cols))
    bar_w = min(36.0, (group_w - 16) / max(1, len(models)))

    def y(value: float) -> float:
        return pad + plot_h * (1 - max(0.0, min(value, top)) / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(label)}" font-family="sans-serif" font-size="11">']  # fmt: skip
    for step in range(6):
        value = top * step / 5
        text = f"{100 * value:.0f}%" if percent else f"{value:g}"
        parts.append(f'<line x1="{left}" x2="{width - pad}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{text}</text>')
    for gi, col in enumerate(cols):
        x0 = left + gi * group_w + (group_w - bar_w * len(models)) / 2
        for mi, model in enumerate(models):
            est = pick(model, col)
            if est.mean is None:
                continue
            x = x0 + mi * bar_w
            color = _COLORS[mi % len(_COLORS)]
            tip = html.escape(f"{model.label} {_TITLES.get(col, col)}: {interval(est, _pct if percent else _num)}")
            parts.append(
                f'<rect x="{x:.1f}" y="{y(est.mean):.1f}" width="{bar_w - 3:.1f}" '
                f'height="{y(0) - y(est.mean):.1f}" fill="{color}"><title>{tip}</title></rect>'
            )
            if est.low is not None and est.high is not None:
                cx = x + (bar_w - 3) / 2
                parts.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(est.low):.1f}" y2="{y(est.high):.1f}" stroke="#222"/>'
                )
        parts.append(
            f'<text x="{left + gi * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{_TITLES.get(col, col)}</text>'
        )
    for mi, model in enumerate(models):
        lx = left + mi * 150
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{_COLORS[mi % len(_COLORS)]}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 5}">{html.escape(model.label[:22])}</text>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}h1{font-size:1.5em}p.note{color:#555;font-size:13px}"""


def _tier_pick(tier: str) -> Callable[[ModelResult, str], Estimate]:
    return lambda m, c: m.tiers[tier][c]


def to_html(board: Leaderboard, *, title: str | None = None) -> str:
    heading = html.escape(title or "Leaderboard: " + board.suite["name"])
    notes = "".join(f'<p class="note">{html.escape(line)}</p>' for line in _describe(board))
    judge_chart = bar_chart(board, lambda m, c: m.judge[c], top=10.0, label="judge mean per column", percent=False)
    compile_chart = bar_chart(
        board, lambda m, c: m.pass_at["1"][c], top=1.0, label="compile pass@1 per column", percent=True
    )
    invented_chart = bar_chart(
        board, lambda m, c: m.invented_api[c], top=1.0, label="invented-API rate per column", percent=True
    )
    body = [f"<h1>{heading}</h1>", notes, _html_table(*_main_rows(board))]
    body += ["<h2>Judge mean (95% intervals)</h2>", judge_chart]
    body += ["<h2>Compile pass@1</h2>", compile_chart]
    for tier in _tiers(board):
        chart = bar_chart(board, _tier_pick(tier), top=1.0, label=f"{tier} pass@1 per column", percent=True)
        body += [f"<h2>{_tier_title(tier)}</h2>", chart]
    body += ["<h2>Invented-API rate</h2>", invented_chart]
    body += ["<h2>95% intervals</h2>", _html_table(*_interval_rows(board))]
    for c in board.comparisons:
        heading_c = f"<h2>{html.escape(c.a)} vs {html.escape(c.b)} (paired)</h2>"
        body += [heading_c, _html_table(*_comparison_rows(board, c))]
    body += ["<h2>Judge dimensions</h2>", _html_table(*_dimension_rows(board))]
    body += ["<h2>Models and sampling</h2>", _html_table(*_settings_rows(board))]
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
