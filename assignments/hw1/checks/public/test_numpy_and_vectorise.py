"""hw1 public checks: numpy memory sharing, and vectorised code (correct and fast)."""

import numpy as np
import torch

from grader.checking import assert_close, best_time, expect_tensor, fail, within_budget


def test_share_numpy_shares_memory(student, spec):
    """share_numpy returns a tensor that sees later changes to the numpy array"""
    a = student.put(np.arange(6, dtype=np.float64))
    t = student.share_numpy.keep(a)
    a.fill(7.0)  # changes the array inside the worker, after the tensor was made
    got = expect_tensor(t.clone(), "share_numpy(a)")
    if torch.equal(got, torch.arange(6, dtype=torch.float64)):
        fail(
            "the tensor from share_numpy(a) did not change when a changed: it is a copy",
            "torch.from_numpy(a) shares memory with a; torch.tensor(a) copies",
        )
    assert_close(
        got,
        torch.full((6,), 7.0, dtype=torch.float64),
        spec.tolerance(),
        what="share_numpy(a) after a.fill(7)",
    )


def test_copy_numpy_is_independent(student, spec):
    """copy_numpy returns a tensor that does not change when the array does"""
    a = student.put(np.arange(6, dtype=np.float64))
    t = student.copy_numpy.keep(a)
    a.fill(7.0)
    got = expect_tensor(t.clone(), "copy_numpy(a)", dtype=torch.float64)
    if torch.equal(got, torch.full((6,), 7.0, dtype=torch.float64)):
        fail(
            "the tensor from copy_numpy(a) changed when a changed: it shares a's memory",
            "torch.tensor(a) (or torch.from_numpy(a).clone()) copies; torch.from_numpy(a) does not",
        )
    assert_close(got, torch.arange(6, dtype=torch.float64), spec.tolerance(), what="copy_numpy(a)")


def test_one_hot_matches_reference(student, reference, spec):
    """one_hot encodes labels as float32 rows with a single 1"""
    labels = torch.tensor([2, 0, 1, 2, 4])
    assert_close(
        student.one_hot(labels, 5),
        reference.one_hot(labels, 5),
        spec.tolerance(),
        what="one_hot([2, 0, 1, 2, 4], 5)",
        hint="out = torch.zeros(N, num_classes); out[torch.arange(N), labels] = 1",
    )


def test_pairwise_distances_match_reference(student, reference, spec):
    """pairwise_distances matches torch.cdist on random points"""
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    assert_close(
        student.pairwise_distances(x, y),
        reference.pairwise_distances(x, y),
        spec.tolerance("distances"),
        what="pairwise_distances(x, y) for x (6, 3), y (4, 3)",
        hint="|x - y|² = |x|² + |y|² - 2 x·y, all rows at once with broadcasting",
    )


def test_pairwise_distances_are_vectorised(student, spec):
    """pairwise_distances on 2000 x 1500 points is within the time budget of torch.cdist"""
    x, y = torch.randn(2000, 64), torch.randn(1500, 64)
    baseline = best_time(lambda: torch.cdist(x, y))
    limit = spec.threshold("max_slowdown_vs_cdist")
    hint = (
        "replace Python loops with whole-tensor operations: "
        "(x*x).sum(1)[:, None] + (y*y).sum(1)[None, :] - 2 * x @ y.T"
    )
    xh, yh = student.put(x), student.put(y)
    budget = max(2.0, 4 * limit * baseline)  # the first call may be slower; a loop never fits
    with within_budget(
        student,
        budget,
        what="pairwise_distances on 2000 x 1500 points",
        why=f"{limit:g}x torch.cdist's {baseline * 1e3:.1f} ms, with room for a first call",
        hint=hint,
    ):
        student.pairwise_distances.keep(xh, yh)  # warm-up (and fail fast if not implemented)
        got = best_time(lambda: student.pairwise_distances.keep(xh, yh))
    if got > limit * baseline:
        fail(
            f"pairwise_distances took {got * 1e3:.1f} ms for 2000 x 1500 points, "
            f"{got / baseline:.0f}x torch.cdist's {baseline * 1e3:.2f} ms (allowed: {limit:g}x)",
            hint,
        )
