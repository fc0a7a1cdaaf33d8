"""Hint detectors: turn a wrong answer into a sentence that names the likely mistake.

Each detector looks at the student's actual output against the expected one and
returns a hint, or "" when the mistake is not recognised.
"""

from __future__ import annotations

import math

import torch


def ratio(got: torch.Tensor, expected: torch.Tensor) -> float | None:
    """The scalar `r` with got ≈ r · expected, when there is one (least squares, checked)."""
    g, e = got.detach().double().flatten(), expected.detach().double().flatten()
    denom = float(e @ e)
    if g.shape != e.shape or denom == 0 or not torch.isfinite(g).all():
        return None
    r = float(g @ e) / denom
    if r == 0 or not torch.allclose(g, r * e, rtol=1e-3, atol=1e-6 * max(1.0, abs(r))):
        return None
    return r


def scale_hint(got: torch.Tensor, expected: torch.Tensor, batch_size: int | None = None) -> str:
    """Gradient off by the batch size, or sign flipped, or a plain constant factor."""
    r = ratio(got, expected)
    if r is None or math.isclose(r, 1.0, rel_tol=1e-3):
        return ""
    if math.isclose(r, -1.0, rel_tol=1e-3):
        return (
            "your result is exactly -1 × the expected one: a sign is flipped "
            "(the gradient of the loss, not of -loss; or a + where a - belongs)"
        )
    if batch_size and batch_size > 1:
        if math.isclose(r, batch_size, rel_tol=1e-3):
            return (
                f"your result is {batch_size}× the expected one, and {batch_size} is the batch "
                "size: did you forget to average over the batch (divide by the batch size)?"
            )
        if math.isclose(r, 1 / batch_size, rel_tol=1e-3):
            return (
                f"your result is 1/{batch_size} of the expected one, and {batch_size} is the "
                "batch size: you divided by the batch size once too often"
            )
    if math.isclose(r, 2.0, rel_tol=1e-3):
        return (
            "your result is exactly 2× the expected one: gradients accumulated twice "
            "(forgot to zero them?) or a factor 2 from d(x²)/dx counted twice"
        )
    if math.isclose(r, 0.5, rel_tol=1e-3):
        return "your result is exactly half the expected one: a missing factor 2 (d(x²)/dx = 2x)?"
    return f"your result is the expected one scaled by {r:.4g}: a constant factor is off"


def shape_hint(got_shape: tuple[int, ...], expected_shape: tuple[int, ...]) -> str:
    """Transposed results, and sizes that look hard-coded."""
    if len(got_shape) == len(expected_shape) >= 2 and tuple(got_shape) == tuple(
        expected_shape[:-2]
    ) + (expected_shape[-1], expected_shape[-2]):
        return (
            "your result has the last two dimensions swapped: check for a transpose; PyTorch "
            "stores a Linear weight as (out_features, in_features)"
        )
    if sorted(got_shape) == sorted(expected_shape):
        return "your result has the right sizes in the wrong order: check permute/transpose"
    return ""


def output_size_hint(
    got: int,
    *,
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    what: str = "the output size",
) -> str:
    """Name the mistake in a convolution or pooling output size: ⌊(W − K + 2P) / S⌋ + 1."""
    expected = (size - kernel + 2 * padding) // stride + 1
    formula = (
        f"out = ⌊(W − K + 2P) / S⌋ + 1 = ⌊({size} − {kernel} + 2·{padding}) / {stride}⌋ + 1 "
        f"= {expected}"
    )
    if got == expected:
        return ""
    guesses = (
        ((size - kernel + 2 * padding) // stride, "you forgot the + 1"),
        ((size - kernel) // stride + 1, "you left out the padding"),
        ((size - kernel + padding) // stride + 1, "the padding is added on both sides (2P)"),
        (size - kernel + 2 * padding + 1, "you left out the stride"),
        (-(-(size - kernel + 2 * padding) // stride) + 1, "round down (floor division //), not up"),
        ((size + kernel + 2 * padding) // stride + 1, "the kernel size is subtracted, not added"),
    )
    mistake = " or ".join(text for value, text in guesses if value == got) or "a term is off"
    return f"{what} is {got}, expected {expected}: {mistake}; {formula}"


def conv_shape_hint(
    got_shape: tuple[int, ...] | None,
    expected_shape: tuple[int, ...],
    *,
    input_size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
) -> str:
    """`output_size_hint` for the first trailing (spatial) dimension that differs.

    `input_size`, `kernel`, `stride`, `padding` give one value per spatial dimension
    (e.g. (H, W)); the spatial dimensions are the last len(input_size) of each shape.
    """
    k = len(input_size)
    if got_shape is None or len(got_shape) != len(expected_shape) or k == 0:
        return ""
    names = ("height", "width") if k == 2 else tuple(f"size {i}" for i in range(k))
    for i in range(k):
        got = got_shape[len(got_shape) - k + i]
        if got != expected_shape[len(expected_shape) - k + i]:
            return output_size_hint(
                got,
                size=input_size[i],
                kernel=kernel[i],
                stride=stride[i],
                padding=padding[i],
                what=f"the output {names[i]}",
            )
    return ""


ERROR_HINTS = (
    (
        "can't allocate memory",
        "your code asked for more memory than the worker may use: look for a tensor far larger "
        "than the task needs (an outer product of the wrong sizes, a loop that keeps allocating)",
    ),
    (
        "modified by an inplace operation",
        "an in-place operation (x += ..., x.relu_(), x[...] = ...) changed a tensor autograd still "
        "needed: use the out-of-place form (x = x + ...)",
    ),
    (
        "a leaf Variable that requires grad is being used in an in-place operation",
        "a tensor that requires grad (a parameter, or an input being differentiated) was changed "
        "in place: update parameters inside `with torch.no_grad():` (p -= lr * p.grad); anywhere "
        "else build a new tensor (x = x * mask, not x[...] = 0 or x *= ...)",
    ),
    (
        "mat1 and mat2 shapes cannot be multiplied",
        "the shapes in a matrix product do not fit: check which dimension is which (and whether "
        "a size is hard-coded instead of read from the input's shape)",
    ),
    (
        "does not require grad and does not have a grad_fn",
        "the tensor is detached from the autograd graph (.data, .detach(), .numpy() or a new "
        "tensor built from values): keep the computation in torch operations",
    ),
    (
        "can't convert np.ndarray of type numpy.object_",
        "a numpy array of Python objects: build the array from numbers, not from tensors",
    ),
)


def error_hint(message: str) -> str:
    """A hint for a well-known PyTorch error message."""
    for needle, hint in ERROR_HINTS:
        if needle in message:
            return hint
    return ""
