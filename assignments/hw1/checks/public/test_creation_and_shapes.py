"""hw1 public checks: creating tensors, dtypes, and shape work."""

import torch

from grader.checking import assert_close, check, expect_tensor


@check(task="1.1", points=1)
def test_arange_grid(student, reference, spec):
    """arange_grid(3, 4) has the right values, shape and dtype (int64)"""
    got = student.arange_grid(3, 4)
    assert_close(got, reference.arange_grid(3, 4), spec.tolerance(), what="arange_grid(3, 4)")


@check(task="1.2", points=1)
def test_linspace_column(student, reference, spec):
    """linspace_column(0, 1, 5) is a float64 column of evenly spaced values"""
    got = student.linspace_column(0.0, 1.0, 5)
    assert_close(
        got,
        reference.linspace_column(0.0, 1.0, 5),
        spec.tolerance(),
        what="linspace_column(0.0, 1.0, 5)",
        hint="torch.linspace(start, end, steps, dtype=torch.float64), then unsqueeze(1)",
    )


@check(task="1.3", points=1)
def test_diag_plus_identity(student, reference, spec):
    """diag_plus_identity builds diag(v) + I in the dtype of v"""
    v = torch.tensor([1.0, -2.0, 3.5], dtype=torch.float64)
    assert_close(
        student.diag_plus_identity(v),
        reference.diag_plus_identity(v),
        spec.tolerance(),
        what="diag_plus_identity([1, -2, 3.5])",
        hint="torch.diag(v) + torch.eye(n, dtype=v.dtype)",
    )


@check(task="2.1", points=1)
def test_channels_last(student, reference, spec):
    """channels_last moves the channel axis of (N, C, H, W) to the end"""
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    got = expect_tensor(
        student.channels_last(x),
        "channels_last(x)",
        shape=(2, 4, 5, 3),
        hint="use x.permute(0, 2, 3, 1): a reshape/view keeps the memory order "
        "and scrambles the values",
    )
    assert_close(
        got,
        reference.channels_last(x),
        spec.tolerance(),
        what="channels_last(x)",
        hint="the shape is right but the values are not where they belong: permute, "
        "not view/reshape",
    )


@check(task="2.2", points=1)
def test_flatten_features(student, reference, spec):
    """flatten_features turns (N, C, H, W) into (N, C*H*W)"""
    x = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    assert_close(
        student.flatten_features(x),
        reference.flatten_features(x),
        spec.tolerance(),
        what="flatten_features(x) for x of shape (4, 2, 3, 3)",
    )


@check(task="5.1", points=1)
def test_batched_matmul(student, reference, spec):
    """batched_matmul multiplies every pair in a batch of matrices"""
    a, b = torch.randn(3, 2, 4, dtype=torch.float64), torch.randn(3, 4, 5, dtype=torch.float64)
    got = student.batched_matmul(a, b)
    assert_close(
        got,
        reference.batched_matmul(a, b),
        spec.tolerance(),
        what="batched_matmul(a, b) for a (3, 2, 4) and b (3, 4, 5)",
        hint="a @ b (torch.bmm or torch.matmul) multiplies matrices; a * b is elementwise",
    )
