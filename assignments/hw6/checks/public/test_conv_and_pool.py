"""hw6 public checks: output-size arithmetic, conv2d and max_pool2d by hand against PyTorch's."""

import torch
import torch.nn.functional as F

from grader.checking import (
    assert_close,
    check,
    conv_shape_hint,
    expect_raises,
    expect_tensor,
    fail,
    output_size_hint,
)

# (size, kernel_size, stride, padding): LeNet's 28 → 24, a strided "same" conv, a floor case, a pool
SIZE_EXAMPLES = (
    (28, 5, 1, 0),
    (32, 3, 1, 1),
    (7, 3, 2, 0),
    (8, 3, 2, 1),
    (8, 2, 2, 0),
    (5, 5, 1, 2),
)


def expect_conv_shape(
    got,
    expected: torch.Tensor,
    what: str,
    *,
    x: torch.Tensor,
    kernel: tuple,
    stride: int,
    padding: int,
) -> torch.Tensor:
    """Shape first, with the output-size formula (and the likely slip) in the hint."""
    hint = conv_shape_hint(
        (tuple(got.shape) if isinstance(got, torch.Tensor) else None),
        tuple(expected.shape),
        input_size=tuple(x.shape[2:]),
        kernel=kernel,
        stride=(stride, stride),
        padding=(padding, padding),
    )
    return expect_tensor(got, what, shape=tuple(expected.shape), hint=hint)


def conv_mistake(x, weight, bias, stride, padding):
    """A hint_fn naming a flipped kernel (true convolution) or a forgotten bias."""

    def detect(got: torch.Tensor, expected: torch.Tensor) -> str:
        flipped = F.conv2d(x, weight.flip(-2, -1), bias, stride=stride, padding=padding)
        if torch.allclose(got.double(), flipped.double(), rtol=1e-4, atol=1e-6):
            return (
                "your result is the convolution with the kernel flipped: PyTorch's conv2d is a "
                "cross-correlation, out[i, j] = Σ w[u, v] · x[i·S + u, j·S + v] (no flip)"
            )
        if bias is not None and torch.allclose(
            got.double(), (expected - bias.reshape(1, -1, 1, 1)).double(), rtol=1e-4, atol=1e-6
        ):
            return (
                "your result is right except for the bias: add bias[o] to every output of channel o"
            )
        return ""

    return detect


def check_conv2d(student, spec, x, weight, bias, stride, padding, tol="default"):
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    what = (
        f"conv2d(x {tuple(x.shape)}, weight {tuple(weight.shape)}, "
        f"bias={'None' if bias is None else tuple(bias.shape)}, stride={stride}, padding={padding})"
    )
    got = student.conv2d(x, weight, bias, stride, padding)
    expect_conv_shape(
        got, expected, what, x=x, kernel=tuple(weight.shape[2:]), stride=stride, padding=padding
    )
    assert_close(
        got,
        expected,
        spec.tolerance(tol),
        what=what,
        hint_fn=conv_mistake(x, weight, bias, stride, padding),
    )


def check_max_pool2d(student, spec, x, kernel_size, stride, padding):
    expected = F.max_pool2d(x, kernel_size, stride, padding)
    what = f"max_pool2d(x {tuple(x.shape)}, kernel_size={kernel_size}, stride={stride}, padding={padding})"
    got = student.max_pool2d(x, kernel_size, stride, padding)
    step = kernel_size if stride is None else stride
    if (
        stride is None
        and isinstance(got, torch.Tensor)
        and tuple(got.shape) == tuple(F.max_pool2d(x, kernel_size, 1, padding).shape)
    ):
        fail(
            f"{what} has shape {tuple(got.shape)}: the shape for stride 1, but expected "
            f"{tuple(expected.shape)}",
            "stride=None means stride = kernel_size, as in F.max_pool2d",
        )
    expect_conv_shape(
        got, expected, what, x=x, kernel=(kernel_size, kernel_size), stride=step, padding=padding
    )

    def zero_padding(got: torch.Tensor, expected: torch.Tensor) -> str:
        wrong = ~torch.isclose(got.double(), expected.double())
        if (
            padding
            and bool(wrong.any())
            and bool((got[wrong] == 0).all() & (expected[wrong] < 0).all())
        ):
            return (
                "where every real value in a window is negative you return 0: pad with -inf, "
                "not 0 (F.pad(x, (p, p, p, p), value=float('-inf')))"
            )
        return ""

    assert_close(got, expected, spec.tolerance(), what=what, hint_fn=zero_padding)


@check(task="1.1", points=2)
def test_conv_output_size_examples(student):
    """conv_output_size gives ⌊(W − K + 2P) / S⌋ + 1 as an int"""
    for size, k, s, p in SIZE_EXAMPLES:
        got = student.conv_output_size(size, k, s, p)
        expected = (size - k + 2 * p) // s + 1
        what = f"conv_output_size({size}, kernel_size={k}, stride={s}, padding={p})"
        if isinstance(got, float) and got == int(got) and int(got) == expected:
            fail(
                f"{what} returned the float {got!r}; expected the int {expected}",
                "use floor division // so the result is an int",
            )
        if not isinstance(got, int) or isinstance(got, bool):
            fail(
                f"{what} should return an int, but returned {got!r}",
                "out = (W - K + 2 * P) // S + 1 (floor division gives an int)",
            )
        if got != expected:
            fail(
                f"{what} returned {got}, expected {expected}",
                output_size_hint(got, size=size, kernel=k, stride=s, padding=p),
            )


