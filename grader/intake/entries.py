"""What a submissions folder holds: one entry per student, its kind, its id, its content
hash, and how to unpack it into something `grader.intake.submission.prepare` grades.

An entry is a folder (the student's copy of the assignment's files, possibly one level
down, e.g. a cloned repo), a single `.py` file, a `.zip` archive or a Jupyter `.ipynb`
notebook. The student id is the entry's name without that suffix. Anything else (a
symbolic link, a FIFO, another kind of file) is an entry of kind "unreadable" that says
why; nothing is followed or opened to find out. Hidden entries (`.DS_Store`, `.git`) are
listed apart, never graded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError, SubmissionError
from grader.intake import archive
from grader.intake.files import (
    MAX_ARCHIVE_BYTES,
    MAX_BYTES,
    HandIn,
    kind_of,
    open_file,
    printable,
    read_chunks,
    text_name,
)
from grader.intake.submission import gather
from grader.spec import AssignmentSpec

SUFFIXES = {".py": "py", ".zip": "zip", ".ipynb": "notebook"}
HASH_LIMITS = {"zip": MAX_ARCHIVE_BYTES, "notebook": MAX_BYTES}  # hashed as handed in


@dataclass(frozen=True)
class Entry:
    """One student's hand-in, as found in the submissions folder."""

    id: str  # the student id: the entry's name without .py/.zip/.ipynb
    name: str  # the file or folder name in the submissions folder (as text)
    path: Path
    kind: str  # "folder", "py", "zip", "notebook" or "unreadable"
    problem: str = ""  # why it cannot be graded (kind "unreadable")


def _classify(name: str, mode: int) -> tuple[str, str, str]:
    """(id, kind, problem) of the entry `name` (valid text) whose lstat mode is `mode`."""
    if stat.S_ISDIR(mode):
        return name, "folder", ""
    stem, suffix = os.path.splitext(name)
    known = suffix.lower() in SUFFIXES and bool(stem)
    sid = stem if known else name
    if stat.S_ISREG(mode) and known:
        return sid, SUFFIXES[suffix.lower()], ""
    if stat.S_ISLNK(mode):
        why = "a symbolic link: not graded (hand in the files themselves, not a link to them)"
    elif stat.S_ISREG(mode):
        why = "a regular file, not a folder, .py file, .zip archive or .ipynb notebook: not graded"
    else:
        why = f"{kind_of(mode)}, not a regular file or folder: not graded"
    return sid, "unreadable", f"{printable(name)} is {why}"


def scan(folder: Path) -> tuple[list[Entry], list[str]]:
    """The entries of `folder` sorted by id, and the names of hidden entries left out."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder (expected one entry per student in it)")
    by_id: dict[str, list[Entry]] = {}
    hidden = []
    with os.scandir(folder) as items:
        found = sorted((item.name, item.stat(follow_symlinks=False).st_mode) for item in items)
    for real, mode in found:
        name = text_name(real)
        if name.startswith("."):
            hidden.append(name)
            continue
        sid, kind, problem = _classify(name, mode)
        by_id.setdefault(sid, []).append(Entry(sid, name, folder / real, kind, problem))
    entries = []
    for sid, group in sorted(by_id.items()):
        if len(group) == 1:
            entries.append(group[0])
            continue
        names = " and ".join(e.name for e in group)
        problem = (
            f"{printable(names)} are both in the submissions folder for student "
            f"{printable(sid)}; keep only one"
        )
        entries.append(Entry(sid, names, group[0].path, "unreadable", problem))
    return entries, hidden


def content_hash(entry: Entry, spec: AssignmentSpec) -> str:
    """sha256 of what grading reads from the entry: for a folder or .py file exactly the files
    that are graded (`gather`, what `prepare` copies), for an archive or a notebook its bytes.
    An entry that cannot be read hashes its reason; this never raises for a student's files."""
    digest = hashlib.sha256(f"{entry.kind}\0{entry.name}\0".encode())
    try:
        if entry.kind in ("folder", "py"):
            gather(entry.path, spec, entry.name).update(digest)
        elif entry.kind in HASH_LIMITS:
            fd = open_file(entry.path, entry.name)
            limit = HASH_LIMITS[entry.kind]
            for chunk in read_chunks(fd, entry.name, limit=limit, advice="hand in only your code"):
                digest.update(chunk)
    except SubmissionError as exc:
        digest.update(f"\0unreadable: {exc}".encode())
    return digest.hexdigest()


def read_entry(entry: Entry, spec: AssignmentSpec) -> HandIn:
    """What is graded of the entry: its Python files (a notebook converted), read (never
    through a link) within the caps; nothing runs. SubmissionError when it cannot be read."""
    if entry.kind == "unreadable":
        raise SubmissionError(entry.problem)
    if entry.kind == "zip":
        return archive.read_python(entry.path, entry.name)
    return gather(entry.path, spec, entry.name)  # a folder, a .py or a notebook


def unpack(entry: Entry, spec: AssignmentSpec, tmp: Path) -> tuple[Path, list[str]]:
    """A path `prepare` can grade (a file or folder), and notes for the student's feedback.

    What is graded of the entry (`read_entry`) is written under the empty folder `tmp`. A
    notebook is converted here only to be checked: it is graded as it is (`prepare` converts
    it as `grader check` does, keeping where each line came from).
    """
    hand_in = read_entry(entry, spec)
    if entry.kind == "notebook":
        return entry.path, hand_in.notes
    target = tmp / "submission"
    target.mkdir()
    hand_in.write(target)
    return target, hand_in.notes
