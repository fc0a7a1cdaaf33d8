"""The gradebook in the CSV shape an LMS imports, Canvas's or Moodle's (`grader grade --lms`).

Built from the same records as grades.csv: one row per roster student (`roster.py`) whose
submission was graded, in the roster's order, written as OUT/<lms>.csv next to grades.csv.
OUT/<lms>-report.txt lists whoever was left out and why; the terminal shows it in short.

The grade is the submission's total points, grades.csv's `total`, never a percentage: both
LMSs import points against the assignment's maximum, which should be this assignment's total.
No one gets a grade they did not earn. A roster student without a submission, and a
submission whose grading failed (status `error`, graded again on the next run), get no row,
neither an empty cell nor 0: a row that is not there is the one thing both LMSs leave alone.
Canvas compares an empty cell with the score it holds and may clear that score; Moodle takes
an empty cell (or "-") for "no grade" and overwrites a grade entered by hand. The report
lists them.

Canvas (its gradebook importer): the header must begin Student, ID, SIS User ID, SIS Login
ID, with Section the last column before the assignments. Canvas finds a student by ID (its own
user id), else SIS User ID, else SIS Login ID, else by name. These cells are copied from the
roster, which should be Canvas's own gradebook export; a student with none of the three is
listed, not written. The assignment's column (`--lms-column`, default the assignment id)
matches an existing assignment by a trailing "(12345)", as in Canvas's export, or by its
exact name. Any other name makes Canvas propose a new assignment. The second row is
"Points Possible", the assignment's total: it gives a new assignment its points, and for an
existing one it should equal what Canvas has (Canvas's preview shows any change before
anything is saved). The file is UTF-8 without a byte-order mark (Canvas's default export;
its importer reads both), with a point as the decimal separator.

Moodle (CSV grade import): the identifier column, then the grade. The identifier is a roster
column Moodle can map a user from: Email address, Username or ID number (`--lms-id`; default
the roster key when it is one of these, else the first of them the roster has). Moodle ends
the whole import at a row whose user it cannot find, and it reads a row with an empty
identifier as the previous row's user, so only roster students with an identifier are written.
A point as decimal separator is read in every Moodle language.

Every text cell goes through gradebook.as_text (no spreadsheet formulas): an identifier that
starts with = + - @ gets a leading ' and no longer matches in the LMS. No real login does.
The same records give the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.batch.records import Record, write_atomic
from grader.errors import ConfigError
from grader.intake.files import printable
from grader.outputs.gradebook import as_text, columns, write_csv_row
from grader.outputs.roster import Roster, RosterError, RosterRow, fold, load_roster, match_roster
from grader.outputs.schema import format_points

LMS_FORMATS = ("canvas", "moodle")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_FINDS_BY = ("ID", "SIS User ID", "SIS Login ID")  # before the name, in this order
ROSTER_SPELLINGS = {"SIS Login ID": ("SIS Login ID", "Login ID")}  # how rosters name a column
MOODLE_IDENTIFIERS = ("Email address", "Email", "Username", "ID number")
SHOWN = 8  # students listed per section on the terminal (the report file has all)
MATCHED_BY_LOCAL_PART = "matched by the local part of the e-mail in"


@dataclass(frozen=True)
class LmsExport:
    """What to export for which LMS, checked before any grading starts."""

    lms: str  # one of LMS_FORMATS
    roster: Roster
    column: str  # the assignment's column header
    identifier: str = ""  # Moodle: the roster column written as the identifier

    @property
    def csv_name(self) -> str:
        return f"{self.lms}.csv"

    @property
    def report_name(self) -> str:
        return f"{self.lms}-report.txt"

    def cells(self, row: RosterRow) -> list[str]:
        """The row's cells before the grade, from the roster."""
        if self.lms == "moodle":
            return [row.get(self.identifier)]
        return [row.get(self.roster.column(*ROSTER_SPELLINGS.get(c, (c,)))) for c in CANVAS_COLUMNS]

    def finds(self, row: RosterRow) -> bool:
        """Whether the LMS can find this student by a cell it reads (never by name alone)."""
        cells = self.cells(row)
        return bool(cells[0]) if self.lms == "moodle" else any(cells[1:4])

    def header(self) -> list[str]:
        return [*(CANVAS_COLUMNS if self.lms == "canvas" else (self.identifier,)), self.column]


def lms_export(
    lms: str | None,
    *,
    roster: Path | None,
    roster_key: str | None,
    column: str | None,
    lms_id: str | None,
    assignment: str,
) -> LmsExport | None:
    """The export the options ask for (None without --lms); ConfigError if they are wrong."""
    if lms is None:
        options = {"--roster": roster, "--roster-key": roster_key, "--lms-column": column}
        given = [name for name, value in {**options, "--lms-id": lms_id}.items() if value]
        if given:
            raise ConfigError(f"{given[0]} goes with --lms canvas or --lms moodle")
        return None
    if lms not in LMS_FORMATS:
        raise ConfigError(f"--lms {lms}: not one of {', '.join(LMS_FORMATS)}")
    if roster is None:
        raise ConfigError(
            f"--lms {lms} needs --roster ROSTER.csv: the class list exported from the LMS, "
            "to map our student ids to its students"
        )
    if column is not None and not column.strip():
        raise ConfigError("--lms-column is empty: give the assignment's column name in the LMS")
    if lms_id and lms != "moodle":
        raise ConfigError(
            "--lms-id goes with --lms moodle; Canvas finds students by the roster's "
            "ID, SIS User ID and SIS Login ID"
        )
    found = load_roster(roster, roster_key)
    name = (column or assignment).strip()
    if lms == "canvas":
        if found.column(*CANVAS_FINDS_BY, "Login ID") is None:
            raise RosterError(
                f"{roster}: no ID, SIS User ID or SIS Login ID column, by which Canvas finds "
                "a student; use Canvas's gradebook export (Grades, Export) as the roster"
            )
        return LmsExport("canvas", found, name)
    if lms_id:
        identifier = found.column(lms_id)
        if identifier is None:
            raise RosterError(f"{roster}: no column {lms_id!r} (--lms-id)")
    elif fold(found.key) in {fold(c) for c in MOODLE_IDENTIFIERS}:
        identifier = found.key
    else:
        identifier = found.column(*MOODLE_IDENTIFIERS)
        if identifier is None:
            raise RosterError(
                f"{roster}: none of the columns {', '.join(MOODLE_IDENTIFIERS)}, by which "
                "Moodle finds a user; name the one to use with --lms-id"
            )
    return LmsExport("moodle", found, name, identifier)


