"""The `grader` command line: parses options and calls the engine (no grading logic here).

Exit status: 0 every check passed (or the --min-score was reached); 1 a check failed;
2 a usage or configuration error (unknown assignment, missing file, bad assignment.toml),
printed as one line.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from grader.errors import GraderError

# Run last at exit (atexit runs in reverse, and torch registers later), for an exit that goes
# through the interpreter's teardown (see `_exit`): its final garbage collections then skip
# every object that exists, which for torch's ~10^6 objects takes about 0.5 s.
atexit.register(gc.freeze)


def run() -> NoReturn:
    """The `grader` command: `main`, then an exit that skips the interpreter's teardown."""
    try:
        main()
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _exit(code: str | int | None) -> NoReturn:
    """Exit with `code` (as `sys.exit` takes it) once the atexit handlers have run and output
    is flushed, without freeing torch's objects one by one (~0.1 s); where a thread that is not
    a daemon still runs, the interpreter's own exit, which waits for it."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        sys.exit(code)
    if code is None or isinstance(code, int):
        status = code or 0
    else:
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(status & 0xFF)


course_option = click.option(
    "--course",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The course folder (holding assignments/). Default: $GRADER_COURSE, or the current "
    "folder or one above it.",
)


hidden_visibility_option = click.option(
    "--hidden-visibility",
    type=click.Choice(["hidden", "after_due_date", "after_published", "visible"]),
    default="after_published",
    show_default=True,
    help="Gradescope visibility of hidden-tier checks.",
)


def _course(course: Path | None) -> Path:
    from grader.course import find_course

    return find_course(course)


class MinScore(click.ParamType):
    """`20` (points) or `80%` (of the total) -> (value, is_percent)."""

    name = "POINTS|PERCENT%"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        try:
            number = float(text.removesuffix("%"))
        except ValueError:
            number = -1.0
        if not (number >= 0 and (not text.endswith("%") or number <= 100)):
            self.fail(
                f"{value!r} is not a number of points (e.g. 20) or a percentage (e.g. 80%)",
                param,
                ctx,
            )
        return number, text.endswith("%")


MIN_SCORE = MinScore()


class GraderGroup(click.Group):
    """Prints GraderError as one line on stderr and exits 2, never with a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=GraderGroup)
@click.version_option(package_name="grader")
def main() -> None:
    """Grade PyTorch exercises: student code runs sandboxed, never in the process that scores it.

    \b
    Examples:
      grader list                                   the assignments and their points
      grader check hw1                              grade your work on hw1
      grader check hw6 --task 2.1 --watch           one task, again on every save
      grader grade hw1 submissions/ --out grades    a whole class (instructors)
      grader validate --seeds 5                     is every assignment ready?
    """


@main.command("list")
@course_option
def list_cmd(course: Path | None) -> None:
    """List the assignments with their titles and total points.

    \b
    Examples:
      grader list
      grader list --course ~/dl-course
    """
    from grader.course import assignment_ids, load_assignment
    from grader.outputs.terminal import print_assignments

    root = _course(course)
    print_assignments([load_assignment(root, aid) for aid in assignment_ids(root)], Console())


