"""Submissions that do nothing earn nothing: for every assignment, every function of the stub
rewritten to return None, zeros, a constant, its first argument, or an object equal to
everything (tests/donothing.py) scores 0 on every check."""

from __future__ import annotations

import pytest
from conftest import COURSE
from donothing import FAMILIES, do_nothing

from grader.course import assignment_ids, load_assignment

CASES = [(hw, family) for hw in assignment_ids(COURSE) for family in FAMILIES]


@pytest.mark.parametrize("hw, family", CASES, ids=[f"{hw}-{f}" for hw, f in CASES])
def test_a_do_nothing_submission_scores_zero(grade_with, tmp_path, hw, family):
    spec = load_assignment(COURSE, hw)
    stub = (spec.root / f"{spec.module}.py").read_text()
    path = tmp_path / f"{spec.module}.py"
    path.write_text(do_nothing(stub, family))
    result = grade_with(hw, path)
    assert {c.id: c.score for c in result.checks if c.score > 0} == {}
    assert not [c for c in result.checks if c.status == "error"], "a check broke, not failed"
