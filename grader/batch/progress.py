"""The batch's progress bar: submissions done, seconds per submission, time left.

Redrawn only when the batch loop calls `tick()`, never from a thread of its own: the
batch process forks judge processes, and a fork must not inherit a lock held by a
drawing thread.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from grader.batch.records import Record

if TYPE_CHECKING:
    from grader.batch.engine import Plan


class RateColumn(ProgressColumn):
    """Seconds per submission, from rich's moving estimate of the speed."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{1 / speed:.2f} s/sub" if speed else "- s/sub", style="cyan")


class BatchProgress:
    """`with BatchProgress(console) as p:` then pass p.start, p.record and p.tick to the batch."""

    def __init__(self, console: Console):
        self.console = console
        self.counts: Counter = Counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
            auto_refresh=False,
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> BatchProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._progress.refresh()
            self._progress.stop()

    def start(self, plan: Plan) -> None:
        total, kept = len(plan.entries), plan.kept
        for problem in plan.problems:
            self.console.print(f"[yellow]{escape(problem)}[/]")
        if kept:
            self.console.print(
                f"{kept} of {total} submissions already graded and unchanged: "
                "kept (--force grades them again)"
            )
        self._task = self._progress.add_task("grading", total=total, completed=kept, counts="")
        self._progress.start()
        self._progress.refresh()

    def record(self, record: Record) -> None:
        self.counts[record.status] += 1
        counts = " ".join(f"{n} {s}" for s, n in sorted(self.counts.items()) if s != "graded")
        if self._task is not None:
            self._progress.update(self._task, advance=1, counts=counts)

    def tick(self) -> None:
        self._progress.refresh()
