"""`grader check` under GitHub Actions (annotations, job summary) and `--min-score` exit codes."""

import re

import pytest
from click.testing import CliRunner
from conftest import run_cli

from grader.cli import MIN_SCORE, main
from grader.outputs.deliver import exit_status
from grader.outputs.github import summary, workflow_commands
from grader.outputs.schema import CheckResult, GradeResult

BUGS = {
    "return x[x > 0]": "raise ValueError('no positives today')",
    "return x - x.mean(dim=0, keepdim=True)": "return x - x.mean(dim=1, keepdim=True)",
}


def test_github_actions_get_annotations_on_the_student_file_and_a_summary_table(tmp_path):
    from conftest import reference_with

    repo = tmp_path / "repo"
    repo.mkdir()
    submission = reference_with("hw1", repo, BUGS)
    raise_line = 1 + submission.read_text().splitlines().index(
        "    raise ValueError('no positives today')"
    )
    step_summary = tmp_path / "summary.md"
    step_summary.write_text("earlier steps' summary\n")
    proc = run_cli(
        "check",
        "hw1",
        "--submission",
        str(submission),
        "--min-score",
        "80%",
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(step_summary),
            "GITHUB_WORKSPACE": str(repo),
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr  # 25/27 reaches 80%

    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 3  # select_positive, center_columns, hidden center_columns_float32
    raised = next(e for e in errors if "select_positive" in e)
    assert raised.startswith(f"::error file=tensor_ops.py,line={raise_line},title=hw1%3A ")
    assert raised.split("::", 2)[2].startswith("your code raised ValueError")
    wrong = next(e for e in errors if "subtracts each column" in e)
    assert wrong.startswith(
        "::error file=tensor_ops.py,title="
    )  # no line: no exception to point at
    assert "%0Ahint%3A" not in wrong and "%0Ahint: " in wrong  # data escaped, not properties
    hidden = next(e for e in errors if "float32" in e)
    assert "hidden check failed" in hidden and "center_columns(x) for float32" not in hidden

    text = step_summary.read_text()
    assert text.startswith("earlier steps' summary\n")  # appended, not overwritten
    assert "### hw1 — Tensor operations: 24/27" in text
    assert "| | check | tier | points |" in text
    rows = [
        line for line in text.splitlines() if line.startswith("| ✅ ") or line.startswith("| ❌ ")
    ]
    assert len(rows) == 23 and sum(r.startswith("| ❌ ") for r in rows) == 3
    assert re.search(
        r"\| ❌ \| select_positive keeps exactly the elements &gt; 0, in order \| public \| 0/1 \|",
        text,
    )


def test_without_github_actions_there_are_no_annotations(tmp_path):
    proc = run_cli(
        "check",
        "hw1",
        "--format",
        "json",
        env={"GITHUB_ACTIONS": "false", "GITHUB_STEP_SUMMARY": str(tmp_path / "s")},
    )
    assert proc.returncode == 1 and "::error" not in proc.stdout + proc.stderr
    assert not (tmp_path / "s").exists()


def result_with(scores: list[tuple[float, float]]) -> GradeResult:
    checks = [
        CheckResult(
            id=f"test_{i}",
            name=f"check {i}",
            tier="public",
            status="passed" if got == top else "failed",
            score=got,
            max_score=top,
        )
        for i, (got, top) in enumerate(scores)
    ]
    return GradeResult(assignment="hw1", title="t", submission="s", seed=1, checks=checks)


@pytest.mark.parametrize(
    "threshold, expected", [("20", 0), ("20.5", 1), ("80%", 0), ("81%", 1), ("0", 0), ("100%", 1)]
)
def test_min_score_is_points_or_a_percentage_reached_at_or_above(threshold, expected):
    result = result_with([(10, 10), (10, 10), (0, 5)])  # 20 of 25 = 80%
    assert exit_status(result, MIN_SCORE.convert(threshold, None, None)) == expected


def test_without_min_score_only_a_full_pass_exits_zero():
    assert exit_status(result_with([(1, 1), (2, 2)]), None) == 0
    assert exit_status(result_with([(1, 1), (0, 2)]), None) == 1


@pytest.mark.parametrize("bad", ["lots", "120%", "-3", ""])
def test_a_bad_min_score_is_a_usage_error(bad):
    out = CliRunner().invoke(main, ["check", "hw1", "--min-score", bad])
    assert out.exit_code == 2 and "is not a number of points" in out.output


def test_annotations_escape_newlines_and_stop_at_ten_with_a_notice(tmp_path):
    result = result_with([(0, 1)] * 12)
    result.checks[0].message = "line one\nline two: 100%, done"
    result.notes = ["2 hidden checks run later"]
    lines = workflow_commands(result, module_file="tensor_ops.py", workspace=tmp_path)
    assert lines[0] == "::error title=hw1%3A check 0 (0/1)::line one%0Aline two: 100%25, done"
    assert sum(line.startswith("::error") for line in lines) == 10
    assert "::notice::2 more checks failed: see the job summary" in lines
    assert lines[-1] == "::notice title=hw1::2 hidden checks run later"
    assert "| ❌ | check 11 | public | 0/1 |" in summary(result)
