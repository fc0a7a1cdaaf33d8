"""One graded submission on disk: `results/<name>.json`, written atomically as it finishes.

A record is the submission's `GradeResult` (the schema of `grader check --format json`)
plus what the batch needs: the student id, the entry it came from, the content hash that
lets a re-run skip it, the status and the reason when it could not be graded normally.
Its file name comes from `file_stem(id)`, safe whatever the id holds; the id itself is
inside the record, and a record whose id is not the one looked for counts as none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError
from grader.outputs.schema import CheckResult, GradeResult

RECORD_VERSION = 1
# graded: every check ran; crashed: the module did not import, or its worker died in a
# check; timeout: the submission's time budget ran out; unreadable: nothing to grade;
# error: the grader itself failed (regraded on the next run).
RECORD_STATUSES = ("graded", "crashed", "timeout", "unreadable", "error")
NOT_GRADED_NORMALLY = ("crashed", "timeout", "unreadable", "error")
# ids used as file names as they are: short, lower-case (so two of them are two files on a
# case-insensitive disk too), never hidden or an option, never with the "~" of a hashed name
PLAIN_ID = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,99}")


def file_stem(sid: str) -> str:
    """The name of the student `sid`'s files (results/<stem>.json, feedback/<stem>.md).

    The id itself when it matches PLAIN_ID; otherwise a readable prefix, "~" and 16 hex
    digits of the id's sha256: any id (long, unicode, with a newline, "..", a leading "-")
    gives a short, safe name, and no two ids share one.
    """
    if PLAIN_ID.fullmatch(sid):
        return sid
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", sid).lstrip(".-")[:40] or "_"
    digest = hashlib.sha256(sid.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{prefix}~{digest}"


@dataclass
class Record:
    """The batch's view of one student."""

    id: str
    entry: str  # the file or folder name in the submissions folder
    kind: str
    content_hash: str
    config_hash: str
    status: str  # one of RECORD_STATUSES
    result: GradeResult
    error: str = ""  # one line, for the gradebook and the failures table
    notes: list[str] = field(default_factory=list)  # for the student (e.g. notebook lines dropped)
    detail: str = ""  # the grader's traceback, for status "error" only

    def to_dict(self) -> dict:
        return {
            "record_version": RECORD_VERSION,
            "id": self.id,
            "entry": self.entry,
            "kind": self.kind,
            "content_hash": self.content_hash,
            "config_hash": self.config_hash,
            "status": self.status,
            "error": self.error,
            "notes": self.notes,
            "detail": self.detail,
            "result": self.result.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Record:
        keep = {
            "id",
            "entry",
            "kind",
            "content_hash",
            "config_hash",
            "status",
            "error",
            "notes",
            "detail",
        }
        return cls(
            result=GradeResult.from_dict(data["result"]),
            **{k: v for k, v in data.items() if k in keep},
        )


def write_atomic(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` (or bytes) in one step: readers see the old file or the new
    one. (Text that is not valid Unicode, such as a lone surrogate, is written escaped.)"""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise GraderError(f"{path}: cannot write it ({exc.strerror})") from None
    try:
        if isinstance(text, bytes):
            with os.fdopen(fd, "wb") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise GraderError(f"{path}: cannot write it ({exc.strerror})") from None
        raise


class RecordError(GraderError):
    """A results file is there but cannot be read back."""


def save_record(path: Path, record: Record) -> None:
    write_atomic(path, json.dumps(record.to_dict(), indent=1) + "\n")


def load_record(path: Path, sid: str | None = None) -> Record | None:
    """The record at `path`; None when there is none (or it is another student's than `sid`:
    from an earlier layout of the results), RecordError when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read this result ({exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"{path}: this result is not valid JSON ({exc})") from None
    version = data.get("record_version") if isinstance(data, dict) else None
    if version != RECORD_VERSION:
        raise RecordError(
            f"{path}: a result of record version {version!r}; this grader reads "
            f"version {RECORD_VERSION}"
        )
    try:
        record = Record.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordError(
            f"{path}: this result does not follow the record schema ({type(exc).__name__}: {exc})"
        ) from None
    return None if sid is not None and record.id != sid else record


def not_graded(template: GradeResult, submission: str, reason: str) -> GradeResult:
    """`template`'s checks (one per check of the assignment), all failed with `reason`."""
    checks = [
        CheckResult(
            id=c.id,
            name=c.name,
            tier=c.tier,
            task=c.task,
            status="failed",
            score=0.0,
            max_score=c.max_score,
            message=reason,
            seed=c.seed,
        )
        for c in template.checks
    ]
    return GradeResult(
        assignment=template.assignment,
        title=template.title,
        submission=submission,
        seed=template.seed,
        checks=checks,
        tasks=template.tasks,
    )
