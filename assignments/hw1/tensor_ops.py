"""hw1 — tensor operations. Replace each `raise NotImplementedError(...)` with your code.

Read README.md in this folder first: it explains every task. Run `grader check hw1`
to see how you are doing. No Python loops are needed anywhere in this file.
"""

import numpy as np
import torch


def arange_grid(rows: int, cols: int) -> torch.Tensor:
    """Task 1.1: an int64 tensor of shape (rows, cols) holding 0, 1, ..., rows*cols - 1 row by row."""
    raise NotImplementedError("Task 1.1: arange_grid")


def linspace_column(start: float, end: float, steps: int) -> torch.Tensor:
    """Task 1.2: `steps` evenly spaced float64 values from start to end, as a column (steps, 1)."""
    raise NotImplementedError("Task 1.2: linspace_column")


def diag_plus_identity(values: torch.Tensor) -> torch.Tensor:
    """Task 1.3: the square matrix diag(values) + I, with the dtype of `values`."""
    raise NotImplementedError("Task 1.3: diag_plus_identity")


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """Task 2.1: images of shape (N, C, H, W) rearranged to (N, H, W, C)."""
    raise NotImplementedError("Task 2.1: channels_last")


def flatten_features(images: torch.Tensor) -> torch.Tensor:
    """Task 2.2: a batch of shape (N, ...) flattened to (N, D), D the product of the other sizes."""
    raise NotImplementedError("Task 2.2: flatten_features")


def select_positive(x: torch.Tensor) -> torch.Tensor:
    """Task 3.1: the strictly positive elements of x, as a 1-D tensor in row-major order."""
    raise NotImplementedError("Task 3.1: select_positive")


def relu_copy(x: torch.Tensor) -> torch.Tensor:
    """Task 3.2: a copy of x with negative elements set to 0 (x itself must not change)."""
    raise NotImplementedError("Task 3.2: relu_copy")


def every_other_row_last_col(x: torch.Tensor) -> torch.Tensor:
    """Task 3.3: the last column's elements in rows 0, 2, 4, ... of the 2-D tensor x."""
    raise NotImplementedError("Task 3.3: every_other_row_last_col")


def center_columns(x: torch.Tensor) -> torch.Tensor:
    """Task 4.1: x (N, D) minus the mean of each column, so every column has mean 0."""
    raise NotImplementedError("Task 4.1: center_columns")


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Task 4.2: the (len(a), len(b)) matrix with entry [i, j] = a[i] + b[j]."""
    raise NotImplementedError("Task 4.2: outer_sum")


def batched_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Task 5.1: the matrix product of each pair: (B, n, k) @ (B, k, m) -> (B, n, m)."""
    raise NotImplementedError("Task 5.1: batched_matmul")


def row_max(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Task 6.1: (values, indices) of the maximum of each row of the 2-D tensor x."""
    raise NotImplementedError("Task 6.1: row_max")


def per_sample_mean(x: torch.Tensor) -> torch.Tensor:
    """Task 6.2: the mean over every dimension but the first: (N, ...) -> (N,)."""
    raise NotImplementedError("Task 6.2: per_sample_mean")


def share_numpy(a: np.ndarray) -> torch.Tensor:
    """Task 7.1: a tensor that shares memory with the numpy array a (no copy)."""
    raise NotImplementedError("Task 7.1: share_numpy")


def copy_numpy(a: np.ndarray) -> torch.Tensor:
    """Task 7.2: a tensor with a's values and dtype that does NOT share memory with a."""
    raise NotImplementedError("Task 7.2: copy_numpy")


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Task 8.1: float32 one-hot rows (N, num_classes) for int64 labels (N,), without loops."""
    raise NotImplementedError("Task 8.1: one_hot")


def pairwise_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Task 8.2: Euclidean distances (N, M) between rows of x (N, D) and y (M, D), without loops."""
    raise NotImplementedError("Task 8.2: pairwise_distances")
