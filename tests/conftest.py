"""Shared fixtures: one warm zygote for the whole run, in-process grading, and the real CLI."""

from __future__ import annotations

import ast
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.judge.runner import grade
from grader.outputs.schema import GradeResult
from grader.sandbox.client import Zygote

COURSE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def zygote():
    with Zygote() as z:
        yield z


@pytest.fixture(scope="session")
def grade_with(zygote):
    """grade_with("hw1", path, seed=None, limits={"call_timeout_s": 3}) -> GradeResult;
    `no_forbidden=True` grades without the assignment's forbidden APIs (to test something
    the forbidden-API scan would otherwise stop first)."""

    def run(
        assignment: str,
        submission: Path | str,
        *,
        seed: int | None = None,
        limits: dict | None = None,
        course: Path = COURSE,
        no_forbidden: bool = False,
        **kwargs,
    ) -> GradeResult:
        spec = load_assignment(course, assignment)
        if no_forbidden:
            spec = dataclasses.replace(spec, forbidden={}, forbidden_only_in={})
        if limits:
            spec = dataclasses.replace(spec, limits=dataclasses.replace(spec.limits, **limits))
        return grade(spec, Path(submission), course=course, zygote=zygote, seed=seed, **kwargs)

    return run


def run_cli(
    *args: str, cwd: Path = COURSE, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the real `grader` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def by_id(result: GradeResult) -> dict:
    return {c.id: c for c in result.checks}


def without_durations(result: GradeResult) -> dict:
    """The JSON result minus wall times: what must be identical between two runs."""
    data = result.to_dict()
    data.pop("duration_s")
    for check in data["checks"]:
        check.pop("duration_s")
    return data


def lost_checks(result: GradeResult) -> set[str]:
    """Ids of the checks that did not pass."""
    return {c.id for c in result.checks if c.status != "passed"}


def stub_with(assignment: str, tmp_path: Path, extra: str, *, module: str | None = None) -> Path:
    """The assignment's stub with `extra` code appended: a hostile or buggy submission."""
    spec = load_assignment(COURSE, assignment)
    name = module or spec.module
    source = (spec.root / f"{name}.py").read_text()
    target = tmp_path / f"{name}.py"
    target.write_text(source + "\n" + extra)
    return target


def reference_with(
    assignment: str, tmp_path: Path, replace: dict[str, str] | None = None, extra: str = ""
) -> Path:
    """The reference solution with text replaced (a buggy submission) and/or code appended."""
    spec = load_assignment(COURSE, assignment)
    source = (spec.reference / f"{spec.module}.py").read_text()
    for old, new in (replace or {}).items():
        assert old in source, f"{old!r} not in the reference of {assignment}"
        source = source.replace(old, new)
    target = tmp_path / f"{spec.module}.py"
    target.write_text(source + "\n" + extra)
    return target


def course_with(tmp_path: Path, assignment: str, *check_files: str, keep=()) -> Path:
    """A copy of the course holding `assignment` with only `check_files` (under checks/);
    `keep`, when given, names the only check functions they keep."""
    course = tmp_path / "course"
    source = COURSE / "assignments" / assignment
    shutil.copytree(source, course / "assignments" / assignment, ignore=lambda d, n: ["checks"])
    for name in check_files:
        target = course / "assignments" / assignment / "checks" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tree = ast.parse((source / "checks" / name).read_text())
        tree.body = [
            node
            for node in tree.body
            if not keep
            or not isinstance(node, ast.FunctionDef)
            or not node.name.startswith("test_")
            or node.name in keep
        ]
        target.write_text(ast.unparse(tree))
    shutil.copytree(COURSE / "reference" / assignment, course / "reference" / assignment)
    return course
