"""hw1's timing check earns its points only for a right answer on every timed call, each on
fresh inputs, measured with the answer's transfer."""

from __future__ import annotations

from conftest import COURSE, by_id, reference_with

TIMED = "test_pairwise_distances_are_vectorised"


def test_a_fast_wrong_answer_on_large_inputs_earns_nothing(grade_with, tmp_path):
    code = (
        "_right = pairwise_distances\n"
        "def pairwise_distances(x, y):\n"
        "    if x.shape[0] > 100:  # the timed calls: answer fast, and wrongly\n"
        "        return torch.zeros(x.shape[0], y.shape[0])\n"
        "    return _right(x, y)\n"
    )
    checks = by_id(grade_with("hw1", reference_with("hw1", tmp_path, extra=code)))
    assert checks["test_pairwise_distances_match_reference"].status == "passed"
    assert checks[TIMED].status == "failed" and checks[TIMED].score == 0
    assert "timed round 1" in checks[TIMED].message


def test_a_wrong_answer_on_one_round_only_earns_nothing(grade_with, tmp_path):
    code = (
        "_right, _calls = pairwise_distances, []\n"
        "def pairwise_distances(x, y):\n"
        "    _calls.append(1)\n"
        "    return _right(x, y) + (len(_calls) == 3)\n"
    )
    checks = by_id(grade_with("hw1", reference_with("hw1", tmp_path, extra=code)))
    assert checks[TIMED].status == "failed" and "timed round" in checks[TIMED].message


def test_an_answer_wrong_in_a_few_rows_only_earns_nothing(grade_with, tmp_path):
    """Each timed answer is checked at places drawn after it arrived: 2% of it wrong fails."""
    code = (
        "_right = pairwise_distances\n"
        "def pairwise_distances(x, y):\n"
        "    out = _right(x, y)\n"
        "    if x.shape[0] > 100:\n"
        "        out[:12] = 0  # 12 of 600 rows left undone\n"
        "    return out\n"
    )
    checks = by_id(grade_with("hw1", reference_with("hw1", tmp_path, extra=code), tasks=["8.2"]))
    assert checks["test_pairwise_distances_match_reference"].status == "passed"
    assert checks[TIMED].status == "failed" and checks[TIMED].score == 0
    assert "places checked at random" in checks[TIMED].message


def test_a_python_loop_is_too_slow_even_when_right(grade_with, tmp_path):
    code = (
        "def pairwise_distances(x, y):\n"
        "    out = torch.empty(x.shape[0], y.shape[0])\n"
        "    for i in range(x.shape[0]):\n"
        "        for j in range(y.shape[0]):\n"
        "            out[i, j] = ((x[i] - y[j]) ** 2).sum().sqrt()\n"
        "    return out\n"
    )
    checks = by_id(grade_with("hw1", reference_with("hw1", tmp_path, extra=code)))
    assert checks[TIMED].status == "failed" and "time budget" in checks[TIMED].message
    assert "Python loops" in checks[TIMED].hint


def test_the_timed_inputs_cannot_be_computed_ahead(grade_with, tmp_path):
    """The check's seed is public (base seed + check name): timed inputs drawn from it could be
    precomputed, so they come from the OS's randomness, different in every run."""
    code = (
        "_right = pairwise_distances\n"
        "def pairwise_distances(x, y):\n"
        "    if x.shape[0] == 600:\n"
        "        print('TIMED', float(x[0, 0]), float(y[-1, -1]), flush=True)\n"
        "    return _right(x, y)\n"
    )
    submission = reference_with("hw1", tmp_path, extra=code)
    seen = []
    for _ in range(2):
        result = grade_with("hw1", submission, seed=5, tasks=["8.2"])
        assert by_id(result)[TIMED].status == "passed"
        seen.append([line for line in result.output.splitlines() if line.startswith("TIMED")])
    assert len(seen[0]) == 3 and len(set(seen[0])) == 3  # fresh inputs every round
    assert not set(seen[0]) & set(seen[1])  # and in every run, with the same seed


def test_the_library_distance_earns_nothing_in_pairwise_distances(grade_with, tmp_path):
    """torch.cdist (by any alias) answers right and fast: writing the expansion is the task."""
    body = "    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T\n"
    for call in (
        "torch.cdist(x, y)",
        "torch.functional.cdist(x, y)",
        "torch.pdist(torch.cat([x, y]))",  # every pair of rows: the x-y block is the answer
        "torch.nn.PairwiseDistance(eps=0.0)(x[:, None], y[None])",
    ):
        submission = reference_with(
            "hw1",
            tmp_path,
            {body + "    return sq.clamp_min(0).sqrt()": f"    return {call}"},
        )
        result = grade_with("hw1", submission, tasks=["8.2"])
        assert result.score == 0 and result.checks, call
        assert all("which this assignment forbids" in c.message for c in result.checks), call
    assert grade_with("hw1", COURSE / "reference/hw1", tasks=["8.2"]).score == 6


def test_the_library_distance_earns_nothing_through_the_module_importing_itself(
    grade_with, tmp_path
):
    """A helper's forbidden call reaches pairwise_distances when the module imports the helper
    back under that name, or reads it off itself."""
    helper = "def _distances(x, y):\n    return torch.cdist(x, y)\n"
    for binding in (
        "from tensor_ops import _distances as pairwise_distances\n",
        "import tensor_ops as _me\npairwise_distances = _me._distances\n",
        "def pairwise_distances(x, y):\n    from tensor_ops import _distances as d\n"
        "    return d(x, y)\n",
    ):
        submission = reference_with("hw1", tmp_path, extra=helper + binding)
        result = grade_with("hw1", submission, tasks=["8.2"])
        assert result.score == 0 and result.checks, binding
        assert all("torch.cdist" in c.message for c in result.checks), binding
