"""The gradebook of a batch, rebuilt from its records: `grades.csv` for an LMS, `grades.json`
with every result, and the class statistics (`ClassSummary`).

Both files are byte-identical when the same folder is graded twice: they hold no
timings, no temporary paths and nothing the student's code printed (those stay in the
records under `results/`). No text cell of grades.csv starts a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field

from grader import __version__
from grader.batch.records import Record
from grader.contract import task_order
from grader.outputs.schema import format_points

GRADEBOOK_VERSION = 1
BINS = 10  # histogram of percentages: [0, 10), [10, 20), ... [90, 100]
TOP_HINTS = 5
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def percentage(score: float, max_score: float) -> float:
    return round(100.0 * score / max_score, 2) if max_score else 0.0


@dataclass
class CheckStats:
    """How the class did on one check."""

    id: str
    name: str
    tier: str
    max_score: float
    passed: int
    attempted: int  # gradable submissions
    mean_score: float

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempted if self.attempted else 0.0


@dataclass
class ClassSummary:
    """The class at a glance: who was graded, how the scores spread, where it struggled."""

    assignment: str
    title: str
    max_score: float
    students: int  # entries in the gradebook
    gradable: int  # all but the unreadable ones: the statistics are over these
    statuses: dict[str, int]
    mean: float
    median: float
    lowest: float
    highest: float
    histogram: list[int]  # BINS counts of percentages
    checks: list[CheckStats] = field(default_factory=list)
    hints: list[tuple[str, int, str]] = field(default_factory=list)  # (hint, times, check name)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hints"] = [{"hint": h, "count": n, "check": c} for h, n, c in self.hints]
        for c, stats in zip(data["checks"], self.checks, strict=True):
            c["pass_rate"] = round(stats.pass_rate, 4)
        return data


def columns(rows: list[Record]) -> list[tuple[str, str, str, float]]:
    """(id, name, tier, max points) of every check, in the order the checks run."""
    seen: dict[str, tuple[str, str, str, float]] = {}
    for record in rows:
        for c in record.result.checks:
            seen.setdefault(c.id, (c.id, c.name, c.tier, c.max_score))
    return list(seen.values())


def summarise(rows: list[Record]) -> ClassSummary:
    cols = columns(rows)
    gradable = [r for r in rows if r.status != "unreadable"]
    totals = [r.result.score for r in gradable]
    max_score = sum(c[3] for c in cols)
    histogram = [0] * BINS
    for total in totals:
        histogram[min(BINS - 1, int(percentage(total, max_score) // (100 / BINS)))] += 1
    checks = []
    for cid, name, tier, points in cols:
        outcomes = [c for r in gradable for c in r.result.checks if c.id == cid]
        checks.append(
            CheckStats(
                id=cid,
                name=name,
                tier=tier,
                max_score=points,
                attempted=len(gradable),
                passed=sum(c.status == "passed" for c in outcomes),
                mean_score=round(sum(c.score for c in outcomes) / len(gradable), 4)
                if gradable
                else 0.0,
            )
        )
    hints: Counter = Counter()
    where: dict[str, str] = {}
    for record in gradable:
        for c in record.result.checks:
            if c.status != "passed" and c.hint:
                hints[c.hint] += 1
                where.setdefault(c.hint, c.name)
    top = sorted(hints.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_HINTS]
    first = rows[0].result if rows else None
    return ClassSummary(
        assignment=first.assignment if first else "",
        title=first.title if first else "",
        max_score=max_score,
        students=len(rows),
        gradable=len(gradable),
        statuses=dict(sorted(Counter(r.status for r in rows).items())),
        mean=round(statistics.fmean(totals), 4) if totals else 0.0,
        median=round(statistics.median(totals), 4) if totals else 0.0,
        lowest=min(totals, default=0.0),
        highest=max(totals, default=0.0),
        histogram=histogram,
        checks=checks,
        hints=[(h, n, where[h]) for h, n in top],
    )


def as_text(value: str) -> str:
    """A CSV cell a spreadsheet shows as text and never runs as a formula (the OWASP rule for
    CSV injection: a cell starting with = + - @, a tab or a carriage return gets a leading ';
    so does one where spaces come first, which some spreadsheets trim on import)."""
    return f"'{value}" if value.lstrip(" \u00a0").startswith(FORMULA_STARTS) else value


def task_columns(rows: list[Record]) -> list[str]:
    """The tasks the checks grade, in task order."""
    tasks = {c.task for r in rows for c in r.result.checks if c.task}
    return sorted(tasks, key=task_order)


def grades_csv(rows: list[Record]) -> str:
    """One row per student: id, each check's points, each task's points (`task 2.1`), total,
    percentage, status, error."""
    cols = columns(rows)
    tasks = task_columns(rows)
    max_score = sum(c[3] for c in cols)
    buffer = io.StringIO()
    header = ["id", *(c[0] for c in cols), *(f"task {t}" for t in tasks)]
    header += ["total", "percentage", "status", "error"]
    write_csv_row(buffer, [as_text(h) for h in header])
    for record in rows:
        points = {c.id: c.score for c in record.result.checks}
        per_task = {t: got for t, (got, _) in record.result.task_scores().items()}
        total = record.result.score
        write_csv_row(
            buffer,
            [
                as_text(record.id),
                *(format_points(points.get(c[0], 0.0)) for c in cols),
                *(format_points(per_task.get(t, 0.0)) for t in tasks),
                format_points(total),
                format_points(percentage(total, max_score)),
                as_text(record.status),
                as_text(record.error),
            ],
        )
    return buffer.getvalue()


def write_csv_row(buffer: io.StringIO, row: list[str]) -> None:
    """One CSV row that every reader splits as written (text cells already through as_text)."""
    # the csv module quotes a cell holding "\n" but not one holding a lone "\r", which
    # a reader takes for the end of the row: such a row is written with every cell quoted
    if any("\r" in cell for cell in row):
        csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow(row)
    else:
        csv.writer(buffer, lineterminator="\n").writerow(row)


def _stable(record: Record) -> dict:
    """A record's result in the `grader check --format json` schema, without what varies
    between runs (timings) or is long and the student's (what their code printed)."""
    result = record.result.to_dict()
    result.pop("duration_s", None)
    result.pop("output", None)
    for check in result["checks"]:
        check.pop("duration_s", None)
    return {
        "id": record.id,
        "entry": record.entry,
        "kind": record.kind,
        "status": record.status,
        "error": record.error,
        "notes": record.notes,
        "content_hash": record.content_hash,
        "result": result,
    }


def grades_json(rows: list[Record], summary: ClassSummary, hidden: list[str]) -> str:
    cols = columns(rows)
    data = {
        "gradebook_version": GRADEBOOK_VERSION,
        "grader_version": __version__,
        "assignment": summary.assignment,
        "title": summary.title,
        "max_score": summary.max_score,
        "checks": [{"id": i, "name": n, "tier": t, "max_score": m} for i, n, t, m in cols],
        "students": [_stable(r) for r in rows],
        "hidden_entries": hidden,
        "summary": summary.to_dict(),
    }
    return json.dumps(data, indent=1, sort_keys=False) + "\n"
