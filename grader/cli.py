"""The `grader` command line: parses options and calls the engine (no grading logic here).

Exit status: 0 every check passed; 1 a check failed; 2 a usage or configuration
error (unknown assignment, missing file, bad assignment.toml), printed as one line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from grader.errors import GraderError

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

course_option = click.option(
    "--course", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="The course folder (holding assignments/). Default: $GRADER_COURSE, or the current "
         "folder or one above it.")


def _course(course: Path | None) -> Path:
    from grader.course import find_course

    return find_course(course)


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
    """Grade PyTorch exercises: student code runs sandboxed, never in the process that scores it."""


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
    root = _course(course)
    console = Console()
    for aid in assignment_ids(root):
        spec = load_assignment(root, aid)
        console.print(f"[bold]{aid:6}[/] {spec.title}  [dim]({spec.total_points():g} points)[/]")


@main.command()
@click.argument("assignment")
@click.option("--submission", type=click.Path(path_type=Path), default=None,
              help="The file or folder to grade. Default: the assignment's own stub.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of the terminal.")
@click.option("--seed", type=int, default=None, help="Base seed (default: the assignment's).")
@click.option("-v", "--verbose", is_flag=True, help="Also show what the student's code printed.")
@course_option
def check(assignment: str, submission: Path | None, fmt: str, output: Path | None,
          seed: int | None, verbose: bool, course: Path | None) -> None:
    """Grade one submission of ASSIGNMENT and print the report.

    \b
    Examples:
      grader check hw1
      grader check hw1 --submission my_work/tensor_ops.py
      grader check hw3 --format json --output result.json --seed 7
    """
    from grader.workers import Zygote

    root = _course(course)
    from grader.course import load_assignment

    spec = load_assignment(root, assignment)
    if submission is not None and not submission.exists():
        raise GraderError(f"{submission}: no such file or folder")
    zygote = Zygote()  # starts importing torch now, while the judge does the same
    try:
        from grader.runner import grade

        result = grade(spec, submission, course=root, zygote=zygote, seed=seed)
    finally:
        zygote.close()
    if fmt == "json":
        text = json.dumps(result.to_dict(), indent=2)
        if output:
            output.write_text(text + "\n")
        else:
            click.echo(text)
    else:
        from grader.report import render

        if output:
            with output.open("w") as fh:
                render(result, Console(file=fh, width=100), verbose=verbose)
        else:
            render(result, Console(), verbose=verbose)
    sys.exit(EXIT_PASSED if result.passed else EXIT_FAILED)
