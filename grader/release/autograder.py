"""What runs on Gradescope: one submission graded with every check into results.json.

`run_autograder` (written by `grader.release.gradescope`) runs

    python -m grader.release.autograder ROOT

where ROOT is laid out like /autograder: `source/` (the zip: `autograder.json`, `course/`),
`submission/` (what the student handed in), `results/` (where `results.json` goes). It closes
ROOT to every user but root, finds the submission (`find_submission`), grades it as
`grader check` does, within the time budget, and writes Gradescope's results.json, always:
a submission that cannot be read is graded 0 with the reason, and a failure of the grader
itself is reported as such. The full report (hidden checks' details, the sandbox's notes, what
the student's code printed) goes to stdout, which Gradescope shows to instructors only.

Exit status: GRADED (0: results.json holds the grade, maybe 0 points with the reason),
GRADER_FAILED (1: results.json reports a failure of the grader) or NO_RESULTS (2: results.json
could not be written).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from grader.batch.budget import Budget
from grader.batch.records import write_atomic
from grader.course import load_assignment
from grader.errors import ConfigError, GraderError, SubmissionError
from grader.intake import entries
from grader.intake.submission import gather
from grader.outputs.formats import GRADESCOPE_VISIBILITY, to_gradescope
from grader.outputs.terminal import print_report
from grader.sandbox.client import Zygote
from grader.spec import AssignmentSpec

CONFIG = "autograder.json"  # in the zip's root, so in ROOT/source/
GRADED, GRADER_FAILED, NO_RESULTS = 0, 1, 2
SUBMISSION = "your submission"  # how the student knows the folder, in messages
GRADER_FAILED_TEXT = (
    "The autograder could not grade this submission because of a problem on its side, not "
    "one found in your code. Your course staff can see what went wrong in the autograder's "
    "output; resubmit later, or tell them."
)


@dataclass(frozen=True)
class Settings:
    """What the zip's run_autograder grades, and how (its `autograder.json`)."""

    assignment: str
    hidden_visibility: str = "after_published"  # Gradescope visibility of hidden checks
    timeout_s: float = 540.0  # wall-clock budget of one submission (Gradescope stops at 600)
    cpus: float = 0.5  # what Gradescope gives the container: time limits grow by 1 / cpus

    def __post_init__(self) -> None:
        if self.hidden_visibility not in GRADESCOPE_VISIBILITY:
            raise ConfigError(
                f"hidden_visibility must be one of {', '.join(GRADESCOPE_VISIBILITY)}, "
                f"got {self.hidden_visibility!r}"
            )
        if not (self.timeout_s > 0 and self.cpus > 0):
            raise ConfigError("timeout_s and cpus must be positive numbers")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> Settings:
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(known) - {"grader_version"})
        if unknown or not isinstance(data.get("assignment"), str):
            what = f"unknown {', '.join(unknown)}" if unknown else "no assignment"
            raise ConfigError(
                f"{where}: {what} (expected {', '.join(known)}); export the zip again with "
                "`grader export gradescope`"
            )
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        from grader import __version__

        return dict(dataclasses.asdict(self), grader_version=__version__)


def load_settings(path: Path) -> Settings:
    """The zip's `autograder.json`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}); is this the exported zip?") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return Settings.from_dict(data, str(path))


def for_gradescope(spec: AssignmentSpec, cpus: float) -> AssignmentSpec:
    """`spec` with its wall-clock limits grown for a container with `cpus` CPUs."""
    factor = max(1.0, 1.0 / cpus)
    limits = dataclasses.replace(
        spec.limits,
        call_timeout_s=spec.limits.call_timeout_s * factor,
        import_timeout_s=spec.limits.import_timeout_s * factor,
    )
    return dataclasses.replace(spec, limits=limits)


# ----------------------------------------------------------------------------- the submission


def _visible_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The regular files and the folders at the top of `folder`, without hidden ones."""
    files, folders = [], []
    with os.scandir(folder) as items:
        for item in sorted(items, key=lambda i: i.name):
            if item.name.startswith(".") or item.name == "__MACOSX":
                continue
            if item.is_file(follow_symlinks=False):
                files.append(Path(item.path))
            elif item.is_dir(follow_symlinks=False):
                folders.append(Path(item.path))
    return files, folders


