"""hw1 public checks: indexing, boolean masks, broadcasting and reductions."""

import torch

from grader.checking import assert_close, check, expect_tensor, fail


@check(task="3.1", points=1)
def test_select_positive(student, reference, spec):
    """select_positive keeps exactly the elements > 0, in order"""
    x = torch.tensor([[1.5, -2.0, 0.0], [3.0, 0.5, -1.0]], dtype=torch.float64)
    assert_close(
        student.select_positive(x),
        reference.select_positive(x),
        spec.tolerance(),
        what="select_positive(x)",
        hint="a boolean mask: x[x > 0] (0 is not positive)",
    )


@check(task="3.2", points=1)
def test_relu_copy_leaves_input_unchanged(student, reference, spec):
    """relu_copy zeroes negatives in a copy and leaves its input unchanged"""
    x = torch.randn(5, 6, dtype=torch.float64)
    handle = student.put(x)
    got = student.relu_copy(handle)
    assert_close(got, reference.relu_copy(x), spec.tolerance(), what="relu_copy(x)")
    after = handle.clone()
    assert_close(
        after,
        x,
        spec.tolerance(),
        what="x after relu_copy(x)",
        hint="your function changed its input: work on x.clone() (or use torch.where / "
        "clamp), since x[x < 0] = 0 writes into x itself",
    )


@check(task="3.3", points=1)
def test_every_other_row_last_col(student, reference, spec):
    """every_other_row_last_col uses slicing with a step and negative indexing"""
    x = torch.arange(35, dtype=torch.float64).reshape(7, 5)
    assert_close(
        student.every_other_row_last_col(x),
        reference.every_other_row_last_col(x),
        spec.tolerance(),
        what="every_other_row_last_col(x) for x of shape (7, 5)",
        hint="x[::2, -1]",
    )


@check(task="4.1", points=1)
def test_center_columns(student, reference, spec):
    """center_columns subtracts each column's mean (broadcasting a (1, D) row)"""
    x = torch.randn(6, 4, dtype=torch.float64) * 3 + 2
    got = student.center_columns(x)
    expected = reference.center_columns(x)
    wrong_axis = x - x.mean(dim=1, keepdim=True)
    if (
        isinstance(got, torch.Tensor)
        and got.shape == x.shape
        and torch.allclose(got.double(), wrong_axis)
    ):
        fail(
            "center_columns(x) subtracted each row's mean, not each column's",
            "the mean over rows of each column is x.mean(dim=0, keepdim=True)",
        )
    assert_close(got, expected, spec.tolerance(), what="center_columns(x)")


@check(task="4.2", points=1)
def test_outer_sum(student, reference, spec):
    """outer_sum broadcasts a column against a row"""
    a, b = torch.randn(3, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    assert_close(
        student.outer_sum(a, b),
        reference.outer_sum(a, b),
        spec.tolerance(),
        what="outer_sum(a, b) for len(a)=3, len(b)=5",
        hint="a[:, None] + b[None, :] has shape (len(a), len(b))",
    )


@check(task="6.1", points=1)
def test_row_max(student, reference, spec):
    """row_max returns the values and the indices of each row's maximum"""
    x = torch.randn(4, 7, dtype=torch.float64)
    got = student.row_max(x)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(
            f"row_max(x) should return a pair (values, indices), got {type(got).__name__}",
            "x.max(dim=1) returns both",
        )
    values, indices = reference.row_max(x)
    assert_close(got[0], values, spec.tolerance(), what="row_max(x) values")
    assert_close(got[1], indices, spec.tolerance(), what="row_max(x) indices")


@check(task="6.2", points=1)
def test_per_sample_mean(student, reference, spec):
    """per_sample_mean reduces every dimension but the first"""
    x = torch.randn(3, 2, 4, 5, dtype=torch.float64)
    got = student.per_sample_mean(x)
    expect_tensor(
        got,
        "per_sample_mean(x) for x of shape (3, 2, 4, 5)",
        shape=(3,),
        hint="average over dims 1, 2, 3 (x.mean(dim=(1, 2, 3)) or flatten first)",
    )
    assert_close(got, reference.per_sample_mean(x), spec.tolerance(), what="per_sample_mean(x)")
