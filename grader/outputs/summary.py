"""The class summary for a person: a rich terminal view and an HTML page with a histogram.

Shows per-check pass rates and mean points, the score spread (mean, median, range, a
histogram of percentages), the most frequent hints, and every submission that could not
be graded normally (crashed, timed out, unreadable, grader error).
"""

from __future__ import annotations

import html

from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table

from grader.batch.records import NOT_GRADED_NORMALLY, Record
from grader.outputs.gradebook import BINS, ClassSummary

CHECK_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("check", "left"),
    ("tier", "left"),
    ("points", "right"),
    ("pass rate", "right"),
    ("mean", "right"),
)
RECORD_STYLE = {
    "graded": "green",
    "crashed": "red",
    "timeout": "yellow",
    "unreadable": "magenta",
    "error": "bold red",
}


def _bin_label(i: int) -> str:
    width = 100 // BINS
    return f"{i * width}-{(i + 1) * width}%" if i < BINS - 1 else f"{i * width}-100%"


def print_summary(summary: ClassSummary, console: Console) -> None:
    """Print the class summary."""
    console.print(
        f"\n[bold]{escape(summary.assignment)}[/] — {escape(summary.title)}: "
        f"{summary.students} submissions, "
        + ", ".join(
            f"[{RECORD_STYLE.get(s, 'white')}]{n} {s}[/]" for s, n in summary.statuses.items()
        )
    )
    table = Table(title="checks", title_justify="left", header_style="bold")
    for name, justify in CHECK_COLUMNS:
        table.add_column(name, justify=justify)
    for c in summary.checks:
        rate = c.pass_rate
        style = "green" if rate >= 0.8 else "yellow" if rate >= 0.5 else "red"
        table.add_row(
            escape(c.name),
            c.tier,
            f"{c.max_score:g}",
            f"[{style}]{rate:.0%}[/]",
            f"{c.mean_score:.2f}",
        )
    console.print(table)
    console.print(
        f"score over {summary.gradable} gradable submissions (of {summary.max_score:g}): "
        f"mean {summary.mean:.2f}, median {summary.median:g}, "
        f"range {summary.lowest:g}-{summary.highest:g}"
    )
    peak = max(summary.histogram + [1])
    for i, count in enumerate(summary.histogram):
        bar = "█" * round(30 * count / peak)
        console.print(f"  {_bin_label(i):>8} [cyan]{bar}[/] {count}")
    if summary.hints:
        console.print("[bold]most frequent hints[/]")
        for hint, count, check in summary.hints:
            console.print(f"  {count}× [yellow]{escape(hint)}[/] [dim]({escape(check)})[/]")


def print_failures(rows: list[Record], console: Console) -> None:
    """A table of the submissions that were not graded normally, if any."""
    failures = [r for r in rows if r.status in NOT_GRADED_NORMALLY]
    if not failures:
        console.print("[green]every submission was graded normally[/]")
        return
    table = Table(
        title=f"{len(failures)} submissions not graded normally",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("student")
    table.add_column("status")
    table.add_column("score", justify="right")
    table.add_column("why", overflow="fold")
    for r in failures:
        table.add_row(
            escape(r.id),
            f"[{RECORD_STYLE[r.status]}]{r.status}[/]",
            f"{r.result.score:g}/{r.result.max_score:g}",
            escape(r.error),
        )
    console.print(table)


def _svg_histogram(summary: ClassSummary) -> str:
    width, height, pad = 560, 220, 30
    bar_w = (width - 2 * pad) / BINS
    peak = max(summary.histogram + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
        'role="img" aria-label="histogram of scores">'
    ]
    for i, count in enumerate(summary.histogram):
        h = (height - pad) * count / peak
        x, y = pad + i * bar_w, height - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
            'fill="#4a7fb5"><title>' + f"{_bin_label(i)}: {count}</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="12" '
            f'text-anchor="middle">{count}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height + 16}" font-size="10" '
            f'text-anchor="middle">{_bin_label(i)}</text>'
        )
    parts.append(f'<line x1="{pad}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#333"/>')
    parts.append("</svg>")
    return "".join(parts)


def page(summary: ClassSummary, rows: list[Record]) -> str:
    """The class summary as a self-contained HTML page."""
    e = html.escape
    checks = "".join(
        f"<tr><td>{e(c.name)}</td><td>{e(c.tier)}</td><td>{c.max_score:g}</td>"
        f"<td>{c.pass_rate:.0%}</td><td>{c.mean_score:.2f}</td></tr>"
        for c in summary.checks
    )
    hints = "".join(f"<li>{n}× {e(h)} <small>({e(c)})</small></li>" for h, n, c in summary.hints)
    failures = "".join(
        f"<tr><td>{e(r.id)}</td><td>{e(r.status)}</td><td>{r.result.score:g}</td>"
        f"<td>{e(r.error)}</td></tr>"
        for r in rows
        if r.status in NOT_GRADED_NORMALLY
    )
    statuses = ", ".join(f"{n} {e(s)}" for s, n in summary.statuses.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(summary.assignment)}: class summary</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left}}</style>
</head><body>
<h1>{e(summary.assignment)}: {e(summary.title)}</h1>
<p>{summary.students} submissions: {statuses}.</p>
<p>Score over {summary.gradable} gradable submissions (out of {summary.max_score:g}):
mean {summary.mean:.2f}, median {summary.median:g}, range {summary.lowest:g}-{summary.highest:g}.</p>
<h2>Scores</h2>
{_svg_histogram(summary)}
<h2>Checks</h2>
<table><tr><th>check</th><th>tier</th><th>points</th><th>pass rate</th><th>mean</th></tr>
{checks}</table>
<h2>Most frequent hints</h2>
<ul>{hints or "<li>none</li>"}</ul>
<h2>Not graded normally</h2>
<table><tr><th>student</th><th>status</th><th>score</th><th>why</th></tr>
{failures or '<tr><td colspan="4">none</td></tr>'}</table>
</body></html>
"""
