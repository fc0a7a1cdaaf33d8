"""hw1 hidden checks: the same tasks on other shapes and values (hard-coded sizes fail here)."""

import torch

from grader.checking import assert_close, check


@check(task="1.1", points=1)
def test_arange_grid_other_shapes(student, reference, spec):
    """arange_grid works for shapes other than the example (1x7, 5x2)"""
    for rows, cols in ((1, 7), (5, 2)):
        assert_close(
            student.arange_grid(rows, cols),
            reference.arange_grid(rows, cols),
            spec.tolerance(),
            what=f"arange_grid({rows}, {cols})",
            hint="use the arguments: arange(rows * cols).reshape(rows, cols)",
        )


@check(task="2.1", points=1)
def test_channels_last_non_square(student, reference, spec):
    """channels_last works for a single image with one channel and a non-square size"""
    x = torch.randn(1, 1, 3, 7, dtype=torch.float64)
    assert_close(
        student.channels_last(x),
        reference.channels_last(x),
        spec.tolerance(),
        what="channels_last(x) for x of shape (1, 1, 3, 7)",
    )


@check(task="8.1", points=1)
def test_one_hot_other_sizes(student, reference, spec):
    """one_hot works for other label counts and class counts"""
    labels = torch.randint(0, 9, (17,))
    assert_close(
        student.one_hot(labels, 9),
        reference.one_hot(labels, 9),
        spec.tolerance(),
        what="one_hot(labels, 9) for 17 labels",
        hint="read N from labels.shape[0] and the width from num_classes",
    )


@check(task="8.2", points=1)
def test_pairwise_distances_other_sizes(student, reference, spec):
    """pairwise_distances works for other sizes and is zero from a point to itself"""
    x = torch.randn(9, 5, dtype=torch.float64)
    assert_close(
        student.pairwise_distances(x, x),
        reference.pairwise_distances(x, x),
        spec.tolerance("distances"),
        what="pairwise_distances(x, x) for x (9, 5)",
    )


@check(task="4.1", points=1)
def test_center_columns_float32(student, reference, spec):
    """center_columns keeps float32 inputs float32"""
    x = torch.randn(10, 3) * 5 + 1
    assert_close(
        student.center_columns(x),
        reference.center_columns(x),
        spec.tolerance("float32"),
        what="center_columns(x) for float32 x",
    )
