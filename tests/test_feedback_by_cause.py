"""Feedback by cause: the check contract (tasks, points, needs), the report grouped by task and
cause, structural mistakes as one banner, `--task` and `--watch`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import COURSE, by_id, reference_with, run_cli, stub_with
from rich.console import Console

from grader.contract import read_contract, stub_tasks
from grader.course import assignment_ids, load_assignment
from grader.errors import ConfigError
from grader.judge.watch import watch
from grader.outputs.schema import STRUCTURE
from grader.outputs.terminal import print_report, sparkline

STUB = '''
def first(x):
    """Task 1.1: the first one."""


class Model:
    """Task 2.1: a model."""

    def forward(self, x):
        """Task 2.2: its forward."""
'''


TASKS = {"1.1": ("first",), "2.1": ("Model",), "2.2": ("Model.forward",)}


def contract_of(tmp_path: Path, checks: str):
    (tmp_path / "checks" / "public").mkdir(parents=True, exist_ok=True)
    (tmp_path / "checks" / "public" / "test_a.py").write_text(checks)
    return read_contract(tmp_path / "checks", TASKS)


def test_the_stubs_task_labels_are_what_tasks_in_assignment_toml_says(tmp_path):
    (tmp_path / "stub.py").write_text(STUB)
    assert stub_tasks([tmp_path / "stub.py"]) == TASKS
    for hw in assignment_ids(COURSE):
        spec = load_assignment(COURSE, hw)
        assert stub_tasks([spec.root / f for f in spec.files]) == spec.tasks, hw


def test_tasks_are_declared_and_checks_declare_task_points_and_needs(tmp_path):
    contract = contract_of(
        tmp_path,
        """
import pytest
from grader.checking import check

@check(task="1.1", points=2)
def test_one():
    '''one'''

