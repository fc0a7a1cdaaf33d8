"""`grader release`: the student bundle, with public checks that run without reference/.

The bundle holds, per assignment, what `assignments/<id>/` holds minus every checks folder
but `checks/public/`, plus `checks/release.json`: the reference's answers to the public
checks, recorded by running them on the reference solution (`grader.replay`). It also holds
the grader's own sources with a pyproject (`pip install torch==X -e .` works offline), a
README and a GitHub Actions workflow. Never reference/ and never hidden checks.

Before it is written, a release proves itself: the public checks must give the reference
full marks while recording, and again while replaying with every input matching its
recording bit for bit (the per-check seeds make inputs reproducible).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch
from rich.console import Console

import grader
from grader.course import load_assignment
from grader.errors import ConfigError
from grader.judge.plugin import load_reference
from grader.judge.replay import Recording, Replay, tape_path
from grader.judge.runner import grade
from grader.outputs.schema import GradeResult
from grader.sandbox.client import Zygote
from grader.spec import AssignmentSpec, load_spec

MARKER = ".grader-release.json"
WORKFLOW = ".github/workflows/grader.yml"
SKIP = {
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".DS_Store",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
}


@dataclass
class Released:
    """What went into the bundle for one assignment."""

    id: str
    title: str
    public_checks: int
    public_points: float
    hidden_checks: int
    hidden_points: float
    recorded: int  # reference requests recorded on the tape


def torch_pin() -> str:
    """The torch requirement students install: the version the answers were recorded with."""
    return f"torch=={torch.__version__.split('+')[0]}"


def build(
    course: Path, assignments: list[str], out: Path, *, zygote: Zygote, force: bool = False
) -> list[Released]:
    """Write the student bundle for `assignments` of `course` to `out`."""
    if not assignments:
        raise ConfigError(
            "name the assignments to release, e.g. `grader release hw1 hw2 --out DIR`"
        )
    specs = [load_assignment(course, aid) for aid in dict.fromkeys(assignments)]
    out = out.resolve()
    _check_out(course.resolve(), out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write a release there ({exc.strerror})") from None
    try:
        released = [_release_assignment(spec, staging, course, zygote) for spec in specs]
        write_grader_package(staging, readme(released))
        workflow = staging / WORKFLOW
        workflow.parent.mkdir(parents=True)
        workflow.write_text(github_workflow([r.id for r in released]))
        (staging / ".gitignore").write_text("__pycache__/\n*.egg-info/\n.venv/\n")
        (staging / MARKER).write_text(
            json.dumps(
                {
                    "grader_version": grader.__version__,
                    "torch": torch_pin(),
                    "assignments": [r.id for r in released],
                },
                indent=2,
            )
            + "\n"
        )
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"{out}: writing the release failed ({exc})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return released


def print_released(released: list[Released], out: Path, console: Console) -> None:
    """What `grader release` put in the bundle, one line per assignment."""
    for r in released:
        console.print(
            f"[bold]{r.id}[/] {r.title}: {r.public_checks} public checks "
            f"({r.public_points:g} points), {r.recorded} recorded reference answers; "
            f"{r.hidden_checks} hidden checks ({r.hidden_points:g} points) left out"
        )
    console.print(
        f"[green]release written to {out}[/]: its README.md tells students how to "
        "install it and check their work"
    )


def _check_out(course: Path, out: Path, force: bool) -> None:
    for secret in (course / "reference", course / "assignments", course / "tests"):
        if out == secret or secret in out.parents:
            raise ConfigError(f"{out}: a release must not be written inside {secret}")
    if out == course or out in course.parents:
        raise ConfigError(f"{out}: a release must not be written over the course folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        earlier = (out / MARKER).is_file()
        if force and earlier:
            return
        what = (
            "pass --force to replace this earlier release"
            if earlier
            else "choose a new or empty folder (--force replaces only an earlier release)"
        )
        raise ConfigError(f"{out}: exists and is not empty; {what}")


def write_grader_package(dest: Path, readme_text: str) -> None:
    """The grader's own sources in `dest`, pip-installable offline: `grader/` (no caches),
    `pyproject.toml` with the installed grader's dependencies, and `README.md`."""
    copy_tree(Path(grader.__file__).parent, dest / "grader")
    (dest / "pyproject.toml").write_text(pyproject())
    (dest / "README.md").write_text(readme_text)


