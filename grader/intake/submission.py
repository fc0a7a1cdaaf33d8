"""Turning what a student handed in into a private working folder for the worker."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader.errors import SubmissionError
from grader.intake.files import MAX_BYTES, MAX_FILES, python_files, skipped_dir
from grader.spec import AssignmentSpec


def find_module_dir(path: Path, spec: AssignmentSpec) -> Path:
    """The folder holding the student's module: `path` itself or one level down (a cloned repo)."""
    target = f"{spec.module}.py"
    if (path / target).is_file():
        return path
    nested = sorted(p.parent for p in path.glob(f"*/{target}") if not skipped_dir(p.parent.name))
    if len(nested) == 1:
        return nested[0]
    if nested:
        raise SubmissionError(
            f"{path}: more than one {target} ({', '.join(map(str, nested))}); "
            "keep only the one to grade"
        )
    raise SubmissionError(
        f"{path}: no {target} here or one folder down; the assignment's "
        f"files are {', '.join(spec.files)}"
    )


def prepare(submission: Path, spec: AssignmentSpec) -> tuple[Path, Path, list[Path]]:
    """Copy the submission's Python files into a fresh temp folder.

    Returns (temp root to delete afterwards, the worker's working folder, the copied sources).
    """
    if not submission.exists():
        raise SubmissionError(f"{submission}: no such file or folder")
    tmp = Path(tempfile.mkdtemp(prefix="grader-"))
    os.chmod(tmp, 0o711)  # the worker's unprivileged user may pass through, not list
    work = tmp / "work"
    work.mkdir()
    try:
        if submission.is_file():
            if submission.suffix != ".py":
                raise SubmissionError(f"{submission}: expected a .py file or a folder")
            name = submission.name if submission.name in spec.files else f"{spec.module}.py"
            shutil.copyfile(submission, work / name)
        elif submission.resolve() == spec.root.resolve():  # the stub: only the files students edit
            for name in spec.files:
                shutil.copyfile(submission / name, work / name)
        else:
            _copy_tree(find_module_dir(submission, spec), work)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sources = sorted(work.rglob("*.py"))
    return tmp, work, sources


def _copy_tree(src: Path, dst: Path) -> None:
    count, size = 0, 0
    for source in python_files(src):
        count += 1
        size += source.stat().st_size
        if count > MAX_FILES or size > MAX_BYTES:
            raise SubmissionError(
                f"{src}: more than {MAX_FILES} Python files or "
                f"{MAX_BYTES >> 20} MiB; hand in only your code"
            )
        target = dst / source.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
