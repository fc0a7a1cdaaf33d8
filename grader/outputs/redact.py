"""What a reader is shown of a check that did not pass: the one rule for hidden checks.

Every output asks `shown(check, audience)`. Public checks show everything to everyone.
Hidden checks exist to grade on inputs students have not seen, so:

- `Audience.FULL` (the terminal report, JSON, JUnit: whoever runs the grader on the
  course itself) sees everything;
- `Audience.FEEDBACK` (per-student feedback written after grading) sees the check's own
  message, its hint and the student's file and line, but never the check's code: the part
  pytest's assertion rewriting adds (the failing `assert` and its `where` lines) is cut,
  and a check that broke says only that;
- `Audience.SUBMITTING` (Gradescope results and GitHub annotations, read while students can
  still resubmit) learns only that the hidden check failed: anything more turns resubmitting
  into a way to read hidden checks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from grader.outputs.schema import CheckResult, location

HIDDEN_WITHHELD = (
    "This hidden check failed. Hidden checks' inputs and details are not shown; "
    "re-read the task and test your code on other inputs than the examples."
)
HIDDEN_BROKEN = "this hidden check could not be evaluated; your instructor has been told"
HIDDEN_ASSERTION = "a hidden assertion about your result did not hold"


class Audience(enum.Enum):
    FULL = "full"
    FEEDBACK = "feedback"
    SUBMITTING = "submitting"


@dataclass(frozen=True)
class Shown:
    """The parts of a check's outcome a reader sees (empty strings for what is withheld)."""

    message: str
    hint: str = ""
    file: str = ""
    line: int = 0
    cell: int = 0

    @property
    def where(self) -> str:
        return location(self.file, self.line, self.cell)

    def text(self) -> str:
        """Message, then where, then the hint, one per line."""
        lines = [self.message.rstrip()]
        if self.file:
            lines.append(f"at {self.where}")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(line for line in lines if line)


def _without_check_code(message: str) -> str:
    kept = []
    for line in message.splitlines():
        if line.lstrip().startswith(("assert ", "+  where")):
            break
        kept.append(line)
    return "\n".join(kept).strip() or HIDDEN_ASSERTION


def shown(check: CheckResult, audience: Audience) -> Shown:
    """What `audience` sees of `check` (nothing for a check that passed)."""
    if check.status == "passed":
        return Shown("")
    if check.tier != "hidden" or audience is Audience.FULL:
        return Shown(check.message.strip(), check.hint, check.file, check.line, check.cell)
    if audience is Audience.SUBMITTING:
        return Shown(HIDDEN_WITHHELD)
    if check.status == "error":
        return Shown(HIDDEN_BROKEN)
    return Shown(_without_check_code(check.message), check.hint, check.file, check.line, check.cell)
