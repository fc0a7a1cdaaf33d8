"""A student's .zip archive read safely: only its Python files, within caps, into a `HandIn`.

Nothing is trusted: the archive is opened like any student file (no link followed, nothing
but a regular file, at most MAX_ARCHIVE_BYTES); member names that are absolute or climb out
with `..` make it unreadable; symbolic links and special files among the members are left
out with a note, non-Python files silently; the number of members and the bytes actually
decompressed are capped (a zip bomb stops at the cap, whatever its headers claim). Whatever
else the zip reader raises on a malformed archive makes it unreadable, with the reason.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.intake.files import (
    MAX_ARCHIVE_BYTES,
    MAX_BYTES,
    HandIn,
    open_file,
    printable,
    skipped_dir,
    untrusted,
)

MAX_MEMBERS = 5000  # entries of any kind in the archive
REZIP_ADVICE = "zip your folder again with an ordinary zip tool"


def _safe_parts(name: str, archive: str) -> tuple[str, ...]:
    """The path components of a member name, or an error for one that escapes the folder."""
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    unsafe = "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":")
    if unsafe or "\0" in name or ".." in parts:
        raise SubmissionError(
            f"{printable(archive)}: the archive holds an unsafe path {name!r}; {REZIP_ADVICE}"
        )
    return parts


def _common_top(names: list[tuple[str, ...]]) -> int:
    """1 when every member lies in one top-level folder (a zipped folder), else 0."""
    tops = {parts[0] for parts in names}
    return int(len(tops) == 1 and all(len(parts) > 1 for parts in names))


def _python_members(
    zf: zipfile.ZipFile, hand_in: HandIn
) -> list[tuple[tuple[str, ...], zipfile.ZipInfo]]:
    """The archive's Python members to unpack; links and special files refused with a note."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SubmissionError(
            f"{printable(hand_in.where)}: more than {MAX_MEMBERS} entries in the archive; "
            "hand in only your code"
        )
    members = []
    for info in infos:
        parts = _safe_parts(info.filename, hand_in.where)
        if info.is_dir() or not parts or any(skipped_dir(p) for p in parts[:-1]):
            continue
        mode = info.external_attr >> 16  # the Unix mode, when the zip tool recorded one
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            hand_in.refuse("/".join(parts), mode)
        elif parts[-1].endswith(".py"):
            members.append((parts, info))
    return members


def _unpack_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, hand_in: HandIn) -> bytes:
    """One member's bytes, stopping at what is left of the MAX_BYTES budget."""
    if info.flag_bits & 0x1:
        raise SubmissionError(
            f"{printable(hand_in.where)}: the archive is encrypted; hand it in without a password"
        )
    budget, chunks = MAX_BYTES - hand_in.size, []
    with untrusted(f"{printable(hand_in.where)}: {info.filename!r} cannot be unpacked"):
        with zf.open(info) as src:
            while chunk := src.read(1 << 16):
                budget -= len(chunk)
                if budget < 0:
                    raise SubmissionError(
                        f"{printable(hand_in.where)}: its Python files hold more than "
                        f"{MAX_BYTES >> 20} MiB once unpacked; hand in only your code"
                    )
                chunks.append(chunk)
    return b"".join(chunks)


def read_python(path: Path, where: str) -> HandIn:
    """The Python files of the zip at `path` (`where`: its name for the student), with a
    single top-level folder (what zipping a folder gives) stripped."""
    hand_in = HandIn(where)
    fd = open_file(path, where)
    with os.fdopen(fd, "rb") as fh:
        if os.fstat(fd).st_size > MAX_ARCHIVE_BYTES:
            raise SubmissionError(
                f"{printable(where)}: larger than {MAX_ARCHIVE_BYTES >> 20} MiB; "
                "hand in only your code"
            )
        with untrusted(f"{printable(where)}: not a readable .zip archive"):
            with zipfile.ZipFile(fh) as zf:
                members = _python_members(zf, hand_in)
                strip = _common_top([parts for parts, _ in members]) if members else 0
                for parts, info in members:
                    hand_in.add("/".join(parts[strip:]), _unpack_member(zf, info, hand_in))
    return hand_in
