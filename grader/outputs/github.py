"""GitHub Actions: an error annotation per failed check and a Markdown table in the job summary.

Used by `grader check` when GITHUB_ACTIONS=true. Annotations point at the student's file
and line when the failure came with one (an exception in their code), otherwise at their
module. Hidden checks' details are withheld, as in every student-facing report.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from grader.outputs.redact import Audience, shown
from grader.outputs.schema import GradeResult

MAX_ERRORS = 10  # GitHub shows at most 10 error annotations per step


def in_actions(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def student_path(result: GradeResult, file: str, module_file: str, workspace: Path) -> str:
    """The repository-relative path of the student's `file` (default: their module), or ""."""
    submission = Path(result.submission)
    name = file or module_file
    if submission.is_file():
        candidates = [submission]
    else:
        candidates = [submission / name, *sorted(submission.glob(f"*/{name}"))]
    for path in candidates:
        if path.is_file():
            try:
                return path.resolve().relative_to(workspace.resolve()).as_posix()
            except ValueError:
                return ""
    return ""


def workflow_commands(result: GradeResult, *, module_file: str, workspace: Path) -> list[str]:
    """Workflow commands: `::error file=…,line=…,title=…::message` per check that did not pass."""
    lines = []
    failed = [c for c in result.checks if c.status != "passed"]
    for c in failed[:MAX_ERRORS]:
        props = []
        path = student_path(result, c.file, module_file, workspace)
        if path:
            props.append(f"file={_prop(path)}")
            if c.file and c.line and not c.cell:  # a cell's line is not the .ipynb's
                props.append(f"line={c.line}")
        props.append(
            f"title={_prop(f'{result.assignment}: {c.name} ({c.score:g}/{c.max_score:g})')}"
        )
        lines.append(f"::error {','.join(props)}::{_data(shown(c, Audience.SUBMITTING).text())}")
    if len(failed) > MAX_ERRORS:
        lines.append(
            f"::notice::{_data(f'{len(failed) - MAX_ERRORS} more checks failed: see the job summary')}"
        )
    for note in result.notes:
        lines.append(f"::notice title={_prop(result.assignment)}::{_data(note)}")
    return lines


def _cell(text: str) -> str:
    return html.escape(" ".join(text.split())).replace("|", "\\|")


def summary(result: GradeResult) -> str:
    """A Markdown section for $GITHUB_STEP_SUMMARY: the total, a row per check, what failed."""
    icon = {"passed": "✅", "failed": "❌", "error": "⚠️"}
    out = [
        f"### {_cell(result.assignment)} — {_cell(result.title)}: "
        f"{result.score:g}/{result.max_score:g}",
        "",
        "| | check | tier | points |",
        "|---|---|---|---:|",
    ]
    for c in result.checks:
        out.append(
            f"| {icon[c.status]} | {_cell(c.name)} | {c.tier} | {c.score:g}/{c.max_score:g} |"
        )
    out.append("")
    failed = [c for c in result.checks if c.status != "passed"]
    if failed:
        out.append(f"<details><summary>What did not pass ({len(failed)})</summary>\n")
        for c in failed:
            out.append(
                f"**{_cell(c.name)}**\n\n<pre>{html.escape(shown(c, Audience.SUBMITTING).text())}</pre>\n"
            )
        out.append("</details>\n")
    for note in result.sandbox_notes:
        out.append(f"> sandbox: {_cell(note)}\n")
    for note in result.notes:
        out.append(f"> note: {_cell(note)}\n")
    out.append(
        f"<sub>seed {result.seed} (reproduce with `grader check {result.assignment} "
        f"--seed {result.seed}`)</sub>\n"
    )
    return "\n".join(out) + "\n"


def report(
    result: GradeResult,
    *,
    module_file: str,
    echo: Callable[[str], object],
    env: Mapping[str, str] = os.environ,
) -> None:
    """Emit the annotations through `echo` and append the summary to $GITHUB_STEP_SUMMARY."""
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
    for line in workflow_commands(result, module_file=module_file, workspace=workspace):
        echo(line)
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(summary(result))
