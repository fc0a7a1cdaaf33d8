"""hw1 public checks: numpy memory sharing, and vectorised code (correct and fast)."""

import time

import numpy as np
import torch

from grader.checking import (
    assert_close,
    best_time,
    check,
    expect_tensor,
    fail,
    unpredictable_generator,
    within_budget,
)


@check(task="7.1", points=1)
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


@check(task="7.2", points=1)
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


@check(task="8.1", points=2)
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


@check(task="8.2", points=2)
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


ROUNDS = 3  # timed rounds, each on fresh inputs; the verdict is their best ratio: a busy
# machine slows some rounds of a vectorised answer, and no round of a loop is ever fast
N, M, D = 600, 500, 128  # points in x, in y, and their dimension
SAMPLED = 1024  # distances of each timed answer checked, at places drawn after it arrived


@check(task="8.2", points=3)
def test_pairwise_distances_are_vectorised(student, reference, spec, seed):
    """pairwise_distances on 600 x 500 points is correct and within the time budget of
    torch.cdist"""
    limit = spec.threshold("max_slowdown_vs_cdist")
    hint = (
        "replace Python loops with whole-tensor operations: "
        "(x*x).sum(1)[:, None] + (y*y).sum(1)[None, :] - 2 * x @ y.T"
    )
    gen = torch.Generator().manual_seed(seed)
    # the baseline on seeded inputs, through the reference: a batch records its time once,
    # before any submission runs, and every submission is judged against that time
    x, y = torch.randn(N, D, generator=gen), torch.randn(M, D, generator=gen)
    baseline = best_time(lambda: reference.torch.cdist(x, y), repeat=5, reference=reference)
    secret = unpredictable_generator()
    ratios = []
    for round_ in range(ROUNDS):
        # the student's call on fresh inputs that nothing can compute ahead, every round, the
        # first included: no call can be singled out, and every timed answer is checked; the
        # call is timed with its answer's transfer, so nothing is left to compute after the clock
        x, y = torch.randn(N, D, generator=secret), torch.randn(M, D, generator=secret)
        with within_budget(
            student,
            max(2.0, 4 * limit * baseline),
            what=f"pairwise_distances on {N} x {M} points",
            why=f"{limit:g}x torch.cdist's {baseline * 1e3:.2f} ms, with room for a first call",
            hint=hint,
        ):
            start = time.perf_counter()
            got = student.pairwise_distances(x, y)
            took = time.perf_counter() - start
        _spot_check(got, x, y, secret, spec, f"timed round {round_ + 1}")
        ratios.append(took / baseline)
    ratio = min(ratios)
    if ratio > limit:
        fail(
            f"pairwise_distances took {ratio:.0f}x torch.cdist's time in its fastest of {ROUNDS} "
            f"rounds of {N} x {M} points (each round's ratio: "
            f"{', '.join(f'{r:.1f}' for r in ratios)}; allowed: {limit:g}x)",
            hint,
        )


def _spot_check(got, x, y, secret, spec, where):
    """The whole answer's shape and dtype, and its values at SAMPLED places drawn now, after it
    arrived: an answer wrong in more than a few of its places fails, whichever they are."""
    what = f"pairwise_distances(x, y) for x ({N}, {D}), y ({M}, {D}) ({where})"
    got = expect_tensor(got, what, shape=(N, M), dtype=torch.float32)
    i = torch.randint(0, N, (SAMPLED,), generator=secret)
    j = torch.randint(0, M, (SAMPLED,), generator=secret)
    expected = (x[i].double() - y[j].double()).pow(2).sum(1).sqrt()
    tol = spec.tolerance("distances")
    bad = ~torch.isclose(got[i, j].double(), expected, rtol=tol.rtol, atol=tol.atol)
    if bool(bad.any()):
        k = int(bad.nonzero()[0])
        fail(
            f"{what} is wrong at {int(bad.sum())} of {SAMPLED} places checked at random; e.g. "
            f"at [{int(i[k])}, {int(j[k])}] it is {float(got[i[k], j[k]]):.6g}, the distance is "
            f"{float(expected[k]):.6g}",
            "|x - y|² = |x|² + |y|² - 2 x·y; clamp at 0 before the square root",
        )
