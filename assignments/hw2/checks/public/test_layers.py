"""hw2 public checks: the linear layer and the activations, forward and backward.

Every gradient is compared with autograd on the reference's forward pass, in float64.
"""

import torch

from grader.checking import assert_close, check, fail

F64 = torch.float64
# (N, in, out): a square weight first (a transposed weight keeps its shape there), then
# non-square ones
LINEAR_SHAPES = ((4, 3, 3), (5, 2, 7), (3, 6, 1))


def _matches(got, candidate) -> bool:
    return (
        isinstance(got, torch.Tensor)
        and got.shape == candidate.shape
        and torch.allclose(got.double(), candidate, rtol=1e-6, atol=1e-9)
    )


def _first_match(got, candidates) -> str:
    """The hint of the first (tensor, hint) candidate the student's result equals, else ""."""
    return next((hint for value, hint in candidates if _matches(got, value)), "")


def _as_triple(got, what: str) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(
            f"{what} should return a tuple (grad_x, grad_weight, grad_bias), got "
            f"{type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        )
    return tuple(got)


@check(task="1.1", points=1)
def test_linear_forward(student, reference, spec):
    """linear_forward computes x @ weight.T + bias, for square and non-square weights"""
    for n, i, o in LINEAR_SHAPES:
        x, w, b = (
            torch.randn(n, i, dtype=F64),
            torch.randn(o, i, dtype=F64),
            torch.randn(o, dtype=F64),
        )
        got = student.linear_forward(x, w, b)
        hint = _first_match(
            got,
            []
            if i != o
            else [
                (
                    x @ w + b,
                    "you computed x @ weight + bias: PyTorch stores weight as (out_features, "
                    "in_features), so the layer is x @ weight.T + bias",
                )
            ],
        )
        assert_close(
            got,
            reference.linear_forward(x, w, b),
            spec.tolerance(),
            hint=hint,
            what=f"linear_forward(x, weight, bias) for x {(n, i)}, weight {(o, i)}",
        )


@check(task="1.2", points=2)
def test_linear_backward(student, reference, spec):
    """linear_backward's grad_x, grad_weight and grad_bias match autograd, on several shapes"""
    for n, i, o in LINEAR_SHAPES:
        x, w, b = (
            torch.randn(n, i, dtype=F64),
            torch.randn(o, i, dtype=F64),
            torch.randn(o, dtype=F64),
        )
        g = torch.randn(n, o, dtype=F64)
        what = f"linear_backward(grad_out, x, weight) for x {(n, i)}, weight {(o, i)}"
        got = _as_triple(student.linear_backward(g, x, w), what)
        expected = reference.autograd_grads("linear_forward", [x, w, b], g)
        hints = (
            _first_match(
                got[0],
                [
                    (
                        g @ w.T,
                        "grad_x = grad_out @ weight: out = x @ weight.T, so "
                        "the weight comes back untransposed",
                    )
                ],
            )
            if i == o
            else "",
            _first_match(
                got[1],
                [
                    (
                        x.T @ g,
                        "grad_weight is transposed: it must have weight's shape "
                        "(out_features, in_features), grad_out.T @ x",
                    )
                ],
            ),
            "",
        )
        for name, got_i, expected_i, hint in zip(
            ("grad_x", "grad_weight", "grad_bias"), got, expected, hints, strict=True
        ):
            assert_close(
                got_i,
                expected_i,
                spec.tolerance("grad"),
                what=f"{name} of {what}",
                batch_size=n,
                hint=hint,
            )


@check(task="2.2", points=1, needs=["2.1"])
def test_sigmoid_forward_and_backward(student, reference, spec):
    """sigmoid and sigmoid_backward match the reference and autograd"""
    z, g = torch.randn(4, 5, dtype=F64) * 3, torch.randn(4, 5, dtype=F64)
    assert_close(
        student.sigmoid(z),
        reference.sigmoid(z),
        spec.tolerance(),
        what="sigmoid(z)",
        hint="σ(z) = 1 / (1 + torch.exp(-z))",
    )
    got = student.sigmoid_backward(g, z)
    s = torch.sigmoid(z)
    hint = _first_match(
        got,
        [
            (s * (1 - s), "multiply by grad_out: the chain rule gives ∂L/∂z = ∂L/∂σ · σ'(z)"),
            (g * z * (1 - z), "z is sigmoid's input, not its output: use σ(z) · (1 - σ(z))"),
        ],
    )
    assert_close(
        got,
        reference.autograd_grads("sigmoid", [z], g)[0],
        spec.tolerance("grad"),
        what="sigmoid_backward(grad_out, z)",
        hint=hint,
    )


@check(task="2.4", points=1, needs=["2.3"])
def test_relu_forward_and_backward(student, reference, spec):
    """relu and relu_backward match the reference and autograd"""
    z, g = torch.randn(6, 3, dtype=F64), torch.randn(6, 3, dtype=F64)
    assert_close(
        student.relu(z),
        reference.relu(z),
        spec.tolerance(),
        what="relu(z)",
        hint="z.clamp_min(0), or torch.where(z > 0, z, 0)",
    )
    got = student.relu_backward(g, z)
    hint = _first_match(
        got,
        [
            ((z > 0).to(F64), "multiply by grad_out: ∂L/∂z = grad_out · 1[z > 0] (chain rule)"),
            (
                g * (z.clamp_min(0)),
                "the derivative of relu is 1 where z > 0 and 0 elsewhere, not relu(z)",
            ),
        ],
    )
    assert_close(
        got,
        reference.autograd_grads("relu", [z], g)[0],
        spec.tolerance("grad"),
        what="relu_backward(grad_out, z)",
        hint=hint,
    )
