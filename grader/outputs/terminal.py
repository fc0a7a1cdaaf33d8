"""Rendering a GradeResult for a person: a rich terminal report."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.outputs.redact import Audience, shown
from grader.outputs.schema import GradeResult, format_points
from grader.spec import AssignmentSpec

CHECK_STYLE = {
    "passed": ("✔ passed", "green"),
    "failed": ("✘ failed", "red"),
    "error": ("! error", "magenta"),
}


def print_report(result: GradeResult, console: Console, *, verbose: bool = False) -> None:
    """Print one submission's report: a row per check, then the details of what failed."""
    console.print(
        f"[bold]{escape(result.assignment)}[/] — {escape(result.title)}   "
        f"[dim]submission: {escape(result.submission)} · seed {result.seed} "
        f"(reproduce with --seed {result.seed})[/]"
    )
    for note in result.sandbox_notes:
        console.print(f"[yellow]sandbox: {escape(note)}[/]")
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("")
    table.add_column("check")
    table.add_column("tier", style="dim")
    table.add_column("points", justify="right")
    table.add_column("time", justify="right", style="dim")
    for c in result.checks:
        label, style = CHECK_STYLE[c.status]
        table.add_row(
            Text(label, style=style),
            escape(c.name),
            c.tier,
            f"{format_points(c.score)}/{format_points(c.max_score)}",
            f"{c.duration_s:.2f}s",
        )
    console.print(table)
    for c in result.checks:
        if c.status == "passed":
            continue
        seen = shown(c, Audience.FULL)
        body = [Text(seen.message)]
        if seen.file:
            body.append(Text(f"at {seen.where}", style="dim"))
        if seen.hint:
            body.append(Text.assemble(("hint: ", "bold yellow"), (seen.hint, "yellow")))
        console.print(
            Panel(
                Group(*body),
                title=escape(c.name),
                title_align="left",
                border_style=CHECK_STYLE[c.status][1],
            )
        )
    if verbose and result.output.strip():
        console.print(
            Panel(
                Text(result.output.rstrip()),
                border_style="dim",
                title="what your code printed (not part of the grade)",
                title_align="left",
            )
        )
    for note in result.notes:
        console.print(f"[cyan]note: {escape(note)}[/]")
    passed = sum(c.status == "passed" for c in result.checks)
    style = "bold green" if result.passed else "bold red"
    console.print(
        f"[{style}]total: {format_points(result.score)}/{format_points(result.max_score)}[/] "
        f"({passed} of {len(result.checks)} checks passed, {result.duration_s:.1f}s)"
    )


def print_assignments(specs: list[AssignmentSpec], console: Console) -> None:
    """`grader list`: one line per assignment, with its title and total points."""
    for spec in specs:
        console.print(
            f"[bold]{escape(spec.id):6}[/] {escape(spec.title)}  "
            f"[dim]({format_points(spec.total_points())} points)[/]"
        )