def copy_tree(src: Path, dst: Path, *, keep_checks: Path | None = None) -> None:
    """Copy `src` to `dst` without caches and symlinks; under `keep_checks` only `public/`."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        skip = {n for n in names if n in SKIP or n.endswith(".pyc") or (here / n).is_symlink()}
        if keep_checks is not None and here.resolve() == keep_checks.resolve():
            skip |= {n for n in names if n != "public"}
        if keep_checks is not None and keep_checks.resolve() in here.resolve().parents:
            skip |= {n for n in names if n == "hidden"}  # the plugin would call it hidden
        return skip

    shutil.copytree(src, dst, ignore=ignore)


def _release_assignment(
    spec: AssignmentSpec, staging: Path, course: Path, zygote: Zygote
) -> Released:
    if not (spec.checks_dir / "public").is_dir():
        raise ConfigError(
            f"{spec.checks_dir / 'public'}: missing; a release needs public checks "
            "for students to run"
        )
    dest = staging / "assignments" / spec.id
    copy_tree(spec.root, dest, keep_checks=spec.checks_dir)

    # record: the release's checks, the live reference, the reference as the submission
    recording_spec = load_spec(dest, spec.reference)
    recording = Recording(load_reference(recording_spec))
    result = grade(
        recording_spec, spec.reference, course=course, zygote=zygote, references=recording
    )
    require_full_marks(result, "while its answers were recorded")
    public = recording_spec.check_ids()
    hidden = [c for c in spec.check_ids() if c not in set(public)]
    hidden_points = sum(spec.points_for(c) for c in hidden)
    path = tape_path(recording_spec.checks_dir)
    recording.save(path, seed=spec.seed, hidden_checks=len(hidden), hidden_points=hidden_points)

    # replay exactly as a student's copy will: no reference module, answers from the tape
    release_spec = load_spec(dest, staging / "reference" / spec.id)
    replay = Replay(path, spec.seed)
    replayed = grade(release_spec, spec.reference, course=course, zygote=zygote, references=replay)
    require_full_marks(replayed, "from its recorded answers")
    if replay.stats["close"]:
        raise ConfigError(
            f"{spec.id}: the inputs of {', '.join(sorted(replay.stats['close_checks']))} differ "
            "between two runs with the same seed, so recorded answers cannot be looked up "
            "reliably; derive all randomness from the `seed` fixture (already applied to torch, "
            "numpy and random)"
        )
    return Released(
        id=spec.id,
        title=spec.title,
        public_checks=len(public),
        public_points=sum(spec.points_for(c) for c in public),
        hidden_checks=len(hidden),
        hidden_points=hidden_points,
        recorded=recording.calls,
    )


def require_full_marks(
    result: GradeResult, when: str, *, checks: str = "public checks", into: str = "a release"
) -> None:
    """ConfigError listing the checks the reference failed, if any."""
    missed = [c for c in result.checks if c.status != "passed"]
    if missed:
        lines = [
            f"  {c.id}: {(c.message.strip().splitlines() or [c.status])[0][:300]}" for c in missed
        ]
        raise ConfigError(
            f"{result.assignment}: the reference solution fails {checks} {when}, "
            f"so they cannot go into {into}:\n" + "\n".join(lines)
        )


# ----------------------------------------------------------------------------- generated files


def pyproject() -> str:
    """A pyproject for the bundled grader sources, with the installed grader's dependencies."""
    try:
        requires = metadata.requires("grader") or []
    except metadata.PackageNotFoundError:
        raise ConfigError(
            "the grader is not installed (pip install -e .); a release copies its "
            "dependencies from the installed package"
        ) from None
    deps = [r for r in requires if "extra ==" not in r]
    listed = "".join(f"    {json.dumps(d)},\n" for d in deps)
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "grader"
version = "{grader.__version__}"
description = "The course's autograder: runs the public checks of your assignments."
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
{listed}]

[project.scripts]
grader = "grader.cli:run"

[tool.setuptools.packages.find]
include = ["grader*"]
"""


def readme(released: list[Released]) -> str:
    rows = "".join(
        f"| `{r.id}` | {r.title} | {r.public_checks} checks, {r.public_points:g} points "
        f"| {r.hidden_checks} checks, {r.hidden_points:g} points |\n"
        for r in released
    )
    first = released[0].id
    return f"""# Assignments

| assignment | title | public checks (here) | hidden checks (at grading) |
|---|---|---|---|
{rows}
Each assignment's folder `assignments/<id>/` holds its task (`README.md`) and the stub file(s) you
edit.

## Set up (once)

With Python ≥ 3.10, from this folder:

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install {torch_pin()} -e .
```

(`{torch_pin()}` is the version the checks' expected answers were recorded with; keep it.)

## Check your work

```bash
grader check {first}                 # every public check of {first}, with hints
grader check {first} -v              # also show what your code printed
grader check {first} --format junit --output report.xml   # for CI; also json, gradescope
grader check {first} --min-score 80% # exit 0 from 80% of the points on
```

The public checks compare your code with answers recorded from the instructor's solution on the
checks' own inputs. Hidden checks (other inputs and edge cases) are not in this repository: they
run when your work is graded, so the score here is advisory.

Exit status: **0** every check passed (or `--min-score` reached), **1** not yet, **2** a usage
or configuration error, printed as one line.

## Continuous integration

The workflow `{WORKFLOW}` runs `grader check` for every assignment on each
push (edit its `assignment:` list to the ones you work on): the job summary shows a table of the
checks, and failed checks are annotated on your code.
"""


def github_workflow(assignment_ids: list[str]) -> str:
    """The student repository's workflow, generated from the released assignments."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"""# Generated by `grader release`: the public checks of every assignment, on each push.
name: grader
on:
  push:
  pull_request:
  workflow_dispatch:
jobs:
  check:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    strategy:
      fail-fast: false
      matrix:
        assignment: [{", ".join(assignment_ids)}]
    env:
      # torch's CPU-only wheels (the default wheel on Linux brings GBs of CUDA libraries)
      PIP_EXTRA_INDEX_URL: https://download.pytorch.org/whl/cpu
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      - name: Install the grader
        run: pip install {torch_pin()} -e .
      - name: grader check ${{{{ matrix.assignment }}}}
        run: grader check ${{{{ matrix.assignment }}}} --format junit --output grader-${{{{ matrix.assignment }}}}.xml
      - name: Keep the JUnit report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: grader-${{{{ matrix.assignment }}}}
          path: grader-${{{{ matrix.assignment }}}}.xml
"""
