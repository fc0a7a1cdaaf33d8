"""Rendering a GradeResult for a person: a rich terminal report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from grader.contract import task_order
from grader.outputs.redact import Audience, shown
from grader.outputs.schema import STRUCTURE, CheckResult, GradeResult, format_points
from grader.spec import AssignmentSpec

CHECK_STYLE = {
    "passed": ("✔", "green"),
    "failed": ("✘", "red"),
    "error": ("!", "magenta"),
}
BAR = 10  # cells of a task's score bar
SPARK = "▁▂▃▄▅▆▇█"


def bar(score: float, max_score: float, width: int = BAR) -> str:
    """`███████░░░`: the share of the points earned, in `width` cells."""
    full = round(width * score / max_score) if max_score else 0
    return "█" * full + "░" * (width - full)


def sparkline(values: list[float], low: float | None = None, high: float | None = None) -> str:
    """`█▆▄▃▂▁`: one cell per value, scaled between `low` and `high` (default: their range)."""
    if not values:
        return ""
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    span = (high - low) or 1.0
    steps = len(SPARK) - 1
    return "".join(SPARK[max(0, min(steps, round(steps * (v - low) / span)))] for v in values)


def print_report(result: GradeResult, console: Console, *, verbose: bool = False) -> None:
    """One submission's report, by task and by cause.

    What is wrong with the module as a whole comes first, as one banner. Then each task, in
    task order: its score bar, its failures (checks failing alike share one panel, each failure
    that another task's failure explains is one line under that cause), and one line for what
    passed. `verbose` also lists each passed check and what the code printed.
    """
    console.print(
        f"[bold]{escape(result.assignment)}[/] — {escape(result.title)}\n"
        f"[dim]submission: {escape(result.submission)} · seed {result.seed} "
        f"(reproduce with --seed {result.seed})[/]"
    )
    for note in result.sandbox_notes:
        console.print(f"[yellow]sandbox: {escape(note)}[/]")
    by_cause = _by_cause(result)
    if result.structure:
        body = [Text(finding) for finding in result.structure]
        followers = by_cause.get(STRUCTURE, [])
        if followers and len(followers) == len(result.checks):
            body.append(Text(f"so every check fails ({len(followers)} checks)", style="yellow"))
        elif followers:
            body.append(_also_line(followers, result, "so these fail too: "))
        console.print(Panel(Group(*body), border_style="red", title="✘ your module"))
    for task, checks in _by_task(result).items():
        if all(c.caused_by == STRUCTURE for c in checks):
            continue  # the banner said it
        _print_task(console, result, task, checks, by_cause, verbose)
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
    if result.only_tasks:
        console.print(
            f"[yellow]partial: only task {', '.join(result.only_tasks)} ran; "
            "run without --task for the whole grade[/]"
        )


def _by_task(result: GradeResult) -> dict[str, list[CheckResult]]:
    """The checks of each task, in task order (1.2 before 1.10)."""
    groups: dict[str, list[CheckResult]] = {}
    for c in result.checks:
        groups.setdefault(c.task, []).append(c)
    return dict(sorted(groups.items(), key=lambda kv: task_order(kv[0])))


def _by_cause(result: GradeResult) -> dict[str, list[CheckResult]]:
    causes: dict[str, list[CheckResult]] = {}
    for c in result.checks:
        if c.status == "failed" and c.caused_by:
            causes.setdefault(c.caused_by, []).append(c)
    return causes


def _task_label(result: GradeResult, task: str) -> str:
    names = result.tasks.get(task, "")
    return f"{task} {names}".strip() if task else "checks"


def _also_line(checks: list[CheckResult], result: GradeResult, lead: str) -> Text:
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.task] = counts.get(c.task, 0) + 1
    parts = [f"{_task_label(result, t)} ×{n}" for t, n in counts.items()]
    return Text.assemble((lead, "yellow"), ", ".join(parts))


def _print_task(
    console: Console,
    result: GradeResult,
    task: str,
    checks: list[CheckResult],
    by_cause: dict[str, list[CheckResult]],
    verbose: bool,
) -> None:
    score = sum(c.score for c in checks)
    points = sum(c.max_score for c in checks)
    ok = all(c.status == "passed" for c in checks)
    head = Text.assemble(
        ("✔ " if ok else "✘ ", "green" if ok else "red"),
        (f"Task {_task_label(result, task)}", "bold"),
    )
    head.truncate(max(20, console.width - BAR - 12), overflow="ellipsis")
    head.append(" " * max(1, console.width - BAR - 11 - head.cell_len))
    head.append(bar(score, points), style="green" if ok else "red")
    head.append(f" {format_points(score):>4}/{format_points(points)}")
    console.print(head, no_wrap=True, overflow="ellipsis")
    own = [c for c in checks if c.status != "passed" and not c.caused_by]
    for group in _alike(own):
        console.print(_panel(group))
    if by_cause.get(task):
        console.print(
            Padding(
                _also_line(by_cause[task], result, "also failing because of this: "), (0, 0, 0, 2)
            )
        )
    followers = [c for c in checks if c.status == "failed" and c.caused_by]
    for cause in dict.fromkeys(c.caused_by for c in followers):
        ids = [c.id for c in followers if c.caused_by == cause]
        where = "your module" if cause == STRUCTURE else f"task {_task_label(result, cause)}"
        console.print(
            Padding(
                Text.assemble(
                    ("✘ ", "red"),
                    f"{len(ids)} failing because of {where}: ",
                    (", ".join(ids), "dim"),
                ),
                (0, 0, 0, 2),
            )
        )
    passed = [c for c in checks if c.status == "passed"]
    if passed and verbose:
        for c in passed:
            console.print(
                Padding(
                    Text.assemble(("✔ ", "green"), (c.id, "dim"), f" {c.name}"),
                    (0, 0, 0, 2),
                    expand=False,
                )
            )
    elif passed and not ok:
        console.print(
            Padding(
                Text(f"✔ {len(passed)} of {len(checks)} checks passed", style="green"), (0, 0, 0, 2)
            )
        )
    for c in checks:
        if c.curves:
            console.print(Padding(_curves(c), (0, 0, 0, 2), expand=False))


def _alike(checks: list[CheckResult]) -> list[list[CheckResult]]:
    """Failures with the same message and hint, together, in the order they first appear."""
    groups: dict[tuple[str, str, str], list[CheckResult]] = {}
    for c in checks:
        seen = shown(c, Audience.FULL)
        groups.setdefault((c.status, seen.message, seen.hint), []).append(c)
    return list(groups.values())


def _panel(group: list[CheckResult]) -> Panel:
    first = group[0]
    seen = shown(first, Audience.FULL)
    label, style = CHECK_STYLE[first.status]
    points = sum(c.max_score for c in group)
    body: list[Text] = []
    if len(group) == 1:
        title = f"{label} {first.id} ({format_points(points)} pt)"
        body.append(Text(first.name, style="bold"))
    else:
        title = f"{label} {len(group)} checks, one problem ({format_points(points)} pt)"
        body += [Text.assemble((c.id, "dim"), f" {c.name}") for c in group]
    body.append(Text(seen.message))
    if seen.file and f'"{Path(seen.file).name}", line {seen.line}' not in seen.message:
        body.append(Text(f"at {seen.file}, line {seen.line}", style="dim"))
    if seen.hint:
        body.append(Text.assemble(("hint: ", "bold yellow"), (seen.hint, "yellow")))
    return Panel(Group(*body), title=escape(title), title_align="left", border_style=style)


def _curves(check: CheckResult) -> Text:
    """The student's loss per epoch next to the reference's, as sparklines on one scale."""
    values = [v for series in check.curves.values() for v in series]
    low, high = min(values), max(values)
    text = Text(f"loss per epoch in {check.id}:", style="dim")
    width = max(len(name) for name in check.curves)
    for name, series in check.curves.items():
        text.append(f"\n  {name:<{width}}  ")
        text.append(sparkline(series[-60:], low, high), style="cyan" if name == "yours" else "dim")
        text.append(f"  {series[-1]:.3g}")
    return text


def print_assignments(specs: list[AssignmentSpec], console: Console) -> None:
    """`grader list`: one line per assignment, with its title and total points."""
    for spec in specs:
        console.print(
            f"[bold]{escape(spec.id):6}[/] {escape(spec.title)}  "
            f"[dim]({format_points(spec.total_points())} points)[/]"
        )
