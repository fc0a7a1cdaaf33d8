"""The reference's answers to every check, recorded once and replayed (`replay.Follow`).

A batch records them before it grades anything, in its OUT folder; `grader check` in the
instructor's course keeps them in the course's git-ignored `.grader-cache/`. Either way
they are recorded from the reference alone, graded as the submission, in the judge, and
the file is keyed (`answers_key`) by everything they depend on: the reference's sources,
the checks, assignment.toml, the seed, the data folder, the grader's own sources and
version, and the torch and numpy versions. A file that cannot be read, or was recorded for
another key, is set aside with a note and recorded again; writers replace it atomically.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

import grader
from grader.batch.records import write_atomic
from grader.errors import GraderError
from grader.judge.plugin import load_reference
from grader.judge.replay import TAPE_NAME, Follow, Recording, Tape
from grader.outputs.schema import GradeResult
from grader.sandbox.client import WorkerSource
from grader.spec import AssignmentSpec

CACHE_DIR = ".grader-cache"  # in the course root, git-ignored


class AnswersError(GraderError):
    """A recording of the reference's answers is there but cannot be used."""


def _files(folder: Path, *, skip: frozenset[str] = frozenset()) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name not in skip
    )


@functools.cache
def _grader_digest() -> str:
    """sha256 of the grader's own sources: the checks' helpers also talk to the reference."""
    root = Path(grader.__file__).parent
    h = hashlib.sha256(grader.__version__.encode())
    for path in _files(root):
        if path.suffix == ".py":
            h.update(f"{path.relative_to(root)}\0".encode() + path.read_bytes() + b"\0")
    return h.hexdigest()


def answers_key(spec: AssignmentSpec, *, seed: int, data_dir: str | None = None) -> str:
    """sha256 of everything the reference's answers to `spec`'s checks depend on."""
    h = hashlib.sha256(
        f"{spec.id}\0{seed}\0{_grader_digest()}\0torch {torch.__version__}\0"
        f"numpy {np.__version__}\0".encode()
    )
    parts = [
        ("assignment", spec.root, [spec.root / "assignment.toml"]),
        ("checks", spec.checks_dir, _files(spec.checks_dir, skip=frozenset({TAPE_NAME}))),
        ("reference", spec.reference, _files(spec.reference)),
    ]
    for tag, base, files in parts:
        for path in files:
            name = f"{tag}/{path.relative_to(base)}\0"
            h.update(name.encode() + path.read_bytes() + b"\0")
    folder = data_dir or spec.data_dir
    if folder:  # the data the checks load: named by path, size and modification time
        h.update(f"data {Path(folder).resolve()}\0".encode())
        for path in _files(Path(folder)):
            stat = path.stat()
            h.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    return h.hexdigest()


def load_tape(path: Path, key: str) -> Tape:
    """The recording at `path` made for `key`; AnswersError when it is missing or unusable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AnswersError(f"{path}: no recording yet") from None
    except OSError as exc:
        raise AnswersError(f"{path}: cannot read this recording ({exc})") from None
    try:
        tape = Tape.parse(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AnswersError(f"{path}: not a recording of the reference's answers ({exc})") from None
    if tape.key != key:
        raise AnswersError(f"{path}: recorded for another reference, checks or set-up")
    return tape


def record(
    spec: AssignmentSpec,
    *,
    course: Path,
    zygote: WorkerSource,
    seed: int,
    key: str,
    masks: Sequence[str] = (),
    data_dir: str | None = None,
    keep_checks: bool = False,
) -> tuple[Tape, bytes, GradeResult]:
    """Grade the reference as the submission while recording its answers in the judge.

    Returns the tape, its bytes (to store) and the reference's own result."""
    from grader.judge.runner import grade

    recording = Recording(load_reference(spec), live_fallback=True)
    result = grade(
        spec,
        spec.reference,
        course=course,
        zygote=zygote,
        seed=seed,
        masks=masks,
        data_dir=data_dir,
        references=recording,
        keep_checks=keep_checks,
    )
    data = recording.to_bytes(seed=seed, key=key)
    return Tape.parse(data), data, result


def follow(spec: AssignmentSpec, tape: Tape) -> Follow:
    """The source a submission's checks get: the tape, and the live reference if needed."""
    return Follow(tape, lambda: load_reference(spec))


def has_reference(spec: AssignmentSpec) -> bool:
    return (spec.reference / f"{spec.module}.py").is_file()


def cache_path(course: Path, spec: AssignmentSpec, key: str) -> Path:
    return course / CACHE_DIR / "answers" / f"{spec.id}-{key[:32]}.json"


def grade_cached(
    spec: AssignmentSpec,
    submission: Path | None,
    *,
    course: Path,
    zygote: WorkerSource,
    seed: int | None = None,
    data_dir: str | None = None,
    tasks: Sequence[str] = (),
) -> GradeResult:
    """`grader check` in the instructor's course: the reference's answers from the cache.

    Without a usable recording it records one first, or, when the submission is the
    reference itself, while grading it. A student release (no reference) replays its own
    tape, as `grade` does, and a course it cannot write to is graded live, with a note.
    """
    from grader.judge.runner import grade

    base_seed = spec.seed if seed is None else seed
    if not has_reference(spec) or not spec.checks_dir.is_dir():
        return grade(
            spec,
            submission,
            course=course,
            zygote=zygote,
            seed=seed,
            data_dir=data_dir,
            tasks=tasks,
        )
    key = answers_key(spec, seed=base_seed, data_dir=data_dir)
    path = cache_path(course, spec, key)
    notes: list[str] = []
    try:
        tape = load_tape(path, key)
    except AnswersError as exc:
        if path.exists():
            notes.append(f"{exc}: ignored, and recorded again")
        reference = submission is not None and submission.resolve() == spec.reference.resolve()
        if reference and not tasks:
            tape, data, result = record(
                spec, course=course, zygote=zygote, seed=base_seed, key=key, data_dir=data_dir
            )
            notes += _store(path, data)
            result.notes += notes
            return result
        tape, data, _ = record(
            spec, course=course, zygote=zygote, seed=base_seed, key=key, data_dir=data_dir
        )
        notes += _store(path, data)
    source = follow(spec, tape)
    source.notes += notes
    return grade(
        spec,
        submission,
        course=course,
        zygote=zygote,
        seed=seed,
        data_dir=data_dir,
        references=source,
        tasks=tasks,
    )


def _store(path: Path, data: bytes) -> list[str]:
    """Write the recording; the notes to show when it could not be kept."""
    try:
        ignore = path.parents[1] / ".gitignore"
        if not ignore.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(ignore, "*\n")  # the cache never lands in the course's repository
        write_atomic(path, data)
        _remove_others(path)
    except (GraderError, OSError) as exc:
        return [f"the reference's answers were not kept ({exc}); the next check records them again"]
    return []


def _remove_others(keep: Path) -> None:
    """Remove the assignment's earlier recordings (other keys) beside `keep`."""
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    for old in keep.parent.glob(f"{prefix}*.json"):
        if old != keep:
            try:
                os.unlink(old)
            except OSError:
                pass