@check(task="1.1", points=1)
def test_conv_output_size_rejects_a_kernel_that_does_not_fit(student):
    """conv_output_size raises ValueError when the kernel is larger than the padded input"""
    expect_raises(
        lambda: student.conv_output_size(3, 5, 1, 0),
        "ValueError",
        what="conv_output_size(3, kernel_size=5, stride=1, padding=0)",
        hint="check K > W + 2P first and `raise ValueError(...)` with a message",
    )
    got = student.conv_output_size(3, 5, 1, 1)
    if got != 1:
        fail(
            f"conv_output_size(3, kernel_size=5, stride=1, padding=1) returned {got!r}, expected 1 "
            "(with padding the kernel fits exactly once)",
            output_size_hint(got, size=3, kernel=5, stride=1, padding=1)
            if isinstance(got, int)
            else "",
        )


@check(task="2.1", points=2, needs=["1.1"])
def test_conv2d_matches_f_conv2d(student, spec):
    """conv2d matches F.conv2d on a 7×6 image with a 3×2 kernel and a bias"""
    x, w, b = (
        torch.randn(2, 3, 7, 6, dtype=torch.float64),
        torch.randn(4, 3, 3, 2, dtype=torch.float64),
        torch.randn(4, dtype=torch.float64),
    )
    check_conv2d(student, spec, x, w, b, 1, 0)


@check(task="2.1", points=2, needs=["1.1"])
def test_conv2d_with_stride_and_padding(student, spec):
    """conv2d matches F.conv2d with strides 2 and 3 and paddings 1 and 2"""
    for (n, c_in, h, w), (c_out, kh, kw), stride, padding in (
        ((2, 2, 9, 8), (3, 3, 3), 2, 1),
        ((1, 3, 10, 11), (2, 4, 3), 3, 2),
    ):
        x = torch.randn(n, c_in, h, w, dtype=torch.float64)
        weight = torch.randn(c_out, c_in, kh, kw, dtype=torch.float64)
        check_conv2d(
            student, spec, x, weight, torch.randn(c_out, dtype=torch.float64), stride, padding
        )


@check(task="2.1", points=1, needs=["1.1"])
def test_conv2d_without_bias(student, spec):
    """conv2d with bias=None matches F.conv2d"""
    x, w = (
        torch.randn(3, 2, 6, 6, dtype=torch.float64),
        torch.randn(5, 2, 3, 3, dtype=torch.float64),
    )
    check_conv2d(student, spec, x, w, None, 1, 1)


@check(task="2.1", points=1, needs=["1.1"])
def test_conv2d_gradients_match(student, spec):
    """gradients flow through conv2d: d/dx, d/dweight and d/dbias match F.conv2d's"""
    x, w, b = (
        torch.randn(2, 2, 6, 5, dtype=torch.float64),
        torch.randn(3, 2, 3, 2, dtype=torch.float64),
        torch.randn(3, dtype=torch.float64),
    )
    leaves = [t.clone().requires_grad_(True) for t in (x, w, b)]
    out = F.conv2d(*leaves, stride=2, padding=1)
    g = torch.randn_like(out)
    expected = torch.autograd.grad(out, leaves, g)
    got = student.vjp(student.conv2d, x, w, b, 2, 1, grad_output=g, wrt=[0, 1, 2])
    if not torch.allclose(got["out"], out.detach(), rtol=1e-5, atol=1e-8):
        fail(
            "conv2d(x, weight, bias, stride=2, padding=1) is already wrong in the forward pass, so "
            "its gradients are too",
            "fix the forward pass first (see the other conv2d checks)",
        )
    for name, grad, exp in zip(("x", "weight", "bias"), got["grads"], expected, strict=True):
        if grad is None or not bool(grad.any()):
            fail(
                f"the gradient of conv2d with respect to {name} is {'None' if grad is None else 0}: "
                f"the output does not depend on {name}",
                "add the bias to the output"
                if name == "bias"
                else "build the output from torch operations on x and weight (no .item(), no .detach())",
            )
        assert_close(
            grad,
            exp,
            spec.tolerance(),
            what=f"the gradient of conv2d with respect to {name}",
            hint="build the output from torch operations on x and weight (no .item(), no "
            ".detach(), no new tensor from Python numbers) so autograd can follow",
        )


@check(task="2.2", points=2, needs=["1.1"])
def test_max_pool2d_default_stride(student, spec):
    """max_pool2d(x, 2) halves a 8×8 map and max_pool2d(x, 3) floors 7×7 to 2×2"""
    check_max_pool2d(student, spec, torch.randn(2, 3, 8, 8, dtype=torch.float64), 2, None, 0)
    check_max_pool2d(student, spec, torch.randn(1, 2, 7, 7, dtype=torch.float64), 3, None, 0)


@check(task="2.2", points=2, needs=["1.1"])
def test_max_pool2d_with_stride_and_padding(student, spec):
    """max_pool2d matches F.max_pool2d with overlapping windows and -inf padding"""
    check_max_pool2d(student, spec, torch.randn(2, 2, 9, 7, dtype=torch.float64), 3, 2, 0)
    check_max_pool2d(student, spec, torch.randn(2, 3, 6, 7, dtype=torch.float64) - 2.0, 3, 2, 1)