def find_submission(folder: Path, spec: AssignmentSpec, tmp: Path) -> tuple[Path, str, list[str]]:
    """What to grade in Gradescope's submission folder: (a file or folder `grade` reads, how the
    student knows it, notes for them). In this order:

    1. the assignment's module (`tensor_ops.py`) with its other files, at the top or one folder
       down (an uploaded folder or a cloned repository);
    2. `assignments/<id>/` holding it (a repository made from the student release);
    3. the one `.ipynb` notebook, else the one `.zip` archive, else the one `.py` file (graded
       as the module), at the top or, when the top holds only one folder, in it.

    SubmissionError, written for the student, when none of these is there.
    """
    module = f"{spec.module}.py"
    if not folder.is_dir():
        raise SubmissionError(f"{SUBMISSION} is empty: upload {module}")
    if any(os.path.lexists(p) for p in [folder / module, *folder.glob(f"*/{module}")]):
        gather(folder, spec, SUBMISSION)  # its errors (two copies, a link) are the student's
        return folder, SUBMISSION, []
    release = folder / "assignments" / spec.id
    if (release / module).is_file() and not release.is_symlink():
        where = f"{SUBMISSION}/assignments/{spec.id}"
        gather(release, spec, where)
        return release, where, []
    files, folders = _visible_files(folder)
    if not files and len(folders) == 1:
        files, _ = _visible_files(folders[0])
    for kind, suffix in (("notebook", ".ipynb"), ("zip", ".zip"), ("py", ".py")):
        found = [f for f in files if f.suffix.lower() == suffix]
        if len(found) > 1:
            names = ", ".join(f.name for f in found)
            raise SubmissionError(
                f"{SUBMISSION} has no {module} but {len(found)} {suffix} files ({names}); "
                "upload only the one to grade"
            )
        if found:
            entry = entries.Entry("submission", found[0].name, found[0], kind)
            path, notes = entries.unpack(entry, spec, tmp)
            gather(path, spec, found[0].name)  # what it lacks, named as the student knows it
            if kind == "py" and found[0].name != module:
                notes.append(f"{found[0].name} was graded as {module}")
            return path, found[0].name, notes
    what = ", ".join(p.name for p in files + folders) or "nothing"
    raise SubmissionError(
        f"{SUBMISSION} holds no {module} (it holds: {what[:300]}). Upload {module} itself, "
        "a folder or .zip archive holding it, or your notebook (.ipynb)"
    )


# ----------------------------------------------------------------------------- results.json


def problem_results(assignment: str, problem: str) -> dict[str, Any]:
    """results.json for a submission that could not be graded: 0 points, and why."""
    return {
        "score": 0.0,
        "output": f"Not graded: {problem}",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "extra_data": {"assignment": assignment, "not_graded": problem},
        "tests": [],
    }


def failure_results() -> dict[str, Any]:
    """results.json when the grader itself failed (the details are on stdout only)."""
    return {
        "score": 0.0,
        "output": GRADER_FAILED_TEXT,
        "output_format": "text",
        "stdout_visibility": "hidden",
        "extra_data": {"grader_failed": True},
        "tests": [],
    }


def _graded(root: Path, course: Path, spec: AssignmentSpec, settings: Settings) -> dict[str, Any]:
    """Grade ROOT/submission; results.json as a dict (SubmissionError if it cannot be read)."""
    with tempfile.TemporaryDirectory(prefix="grader-intake-") as tmp:
        path, where, notes = find_submission(root / "submission", spec, Path(tmp))
        with Zygote() as zygote:  # imports torch while the judge does the same
            from grader.judge.answers import answers_key, follow, record
            from grader.judge.runner import grade

            # the reference's answers and timings first, before any student code runs: no
            # process the submission leaves behind can slow the baselines its time is held to
            key = answers_key(spec, seed=spec.seed, data_dir=None)
            tape, _, _ = record(spec, course=course, zygote=zygote, seed=spec.seed, key=key)
            budget = Budget(zygote, settings.timeout_s)
            try:
                result = grade(
                    spec,
                    path,
                    course=course,
                    zygote=budget,
                    on_check=budget.on_check,
                    references=follow(spec, tape),
                )
            finally:
                budget.cancel()
            status, error = budget.settle(result)
    result.submission = where
    result.notes[:0] = notes
    print_report(result, Console(width=100, highlight=False), verbose=True)
    if error:
        print(f"{status}: {error}")
    data = to_gradescope(
        dataclasses.replace(result, sandbox_notes=[]), hidden_visibility=settings.hidden_visibility
    )
    data["stdout_visibility"] = "hidden"  # stdout holds the hidden checks' details
    data["extra_data"]["sandbox_notes"] = result.sandbox_notes
    return data


def run_autograder(root: Path) -> int:
    """Grade ROOT/submission into ROOT/results/results.json; the exit status."""
    start = time.monotonic()
    status, data = GRADED, failure_results()
    try:
        os.chmod(root, 0o700)  # the course, the results, the student's metadata: root's alone
        settings = load_settings(root / "source" / CONFIG)
        course = root / "source" / "course"
        if not (course / "assignments").is_dir():
            raise ConfigError(f"{course}/assignments: missing; is {root}/source the exported zip?")
        spec = load_assignment(course, settings.assignment)
        spec = for_gradescope(spec, settings.cpus)
        try:
            data = _graded(root, course, spec, settings)
        except SubmissionError as exc:
            print(f"not graded: {exc}")
            data = problem_results(spec.id, str(exc))
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        status = GRADER_FAILED
    except Exception:  # noqa: BLE001 - a grader bug must still leave a results.json
        traceback.print_exc()
        status = GRADER_FAILED
    data["execution_time"] = round(time.monotonic() - start, 3)
    try:
        write_atomic(root / "results" / "results.json", json.dumps(data, indent=2) + "\n")
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return NO_RESULTS
    return status


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m grader.release.autograder ROOT (laid out like /autograder)")
        sys.exit(NO_RESULTS)
    sys.exit(run_autograder(Path(sys.argv[1]).resolve()))