@dataclass
class LmsOutcome:
    """An export as built: the CSV, its number of students, who was left out and why."""

    export: LmsExport
    csv: str
    students: int
    max_score: float
    sections: list[tuple[str, list[str]]]  # (what happened to them, who), empty ones included
    hint: str = ""  # when nothing matched: what to check

    def summary(self) -> str:
        e = self.export
        return (
            f"{e.csv_name}: {self.students} students, column {e.column!r}, points out of "
            f"{format_points(self.max_score)} (roster {e.roster.path.name}, ids matched to "
            f"its column {e.roster.key!r})"
        )

    def how_to_import(self) -> str:
        e = self.export
        if e.lms == "canvas":
            return f"In Canvas: Grades, Import, {e.csv_name}; its preview shows every change first."
        return (
            f"In Moodle: Grades, Import, CSV file, {e.csv_name}; identify users by "
            f"{e.identifier!r}, and map {e.column!r} to the assignment's grade item."
        )

    def report(self) -> str:
        """The whole report, as OUT/<lms>-report.txt holds it."""
        lines = [self.summary(), *([self.hint] if self.hint else []), self.how_to_import()]
        for title, who in self.sections:
            lines += ["", f"{title}: {len(who)}", *(f"  {w}" for w in who)]
        return "\n".join(lines) + "\n"


def build_export(export: LmsExport, rows: list[Record]) -> LmsOutcome:
    """The LMS's CSV of `rows` (the batch's records) and the lists of who is not in it."""
    roster = export.roster
    records = {r.id: r for r in rows}
    matched = match_roster(roster, sorted(records))  # the same lists whatever the rows' order
    graded: dict[int, Record] = {}  # by roster line
    failed, unknown = [], []
    for sid, row in matched.rows.items():
        record = records[sid]
        if record.status == "error":
            failed.append(f"{printable(sid)}: {printable(record.error)}")
        elif not export.finds(row):
            unknown.append(printable(roster.name_of(row)))
        else:
            graded[row.line] = record
    max_score = sum(c[3] for c in columns(rows))
    buffer = io.StringIO()
    write_csv_row(buffer, [as_text(h) for h in export.header()])
    if export.lms == "canvas":
        write_csv_row(buffer, ["Points Possible", *[""] * 4, format_points(max_score)])
    for row in roster.rows:
        if row.line in graded:
            cells = [as_text(c) for c in export.cells(row)]
            write_csv_row(buffer, [*cells, format_points(graded[row.line].result.score)])
    finds_by = export.identifier if export.lms == "moodle" else ", ".join(CANVAS_FINDS_BY)
    not_in = [f"{printable(s)}: {w}" if w else printable(s) for s, w in matched.unmatched.items()]
    sections = [
        (f"submissions not in the roster's {roster.key!r} column, not exported", not_in),
        (
            "roster students without a submission, left out (the LMS keeps what it has)",
            [printable(roster.name_of(r)) for r in matched.without],
        ),
        ("grading failed, not exported (graded again when the command runs again)", failed),
        (f"roster students without {finds_by}, not exported", unknown),
        (
            f"{MATCHED_BY_LOCAL_PART} {roster.key!r}",
            [
                f"{printable(s)} -> {printable(matched.rows[s].get(roster.key))}"
                for s in matched.by_local_part
            ],
        ),
    ]
    hint = ""
    if rows and not matched.rows:
        hint = (
            f"No submission matched the roster: are the ids in another column than "
            f"{roster.key!r}? Name it with --roster-key."
        )
    return LmsOutcome(export, buffer.getvalue(), len(graded), max_score, sections, hint)


def write_export(export: LmsExport, out: Path, rows: list[Record]) -> LmsOutcome:
    """Write OUT/<lms>.csv and OUT/<lms>-report.txt from the records."""
    outcome = build_export(export, rows)
    write_atomic(out / export.csv_name, outcome.csv)
    write_atomic(out / export.report_name, outcome.report())
    return outcome


def print_export(outcome: LmsOutcome, out: Path, console: Console) -> None:
    """The export in short: its summary and the first few of each list."""
    console.print(escape(outcome.summary()))
    if outcome.hint:
        console.print(f"[bold red]{escape(outcome.hint)}[/]")
    for title, who in outcome.sections:
        if who and title.startswith(MATCHED_BY_LOCAL_PART):  # not a problem: a count will do
            console.print(f"{escape(title)}: {len(who)}")
        elif who:
            console.print(f"[yellow]{escape(title)}: {len(who)}[/]")
            for w in who[:SHOWN]:
                console.print(f"  {escape(w)}", highlight=False)
            if len(who) > SHOWN:
                console.print(f"  ... and {len(who) - SHOWN} more")
    console.print(
        f"{escape(outcome.how_to_import())} Report: {escape(str(out / outcome.export.report_name))}"
    )
