"""The check contract: the tasks an assignment sets, and what each check declares.

The tasks are `[tasks]` in assignment.toml (``"2.1" = "conv2d"``), the ones the stub's
docstrings announce (``Task 2.1: ...``; `grader validate` checks they agree: the stub itself
is the student's file once handed out, so it is not read for them). Each check declares, on
its function,

    @check(task="2.1", points=2)                 # from grader.checking
    @check(task="3.1", points=1, needs=["1.1"])  # fails whenever task 1.1 is wrong, too

Everything is read statically (nothing is imported), so totals are known without running a
check; the judge's pytest plugin verifies at collection that what runs is what was read.
A parametrized check splits its points equally between its cases (each case gets its own
id, ``test_x[case]``, and ``points / cases``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import ConfigError

TASK_LABEL = re.compile(r"^Task (\d+(?:\.\d+)*):\s*(.*)")


def task_order(task: str) -> tuple[int, ...]:
    """Sort key: task 1.2 before 1.10 before 2.1; anything else last."""
    parts = task.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (1 << 30,)


@dataclass(frozen=True)
class Task:
    """One task of the stub: its id ("2.1"), the names it asks for, and its first line."""

    id: str
    names: tuple[str, ...]  # the functions, classes and methods (`Class.method`) it asks for
    title: str = ""

    @property
    def code(self) -> tuple[str, ...]:
        """The function names a traceback through this task's code shows."""
        return tuple(n.rsplit(".", 1)[-1] for n in self.names)

    @property
    def label(self) -> str:
        """`2.1 conv2d`: how a report names the task."""
        return f"{self.id} {', '.join(self.names)}"


@dataclass(frozen=True)
class Declared:
    """What one check function declares."""

    id: str  # the function's name
    task: str
    points: float
    needs: tuple[str, ...]
    name: str  # the first line of its docstring: what the student reads
    path: Path
    line: int
    cases: int = 1  # parametrized: its points are split between the cases

    @property
    def where(self) -> str:
        return f"{self.path.name}::{self.id} (line {self.line})"