@main.command("check")
@click.argument("assignment")
@click.option(
    "--submission",
    type=click.Path(path_type=Path),
    default=None,
    help="The file or folder to grade. Default: the assignment's own stub.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "gradescope"]),
    default="text",
    show_default=True,
    help="Report format: the terminal report, our versioned JSON, JUnit XML for CI, "
    "or a Gradescope results.json.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to this file (the terminal still shows the text report).",
)
@click.option(
    "--min-score",
    type=MIN_SCORE,
    default=None,
    help="Exit 0 when the score reaches this many points (20) or this share of the "
    "total (80%), instead of only when every check passed.",
)
@hidden_visibility_option
@click.option("--seed", type=int, default=None, help="Base seed (default: the assignment's).")
@click.option("-v", "--verbose", is_flag=True, help="Also show what the student's code printed.")
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, resolve_path=True, path_type=Path),
    default=None,
    help="Folder with MNIST / Fashion-MNIST IDX files (plain or .gz), "
    "for checks that load those datasets; the shipped assignments train on the bundled "
    "digits. Default: [assignment] data_dir in assignment.toml.",
)
@click.option(
    "--task",
    "tasks",
    multiple=True,
    metavar="N.M",
    help="Run only this task's checks (repeatable); the score is then partial.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Stay running: grade again each time the submission changes (Ctrl-C stops).",
)
@course_option
def check_cmd(
    assignment: str,
    submission: Path | None,
    fmt: str,
    output: Path | None,
    min_score: tuple[float, bool] | None,
    hidden_visibility: str,
    seed: int | None,
    verbose: bool,
    data_dir: Path | None,
    tasks: tuple[str, ...],
    watch: bool,
    course: Path | None,
) -> None:
    """Grade one submission of ASSIGNMENT and print the report.

    SUBMISSION is a .py file, a folder, or a Jupyter notebook (.ipynb). With
    GITHUB_ACTIONS=true it also annotates failed checks and appends a table to
    $GITHUB_STEP_SUMMARY.

    \b
    Examples:
      grader check hw1
      grader check hw1 --submission my_work/tensor_ops.py
      grader check hw6 --task 2.1 --watch
      grader check hw3 --submission linear_layer.ipynb
      grader check hw3 --format json --output result.json --seed 7
      grader check hw1 --format junit --output report.xml --min-score 80%
      grader check hw1 --format gradescope --output /autograder/results/results.json
      grader check hw4 --data-dir ~/data/fashion-mnist
    """
    from grader.course import load_assignment
    from grader.sandbox.client import Zygote

    root = _course(course)
    spec = load_assignment(root, assignment)
    if submission is not None and not submission.exists():
        raise GraderError(f"{submission}: no such file or folder")
    unknown = [t for t in tasks if t not in spec.contract.tasks]
    if unknown:
        raise GraderError(
            f"{spec.id} has no task {unknown[0]} (its tasks: {', '.join(spec.contract.tasks)})"
        )
    with Zygote() as zygote:  # starts importing torch now, while the judge does the same
        from grader.judge.answers import grade_cached
        from grader.outputs.deliver import deliver, exit_status

        def run() -> int:
            result = grade_cached(  # the reference's answers from the course's .grader-cache/
                spec,
                submission,
                course=root,
                zygote=zygote,
                seed=seed,
                data_dir=str(data_dir) if data_dir else None,
                tasks=tasks,
            )
            deliver(
                result,
                fmt=fmt,
                output=output,
                verbose=verbose,
                hidden_visibility=hidden_visibility,
                module_file=f"{spec.module}.py",
            )
            return exit_status(result, min_score)

        if not watch:
            sys.exit(run())
        from grader.judge.runner import with_checks
        from grader.judge.watch import watch as watch_loop

        console = Console()
        try:  # in one pytest session: each grade runs the checks it collected once
            with_checks(
                spec,
                lambda: watch_loop(
                    submission or spec.root, run, clear=console.clear, say=console.print
                ),
            )
        except KeyboardInterrupt:
            sys.exit(0)


@main.command()
@click.argument("assignments", nargs=-1, required=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder to write the student bundle to (new or empty).",
)
@click.option("--force", is_flag=True, help="Replace an earlier release in --out.")
@course_option
def release(assignments: tuple[str, ...], out: Path, force: bool, course: Path | None) -> None:
    """Build the student bundle of ASSIGNMENTS in --out.

    It holds the stubs, READMEs, public checks, the reference's recorded answers to them, the
    grader's sources and a CI workflow; never reference/ nor hidden checks.

    \b
    Examples:
      grader release hw1 --out ../student-repo
      grader release hw1 hw2 hw3 --out dist/release --force
    """
    from grader.release.bundle import build, print_released
    from grader.sandbox.client import Zygote

    root = _course(course)
    with Zygote() as zygote:
        released = build(root, list(assignments), out, zygote=zygote, force=force)
    print_released(released, out, Console())


@main.command("validate")
@click.argument("assignments", nargs=-1)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many base seeds the reference must score full marks with.",
)
@course_option
def validate_cmd(assignments: tuple[str, ...], seeds: int, course: Path | None) -> None:
    """Check that ASSIGNMENTS (default: all) are ready to hand out.

    Every check has a name and points, the reference scores full marks under several base
    seeds, the stub scores 0. Exit status 0 when all are ready, 1 otherwise.

    \b
    Examples:
      grader validate
      grader validate hw1 hw2 --seeds 5
    """
    from grader.course import assignment_ids
    from grader.release.validate import print_validations, validate
    from grader.sandbox.client import Zygote

    root = _course(course)
    with Zygote() as zygote:
        found = validate(
            root, list(assignments) or assignment_ids(root), zygote=zygote, seeds=seeds
        )
    print_validations(found, Console())
    sys.exit(0 if all(v.ok for v in found) else 1)


