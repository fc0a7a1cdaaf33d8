"""`grader grade --lms canvas|moodle --roster R.csv`: the gradebook in the CSV shape each LMS
imports, built from the batch's records. Every student the CSV leaves out (not in the roster,
no submission, grading failed) is listed on the terminal and in the report file; a wrong
roster is a one-line usage error before anything is graded."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import COURSE, run_cli
from test_batch import REFERENCE, STUB, TIMEOUT, bug, make_course, open_to_all

from grader.batch.records import Record
from grader.errors import ConfigError
from grader.outputs.lms import CANVAS_COLUMNS, build_export, lms_export
from grader.outputs.roster import RosterError
from grader.outputs.schema import CheckResult, GradeResult

CANVAS_HEADER = "Student,ID,SIS User ID,SIS Login ID,Section,Current Score"
# Canvas's gradebook export as it comes: a byte-order mark, the Points Possible row, the test
# student (no SIS ids), an assignment column of its own
CANVAS_ROSTER = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (501),Current Score\n"
    "    Points Possible,,,,,10,(read only)\n"
    '"Doe, Alice",101,S001,alice@uni.edu,Section A,9,90\n'
    '"Roe, Bob",102,S002,bob@uni.edu,Section A,7,70\n'
    '"Poe, Carol",103,S003,carol@uni.edu,Section B,8,80\n'
    '"Zoe, Dan",104,S004,dan@uni.edu,Section B,6,60\n'
    '"Student, Test",999,,,Section A,,\n'
)
MOODLE_ROSTER = (
    "First name;Last name;ID number;Institution;Department;Email address\n"
    "Alice;Doe;;Uni;CS;alice@uni.edu\n"
    "Bob;Roe;;Uni;CS;bob@uni.edu\n"
    "Carol;Poe;;Uni;CS;carol@uni.edu\n"
    "Dan;Zoe;;Uni;CS;\n"
)


def record(sid: str, points: tuple[float, ...], status: str = "graded", error: str = "") -> Record:
    checks = [
        CheckResult(f"test_{i}", f"check {i}", "public", "passed" if p else "failed", p, 5.0)
        for i, p in enumerate(points)
    ]
    result = GradeResult(assignment="hw1", title="T", submission=sid, seed=1, checks=checks)
    return Record(sid, f"{sid}.py", "py", "h", "c", status, result, error=error)


def export(tmp_path: Path, lms: str, text: str, **options):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    settings = {"roster_key": None, "column": None, "lms_id": None, **options}
    return lms_export(lms, roster=path, assignment="hw1", **settings)


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def section(outcome, words: str) -> list[str]:
    (found,) = [who for title, who in outcome.sections if words in title]
    return found


CLASS = [record("alice", (5, 5)), record("bob", (5, 2.5)), record("zed", (0, 5))]


def test_canvas_csv_is_the_import_header_points_possible_and_roster_rows(tmp_path):
    outcome = build_export(export(tmp_path, "canvas", CANVAS_ROSTER, column="HW 1 (777)"), CLASS)
    assert rows_of(outcome.csv) == [
        [*CANVAS_COLUMNS, "HW 1 (777)"],
        ["Points Possible", "", "", "", "", "10"],
        ["Doe, Alice", "101", "S001", "alice@uni.edu", "Section A", "10"],
        ["Roe, Bob", "102", "S002", "bob@uni.edu", "Section A", "7.5"],
    ]
    assert outcome.csv.startswith("Student,") and "\r" not in outcome.csv  # UTF-8, no BOM
    assert outcome.students == 2


def test_unmatched_students_are_listed_both_ways_and_never_written(tmp_path):
    outcome = build_export(export(tmp_path, "canvas", CANVAS_ROSTER), CLASS)
    assert section(outcome, "not in the roster") == ["zed"]
    assert section(outcome, "without a submission") == [
        "Poe, Carol (carol@uni.edu)",
        "Zoe, Dan (dan@uni.edu)",
        "Student, Test (no SIS Login ID, line 7)",
    ]
    assert section(outcome, "local part") == ["alice -> alice@uni.edu", "bob -> bob@uni.edu"]
    assert "zed" not in outcome.csv and "Carol" not in outcome.csv
    report = outcome.report()
    assert "not in the roster's 'SIS Login ID' column, not exported: 1\n  zed\n" in report
    assert "  Zoe, Dan (dan@uni.edu)\n" in report


def test_a_roster_matching_no_submission_says_to_check_the_key_column(tmp_path):
    outcome = build_export(export(tmp_path, "canvas", CANVAS_ROSTER, roster_key="ID"), CLASS)
    assert outcome.students == 0 and rows_of(outcome.csv)[2:] == []
    assert "are the ids in another column than 'ID'? Name it with --roster-key" in outcome.hint
    assert outcome.hint in outcome.report()


def test_a_failed_grading_is_listed_and_not_exported_as_zero(tmp_path):
    rows = [*CLASS, record("carol", (0, 0), "error", "the grader failed on this submission")]
    outcome = build_export(export(tmp_path, "canvas", CANVAS_ROSTER), rows)
    assert [r[0] for r in rows_of(outcome.csv)[2:]] == ["Doe, Alice", "Roe, Bob"]
    assert section(outcome, "grading failed") == ["carol: the grader failed on this submission"]
    assert "Poe, Carol" not in "".join(section(outcome, "without a submission"))


def test_a_crashed_submission_is_exported_with_the_points_it_earned(tmp_path):
    rows = [record("alice", (0, 0), "crashed", "sys.exit(0)")]
    outcome = build_export(export(tmp_path, "canvas", CANVAS_ROSTER), rows)
    assert rows_of(outcome.csv)[2] == [
        "Doe, Alice",
        "101",
        "S001",
        "alice@uni.edu",
        "Section A",
        "0",
    ]


def test_the_local_part_of_an_email_matches_only_when_it_is_unambiguous(tmp_path):
    roster = CANVAS_ROSTER.replace("carol@uni.edu", "alice@other.edu")
    outcome = build_export(
        export(tmp_path, "canvas", roster), [*CLASS, record("BOB@UNI.EDU ", (1,))]
    )
    (why,) = [w for w in section(outcome, "not in the roster") if w.startswith("alice")]
    assert "alice@uni.edu and alice@other.edu" in why
    bobs = [w for w in section(outcome, "not in the roster") if "keep one" in w]
    assert len(bobs) == 2  # "bob" and "BOB@UNI.EDU " both match bob@uni.edu: neither is exported
    assert rows_of(outcome.csv)[2:] == []


def test_text_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    roster = CANVAS_ROSTER.replace('"Doe, Alice"', '"=HYPERLINK(""x"")"').replace(
        "Section A,9", "+Section,9", 1
    )
    outcome = build_export(export(tmp_path, "canvas", roster, column="@hw1"), CLASS)
    rows = rows_of(outcome.csv)
    assert rows[0][-1] == "'@hw1" and rows[2][:5] == [
        '\'=HYPERLINK("x")',
        "101",
        "S001",
        "alice@uni.edu",
        "'+Section",
    ]


def test_the_same_records_give_the_same_bytes(tmp_path):
    first = build_export(export(tmp_path, "canvas", CANVAS_ROSTER), CLASS)
    again = build_export(export(tmp_path, "canvas", CANVAS_ROSTER), list(reversed(CLASS)))
    assert (first.csv, first.report()) == (again.csv, again.report())


def test_moodle_csv_is_the_identifier_then_the_grade(tmp_path):
    found = export(tmp_path, "moodle", MOODLE_ROSTER, column="Assignment 1")
    assert (found.roster.key, found.identifier) == ("Email address", "Email address")
    outcome = build_export(found, [*CLASS, record("carol", (1.25, 0))])
    assert rows_of(outcome.csv) == [
        ["Email address", "Assignment 1"],
        ["alice@uni.edu", "10"],
        ["bob@uni.edu", "7.5"],
        ["carol@uni.edu", "1.25"],
    ]
    assert section(outcome, "without a submission") == ["Dan Zoe (no Email address, line 5)"]
    assert "identify users by 'Email address'" in outcome.report()


def test_moodle_leaves_out_a_matched_student_without_an_identifier(tmp_path):
    found = export(tmp_path, "moodle", MOODLE_ROSTER, roster_key="First name", lms_id="ID number")
    outcome = build_export(found, [record("Alice", (5,)), record("dan", (5,))])
    assert rows_of(outcome.csv) == [["ID number", "hw1"]]
    assert section(outcome, "without ID number") == [
        "Alice Doe (Alice)",
        "Dan Zoe (Dan)",
    ]


@pytest.mark.parametrize(
    "lms, text, options, words",
    [
        ("canvas", None, {}, "no such roster file"),
        ("canvas", "folder", {}, "a folder, not a roster file"),
        ("canvas", b"\x89PNG\r\n\x1a\n\0\0", {}, "not a CSV roster"),
        ("canvas", "just one column\nalice\n", {}, "not a CSV roster"),
        ("canvas", "Student,ID,Section\nA,1,S\n", {}, "no column to match student ids against"),
        ("canvas", CANVAS_ROSTER, {"roster_key": "Login"}, "no column 'Login' (--roster-key)"),
        (
            "canvas",
            CANVAS_ROSTER.replace("bob@uni.edu", "Alice@UNI.edu"),
            {},
            "'Alice@UNI.edu' is in column 'SIS Login ID' twice (lines 3 and 4)",
        ),
        ("canvas", CANVAS_HEADER + "\n", {}, "no students in the roster"),
        ("canvas", "Username,Grade\nalice,1\n", {}, "no ID, SIS User ID or SIS Login ID"),
        ("canvas", CANVAS_ROSTER, {"lms_id": "ID"}, "--lms-id goes with --lms moodle"),
        ("moodle", "Username,Grade\nalice,1\n", {"lms_id": "Mail"}, "no column 'Mail' (--lms-id)"),
        ("moodle", "SIS Login ID,X\nalice,1\n", {}, "none of the columns Email address"),
        ("canvas", CANVAS_ROSTER, {"column": " "}, "--lms-column is empty"),
    ],
)
def test_a_wrong_roster_is_a_usage_error_naming_the_problem(tmp_path, lms, text, options, words):
    path = tmp_path / "roster.csv"
    if text == "folder":
        path.mkdir()
    elif text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    settings = {"roster_key": None, "column": None, "lms_id": None, **options}
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        lms_export(lms, roster=path, assignment="hw1", **settings)


def test_lms_options_go_together(tmp_path):
    with pytest.raises(ConfigError, match="--lms canvas needs --roster"):
        lms_export("canvas", roster=None, roster_key=None, column=None, lms_id=None, assignment="a")
    with pytest.raises(ConfigError, match="--roster goes with --lms"):
        lms_export(None, roster=tmp_path, roster_key=None, column=None, lms_id=None, assignment="a")
    assert (
        lms_export(None, roster=None, roster_key=None, column=None, lms_id=None, assignment="a")
        is None
    )
    assert issubclass(RosterError, ConfigError)


# --- the real CLI on a small class of hw1 submissions ---------------------------------------

CLASS_ROSTER = CANVAS_ROSTER.replace("carol@uni.edu", "carol")  # a login that is not an e-mail


@pytest.fixture(scope="module")
def small_class():
    root = Path(tempfile.mkdtemp(prefix=".grader-lms-", dir=COURSE.parent))
    try:
        course = make_course(root)
        subs, out = root / "submissions", root / "out"
        subs.mkdir()
        (subs / "alice.py").write_text(REFERENCE)
        (subs / "bob.py").write_text(STUB)
        (subs / "carol.py").write_text(bug(".mean(dim=1)", ".sum(dim=1)"))
        (subs / "zed.py").write_text(REFERENCE)  # not in the roster
        (root / "canvas.csv").write_text(CLASS_ROSTER)
        (root / "moodle.csv").write_text(MOODLE_ROSTER)
        (out / "results").mkdir(parents=True)
        open_to_all(out)
        yield root, course, subs, out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def grade(root: Path, course: Path, subs: Path, out: Path, *extra: str):
    return run_cli(
        "grade", "hw1", str(subs), "--out", str(out), "-j", "2", "--timeout", TIMEOUT,
        "--course", str(course), *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def canvas_run(small_class):
    root, course, subs, out = small_class
    proc = grade(root, course, subs, out, "--lms", "canvas", "--roster", str(root / "canvas.csv"))
    open_to_all(out, False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_cli_writes_an_import_ready_canvas_csv_with_the_points_of_grades_csv(
    small_class, canvas_run
):
    root, course, subs, out = small_class
    totals = {
        r["id"]: r["total"] for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))
    }
    assert totals["alice"] == "27" and totals["bob"] == "0" and float(totals["carol"]) < 27
    data = (out / "canvas.csv").read_bytes()
    assert data.startswith(b"Student,ID,SIS User ID,SIS Login ID,Section,hw1\n")
    rows = rows_of(data.decode("utf-8"))
    assert rows[1] == ["Points Possible", "", "", "", "", "27"]
    assert {r[3]: r[5] for r in rows[2:]} == {
        "alice@uni.edu": totals["alice"],
        "bob@uni.edu": totals["bob"],
        "carol": totals["carol"],
    }


@pytest.mark.slow
def test_cli_lists_the_unmatched_students_on_screen_and_in_the_report(small_class, canvas_run):
    root, course, subs, out = small_class
    report = (out / "canvas-report.txt").read_text()
    for words in ("not exported: 1\n  zed\n", "  Zoe, Dan (dan@uni.edu)\n", "  Student, Test"):
        assert words in report
    screen = " ".join(canvas_run.stdout.split())
    assert "canvas.csv: 3 students" in screen and "zed" in screen and "Zoe, Dan" in screen
    assert str(out / "canvas-report.txt") in screen


@pytest.mark.slow
def test_cli_moodle_export_reuses_the_grades_and_is_stable(small_class, canvas_run):
    root, course, subs, out = small_class
    args = ("--lms", "moodle", "--roster", str(root / "moodle.csv"), "--lms-column", "HW 1")
    first = grade(root, course, subs, out, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "0 graded now, 4 kept" in " ".join(first.stdout.split())
    data = (out / "moodle.csv").read_bytes()
    assert rows_of(data.decode())[0] == ["Email address", "HW 1"]
    assert [r[0] for r in rows_of(data.decode())[1:]] == [
        "alice@uni.edu",
        "bob@uni.edu",
        "carol@uni.edu",
    ]
    again = grade(root, course, subs, out, *args)
    assert again.returncode == 0 and (out / "moodle.csv").read_bytes() == data


@pytest.mark.slow
def test_cli_roster_errors_exit_2_before_anything_is_graded(small_class, tmp_path):
    root, course, subs, out = small_class
    fresh = root / "never"
    dup = tmp_path / "dup.csv"
    dup.write_text(CLASS_ROSTER.replace("bob@uni.edu", "alice@uni.edu"))
    for extra, words in [
        (("--lms", "canvas"), "--lms canvas needs --roster"),
        (("--roster", str(dup)), "--roster goes with --lms"),
        (("--lms", "canvas", "--roster", str(tmp_path / "no.csv")), "no such roster file"),
        (("--lms", "canvas", "--roster", str(dup)), "is in column 'SIS Login ID' twice"),
    ]:
        proc = grade(root, course, subs, fresh, *extra)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.startswith("error: ") and words in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
        assert not fresh.exists()
