"""How a hand-in is read, and which of its files count: the rules every intake path follows.

Nothing a student controls is trusted to be what its name says. Every file and folder is
opened with O_NOFOLLOW | O_NONBLOCK (a folder's contents relative to the folder's own
descriptor) and checked with fstat before it is read, so a symbolic link is never followed
and a FIFO or device never opened. `read_folder` is the one walk of a hand-in folder: it
gives a `HandIn`, the Python files' bytes by relative path within the caps, and a note for
each symbolic link, FIFO, device or socket it refused ("bob/hw is a symbolic link: not
graded"). The batch's content hash and the worker's copy are both made from a `HandIn`, so
the hash covers exactly what is graded.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import re
import stat
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import SubmissionError

if TYPE_CHECKING:
    from grader.intake.notebook import CellMap

# folders that are never part of a hand-in (plus every folder whose name starts with ".")
SKIP_DIRS = frozenset(
    {
        "__MACOSX",
        "__pycache__",
        ".git",
        ".ipynb_checkpoints",
        ".venv",
        "venv",
        "node_modules",
        "checks",
    }
)
MAX_FILES = 200  # Python files in one hand-in
MAX_BYTES = 20 << 20  # bytes of a hand-in's Python files (or of a notebook), in total
MAX_ARCHIVE_BYTES = 100 << 20  # a .zip hand-in as handed in
MAX_ENTRIES = 100_000  # files and folders looked at in one hand-in
MAX_FOLDER_DEPTH = 32  # folders inside folders
MAX_NOTES = 20  # refusals listed one by one in a student's notes; the rest are counted
NOFOLLOW_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
NOFOLLOW_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def skipped_dir(name: str) -> bool:
    """Whether a folder of this name is left out of a hand-in."""
    return name in SKIP_DIRS or name.startswith(".")


def text_name(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 become backslash escapes."""
    try:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name decodes to
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def printable(name: str) -> str:
    """A file name for a message: also its control and invisible characters escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text_name(name))


def kind_of(mode: int) -> str:
    """What a file of this mode is, for a note on why it is not graded."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def refusal(where: str, mode: int) -> str:
    """The note for something at `where` that is not graded because of what it is."""
    return f"{printable(where)} is {kind_of(mode)}: not graded"


def _cannot_open(where: str, exc: OSError) -> SubmissionError:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
        return SubmissionError(refusal(where, stat.S_IFLNK))
    if exc.errno == errno.ENOENT:
        return SubmissionError(f"{printable(where)}: no such file or folder")
    return SubmissionError(f"{printable(where)}: cannot be read ({exc.strerror})")