@dataclass
class Contract:
    """An assignment's tasks, in task order, and its declared checks, in file order."""

    tasks: dict[str, Task] = field(default_factory=dict)
    checks: dict[str, Declared] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # a check without a task, ...: no run
    warnings: list[str] = field(default_factory=list)  # no name, no points: `grader validate`

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks.values())

    def task_of(self, name: str) -> str:
        """The task whose stub defines `name` (a function, class or method), or ""."""
        return self._names().get(name, "")

    def _names(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for task in self.tasks.values():
            for n in task.code + tuple(n.split(".")[0] for n in task.names):
                owners.setdefault(n, task.id)
        return owners

    def require_valid(self) -> None:
        if self.problems:
            raise ConfigError(
                "the checks break the check contract:\n  " + "\n  ".join(self.problems)
            )


def stub_tasks(files: list[Path]) -> dict[str, tuple[str, ...]]:
    """The tasks the stub's docstrings announce (``Task 2.1: ...``), as `[tasks]` writes them:
    a label on a method names `Class.method`; on a function or class, its name."""
    found: dict[str, list[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            parts: list[tuple[ast.AST, str]] = [(node, node.name)]
            if isinstance(node, ast.ClassDef):
                parts += [
                    (m, f"{node.name}.{m.name}")
                    for m in node.body
                    if isinstance(m, ast.FunctionDef)
                ]
            for part, name in parts:
                match = TASK_LABEL.match(ast.get_docstring(part) or "")  # type: ignore[arg-type]
                if match and name not in found.setdefault(match[1], []):
                    found[match[1]].append(name)
    return {t: tuple(found[t]) for t in sorted(found, key=task_order)}


def read_contract(checks_dir: Path, tasks: dict[str, tuple[str, ...]]) -> Contract:
    """The `tasks` ([tasks]) and every check's declaration under `checks_dir`."""
    contract = Contract(tasks={t: Task(t, names) for t, names in tasks.items()})
    for path in sorted(checks_dir.rglob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except SyntaxError as exc:
            contract.problems.append(f"{path}: does not parse ({exc.msg}, line {exc.lineno})")
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                _declare(contract, path, node)
    if not contract.checks and not contract.problems:
        contract.problems.append(f"{checks_dir}: no checks (test_*.py files with test_ functions)")
    return contract


def _declare(contract: Contract, path: Path, node: ast.FunctionDef) -> None:
    where = f"{path.parent.name}/{path.name}::{node.name} (line {node.lineno})"
    problems = contract.problems
    if node.name in contract.checks:
        first = contract.checks[node.name]
        problems.append(
            f"{where}: the check id {node.name} is also used by {first.path.parent.name}/"
            f"{first.where}; results, seeds and points are keyed by it: rename one"
        )
        return
    marks = [d for d in node.decorator_list if _is_check_mark(d)]
    if not marks:
        problems.append(f"{where}: no @check(task=..., points=...) (see docs/writing-checks.md)")
        return
    try:
        task, points, needs = _read_mark(marks[0])
        cases = _cases(node)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return
    known = ", ".join(contract.tasks) or "none: assignment.toml has no [tasks]"
    for t in (task, *needs):
        if t not in contract.tasks:
            problems.append(f"{where}: unknown task {t!r} (the stub's tasks: {known})")
            return
    if points <= 0:
        contract.warnings.append(f"{where}: {node.name} is worth {points:g} points")
    doc = (ast.get_docstring(node) or "").strip()
    if not doc:
        contract.warnings.append(
            f"{where}: {node.name} has no name for students (the first line of its docstring)"
        )
    contract.checks[node.name] = Declared(
        id=node.name,
        task=task,
        points=points,
        needs=needs,
        name=doc.splitlines()[0].strip() if doc else node.name,
        path=path,
        line=node.lineno,
        cases=cases,
    )


def _is_check_mark(node: ast.expr) -> bool:
    func = node.func if isinstance(node, ast.Call) else node
    return (isinstance(func, ast.Name) and func.id == "check") or (
        isinstance(func, ast.Attribute) and func.attr == "check"
    )


def _read_mark(node: ast.expr) -> tuple[str, float, tuple[str, ...]]:
    if not isinstance(node, ast.Call) or node.args:
        raise ValueError('write @check(task="1.1", points=1): keyword arguments only')
    given = {k.arg: k.value for k in node.keywords}
    unknown = sorted(set(given) - {"task", "points", "needs"}, key=str)
    if unknown:
        raise ValueError(f"@check() takes task, points and needs, not {unknown[0]}")
    if "task" not in given or "points" not in given:
        raise ValueError('@check() needs both task="N.M" and points=N')
    task = _literal(given["task"], str, "task")
    points = _literal(given["points"], (int, float), "points")
    needs: tuple[str, ...] = ()
    if "needs" in given:
        value = given["needs"]
        if not isinstance(value, (ast.List, ast.Tuple)):
            raise ValueError('needs must be a literal list of task ids, e.g. needs=["1.1"]')
        needs = tuple(_literal(v, str, "needs") for v in value.elts)
    return task, float(points), needs


def _literal(node: ast.expr, kind: type | tuple[type, ...], what: str) -> Any:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, kind)
        and not isinstance(node.value, bool)
    ):
        return node.value
    raise ValueError(f"{what} must be written as a literal, so it is known without running")


def _cases(node: ast.FunctionDef) -> int:
    """How many cases `@pytest.mark.parametrize` gives the check (a product over several)."""
    cases = 1
    for deco in node.decorator_list:
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "parametrize"
            and len(deco.args) >= 2
        ):
            values = deco.args[1]
            if not isinstance(values, (ast.List, ast.Tuple)):
                raise ValueError(
                    "@pytest.mark.parametrize needs a literal list of cases, so each case's "
                    "share of the points is known without running"
                )
            cases *= max(1, len(values.elts))
    return cases


def checks_in_order(contract: Contract) -> Iterator[Declared]:
    """The declared checks, grouped by task in task order, in file order within a task."""
    return iter(sorted(contract.checks.values(), key=lambda c: task_order(c.task)))
