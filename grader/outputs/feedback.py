"""Per-student feedback (`feedback/<name>.md`, see `records.file_stem`): every check's outcome,
message and hint.

What it shows of hidden checks follows `grader.outputs.redact` (`Audience.FEEDBACK`):
their name, outcome and message, never their code or inputs. Nothing the student's code
printed appears (it may echo hidden inputs).
"""

from __future__ import annotations

import re

from grader.batch.records import Record
from grader.contract import task_order
from grader.intake.files import printable
from grader.outputs.gradebook import percentage
from grader.outputs.redact import Audience, shown
from grader.outputs.schema import STRUCTURE, location

MARK = {"passed": "✔", "failed": "✘", "error": "!"}
STATUS_NOTE = {
    "crashed": "Your code stopped the worker running it (an exit, a crash, a time or memory "
    "limit): {error}",
    "timeout": "Grading stopped at the time limit: {error}.",
    "unreadable": "Your submission could not be graded: {error}",
    "error": "The grader failed on your submission; your instructor will look into it.",
}


def _fence(text: str) -> str:
    ticks = max([3] + [len(m) + 1 for m in re.findall(r"`{3,}", text)])
    return f"{'`' * ticks}text\n{text}\n{'`' * ticks}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def feedback_markdown(record: Record) -> str:
    """The Markdown feedback for one student."""
    result = record.result
    pct = percentage(result.score, result.max_score)
    lines = [
        f"# {result.assignment}: {result.title}",
        "",
        f"Feedback for **{_cell(printable(record.id))}** "
        f"(you handed in `{_cell(printable(record.entry))}`).",
        "",
        f"**Score: {result.score:g} / {result.max_score:g} ({pct:g}%)**",
        "",
    ]
    if record.status in STATUS_NOTE:
        lines += [f"> {STATUS_NOTE[record.status].format(error=record.error)}", ""]
    if record.notes:
        lines += ["Notes on your submission:", ""] + [f"- {n}" for n in record.notes] + [""]
    if result.structure:
        lines += ["## Your module as a whole", ""]
        lines += [_fence(finding) + "\n" for finding in result.structure]
    checks = sorted(result.checks, key=lambda c: task_order(c.task))  # by task, stable
    lines += ["| | task | check | tier | points |", "|---|---|---|---|---|"]
    for c in checks:
        lines.append(
            f"| {MARK.get(c.status, '?')} | {_cell(c.task)} | {_cell(c.name)} | {c.tier} | "
            f"{c.score:g}/{c.max_score:g} |"
        )
    lines.append("")
    failed = [c for c in checks if c.status != "passed" and not c.caused_by]
    followers = [c for c in checks if c.status != "passed" and c.caused_by]
    if failed or followers:
        lines += ["## What did not pass", ""]
    for c in failed:
        seen = shown(c, Audience.FEEDBACK)
        lines += [
            f"### {MARK.get(c.status, '?')} {c.task} {c.name} ({c.tier}, "
            f"{c.score:g}/{c.max_score:g})",
            "",
            _fence(seen.message),
            "",
        ]
        if seen.file:
            lines += [f"At {location(f'`{seen.file}`', seen.line, seen.cell)}.", ""]
        if seen.hint:
            lines += [f"**Hint:** {seen.hint}", ""]
    for cause in dict.fromkeys(c.caused_by for c in followers):
        names = "; ".join(_cell(c.name) for c in followers if c.caused_by == cause)
        where = "your module (above)" if cause == STRUCTURE else f"task {cause}"
        lines += [f"Also failing, most likely because of {where}: {names}.", ""]
    lines.append(
        f"Graded with seed {result.seed}; checks under `hidden` are not in your copy "
        "of the assignment."
    )
    return "\n".join(lines) + "\n"