@main.command("grade")
@click.argument("assignment")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the gradebook. Default: ./grades/ASSIGNMENT.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Submissions graded at once. Default: one more than the number of cores.",
)
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="Wall-clock seconds one submission may take; checks left then do not run.",
)
@click.option("--force", is_flag=True, help="Grade every submission again, even unchanged ones.")
@click.option("--seed", type=int, default=None, help="Base seed (default: the assignment's).")
@click.option(
    "--allow-unsandboxed",
    is_flag=True,
    help="Grade even where the sandbox is degraded (not root, no namespaces): submissions "
    "could then read the reference and each other's work.",
)
@click.option(
    "--lms",
    type=click.Choice(["canvas", "moodle"]),
    default=None,
    help="Also write OUT/canvas.csv or OUT/moodle.csv, the gradebook as that LMS imports it "
    "(needs --roster), and a report of the students left out.",
)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The class list exported from the LMS (CSV), which maps student ids to its students.",
)
@click.option(
    "--roster-key",
    metavar="COLUMN",
    default=None,
    help="The roster column holding the student ids (any case; an e-mail's local part also "
    "matches). Default: the first of SIS Login ID, Login ID, Username, Email address, Email, "
    "ID number, SIS User ID.",
)
@click.option(
    "--lms-column",
    metavar="NAME",
    default=None,
    help="The assignment's column in the LMS, e.g. 'HW1 (12345)' as in Canvas's export. "
    "Default: the assignment id.",
)
@click.option(
    "--lms-id",
    metavar="COLUMN",
    default=None,
    help="Moodle: the roster column Moodle identifies users by (Email address, Username, "
    "ID number). Default: the roster key if it is one, else the first of them.",
)
@click.option(
    "--similarity",
    is_flag=True,
    help="Also compare the submissions pairwise: OUT/similarity/ (see `grader similarity`).",
)
@click.option(
    "--scheduler",
    default="",
    metavar="tcp://HOST:PORT|local[:N]",
    help="Grade on a Dask cluster (pip install 'grader[cluster]'): a running scheduler, or "
    "local:N for a LocalCluster of N worker processes here.",
)
@course_option
def grade_cmd(
    assignment: str,
    submissions: Path,
    out: Path | None,
    jobs: int | None,
    timeout: float,
    force: bool,
    seed: int | None,
    allow_unsandboxed: bool,
    lms: str | None,
    roster: Path | None,
    roster_key: str | None,
    lms_column: str | None,
    lms_id: str | None,
    similarity: bool,
    scheduler: str,
    course: Path | None,
) -> None:
    """Grade every submission in SUBMISSIONS: a gradebook, feedback, a class summary.

    SUBMISSIONS holds one entry per student, named by the student id: a folder, a .py
    file, a .zip archive or a .ipynb notebook. OUT gets grades.csv, grades.json,
    feedback/<id>.md, summary.html and results/<id>.json (one per submission, written as
    it finishes). Running the same command again grades only what changed.

    Without full isolation (root on Linux, namespaces) it refuses to grade (exit 2) unless
    --allow-unsandboxed is given.

    With --lms canvas|moodle and --roster, OUT also gets canvas.csv or moodle.csv to import,
    and canvas-report.txt or moodle-report.txt: submissions not in the roster, roster
    students without a submission, failed gradings (none of them is in the CSV). Run it
    again with --lms on a graded folder: nothing unchanged is graded again.

    Exit status: 0 every entry has a result; 1 the grader itself failed on some
    submission (see the table; they are graded again on the next run); 2 usage error, or
    a degraded sandbox; 130 interrupted (results so far are kept).

    \b
    Examples:
      grader grade hw1 submissions/
      grader grade hw1 submissions/ --out gradebook/hw1 -j 8 --timeout 120
      grader grade hw1 submissions/ --force
      grader grade hw1 submissions/ --lms canvas --roster canvas-export.csv
      grader grade hw1 submissions/ --lms moodle --roster moodle.csv --lms-column "HW 1"
      grader grade hw1 submissions/ --similarity
      grader grade hw1 submissions/ --scheduler tcp://10.0.0.5:8786
    """
    from grader.sandbox.client import Zygote

    # the first zygote of the batch imports torch while this process does (the engine does)
    with nullcontext() if scheduler else Zygote(warm_first=True) as mother:
        from grader.batch.engine import EXIT_INTERRUPTED, Batch, grade_folder
        from grader.course import load_assignment
        from grader.outputs.lms import lms_export

        root = _course(course)
        spec = load_assignment(root, assignment)
        export = lms_export(
            lms,
            roster=roster,
            roster_key=roster_key,
            column=lms_column,
            lms_id=lms_id,
            assignment=spec.id,
        )
        batch = Batch.create(
            spec,
            submissions,
            course=root,
            out=out,
            jobs=jobs,
            timeout_s=timeout,
            seed=seed,
            force=force,
            allow_unsandboxed=allow_unsandboxed,
            lms=export,
            scheduler=scheduler,
        )
        status = grade_folder(batch, Console(), mother=mother)
        if similarity and status != EXIT_INTERRUPTED:
            from grader.similarity.report import print_similarity, write_similarity

            try:
                found = write_similarity(batch.spec, batch.submissions, batch.out / "similarity")
                print_similarity(found, batch.out / "similarity", Console())
            except GraderError as exc:  # the grades stand; the exit status is theirs
                click.echo(f"similarity: not written: {exc}", err=True)
    sys.exit(status)