def open_file(path: str | Path, where: str, *, dir_fd: int | None = None) -> int:
    """A descriptor of the regular file `path` (relative to `dir_fd`), never through a link."""
    try:
        fd = os.open(path, NOFOLLOW_READ, dir_fd=dir_fd)
    except OSError as exc:
        raise _cannot_open(where, exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise SubmissionError(refusal(where, mode))
    return fd


def open_folder(path: str | Path, where: str, *, dir_fd: int | None = None) -> int:
    """A descriptor of the folder `path` (relative to `dir_fd`), never through a link."""
    try:
        return os.open(path, NOFOLLOW_READ | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno != errno.ENOTDIR:  # Linux says ENOTDIR for a link, too
            raise _cannot_open(where, exc) from None
    try:
        mode = os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError as exc:
        raise _cannot_open(where, exc) from None
    if stat.S_ISREG(mode):
        raise SubmissionError(f"{printable(where)}: a file, not a folder")
    raise SubmissionError(refusal(where, mode))


def read_chunks(fd: int, where: str, *, limit: int, advice: str) -> Iterator[bytes]:
    """The bytes of the open file `fd` in chunks (closing it), refusing more than `limit`."""
    total = 0
    with os.fdopen(fd, "rb") as fh:
        while True:
            try:
                chunk = fh.read(1 << 20)
            except OSError as exc:
                raise SubmissionError(
                    f"{printable(where)}: cannot be read ({exc.strerror})"
                ) from None
            if not chunk:
                return
            total += len(chunk)
            if total > limit:
                raise SubmissionError(
                    f"{printable(where)}: larger than {limit >> 20} MiB; {advice}"
                )
            yield chunk


def read_file(
    path: str | Path,
    where: str,
    *,
    limit: int = MAX_BYTES,
    advice: str = "hand in only your code",
    dir_fd: int | None = None,
) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (else SubmissionError)."""
    fd = open_file(path, where, dir_fd=dir_fd)
    return b"".join(read_chunks(fd, where, limit=limit, advice=advice))


@contextmanager
def untrusted(problem: str) -> Iterator[None]:
    """Parse a student's bytes: whatever the parser raises becomes a SubmissionError saying
    `problem` and why (a parser fed hostile input can fail in nearly any way)."""
    try:
        yield
    except SubmissionError:
        raise
    except RecursionError:
        raise SubmissionError(f"{problem}: nested too deeply for the grader to read") from None
    except MemoryError:
        raise SubmissionError(f"{problem}: too large for the grader to read") from None
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise SubmissionError(f"{problem} ({type(exc).__name__}: {exc})") from None


@dataclass
class HandIn:
    """What is graded of one hand-in: its Python files by relative path, and notes on it."""

    where: str  # how the student knows it: "bob", "bob/hw1", "bob.zip"
    files: dict[str, bytes] = field(default_factory=dict)  # "pkg/util.py" -> its bytes
    refused: list[str] = field(default_factory=list)  # a note per link or special file
    extra: list[str] = field(default_factory=list)  # other notes (e.g. notebook lines dropped)
    cells: CellMap | None = None  # for a notebook: where each line of its module came from

    @property
    def size(self) -> int:
        return sum(map(len, self.files.values()))

    @property
    def notes(self) -> list[str]:
        """For the student's feedback: the refusals (the first MAX_NOTES of them), the rest."""
        shown = self.refused[:MAX_NOTES]
        if len(self.refused) > MAX_NOTES:
            more = len(self.refused) - MAX_NOTES
            shown.append(
                f"{printable(self.where)}: {more} more symbolic links or special files: not graded"
            )
        return shown + self.extra

    def add(self, rel: str, data: bytes) -> None:
        """Take the Python file `rel`, within the caps."""
        if rel in self.files:
            raise SubmissionError(
                f"{printable(self.where)}: holds {printable(rel)} twice; keep only one"
            )
        self.files[rel] = data
        if len(self.files) > MAX_FILES or self.size > MAX_BYTES:
            raise SubmissionError(
                f"{printable(self.where)}: more than {MAX_FILES} Python files or "
                f"{MAX_BYTES >> 20} MiB of them; hand in only your code"
            )

    def refuse(self, rel: str, mode: int) -> None:
        """Leave out `rel`, which is a link or special file, with a note."""
        self.refused.append(refusal(f"{self.where}/{rel}", mode))

    def update(self, digest: Any) -> None:
        """Feed everything that is graded, and the notes, to the hash `digest`."""
        digest.update(self.where.encode("utf-8", "surrogateescape") + b"\0")
        for rel, data in sorted(self.files.items()):
            digest.update(os.fsencode(rel) + b"\0" + len(data).to_bytes(8, "big") + data)
        for note in self.notes:
            digest.update(b"\0note\0" + note.encode("utf-8", "surrogateescape"))

    def write(self, dest: Path) -> list[Path]:
        """Write the files into the fresh, empty folder `dest`; returns their paths."""
        paths = []
        for rel, data in sorted(self.files.items()):
            target = dest / rel
            if rel.endswith(".py"):
                try:
                    data = as_utf8(data)
                except SubmissionError as exc:
                    raise SubmissionError(
                        f"{printable(self.where)}: {printable(rel)}: {exc}"
                    ) from None
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with os.fdopen(os.open(target, NOFOLLOW_CREATE, 0o644), "wb") as out:
                    out.write(data)
            except (FileExistsError, NotADirectoryError):
                raise SubmissionError(
                    f"{printable(self.where)}: holds {printable(rel)} twice, "
                    "or as both a file and a folder"
                ) from None
            except OSError as exc:
                raise SubmissionError(
                    f"{printable(self.where)}: {printable(rel)} cannot be unpacked "
                    f"({exc.strerror}); rename it"
                ) from None
            paths.append(target)
        return paths


CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")  # PEP 263, lines 1-2
CODING_REMOVED = b"# (coding line removed: the grader reads this file as UTF-8)"
NOT_UTF8 = (
    "a Python file declares its encoding in a way the grader cannot read the same way; save it "
    "as plain UTF-8 without a coding line"
)


def as_utf8(source: bytes) -> bytes:
    """A Python file as UTF-8, decoded as Python would decode it (PEP 263 coding line, BOM),
    its coding line replaced by a comment of the same line: the judge's scan and the worker's
    import then read the same text, whatever encoding the student declared. A file Python
    could not compile is left as it is (its import fails); SubmissionError for one Python
    compiles but this cannot convert, or one that would still declare an encoding."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        try:
            compile(source, "<hand-in>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return source
        raise SubmissionError(NOT_UTF8) from None
    # physical lines as Python's tokenizer reads them: ended by b"\n" only (not by the form
    # feeds, separators and other breaks str.splitlines() also splits at)
    lines = text.removeprefix("\ufeff").encode("utf-8", "surrogatepass").split(b"\n")
    for i in range(min(2, len(lines))):
        if CODING.match(lines[i]):
            lines[i] = CODING_REMOVED + (b"\r" if lines[i].endswith(b"\r") else b"")
    result = b"\n".join(lines)
    try:
        again, _ = tokenize.detect_encoding(io.BytesIO(result).readline)
    except SyntaxError:
        again = ""
    if again != "utf-8":
        raise SubmissionError(NOT_UTF8)
    return result


def list_folder(fd: int, where: str) -> list[tuple[str, int]]:
    """(name, mode) of what the open folder `fd` holds, sorted, links not followed."""
    found = []
    try:
        with os.scandir(fd) as items:
            for item in items:
                found.append((item.name, item.stat(follow_symlinks=False).st_mode))
                if len(found) > MAX_ENTRIES:
                    raise SubmissionError(
                        f"{printable(where)}: more than {MAX_ENTRIES} files and folders; "
                        "hand in only your code"
                    )
    except OSError as exc:
        raise SubmissionError(f"{printable(where)}: cannot be read ({exc.strerror})") from None
    return sorted(found)


def _read_level(fd: int, prefix: str, hand_in: HandIn, depth: int) -> list[str]:
    """Take the Python files of one folder of the walk; returns its subfolders to walk."""
    folders = []
    for name, mode in list_folder(fd, f"{hand_in.where}/{prefix}".rstrip("/")):
        rel, where = prefix + name, f"{hand_in.where}/{prefix}{name}"
        if stat.S_ISDIR(mode):
            if skipped_dir(name):
                continue
            if depth >= MAX_FOLDER_DEPTH:
                hand_in.extra.append(
                    f"{printable(where)}: more than {MAX_FOLDER_DEPTH} folders deep: not graded"
                )
            else:
                folders.append(name)
        elif stat.S_ISREG(mode):
            if name.endswith(".py"):
                hand_in.add(rel, read_file(name, where, dir_fd=fd))
        elif not skipped_dir(name):
            hand_in.refuse(rel, mode)
    return folders


def _enter(stack: list[tuple[int, str, Iterator[str]]], fd: int, rel: str, hand_in: HandIn) -> None:
    stack.append((fd, rel, iter(())))  # the stack owns `fd` from here: closed whatever happens
    stack[-1] = (fd, rel, iter(_read_level(fd, rel, hand_in, len(stack))))


def read_folder(path: str | Path, where: str, *, dir_fd: int | None = None) -> HandIn:
    """The one walk of a hand-in folder: its Python files, outside skipped folders, within the
    caps; links and special files refused with a note. Iterative, one descriptor per level."""
    hand_in = HandIn(where)
    stack: list[tuple[int, str, Iterator[str]]] = []
    try:
        _enter(stack, open_folder(path, where, dir_fd=dir_fd), "", hand_in)
        while stack:
            parent, prefix, pending = stack[-1]
            name = next(pending, None)
            if name is None:
                os.close(stack.pop()[0])
                continue
            fd = open_folder(name, f"{where}/{prefix}{name}", dir_fd=parent)
            _enter(stack, fd, f"{prefix}{name}/", hand_in)
    finally:
        for fd, _, _ in stack:
            os.close(fd)
    return hand_in
