"""Finding the course folder and its assignments (`assignments/<id>/`, `reference/<id>/`)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from grader.errors import ConfigError
from grader.spec import AssignmentSpec, load_spec


def find_course(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: $GRADER_COURSE or cwd) with `assignments/`."""
    if start is None and os.environ.get("GRADER_COURSE"):
        start = Path(os.environ["GRADER_COURSE"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "assignments").is_dir():
            return folder
    raise ConfigError(
        f"no assignments/ folder in {here} or above it: run grader from the course "
        "folder, or pass --course DIR"
    )


def assignment_ids(course: Path) -> list[str]:
    """Assignment ids in natural order (hw2 before hw10)."""
    ids = [p.name for p in (course / "assignments").iterdir() if (p / "assignment.toml").is_file()]
    return sorted(ids, key=lambda s: (len(s), s))


def load_assignment(course: Path, assignment_id: str) -> AssignmentSpec:
    """The spec of one assignment, with a clear error for an unknown id.

    A relative `[assignment] data_dir` is resolved against the course folder.
    """
    root = course / "assignments" / assignment_id
    if not (root / "assignment.toml").is_file():
        known = ", ".join(assignment_ids(course)) or "none"
        raise ConfigError(f"unknown assignment {assignment_id!r} (known: {known})")
    spec = load_spec(root, course / "reference" / assignment_id)
    if spec.data_dir is not None:
        spec = dataclasses.replace(spec, data_dir=str(course / Path(spec.data_dir).expanduser()))
    return spec