@check(task="2.2", points=3, needs=["1.1", "2.1"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_many(n):
    '''many'''
""",
    )
    assert contract.problems == [] and contract.warnings == []
    assert [(t.id, t.names) for t in contract.tasks.values()] == [
        ("1.1", ("first",)),
        ("2.1", ("Model",)),
        ("2.2", ("Model.forward",)),
    ]
    many = contract.checks["test_many"]
    assert (many.task, many.points, many.needs, many.cases) == ("2.2", 3.0, ("1.1", "2.1"), 3)
    assert contract.total_points == 5
    assert contract.task_of("forward") == "2.2" and contract.task_of("first") == "1.1"
    assert contract.task_of("Model") == "2.1"


@pytest.mark.parametrize(
    "checks, problem",
    [
        (
            "def test_x():\n    '''x'''\n",
            "test_a.py::test_x (line 1): no @check(task=..., points=...)",
        ),
        (
            "@check(task='9.9', points=1)\ndef test_x():\n    '''x'''\n",
            "test_a.py::test_x (line 2): unknown task '9.9' (the stub's tasks: 1.1, 2.1, 2.2)",
        ),
        (
            "@check(task='1.1', points=1, needs=['3.3'])\ndef test_x():\n    '''x'''\n",
            "unknown task '3.3'",
        ),
        ("P = 2\n@check(task='1.1', points=P)\ndef test_x():\n    '''x'''\n", "points must be"),
        ("@check(task='1.1')\ndef test_x():\n    '''x'''\n", "needs both task="),
        (
            "@check(task='1.1', points=1)\n@pytest.mark.parametrize('n', CASES)\n"
            "def test_x(n):\n    '''x'''\n",
            "a literal list of cases",
        ),
    ],
)
def test_a_broken_declaration_is_a_problem_naming_the_file_and_check(tmp_path, checks, problem):
    contract = contract_of(tmp_path, checks)
    assert any(problem in p for p in contract.problems), contract.problems
    with pytest.raises(ConfigError, match="break the check contract"):
        contract.require_valid()


def test_a_duplicate_id_across_files_is_a_problem(tmp_path):
    contract_of(tmp_path, "@check(task='1.1', points=1)\ndef test_x():\n    '''x'''\n")
    (tmp_path / "checks" / "hidden").mkdir()
    (tmp_path / "checks" / "hidden" / "test_b.py").write_text(
        "@check(task='1.1', points=1)\ndef test_x():\n    '''x'''\n"
    )
    contract = read_contract(tmp_path / "checks", TASKS)
    assert any("the check id test_x is also used by" in p for p in contract.problems)


def test_no_points_and_no_name_are_warnings_for_validate(tmp_path):
    contract = contract_of(tmp_path, "@check(task='1.1', points=0)\ndef test_x():\n    pass\n")
    assert contract.problems == []
    assert any("worth 0 points" in w for w in contract.warnings)
    assert any("no name for students" in w for w in contract.warnings)


@pytest.mark.parametrize("hw", assignment_ids(COURSE))
def test_every_task_of_every_assignment_is_graded_and_ids_are_consistent(hw):
    spec = load_assignment(COURSE, hw)
    contract = spec.contract
    assert contract.problems == [] and contract.warnings == []
    graded = {c.task for c in contract.checks.values()}
    needed = {t for c in contract.checks.values() for t in c.needs}
    assert set(contract.tasks) == graded | needed, set(contract.tasks) ^ (graded | needed)
    assert all(re.fullmatch(r"[1-9]\d*\.[1-9]\d*", t) for t in contract.tasks)  # "2.1" everywhere
    assert next(iter(contract.tasks)) == "1.1"


@pytest.fixture
def course_copy():
    root = Path(tempfile.mkdtemp(prefix=".grader-contract-", dir=COURSE.parent))
    os.chmod(root, 0o755)
    for part in ("assignments/hw1", "reference/hw1"):
        shutil.copytree(COURSE / part, root / part)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_collection_refuses_a_declaration_that_is_not_what_runs(grade_with, course_copy):
    checks = course_copy / "assignments/hw1/checks/public/test_creation_and_shapes.py"
    line = "from grader.checking import assert_close, check, expect_tensor\n"
    forged = "import pytest\n\ncheck = lambda **k: pytest.mark.check(**{**k, 'points': 9})\n"
    text = checks.read_text()
    assert line in text
    checks.write_text(text.replace(line, line + forged))
    with pytest.raises(
        ConfigError, match=r"test_arange_grid: its @check\(\) is not the one written"
    ):
        grade_with("hw1", course_copy / "reference/hw1", course=course_copy)


# ------------------------------------------------------------------------- the report


def report(result, width: int = 80, verbose: bool = False) -> str:
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    print_report(result, console, verbose=verbose)
    return console.export_text()


def panels(text: str) -> int:
    return text.count("╭")


def flat(text: str) -> str:
    """The report's words, without box drawing and line breaks: for phrases that wrap."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_one_mistake_in_conv_output_size_is_one_task_of_panels_and_a_line(grade_with, tmp_path):
    submission = reference_with(
        "hw6",
        tmp_path,
        {
            "return (size + 2 * padding - kernel_size) // stride + 1": "return (size + 2 * padding - kernel_size) // stride"
        },
    )
    result = grade_with("hw6", submission)
    checks = by_id(result)
    for cid in (
        "test_conv2d_matches_f_conv2d",
        "test_max_pool2d_default_stride",
        "test_cnn_output_shape",
    ):
        assert checks[cid].caused_by == "1.1", (cid, checks[cid].message)
    own = [c for c in result.checks if c.status == "failed" and not c.caused_by]
    assert {c.task for c in own} == {"1.1"}
    text = report(result)
    print(text)
    assert panels(text) <= 3  # 20 before: one per failed check
    assert re.search(
        r"also failing because of this: 2\.1 conv2d ×\d, 2\.2 max_pool2d ×\d, 3\.1 CNN", flat(text)
    )
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.index("Task 1.1") < text.index("Task 2.1") < text.index("Task 4.1")


def test_weight_stored_in_out_is_one_panel_under_its_task(grade_with, tmp_path):
    submission = reference_with(
        "hw3",
        tmp_path,
        {
            "nn.Parameter(torch.empty(out_features, in_features))": "nn.Parameter(torch.empty(in_features, out_features))",
            "out = x @ self.weight.T": "out = x @ self.weight",
        },
    )
    result = grade_with("hw3", submission)
    text = report(result)
    print(text)
    assert panels(text) <= 2  # 9 before
    assert "(out_features, in_features)" in flat(text)
    assert "failing because of task 1.1" in flat(text)


def test_gradient_not_averaged_is_one_panel_and_its_followers(grade_with, tmp_path):
    submission = reference_with(
        "hw2", tmp_path, {"return 2 * (pred - target) / pred.numel()": "return 2 * (pred - target)"}
    )
    result = grade_with("hw2", submission)
    text = report(result)
    print(text)
    assert panels(text) <= 2  # 7 before
    assert "did you forget to average over the batch" in flat(text)
    assert "failing because of task 3.2 mse_loss_backward" in flat(text)


def test_a_syntax_error_is_one_banner_with_the_source_line(grade_with, tmp_path):
    result = grade_with("hw1", stub_with("hw1", tmp_path, "def oops(:\n    pass\n"))
    assert len(result.structure) == 1 and "SyntaxError at line" in result.structure[0]
    assert "def oops(:" in result.structure[0]
    assert all(c.caused_by == STRUCTURE for c in result.checks)
    text = report(result)
    assert panels(text) == 1 and "so every check fails (23 checks)" in text


def test_an_empty_or_wrong_file_is_named_in_one_line(grade_with, tmp_path):
    empty = tmp_path / "linear_layer.py"
    empty.write_text("")
    result = grade_with("hw3", empty)
    assert result.structure == ["linear_layer.py defines none of Linear: is this the right file?"]
    other = tmp_path / "other" / "linear_layer.py"
    other.parent.mkdir()
    other.write_text((COURSE / "reference/hw1/tensor_ops.py").read_text())
    result = grade_with("hw3", other)
    assert result.structure[0].endswith("It looks like hw1's tensor_ops.py.")
    assert panels(report(result)) == 1


def test_one_missing_name_is_one_line_and_its_checks_follow_it(grade_with, tmp_path):
    source = (COURSE / "reference/hw1/tensor_ops.py").read_text()
    source = source.replace("def one_hot(", "def one_hot_encode(")
    path = tmp_path / "tensor_ops.py"
    path.write_text(source)
    result = grade_with("hw1", path)
    assert result.structure == [
        "tensor_ops.py does not define one_hot (task 8.1): the checks that use it fail for "
        "that alone"
    ]
    lost = [c for c in result.checks if c.status != "passed"]
    assert lost and all(c.caused_by == STRUCTURE and c.task == "8.1" for c in lost)


def test_the_report_fits_80_columns_and_summarises_what_passed(grade_with, tmp_path):
    submission = reference_with(
        "hw1", tmp_path, {"return torch.from_numpy(a)": "return torch.tensor(a)"}
    )
    result = grade_with("hw1", submission)
    text = report(result)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "test_share_numpy_shares_memory" in text  # ids are shown
    assert "✔ Task 1.1 arange_grid" in text and "test_arange_grid " not in text
    verbose = report(result, verbose=True)
    assert "test_arange_grid " in verbose  # -v lists each passed check


def test_training_checks_show_the_loss_curves_as_sparklines(grade_with):
    result = grade_with("hw3", COURSE / "reference/hw3")
    trained = by_id(result)["test_digits_classifier_trains"]
    assert set(trained.curves) == {"yours", "reference"}
    assert len(trained.curves["yours"]) == load_assignment(COURSE, "hw3").training().epochs
    assert trained.curves["yours"] == trained.curves["reference"]  # the reference as submission
    text = report(result)
    assert "loss per epoch in test_digits_classifier_trains:\n    yours      " in text
    assert re.search(r"\n    reference  [▁-█]{10}  \d", text)
    assert sparkline([3.0, 2.0, 1.0, 1.0]) == "█▅▁▁" and sparkline([]) == ""


# --------------------------------------------------------------------- --task, --watch


@pytest.mark.slow
def test_check_task_runs_only_that_task_and_says_the_score_is_partial():
    proc = run_cli(
        "check",
        "hw1",
        "--submission",
        "reference/hw1",
        "--task",
        "8.2",
        "--task",
        "1.1",
        env={"COLUMNS": "80"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "total: 8/8 (5 of 5 checks passed" in proc.stdout
    assert "partial: only task 1.1, 8.2 ran" in proc.stdout
    proc = run_cli("check", "hw1", "--task", "9.1")
    assert proc.returncode == 2 and "hw1 has no task 9.1 (its tasks: 1.1, 1.2" in proc.stderr


def test_watch_runs_again_after_each_change_only(tmp_path):
    target = tmp_path / "mod.py"
    target.write_text("a")
    runs, naps = [], []

    def nap(seconds):
        naps.append(seconds)
        if len(naps) == 3:
            target.write_text("a changed file")  # a save: a new size and mtime

    watch(
        target,
        lambda: runs.append(target.read_text()),
        clear=lambda: None,
        say=lambda _: None,
        sleep=nap,
        rounds=2,
    )
    assert runs == ["a", "a changed file"] and len(naps) == 3


@pytest.mark.slow
def test_check_watch_regrades_on_save(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix=".grader-watch-", dir=COURSE.parent))
    try:
        os.chmod(folder, 0o755)
        target = folder / "tensor_ops.py"
        shutil.copy(COURSE / "reference/hw1/tensor_ops.py", target)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "grader",
                "check",
                "hw1",
                "--submission",
                str(target),
                "--watch",
                "--task",
                "1.1",
            ],
            cwd=COURSE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "80"},
        )
        try:
            lines = iter(proc.stdout)
            assert next(line for line in lines if line.startswith("total:")).startswith(
                "total: 2/2"
            )
            time.sleep(0.3)
            target.write_text(
                target.read_text().replace("reshape(rows, cols)", "reshape(cols, rows)")
            )
            assert next(line for line in lines if line.startswith("total:")).startswith(
                "total: 0/2"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_traceback_through_another_tasks_failing_function_names_it_the_cause(
    grade_with, tmp_path
):
    """No declared need: main's failure is traced to helper, whose own check fails."""
    course = tmp_path / "course"
    root = course / "assignments" / "tb"
    (root / "checks" / "public").mkdir(parents=True)
    (course / "reference" / "tb").mkdir(parents=True)
    (root / "assignment.toml").write_text(
        '[assignment]\ntitle = "T"\nmodule = "mod"\n[tasks]\n"1.1" = "helper"\n"2.1" = "main"\n'
    )
    (root / "mod.py").write_text(
        'def helper(x):\n    """Task 1.1: x + 1."""\n    raise NotImplementedError\n\n\n'
        'def main(x):\n    """Task 2.1: helper(x) * 2."""\n    raise NotImplementedError\n'
    )
    (course / "reference" / "tb" / "mod.py").write_text(
        "def helper(x):\n    return x + 1\n\n\ndef main(x):\n    return helper(x) * 2\n"
    )
    (root / "checks" / "public" / "test_tb.py").write_text(
        "from grader.checking import check\n\n\n"
        '@check(task="1.1", points=1)\ndef test_helper(student):\n    """helper adds one"""\n'
        "    assert student.helper(1) == 2\n\n\n"
        '@check(task="2.1", points=1)\ndef test_main(student):\n    """main doubles"""\n'
        "    assert student.main(1) == 4\n"
    )
    submission = tmp_path / "mod.py"
    submission.write_text(
        "def helper(x):\n    raise ValueError('not yet')\n\n\ndef main(x):\n    return helper(x) * 2\n"
    )
    checks = by_id(grade_with("tb", submission, course=course))
    assert checks["test_helper"].caused_by == "" and checks["test_helper"].status == "failed"
    assert checks["test_main"].caused_by == "1.1"
