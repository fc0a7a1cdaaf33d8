"""Where `grader check`'s report of one result goes, and the exit status it ends with.

The text report goes to the terminal, or to `--output` with `--format text`; a machine
format goes to `--output`, or to stdout (then the text report stays off stdout, so it can
be piped). Under GitHub Actions, error annotations and a job summary are added; they go to
stderr when stdout carries the machine format.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from rich.console import Console

from grader.errors import GraderError
from grader.outputs import github
from grader.outputs.formats import dump
from grader.outputs.schema import GradeResult
from grader.outputs.terminal import print_report

EXIT_PASSED, EXIT_FAILED = 0, 1


def exit_status(result: GradeResult, min_score: tuple[float, bool] | None) -> int:
    """0 when every check passed, or with `min_score` (value, is_percent) when the score
    reaches it; else 1."""
    if min_score is None:
        return EXIT_PASSED if result.passed else EXIT_FAILED
    value, percent = min_score
    needed = value / 100 * result.max_score if percent else value
    return EXIT_PASSED if result.score >= needed - 1e-9 else EXIT_FAILED


def write_report(path: Path, write: Callable[[TextIO], object]) -> None:
    """Write a report file, turning an OS error into a GraderError naming the file."""
    try:
        with path.open("w", encoding="utf-8") as fh:
            write(fh)
    except OSError as exc:
        raise GraderError(f"{path}: cannot write the report ({exc.strerror})") from None


def deliver(
    result: GradeResult,
    *,
    fmt: str,
    output: Path | None,
    verbose: bool = False,
    hidden_visibility: str = "after_published",
    module_file: str,
    env: Mapping[str, str] = os.environ,
) -> None:
    """Show and write `result` as `grader check` does (see the module docstring)."""
    if fmt == "text" and output:
        write_report(
            output, lambda fh: print_report(result, Console(file=fh, width=100), verbose=verbose)
        )
    elif fmt == "text" or output:
        print_report(result, Console(), verbose=verbose)
    machine_on_stdout = fmt != "text" and output is None
    if fmt != "text":
        text = dump(result, fmt, hidden_visibility=hidden_visibility)
        if output:
            write_report(output, lambda fh: fh.write(text + "\n"))
        else:
            print(text, flush=True)
    if github.in_actions(env):  # annotations go where the machine-readable report is not
        stream = sys.stderr if machine_on_stdout else sys.stdout
        github.report(
            result,
            module_file=module_file,
            env=env,
            echo=lambda line: print(line, file=stream, flush=True),
        )
