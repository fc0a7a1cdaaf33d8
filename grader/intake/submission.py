"""Turning what a student handed in into a private working folder for the worker.

`gather` reads a hand-in (a folder, a .py file or a Jupyter notebook, converted by
`grader.intake.notebook`) into a `HandIn` without following a link or opening anything but
regular files (`grader.intake.files`); `prepare` writes it into a fresh folder. A batch
hashes what `gather` returns, so a result is keyed by exactly the files that were graded.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError
from grader.intake.files import (
    HandIn,
    list_folder,
    open_folder,
    printable,
    read_file,
    read_folder,
    refusal,
    skipped_dir,
)
from grader.intake.notebook import CellMap, read_notebook
from grader.spec import AssignmentSpec


def _holds_module(fd: int, name: str, target: str, where: str) -> int | None:
    """The mode of `name/target` inside the open folder `fd` (no link followed), or None."""
    sub = open_folder(name, f"{where}/{name}", dir_fd=fd)
    try:
        return os.stat(target, dir_fd=sub, follow_symlinks=False).st_mode
    except OSError:
        return None
    finally:
        os.close(sub)


def _module_dir(fd: int, spec: AssignmentSpec, where: str) -> tuple[str, list[str]]:
    """Where in the open folder `fd` the student's module is: "" (right here) or the one
    subfolder holding it (a cloned repo); and notes on the links and special files met."""
    target = f"{spec.module}.py"
    listing = list_folder(fd, where)
    if stat.S_ISREG(dict(listing).get(target, 0)):
        return "", []
    found, notes = [], []
    for name, mode in listing:
        if skipped_dir(name):
            continue
        if stat.S_ISDIR(mode):
            inner = _holds_module(fd, name, target, where)
            if inner is not None and stat.S_ISREG(inner):
                found.append(name)
            elif inner is not None:
                notes.append(refusal(f"{where}/{name}/{target}", inner))
        elif not stat.S_ISREG(mode):
            notes.append(refusal(f"{where}/{name}", mode))
    if len(found) == 1:
        return found[0], notes
    if found:
        paths = ", ".join(printable(f"{where}/{name}/{target}") for name in found)
        raise SubmissionError(
            f"{printable(where)}: more than one {target} ({paths}); keep only the one to grade"
        )
    why = f" ({'; '.join(notes[:3])})" if notes else ""
    raise SubmissionError(
        f"{printable(where)}: no {target} here or one folder down{why}; the assignment's "
        f"files are {', '.join(spec.files)}"
    )


def gather_folder(path: Path, spec: AssignmentSpec, where: str) -> HandIn:
    """The hand-in in the folder `path`: the folder holding the module (`path` or one level
    down), walked by `read_folder`."""
    fd = open_folder(path, where)
    try:
        sub, notes = _module_dir(fd, spec, where)
        hand_in = read_folder(sub or ".", f"{where}/{sub}" if sub else where, dir_fd=fd)
    finally:
        os.close(fd)
    hand_in.refused[:0] = notes
    return hand_in


def _stub(spec: AssignmentSpec) -> HandIn:
    hand_in = HandIn(spec.id)
    for name in spec.files:  # only the files students edit
        hand_in.add(name, read_file(spec.root / name, f"{spec.id}/{name}"))
    return hand_in


def gather(submission: Path, spec: AssignmentSpec, where: str | None = None) -> HandIn:
    """What is graded of `submission`, a folder, a .py file or an .ipynb notebook (`where`:
    how the student knows it, by default its path)."""
    where = where or str(submission)
    try:
        mode = os.lstat(submission).st_mode
    except FileNotFoundError:
        raise SubmissionError(f"{printable(where)}: no such file or folder") from None
    except OSError as exc:
        raise SubmissionError(f"{printable(where)}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        if submission.resolve() == spec.root.resolve():
            return _stub(spec)
        return gather_folder(submission, spec, where)
    if not stat.S_ISREG(mode):
        raise SubmissionError(refusal(where, mode))
    module = f"{spec.module}.py"
    if submission.suffix.lower() == ".ipynb":
        notebook = read_notebook(submission, where, module)
        source = {module: notebook.source.encode()}
        return HandIn(where, source, extra=notebook.notes, cells=notebook.cells)
    if submission.suffix != ".py":
        raise SubmissionError(
            f"{printable(where)}: expected a .py file, a Jupyter notebook (.ipynb) or a folder"
        )
    hand_in = HandIn(where)
    name = submission.name if submission.name in spec.files else module
    hand_in.add(name, read_file(submission, where))
    return hand_in


@dataclass(frozen=True)
class Prepared:
    """A submission copied for the worker."""

    tmp: Path  # the temp root, to delete afterwards
    work: Path  # the worker's working folder, inside `tmp`
    sources: list[Path]  # the Python files in `work`
    notes: list[str]  # for the student: what was left out and why
    cells: CellMap | None = None  # a notebook's: where each line of its module came from


def prepare(submission: Path, spec: AssignmentSpec) -> Prepared:
    """Copy what is graded of `submission` (see `gather`) into a fresh temp folder."""
    hand_in = gather(submission, spec)
    tmp = Path(tempfile.mkdtemp(prefix="grader-"))
    os.chmod(tmp, 0o711)  # the worker's unprivileged user may pass through, not list
    work = tmp / "work"
    try:
        work.mkdir()
        paths = hand_in.write(work)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sources = sorted(p for p in paths if p.suffix == ".py")
    return Prepared(tmp, work, sources, hand_in.notes, hand_in.cells)
