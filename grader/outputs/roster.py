"""The class list an instructor exports from their LMS, and which of our students each row is.

A roster is a CSV file with a header row: Canvas's gradebook export (Student, ID, SIS User ID,
SIS Login ID, Section, ...) or Moodle's (First name, Last name, ID number, ..., Email address)
as they come, or any CSV with such columns. It is read as UTF-8 (a byte-order mark, as Excel
writes one, is dropped), its cells separated by commas, semicolons or tabs: whichever splits the
header row into the most columns. Canvas's "Points Possible" and "Muted"/"Manual Posting" rows
are not students and are skipped.

Our student id (the entry's name in SUBMISSIONS) is matched against one column, the key
(`--roster-key`; default: the first of KEY_COLUMNS the roster has), trimmed and without regard
to case. Where the key is an e-mail address the id may also be its local part (`alice` for
`Alice@uni.edu`), as long as exactly one row has that local part and no row has it as its whole
key: hand-ins are often named by user name while the LMS logs students in by e-mail. Such a
match is listed in the export's report; an ambiguous one matches nothing and is listed too.
Two submissions that match one row match nothing: the report names both.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import ConfigError

# where our student ids are most likely found, in this order (Canvas's, then Moodle's names)
KEY_COLUMNS = (
    "SIS Login ID",
    "Login ID",
    "Username",
    "Email address",
    "Email",
    "ID number",
    "SIS User ID",
)
SEPARATORS = (",", ";", "\t")
NAME_COLUMNS = (("Student",), ("Name",), ("First name", "Last name"))
CANVAS_MARK_ROW = re.compile(r"\s*(muted|manual posting.*)?\s*", re.IGNORECASE)


class RosterError(ConfigError):
    """The roster file is missing, is not a CSV class list, or cannot tell students apart."""


def fold(text: str) -> str:
    """A key as it is compared: trimmed, without regard to case."""
    return text.strip().casefold()


@dataclass(frozen=True)
class RosterRow:
    """One student of the roster: its line in the file and its cells by column name."""

    line: int
    cells: dict[str, str]

    def get(self, column: str | None) -> str:
        return self.cells.get(column, "").strip() if column else ""


@dataclass(frozen=True)
class Roster:
    """A class list: its columns, its students in file order, and the column ids match."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[RosterRow, ...]
    key: str

    def column(self, *names: str) -> str | None:
        """The roster's own spelling of the first of `names` it has (any case), or None."""
        for name in names:
            for column in self.columns:
                if fold(column) == fold(name):
                    return column
        return None

    def name_of(self, row: RosterRow) -> str:
        """How a person recognises the row: the student's name and key value."""
        name = ""
        for columns in NAME_COLUMNS:
            found = [self.column(c) for c in columns]
            if all(found):
                name = " ".join(row.get(c) for c in found).strip()
                break
        key = row.get(self.key) or f"no {self.key}, line {row.line}"
        return f"{name} ({key})" if name else key


def _separator(text: str) -> str:
    """The separator that splits the header row into the most columns (at least two)."""
    first = text.splitlines()[0] if text.strip() else ""
    counts = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] >= 2 else ""


def _is_student(cells: list[str]) -> bool:
    """False for blank rows and Canvas's rows about the assignments, not about a student."""
    if not any(c.strip() for c in cells) or "Points Possible" in cells[0]:
        return False
    return not all(CANVAS_MARK_ROW.fullmatch(c) for c in cells)


def _by_column(columns: tuple[str, ...], cells: list[str]) -> dict[str, str]:
    """A row's cells by column name (the first of two columns of one name wins)."""
    found: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        found.setdefault(column, cell)
    return found


def load_roster(path: Path, key: str | None = None) -> Roster:
    """Read and check the roster at `path`; `key` names the column ids are matched against."""
    if path.is_dir():
        raise RosterError(f"{path}: a folder, not a roster file (CSV)")
    if not path.is_file():
        raise RosterError(
            f"{path}: no such roster file; export the class list (e.g. the LMS's gradebook) as CSV"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"{path}: cannot read the roster ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\0"
    sep = "" if "\0" in text else _separator(text)
    if not sep:
        raise RosterError(
            f"{path}: not a CSV roster (UTF-8 text with a header row of columns); "
            "export the class list from the LMS as CSV"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    try:
        columns = tuple(c.strip() for c in next(reader))
        table = [(reader.line_num, cells) for cells in reader]
    except csv.Error as exc:
        raise RosterError(f"{path}: line {reader.line_num} is not valid CSV ({exc})") from None
    found = Roster(path, columns, (), "")
    column = found.column(key) if key else found.column(*KEY_COLUMNS)
    if column is None:
        has = ", ".join(repr(c) for c in columns if c)
        if key:
            raise RosterError(f"{path}: no column {key!r} (--roster-key); its columns are {has}")
        raise RosterError(
            f"{path}: no column to match student ids against (none of "
            f"{', '.join(KEY_COLUMNS)}); name one of its columns ({has}) with --roster-key"
        )
    rows = tuple(
        RosterRow(line, _by_column(columns, cells)) for line, cells in table if _is_student(cells)
    )
    if not rows:
        raise RosterError(f"{path}: no students in the roster, only its header row")
    lines: dict[str, int] = {}
    for row in rows:
        value = fold(row.get(column))
        if value in lines:
            raise RosterError(
                f"{path}: {row.get(column)!r} is in column {column!r} twice (lines "
                f"{lines[value]} and {row.line}); each student must be on one row"
            )
        if value:
            lines[value] = row.line
    return Roster(path, columns, rows, column)


@dataclass
class RosterMatch:
    """Which roster row each student id is, and what matched nothing."""

    rows: dict[str, RosterRow] = field(default_factory=dict)  # by student id
    by_local_part: list[str] = field(default_factory=list)  # ids matched by an e-mail's local part
    unmatched: dict[str, str] = field(default_factory=dict)  # id -> why ("" when simply absent)
    without: list[RosterRow] = field(default_factory=list)  # rows no submission matched


def match_roster(roster: Roster, ids: list[str]) -> RosterMatch:
    """Match every id to at most one row and every row to at most one id (see the module)."""
    whole = {fold(r.get(roster.key)): r for r in roster.rows if r.get(roster.key)}
    local: dict[str, list[RosterRow]] = {}
    for value, row in whole.items():
        if "@" in value:
            local.setdefault(value.rsplit("@", 1)[0], []).append(row)
    found = RosterMatch()
    claims: dict[int, list[str]] = {}  # row line -> the ids that match it
    for sid in ids:
        value = fold(sid)
        if value in whole:
            row = whole[value]
        elif len(local.get(value, [])) == 1:
            row = local[value][0]
            found.by_local_part.append(sid)
        else:
            many = local.get(value, [])
            found.unmatched[sid] = (
                "matches "
                + " and ".join(r.get(roster.key) for r in many)
                + " by the e-mail's local part: name it by the whole address"
                if many
                else ""
            )
            continue
        found.rows[sid] = row
        claims.setdefault(row.line, []).append(sid)
    for sids in claims.values():
        if len(sids) > 1:
            for sid in sids:
                row = found.rows.pop(sid)
                found.unmatched[sid] = (
                    f"{' and '.join(sids)} all match {row.get(roster.key)}: keep one of them"
                )
    found.by_local_part = [sid for sid in found.by_local_part if sid in found.rows]
    found.without = [r for r in roster.rows if r.line not in claims]
    return found
