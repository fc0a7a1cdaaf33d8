"""Every assignment in the course, whatever it is: the stub earns 0 and says what to do,
the reference earns full marks (under two base seeds), and the teaching unit is complete."""

import ast

import pytest
from conftest import COURSE

from grader.course import assignment_ids, load_assignment

ASSIGNMENTS = assignment_ids(COURSE)


def test_the_course_has_the_six_assignments():
    assert ASSIGNMENTS[:6] == ["hw1", "hw2", "hw3", "hw4", "hw5", "hw6"]


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_stub_scores_zero_and_every_check_says_which_task_is_not_implemented(grade_with, hw):
    result = grade_with(hw, COURSE / "assignments" / hw)
    assert result.score == 0 and result.max_score > 0
    not_done = [c for c in result.checks if not c.message.startswith("not implemented: Task ")]
    assert not_done == [], [(c.id, c.message) for c in not_done]


@pytest.mark.parametrize("seed", [None, 7])
@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_reference_scores_full_marks(grade_with, hw, seed):
    result = grade_with(hw, COURSE / "reference" / hw, seed=seed)
    assert [(c.id, c.message) for c in result.checks if c.status != "passed"] == []
    assert result.score == result.max_score == load_assignment(COURSE, hw).total_points()


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_each_assignment_is_a_complete_teaching_unit(hw):
    spec = load_assignment(COURSE, hw)
    assert (spec.root / "README.md").read_text().strip()
    assert (spec.reference / f"{spec.module}.py").is_file()
    assert list((spec.checks_dir / "public").glob("test_*.py"))
    assert list((spec.checks_dir / "hidden").glob("test_*.py"))
    for name in spec.files:  # every function the stub leaves to students names its task
        tree = ast.parse((spec.root / name).read_text())
        raises = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n)
        ]
        assert raises and all("Task " in ast.unparse(r) for r in raises)
