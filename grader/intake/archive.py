"""Safe extraction of a student's .zip archive: only its Python files, within caps.

Nothing is trusted: member names that are absolute or climb out with `..` make the
archive unreadable; symbolic links and non-Python files are left out; the number of
members and the bytes actually decompressed are capped (a zip bomb stops at the cap,
whatever its headers claim).
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.intake.files import MAX_BYTES, MAX_FILES, skipped_dir

MAX_MEMBERS = 5000  # entries of any kind in the archive


def _safe_parts(name: str, archive: str) -> tuple[str, ...]:
    """The path components of a member name, or an error for one that escapes the folder."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\0" in name:
        raise SubmissionError(
            f"{archive}: the archive holds an unsafe path {name!r}; "
            "zip your folder again with an ordinary zip tool"
        )
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        raise SubmissionError(
            f"{archive}: the archive holds an unsafe path {name!r}; "
            "zip your folder again with an ordinary zip tool"
        )
    return parts


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _common_top(names: list[tuple[str, ...]]) -> int:
    """1 when every member lies in one top-level folder (a zipped folder), else 0."""
    tops = {parts[0] for parts in names}
    return int(len(tops) == 1 and all(len(parts) > 1 for parts in names))


def extract_python(path: Path, dest: Path) -> list[str]:
    """Extract the Python files of the zip at `path` into the empty folder `dest`.

    A single top-level folder (what zipping a folder gives) is stripped. Returns notes
    on what was left out.
    """
    archive = path.name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{archive}: not a readable .zip archive ({exc})") from None
    notes: list[str] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SubmissionError(
                f"{archive}: more than {MAX_MEMBERS} entries in the archive; hand in only your code"
            )
        members = []
        symlinks = 0
        for info in infos:
            parts = _safe_parts(info.filename, archive)
            if info.is_dir() or not parts:
                continue
            if _is_symlink(info):
                symlinks += 1
                continue
            if any(skipped_dir(p) for p in parts[:-1]):
                continue
            if parts[-1].endswith(".py"):
                members.append((parts, info))
        if symlinks:
            notes.append(f"{archive}: left out {symlinks} symbolic link(s)")
        if len(members) > MAX_FILES:
            raise SubmissionError(
                f"{archive}: more than {MAX_FILES} Python files; hand in only your code"
            )
        strip = _common_top([parts for parts, _ in members]) if members else 0
        budget = MAX_BYTES
        for parts, info in members:
            if info.flag_bits & 0x1:
                raise SubmissionError(
                    f"{archive}: the archive is encrypted; hand it in without a password"
                )
            target = dest.joinpath(*parts[strip:])
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src:
                    fd = os.open(
                        target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644
                    )
                    with os.fdopen(fd, "wb") as out:
                        while chunk := src.read(1 << 16):
                            budget -= len(chunk)
                            if budget < 0:
                                raise SubmissionError(
                                    f"{archive}: its Python files hold more than "
                                    f"{MAX_BYTES >> 20} MiB once unpacked; hand in only your code"
                                )
                            out.write(chunk)
            except (FileExistsError, NotADirectoryError):
                raise SubmissionError(
                    f"{archive}: the archive holds {'/'.join(parts)} twice, "
                    "or as both a file and a folder"
                ) from None
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                NotImplementedError,
                OSError,
                EOFError,
            ) as exc:
                raise SubmissionError(
                    f"{archive}: {'/'.join(parts)} cannot be unpacked ({exc})"
                ) from None
    return notes
