"""`grader similarity`: a class compared, written as `pairs.csv` and `similarity.html`, and
summed up on the terminal.

`pairs.csv` has one row per pair of compared submissions, every pair: `a,b,similarity`, a and
b the student ids (a first in id order), the similarity a number in [0, 1] with 4 decimals
(`grader.similarity.compare`); highest first, equal ones by a then b. No id cell starts a
spreadsheet formula (`as_text`).
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.batch.records import write_atomic
from grader.errors import ConfigError
from grader.intake.files import printable
from grader.outputs.gradebook import as_text, write_csv_row
from grader.similarity.compare import PRECISION, Comparison, compare_class
from grader.similarity.page import similarity_page
from grader.spec import AssignmentSpec

PAIRS_CSV, PAGE = "pairs.csv", "similarity.html"
DEFAULT_TOP = 20  # pairs shown side by side in the page
TERMINAL_ROWS = 10


def pairs_csv(c: Comparison) -> str:
    buffer = io.StringIO()
    write_csv_row(buffer, ["a", "b", "similarity"])
    for p in c.pairs:
        a, b = c.submissions[p.a].id, c.submissions[p.b].id
        write_csv_row(buffer, [as_text(a), as_text(b), f"{p.similarity:.{PRECISION}f}"])
    return buffer.getvalue()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def write_similarity(
    spec: AssignmentSpec, submissions: Path, out: Path, *, top: int = DEFAULT_TOP
) -> Comparison:
    """Compare the class in `submissions` and write `out/pairs.csv` and `out/similarity.html`."""
    submissions, out = submissions.resolve(), out.resolve()
    if submissions.is_dir() and _inside(out, submissions):
        raise ConfigError(
            f"--out {out} is inside the submissions folder {submissions}, where it would be "
            "taken for a student's entry; choose a folder outside it"
        )
    comparison = compare_class(spec, submissions)
    write_atomic(out / PAIRS_CSV, pairs_csv(comparison))
    write_atomic(out / PAGE, similarity_page(comparison, views=top))
    return comparison


def print_similarity(c: Comparison, out: Path, console: Console) -> None:
    """The top pairs, the entries skipped, and where the files are."""
    table = Table(title="most similar pairs", title_justify="left", header_style="bold")
    for name in ("a", "b", "similarity", "shared"):
        table.add_column(name, justify="right" if name in ("similarity", "shared") else "left")
    for p in c.pairs[:TERMINAL_ROWS]:
        a, b = c.submissions[p.a], c.submissions[p.b]
        table.add_row(
            escape(printable(a.id)), escape(printable(b.id)), f"{p.similarity:.4f}", str(p.shared)
        )
    console.print(table)
    for s in c.skipped:
        console.print(f"[magenta]skipped[/] {escape(printable(s.id))}: {escape(s.reason)}")
    console.print(
        f"{len(c.submissions)} compared, {len(c.skipped)} skipped · pairs: {out / PAIRS_CSV} "
        f"· report: {out / PAGE}"
    )
