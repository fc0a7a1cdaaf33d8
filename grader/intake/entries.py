"""What a submissions folder holds: one entry per student, its kind, its id, its content
hash, and how to unpack it into something `grader.submission.prepare` grades.

An entry is a folder (the student's copy of the assignment's files, possibly one level
down, e.g. a cloned repo), a single `.py` file, a `.zip` archive or a Jupyter `.ipynb`
notebook. The student id is the entry's name without that suffix. Anything else is an
entry of kind "unreadable" that says why; hidden entries (`.DS_Store`, `.git`) are
listed apart, never graded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError, SubmissionError
from grader.intake import archive, notebook
from grader.intake.files import python_files
from grader.spec import AssignmentSpec

SUFFIXES = {".py": "py", ".zip": "zip", ".ipynb": "notebook"}


@dataclass(frozen=True)
class Entry:
    """One student's hand-in, as found in the submissions folder."""

    id: str  # the student id: the entry's name without .py/.zip/.ipynb
    name: str  # the file or folder name in the submissions folder
    path: Path
    kind: str  # "folder", "py", "zip", "notebook" or "unreadable"
    problem: str = ""  # why it cannot be graded (kind "unreadable")


def _classify(path: Path) -> tuple[str, str, str]:
    """(id, kind, problem) of one entry."""
    name = path.name
    if path.is_dir():
        return name, "folder", ""
    suffix = path.suffix.lower()
    if path.is_file() and suffix in SUFFIXES and path.stem:
        return name[: -len(suffix)], SUFFIXES[suffix], ""
    what = "a regular file" if path.is_file() else "not a regular file or folder"
    return (
        name,
        "unreadable",
        (
            f"{name}: {what}, not a folder, .py file, .zip archive or "
            ".ipynb notebook; cannot grade it"
        ),
    )


def scan(folder: Path) -> tuple[list[Entry], list[str]]:
    """The entries of `folder` sorted by id, and the names of hidden entries left out."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder (expected one entry per student in it)")
    by_id: dict[str, list[Entry]] = {}
    hidden = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            hidden.append(path.name)
            continue
        sid, kind, problem = _classify(path)
        by_id.setdefault(sid, []).append(Entry(sid, path.name, path, kind, problem))
    entries = []
    for sid, group in sorted(by_id.items()):
        if len(group) == 1:
            entries.append(group[0])
            continue
        names = " and ".join(e.name for e in group)
        entries.append(
            Entry(
                sid,
                names,
                folder / group[0].name,
                "unreadable",
                f"{names} are both in the submissions folder for student {sid}; keep only one",
            )
        )
    return entries, hidden


def content_hash(entry: Entry) -> str:
    """sha256 of what grading reads from the entry: a file's bytes, a folder's Python files."""
    digest = hashlib.sha256(f"{entry.kind}\0{entry.name}\0".encode())
    try:
        if entry.kind == "folder":
            paths = list(python_files(entry.path))
        elif entry.kind != "unreadable":
            paths = [entry.path]
        else:
            paths = []
        for path in paths:
            digest.update(f"{path.relative_to(entry.path.parent)}\0".encode())
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            digest.update(b"\0")
    except OSError as exc:
        digest.update(f"unreadable: {exc.strerror}".encode())
    return digest.hexdigest()


def unpack(entry: Entry, spec: AssignmentSpec, tmp: Path) -> tuple[Path, list[str]]:
    """A path `prepare` can grade (a file or folder), and notes for the student's feedback.

    Archives and notebooks are unpacked under the empty folder `tmp`; nothing runs.
    """
    if entry.kind == "unreadable":
        raise SubmissionError(entry.problem)
    if entry.kind in ("folder", "py"):
        return entry.path, []
    target = tmp / "submission"
    target.mkdir()
    if entry.kind == "zip":
        return target, archive.extract_python(entry.path, target)
    source, notes = notebook.notebook_to_source(entry.path)
    (target / f"{spec.module}.py").write_text(source)
    return target, notes
