"""Feedback by cause: what is wrong with a submission as a whole, and which failures follow
from another one.

`structure` reads the student's module (statically, in the judge; nothing runs) for the
mistakes that fail every check at once: a module that does not parse, one that defines none
of the names the assignment needs (maybe another assignment's file), or one that lacks some.
`assign_causes` then marks each failed check whose failure is explained elsewhere: by that
structure, by a task it declares it needs (`@check(needs=[...])`) whose own checks fail, or
by a failing task's function its traceback passes through. Causes shape the report only;
no score depends on them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.contract import Contract
from grader.intake.notebook import CellMap
from grader.outputs.schema import STRUCTURE, CheckResult
from grader.spec import AssignmentSpec

IMPORT_FAILED = "in importing your module"
NO_ATTRIBUTE = re.compile(r"has no attribute '(\w+)'")


@dataclass
class Structure:
    """What is wrong with the module as a whole: one line each, and the names it lacks."""

    findings: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    broken: bool = False  # does not parse: every check fails for that
    methods: dict[str, str] = field(default_factory=dict)  # method name -> its class, if one


def required_names(tasks: dict[str, tuple[str, ...]]) -> list[str]:
    """The top-level names the tasks ask for (`Linear` for `Linear.forward`), in task order."""
    return list(dict.fromkeys(n.split(".")[0] for names in tasks.values() for n in names))


def defined_names(tree: ast.Module) -> set[str]:
    """Top-level names a module binds (also inside top-level if/try blocks)."""
    names: set[str] = set()
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            todo += node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", [])
            todo += [s for h in getattr(node, "handlers", []) for s in h.body]
    return names


def structure(spec: AssignmentSpec, sources: list[Path], cells: CellMap | None = None) -> Structure:
    """Read the student's module for the mistakes that fail every check at once (a notebook's
    `cells` say where its lines came from)."""
    found = Structure()
    filename = f"{spec.module}.py"
    module = next((p for p in sources if p.name == filename), None)
    if module is None:
        return found  # the intake already says the file is missing
    try:
        text = module.read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        found.broken = True
        found.findings.append(syntax_banner(filename, exc, cells))
        return found
    except (ValueError, RecursionError, MemoryError):
        return found
    required = required_names(spec.tasks)
    have = defined_names(tree)
    found.methods = _methods(tree)
    missing = [n for n in required if n not in have]
    found.missing = set(missing)
    if required and len(missing) == len(required):
        line = f"{filename} defines none of {', '.join(required)}: is this the right file?"
        other = _looks_like(spec, have)
        found.findings.append(line + (f" It looks like {other}." if other else ""))
    elif missing:
        tasks = [spec.contract.task_of(n) for n in missing]
        what = ", ".join(f"{n} (task {t})" if t else n for n, t in zip(missing, tasks, strict=True))
        found.findings.append(
            f"{filename} does not define {what}: the checks that use it fail for that alone"
        )
    return found


def _methods(tree: ast.Module) -> dict[str, str]:
    """Each method name of the module's top-level classes -> its class (if only one has it)."""
    owners: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for m in node.body:
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    owners[m.name] = "" if m.name in owners else node.name
    return {m: c for m, c in owners.items() if c}


def syntax_banner(filename: str, exc: SyntaxError, cells: CellMap | None = None) -> str:
    where = f"line {exc.lineno}" if exc.lineno else "somewhere"
    if cells is not None and exc.lineno and cells.locate(exc.lineno)[0]:
        filename, where = cells.notebook, cells.where(exc.lineno)
    text = f"{filename} does not run: {type(exc).__name__} at {where}: {exc.msg}"
    if exc.text:
        source = exc.text.rstrip("\n")
        caret = " " * max(0, (exc.offset or 1) - 1 - (len(source) - len(source.lstrip())))
        text += f"\n    {source.strip()}\n    {caret}^"
    return text


def _looks_like(spec: AssignmentSpec, have: set[str]) -> str:
    """`hw1's tensor_ops.py` when `have` holds most of another assignment's names."""
    from grader.spec import load_spec  # one course folder: assignments/<id>/

    for folder in sorted(spec.root.parent.iterdir()):
        if folder == spec.root or not (folder / "assignment.toml").is_file():
            continue
        try:
            other = load_spec(folder, spec.reference.parent / folder.name)
        except Exception:  # noqa: BLE001 - a broken neighbour says nothing about this file
            continue
        names = required_names(other.tasks)
        if names and sum(n in have for n in names) * 2 >= len(names):
            return f"{other.id}'s {other.module}.py"
    return ""


def assign_causes(
    checks: list[CheckResult],
    contract: Contract,
    frames: dict[str, list[str]],
    found: Structure,
    *,
    import_failed: bool,
) -> None:
    """Set `caused_by` on each failed check whose failure another failure explains."""
    failed = [c for c in checks if c.status == "failed"]
    for c in failed:
        missing = set(NO_ATTRIBUTE.findall(c.message)) & found.missing
        if (import_failed and IMPORT_FAILED in c.message) or found.broken or missing:
            c.caused_by = STRUCTURE
    failing = {c.task for c in failed if c.caused_by != STRUCTURE}
    for c in failed:
        if c.caused_by:
            continue
        declared = contract.checks.get(c.id.split("[", 1)[0])
        needs = list(declared.needs) if declared else []
        crossed = [
            contract.task_of(f) or contract.task_of(found.methods.get(f, ""))
            for f in frames.get(c.id, [])
        ]
        for task in needs + crossed:
            if task and task != c.task and task in failing:
                c.caused_by = task
                break
    # a cause whose own failures all follow from another task: point at that root instead
    by_task: dict[str, list[CheckResult]] = {}
    for c in failed:
        by_task.setdefault(c.task, []).append(c)
    for c in failed:
        seen = {c.task}
        while c.caused_by in by_task and c.caused_by not in seen:
            seen.add(c.caused_by)
            roots = {d.caused_by for d in by_task[c.caused_by]}
            if "" in roots or len(roots) != 1:
                break
            c.caused_by = roots.pop()


def import_banner(checks: list[CheckResult], sources: list[Path]) -> str:
    """One line for a module that raised while being imported, with the line it raised at."""
    first = next((c for c in checks if IMPORT_FAILED in c.message), None)
    if first is None:
        return "your module could not be imported"
    text = first.message.split("\n", 1)[0].replace("your code raised", "your module raised", 1)
    if first.file and first.line:
        text += f"\n    at {Path(first.file).name}, line {first.line}"
        path = next((p for p in sources if p.name == Path(first.file).name), None)
        try:
            lines = path.read_text(errors="replace").splitlines() if path else []
        except OSError:
            lines = []
        if 0 < first.line <= len(lines):
            text += f": {lines[first.line - 1].strip()}"
    return text
