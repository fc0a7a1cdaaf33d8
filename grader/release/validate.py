"""`grader validate`: is every assignment ready to hand out?

For each assignment: every check declares its task and points (`@check(task=..., points=...)`)
and has a name (its docstring's first line), check ids are unique, the reference
scores full marks under several base seeds (so tolerances and thresholds hold beyond the one
seed they were tuned on), and the untouched stub scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.contract import stub_tasks
from grader.course import assignment_ids, load_assignment
from grader.errors import GraderError
from grader.judge.runner import grade
from grader.sandbox.client import Zygote
from grader.spec import AssignmentSpec


@dataclass
class Validation:
    """What `validate` found for one assignment; `problems` empty means ready."""

    id: str
    title: str = ""
    checks: int = 0
    points: float = 0.0
    seeds: list[int] = field(default_factory=list)
    reference_scores: list[float] = field(default_factory=list)  # one per seed
    stub_score: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_metadata(spec: AssignmentSpec) -> list[str]:
    """Problems with the checks' declarations (`grader.contract`): a check without a task or
    points, an unknown task, a duplicate id, a check without a name; read statically."""
    problems = spec.contract.problems + spec.contract.warnings
    stub = [spec.root / f for f in spec.files]
    try:
        announced = stub_tasks([f for f in stub if f.is_file()])
    except (OSError, SyntaxError, ValueError) as exc:
        return [*problems, f"the stub does not parse: {exc}"]
    if announced != spec.tasks:
        differ = sorted(set(announced.items()) ^ set(spec.tasks.items()))
        problems.append(
            "the stub's 'Task N.M:' docstrings and assignment.toml's [tasks] differ: "
            + "; ".join(f"{t} = {', '.join(n)}" for t, n in differ)
        )
    return problems


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


def validate_assignment(
    spec: AssignmentSpec, *, course: Path, zygote: Zygote, seeds: int = 3
) -> Validation:
    """Check one assignment; grading errors become problems, never exceptions."""
    v = Validation(id=spec.id, title=spec.title)
    v.problems += check_metadata(spec)
    v.checks, v.points = len(spec.check_ids()), spec.total_points()
    if spec.contract.problems:  # the checks cannot run until their declarations are fixed
        return v
    v.seeds = [spec.seed + k for k in range(seeds)]
    for seed in v.seeds:
        try:
            result = grade(spec, spec.reference, course=course, zygote=zygote, seed=seed)
        except GraderError as exc:
            v.problems.append(f"the reference could not be graded with seed {seed}: {exc}")
            break
        v.reference_scores.append(result.score)
        for c in result.checks:
            if c.status != "passed":
                v.problems.append(
                    f"the reference fails {c.id} with seed {seed}: {_first_line(c.message)}"
                )
    try:
        stub = grade(spec, None, course=course, zygote=zygote)
        v.stub_score = stub.score
        earned = [c.id for c in stub.checks if c.score > 0]
        if earned:
            v.problems.append(
                f"the stub earns points on {', '.join(earned)}: a stub should score 0"
            )
    except GraderError as exc:
        v.problems.append(f"the stub could not be graded: {exc}")
    return v


def validate(
    course: Path, assignments: list[str], *, zygote: Zygote, seeds: int = 3
) -> list[Validation]:
    """Validate each of `assignments` (an unknown id or a bad assignment.toml is a problem too)."""
    if seeds < 1:
        raise GraderError("--seeds must be at least 1")
    known = assignment_ids(course)
    unknown = [aid for aid in assignments if aid not in known]
    if unknown:
        raise GraderError(
            f"unknown assignment {unknown[0]!r} (known: {', '.join(known) or 'none'})"
        )
    found = []
    for aid in assignments:
        try:
            spec = load_assignment(course, aid)
        except GraderError as exc:
            found.append(Validation(id=aid, problems=[str(exc)]))
            continue
        found.append(validate_assignment(spec, course=course, zygote=zygote, seeds=seeds))
    return found


def print_validations(found: list[Validation], console: Console) -> None:
    """A table with a row per assignment, then every problem found."""
    table = Table(show_header=True, header_style="bold")
    for column in ("", "assignment", "checks", "points", "reference", "stub"):
        table.add_column(column)
    for v in found:
        n = len(v.problems)
        mark = "[green]✔ ready[/]" if v.ok else f"[red]✘ {n} problem{'s' if n > 1 else ''}[/]"
        if v.reference_scores and all(s == v.points for s in v.reference_scores):
            ref = f"{v.points:g}/{v.points:g} [dim]× {len(v.reference_scores)} seeds[/]"
        else:
            ref = ", ".join(f"{s:g}" for s in v.reference_scores) or "-"
        stub = "-" if v.stub_score is None else f"{v.stub_score:g}"
        table.add_row(
            mark, escape(f"{v.id} {v.title}".strip()), str(v.checks), f"{v.points:g}", ref, stub
        )
    console.print(table)
    for v in found:
        for problem in v.problems:
            console.print(f"[red]{escape(v.id)}[/]: {escape(problem)}")
