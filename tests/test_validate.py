"""`grader validate`: names, points, reference full marks over several seeds, stub at zero."""

import shutil

import pytest
from conftest import COURSE, reference_with, run_cli

from grader.course import load_assignment
from grader.errors import GraderError
from grader.release.validate import validate

HW1 = load_assignment(COURSE, "hw1")


def test_hw1_is_ready_with_full_marks_under_every_seed(zygote):
    [found] = validate(COURSE, ["hw1"], zygote=zygote, seeds=2)
    assert found.problems == []
    assert found.seeds == [HW1.seed, HW1.seed + 1]
    assert found.reference_scores == [27, 27] and found.points == 27 and found.checks == 23
    assert found.stub_score == 0


def replace_in(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def broken_course(tmp_path):
    """A copy of hw1 with one problem of each kind validate looks for."""
    course = tmp_path / "course"
    root = course / "assignments" / "hw1"
    shutil.copytree(HW1.root, root)
    replace_in(
        root / "checks" / "public" / "test_creation_and_shapes.py",
        '    """flatten_features turns (N, C, H, W) into (N, C*H*W)"""\n',
        "",
    )
    replace_in(
        root / "checks" / "public" / "test_numpy_and_vectorise.py",
        '@check(task="8.1", points=2)\ndef test_one_hot_matches_reference',
        '@check(task="8.1", points=0)\ndef test_one_hot_matches_reference',
    )
    replace_in(
        root / "tensor_ops.py",
        'raise NotImplementedError("Task 1.1: arange_grid")',
        "return torch.arange(rows * cols, dtype=torch.int64).reshape(rows, cols)",
    )
    (course / "reference" / "hw1").mkdir(parents=True)
    # a bug a check catches without the reference (graded against itself, a reference always agrees)
    reference_with(
        "hw1",
        course / "reference" / "hw1",
        {"return torch.from_numpy(a)": "return torch.tensor(a)"},
    )
    return course


def test_validate_names_every_problem_it_finds(zygote, broken_course):
    [found] = validate(broken_course, ["hw1"], zygote=zygote, seeds=1)
    text = "\n".join(found.problems)
    assert "test_flatten_features has no name for students" in text
    assert "test_one_hot_matches_reference is worth 0 points" in text
    assert f"the reference fails test_share_numpy_shares_memory with seed {HW1.seed}" in text
    assert "the stub earns points on test_arange_grid" in text
    assert len(found.problems) == 4 and not found.ok


def test_validate_reports_checks_without_a_task_and_does_not_run_them(zygote, broken_course):
    checks = broken_course / "assignments" / "hw1" / "checks" / "public"
    replace_in(checks / "test_creation_and_shapes.py", '@check(task="1.2", points=1)\n', "")
    replace_in(checks / "test_indexing_and_broadcasting.py", 'task="3.1"', 'task="9.1"')
    [found] = validate(broken_course, ["hw1"], zygote=zygote, seeds=1)
    text = "\n".join(found.problems)
    assert "test_creation_and_shapes.py::test_linspace_column (line" in text
    assert "no @check(task=..., points=...)" in text
    assert "test_select_positive (line" in text and "unknown task '9.1'" in text
    assert found.reference_scores == [] and not found.ok  # nothing ran


def test_validate_cli_exit_codes(tmp_path):
    assert run_cli("validate", "hw99").returncode == 2
    course = tmp_path / "course"
    shutil.copytree(HW1.root, course / "assignments" / "hw1")  # no reference
    proc = run_cli("validate", "--seeds", "1", "--course", str(course))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no reference solution" in " ".join(proc.stdout.split())


def test_validate_refuses_zero_seeds(zygote):
    with pytest.raises(GraderError, match="at least 1"):
        validate(COURSE, ["hw1"], zygote=zygote, seeds=0)
