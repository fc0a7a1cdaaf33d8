"""The result schema: one `GradeResult` per graded submission, serialised as versioned JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader import __version__

SCHEMA_VERSION = 1
CHECK_STATUSES = ("passed", "failed", "error")  # error: the check itself broke, not the code
STRUCTURE = "structure"  # `caused_by` of a failure the module as a whole explains


def format_points(x: float) -> str:
    """Points as people write them: 3, 2.5, 0."""
    return f"{x:g}"


@dataclass
class CheckResult:
    """The outcome of one check."""

    id: str  # the test function's name, stable across runs
    name: str  # what the student reads
    tier: str  # "public" or "hidden"
    status: str  # one of CHECK_STATUSES
    score: float
    max_score: float
    task: str = ""  # the stub's task it grades ("2.1"), as the check declares
    message: str = ""
    hint: str = ""
    duration_s: float = 0.0
    seed: int = 0
    file: str = ""  # the student's file and line the failure points at, when known
    line: int = 0  # in a notebook: the line within its code cell `cell`
    cell: int = 0  # in a notebook: the code cell, counted from 1 (0: not a notebook)
    # the likely cause of this failure elsewhere: a task id ("1.1") whose checks fail too, or
    # "structure" (the module does not import, or lacks the name the check needs); "" if none
    caused_by: str = ""
    # training checks: loss per epoch, {"yours": [...], "reference": [...]}, for a sparkline
    curves: dict[str, list[float]] = field(default_factory=dict)


def location(file: str, line: int, cell: int = 0) -> str:
    """Where a failure points, for a reader: "x.py, line 5" or "x.ipynb, cell 3, line 2"."""
    return f"{file}, cell {cell}, line {line}" if cell else f"{file}, line {line}"


@dataclass
class GradeResult:
    """Everything a report needs about one submission."""

    assignment: str
    title: str
    submission: str
    seed: int
    checks: list[CheckResult] = field(default_factory=list)
    sandbox_notes: list[str] = field(default_factory=list)
    output: str = ""  # what the student's code printed (capped)
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)  # for the reader, e.g. hidden checks run later
    # what is wrong with the submission as a whole (it does not parse, lacks names), one each
    structure: list[str] = field(default_factory=list)
    only_tasks: list[str] = field(default_factory=list)  # `--task`: a partial run of these
    tasks: dict[str, str] = field(default_factory=dict)  # task id -> what it asks for, in order

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status == "passed" for c in self.checks)

    def task_scores(self) -> dict[str, tuple[float, float]]:
        """(score, max) of each task, in task order."""
        totals = {t: [0.0, 0.0] for t in self.tasks}
        for c in self.checks:
            entry = totals.setdefault(c.task, [0.0, 0.0])
            entry[0] += c.score
            entry[1] += c.max_score
        return {t: (round(s, 6), round(m, 6)) for t, (s, m) in totals.items() if m}

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "grader_version": __version__,
            "assignment": self.assignment,
            "title": self.title,
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "seed": self.seed,
            "duration_s": round(self.duration_s, 3),
            "sandbox_notes": self.sandbox_notes,
            "notes": self.notes,
            "structure": self.structure,
            "only_tasks": self.only_tasks,
            "tasks": self.tasks,
            "output": self.output,
            "checks": [asdict(c) for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict) -> GradeResult:
        checks = [CheckResult(**c) for c in data["checks"]]
        keep = {
            "assignment",
            "title",
            "submission",
            "seed",
            "sandbox_notes",
            "output",
            "duration_s",
            "notes",
            "structure",
            "only_tasks",
            "tasks",
        }
        return cls(checks=checks, **{k: v for k, v in data.items() if k in keep})
