"""hw2 hidden checks: the same gradients on other sizes (a batch of 1, wide and tall layers,
more classes). Code that only works for the public sizes fails here."""

import functools
import math

import torch

from grader.checking import (
    assert_close,
    check,
    fail,
    public_case_first,
    ratio,
    scale_hint,
)

F64 = torch.float64
NAMES = ("w1", "b1", "w2", "b2")


def _public_size_first(size: str, cases, check) -> None:
    """`check(case)` for each case; the first is the size a public check uses."""
    public_case_first(
        cases,
        check,
        lambda case: (
            f"your code passes for the public {size} {cases[0]} but not for {case}: is a size "
            "hard-coded? Read every size from the inputs' shapes"
        ),
    )


@check(task="1.2", points=1)
def test_linear_backward_other_shapes(student, reference, spec):
    """linear_backward works for a batch of 1, a wide and a tall layer"""

    def check(shape):
        n, i, o = shape
        x, w, b = (
            torch.randn(n, i, dtype=F64),
            torch.randn(o, i, dtype=F64),
            torch.randn(o, dtype=F64),
        )
        g = torch.randn(n, o, dtype=F64)
        got = student.linear_backward(g, x, w)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            fail(
                f"linear_backward should return (grad_x, grad_weight, grad_bias), got {type(got).__name__}"
            )
        expected = reference.autograd_grads("linear_forward", [x, w, b], g)
        for name, got_i, expected_i in zip(
            ("grad_x", "grad_weight", "grad_bias"), got, expected, strict=True
        ):
            assert_close(
                got_i,
                expected_i,
                spec.tolerance("grad"),
                batch_size=n,
                what=f"{name} of linear_backward for x {(n, i)}, weight {(o, i)}",
            )

    _public_size_first("shape (N, in, out)", ((5, 2, 7), (1, 4, 5), (16, 10, 3), (7, 1, 9)), check)


def _mse_hint(got, expected, n: int, d: int) -> str:
    """MSE's gradient divided by the wrong count: not at all, or by N instead of N·D."""
    r = ratio(got, expected)
    if d > 1 and r is not None and math.isclose(r, d, rel_tol=1e-6):
        return (
            f"your gradient is {d}× the expected one, and {d} is the number of outputs: "
            "F.mse_loss averages over all N·D elements, so divide by pred.numel(), not only "
            "by the batch size"
        )
    if d > 1 and r is not None and math.isclose(r, n * d, rel_tol=1e-6):
        return (
            f"your gradient is {n * d}× the expected one: MSE is the mean over all "
            f"N·D = {n}·{d} elements, so its gradient is divided by N·D"
        )
    return scale_hint(got, expected, n)


@check(task="3.4", points=2, needs=["3.2"])
def test_loss_gradients_other_shapes(student, reference, spec):
    """mse_loss_backward and cross_entropy_backward work for other batch sizes and widths"""

    def check_mse(shape):
        pred, target = torch.randn(*shape, dtype=F64), torch.randn(*shape, dtype=F64)
        assert_close(
            student.mse_loss_backward(pred, target),
            reference.autograd_grads("mse_loss", [pred, target])[0],
            spec.tolerance("grad"),
            what=f"mse_loss_backward(pred, target) for pred {shape}",
            hint_fn=lambda g, e: _mse_hint(g, e, *shape),
        )

    def check_ce(shape):
        n, c = shape
        logits, labels = torch.randn(n, c, dtype=F64) * 2, torch.randint(0, c, (n,))
        assert_close(
            student.cross_entropy_backward(logits, labels),
            reference.autograd_grads("cross_entropy", [logits, labels])[0],
            spec.tolerance("grad"),
            batch_size=n,
            what=f"cross_entropy_backward(logits, labels) for logits {shape}",
        )

    _public_size_first("shape of pred", ((4, 1), (6, 3), (1, 1)), check_mse)
    _public_size_first("shape of logits", ((4, 3), (9, 7), (1, 4)), check_ce)


@check(task="4.3", points=2, needs=["4.1", "4.2", "3.2", "3.4"])
def test_network_gradients_other_sizes(student, reference, spec):
    """loss_and_grads matches autograd for a 5 -> 7 -> 3 network and batches of 6 and 1"""

    def check(n, activation, loss):
        params = {
            "w1": torch.randn(7, 5, dtype=F64),
            "b1": torch.randn(7, dtype=F64),
            "w2": torch.randn(3, 7, dtype=F64),
            "b2": torch.randn(3, dtype=F64),
        }
        x = torch.randn(n, 5, dtype=F64)
        target = torch.randn(n, 3, dtype=F64) if loss == "mse" else torch.randint(0, 3, (n,))
        what = f"loss_and_grads for a 5 -> 7 -> 3 network, a batch of {n} ({activation}, {loss})"
        got = student.loss_and_grads(params, x, target, activation, loss)
        if (
            not isinstance(got, (tuple, list))
            or len(got) != 2
            or not isinstance(got[1], dict)
            or set(got[1]) != set(NAMES)
        ):
            fail(f"{what} should return (loss, {{'w1': ..., 'b1': ..., 'w2': ..., 'b2': ...}})")
        expected = reference.autograd_grads("mlp_loss", [params, x, target, activation, loss])[0]
        for name in NAMES:
            assert_close(
                got[1][name],
                expected[name],
                spec.tolerance("grad"),
                what=f"the gradient of {name} from {what}",
                hint_fn=lambda g, e: _mse_hint(g, e, n, 3 if loss == "mse" else 1),
            )

    for activation, loss in (("relu", "mse"), ("sigmoid", "cross_entropy")):
        _public_size_first(
            "batch size", (4, 6, 1), functools.partial(check, activation=activation, loss=loss)
        )
