"""Per-student feedback (`feedback/<id>.md`): every check's outcome, message and hint.

Hidden checks show their name, outcome and message, never their code or inputs: the
part of a message that pytest's assertion rewriting adds (the failing `assert`
expression and its `where` lines) is cut, and a check that broke says only that.
Nothing the student's code printed appears (it may echo hidden inputs).
"""

from __future__ import annotations

import re

from grader.outputs.gradebook import percentage
from grader.batch.records import Record
from grader.outputs.schema import CheckResult

MARK = {"passed": "✔", "failed": "✘", "error": "!"}
STATUS_NOTE = {
    "crashed": "Your code stopped the worker running it (an exit, a crash, a time or memory "
               "limit): {error}",
    "timeout": "Grading stopped at the time limit: {error}.",
    "unreadable": "Your submission could not be graded: {error}",
    "error": "The grader failed on your submission; your instructor will look into it.",
}
HIDDEN_BROKEN = "this hidden check could not be evaluated; your instructor has been told"


def hidden_message(check: CheckResult) -> str:
    """What a student may see of a hidden check's message."""
    if check.status == "error":
        return HIDDEN_BROKEN
    kept = []
    for line in check.message.splitlines():
        if line.lstrip().startswith("assert ") or line.lstrip().startswith("+  where"):
            break
        kept.append(line)
    text = "\n".join(kept).strip()
    return text or "a hidden assertion about your result did not hold"


def _fence(text: str) -> str:
    ticks = max([3] + [len(m) + 1 for m in re.findall(r"`{3,}", text)])
    return f"{'`' * ticks}text\n{text}\n{'`' * ticks}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(record: Record) -> str:
    """The Markdown feedback for one student."""
    result = record.result
    pct = percentage(result.score, result.max_score)
    lines = [f"# {result.assignment}: {result.title}", "",
             f"Feedback for **{record.id}** (you handed in `{record.entry}`).", "",
             f"**Score: {result.score:g} / {result.max_score:g} ({pct:g}%)**", ""]
    if record.status in STATUS_NOTE:
        lines += [f"> {STATUS_NOTE[record.status].format(error=record.error)}", ""]
    if record.notes:
        lines += ["Notes on your submission:", ""] + [f"- {n}" for n in record.notes] + [""]
    lines += ["| | check | tier | points |", "|---|---|---|---|"]
    for c in result.checks:
        lines.append(f"| {MARK.get(c.status, '?')} | {_cell(c.name)} | {c.tier} | "
                     f"{c.score:g}/{c.max_score:g} |")
    lines.append("")
    failed = [c for c in result.checks if c.status != "passed"]
    if failed:
        lines += ["## What did not pass", ""]
    for c in failed:
        message = hidden_message(c) if c.tier == "hidden" else c.message.strip()
        lines += [f"### {MARK.get(c.status, '?')} {c.name} ({c.tier}, {c.score:g}/{c.max_score:g})",
                  "", _fence(message), ""]
        if c.file:
            lines += [f"At `{c.file}`, line {c.line}.", ""]
        if c.hint:
            lines += [f"**Hint:** {c.hint}", ""]
    lines.append(f"Graded with seed {result.seed}; checks under `hidden` are not in your copy "
                 "of the assignment.")
    return "\n".join(lines) + "\n"