@main.group("export")
def export_group() -> None:
    """Package an assignment for another grading platform.

    \b
    Examples:
      grader export gradescope hw1 --out autograder.zip
    """


@export_group.command("gradescope")
@click.argument("assignment")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The zip to write, e.g. autograder.zip.",
)
@hidden_visibility_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=540.0,
    show_default=True,
    help="Wall-clock seconds one submission may take (checks left then do not run); keep it "
    "below the assignment's Gradescope timeout (10 minutes by default).",
)
@click.option(
    "--cpus",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="The CPUs the assignment's Gradescope settings give the autograder; call and import "
    "time limits grow by 1/CPUS.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@course_option
def export_gradescope(
    assignment: str,
    out: Path,
    hidden_visibility: str,
    timeout: float,
    cpus: float,
    force: bool,
    course: Path | None,
) -> None:
    """Write the Gradescope autograder zip of ASSIGNMENT: every check, hidden ones included.

    Its setup.sh installs the pinned dependencies (torch's CPU build) and the grader; its
    run_autograder grades /autograder/submission into /autograder/results/results.json. The
    reference must score full marks from the zip's copy of the course first.

    \b
    Examples:
      grader export gradescope hw1 --out autograder.zip
      grader export gradescope hw3 --out hw3.zip --hidden-visibility after_due_date --cpus 1
    """
    from grader.release.autograder import Settings
    from grader.release.gradescope import export, print_exported
    from grader.sandbox.client import Zygote

    root = _course(course)
    settings = Settings(assignment, hidden_visibility, timeout_s=timeout, cpus=cpus)
    with Zygote() as zygote:
        exported = export(root, assignment, out, zygote=zygote, settings=settings, force=force)
    print_exported(exported, out, Console())


@main.command("similarity")
@click.argument("assignment")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for pairs.csv and similarity.html. Default: ./grades/ASSIGNMENT/similarity.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many of the most similar pairs the page shows side by side.",
)
@course_option
def similarity_cmd(
    assignment: str, submissions: Path, out: Path | None, top: int, course: Path | None
) -> None:
    """Compare every pair of submissions in SUBMISSIONS for copied code.

    SUBMISSIONS is what `grader grade` takes (one folder, .py, .zip or .ipynb per student).
    Nothing is run: the code is tokenized, so renaming, reformatting, new comments and
    reordered functions do not hide a copy; the stub's code and imports never count. OUT
    gets pairs.csv (a,b,similarity for every pair, highest first) and similarity.html (the
    pairs, the top ones side by side with the matches highlighted).

    Exit status: 0 the report was written; 2 usage error (unknown assignment, no such
    folder, fewer than two submissions that can be read).

    \b
    Examples:
      grader similarity hw1 submissions/
      grader similarity hw1 submissions/ --out reports/hw1-similarity --top 50
    """
    from grader.course import load_assignment
    from grader.similarity.report import print_similarity, write_similarity

    spec = load_assignment(_course(course), assignment)
    out = out or Path("grades") / spec.id / "similarity"
    print_similarity(write_similarity(spec, submissions, out, top=top), out, Console())
