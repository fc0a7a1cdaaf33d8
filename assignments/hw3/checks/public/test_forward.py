"""hw3 public checks: the forward pass on a batch, its gradients, and a wrong input size.

Expected values come from the reference layer holding the same parameters, in float64.
"""

import torch

from grader.checking import StudentError, assert_close, check, expect_tensor, fail

IN, OUT = 5, 3


def set_parameters(layer, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Give the student's layer known parameter values (float32), checking their shapes first."""
    expect_tensor(layer.weight, f"Linear({IN}, {OUT}).weight", shape=tuple(weight.shape))
    layer.method("weight.data.copy_")(weight)
    if bias is not None:
        expect_tensor(layer.bias, f"Linear({IN}, {OUT}).bias", shape=tuple(bias.shape))
        layer.method("bias.data.copy_")(bias)


@check(task="1.3", points=2, needs=["1.1"])
def test_forward_matches_reference(student, reference, spec):
    """forward on a batch (N, in_features) equals the reference layer with the same parameters"""
    layer = student.Linear(IN, OUT)
    w, b, x = torch.randn(OUT, IN), torch.randn(OUT), torch.randn(4, IN)
    set_parameters(layer, w, b)
    expected = reference.autograd_linear(x, w, b, torch.ones(4, OUT))["out"]
    got = layer(x)
    if (
        isinstance(got, torch.Tensor)
        and got.shape == expected.shape
        and torch.allclose(got.double(), x.double() @ w.double().T, rtol=1e-4, atol=1e-4)
    ):
        hint = "the bias is missing: out = x @ self.weight.T + self.bias"
    else:
        hint = ""
    assert_close(
        got,
        expected,
        spec.tolerance("float32"),
        check_dtype=False,
        hint=hint,
        what=f"Linear({IN}, {OUT})(x) for x of shape (4, {IN})",
    )


@check(task="1.3", points=2, needs=["1.1"])
def test_gradients_match_reference(student, reference, spec):
    """gradients w.r.t. the input, weight and bias match autograd on the reference layer"""
    layer = student.Linear(IN, OUT)
    w, b, x, g = torch.randn(OUT, IN), torch.randn(OUT), torch.randn(4, IN), torch.randn(4, OUT)
    set_parameters(layer, w, b)
    expected = reference.autograd_linear(x, w, b, g)
    got = student.vjp(layer, x, grad_output=g, wrt=[0])
    compare_gradients(got, expected, spec, f"x of shape (4, {IN})", bias=True)


def compare_gradients(got: dict, expected: dict, spec, inputs: str, *, bias: bool) -> None:
    """The gradients from `student.vjp` against the oracle's, naming a missing one's cause."""
    assert_close(
        got["grads"][0],
        expected["grad_x"],
        spec.tolerance("float32"),
        check_dtype=False,
        what=f"the gradient w.r.t. the input, for {inputs}",
    )
    for name in ("weight", "bias") if bias else ("weight",):
        if name not in got["params"]:
            fail(
                f"{name} is not among the layer's parameters, so no gradient reaches it "
                f"(for {inputs})",
                f"{name} is not a registered parameter: wrap it in nn.Parameter",
            )
        if got["params"][name] is None:
            fail(
                f"no gradient reached {name} (for {inputs})",
                f"use {name} itself in forward, not {name}.data or {name}.detach(), so that "
                "autograd can reach it",
            )
        assert_close(
            got["params"][name],
            expected[f"grad_{name}"],
            spec.tolerance("float32"),
            check_dtype=False,
            what=f"the gradient w.r.t. {name}, for {inputs}",
        )


@check(task="1.3", points=1, needs=["1.1"])
def test_wrong_last_dimension_raises_value_error(student):
    """an input whose last dimension is not in_features raises ValueError naming both sizes"""
    layer = student.Linear(IN, OUT)
    x = torch.randn(4, IN + 1)
    what = f"Linear({IN}, {OUT})(x) for x of shape (4, {IN + 1})"
    fix = (
        f"check x.shape[-1] against self.in_features first, and raise ValueError(f'expected "
        f"last dimension {IN}, got {IN + 1}')"
    )
    try:
        result = layer(x)
    except StudentError as exc:
        if exc.not_implemented:
            raise
        if exc.type_name == "SystemExit":
            fail(
                f"{what} called sys.exit: it should raise ValueError",
                "sys.exit ends the whole program (here: the process running your code) instead "
                "of telling the caller what went wrong; " + fix,
                at=exc,
            )
        if exc.type_name != "ValueError":
            fail(
                f"{what} should raise ValueError, but raised {exc.type_name}: {exc.message}",
                "torch failed deep inside the matrix product, with a message about its internals; "
                + fix,
                at=exc,
            )
        if str(IN) not in exc.message or str(IN + 1) not in exc.message:
            fail(
                f"the ValueError of {what} should name both sizes ({IN} expected, {IN + 1} got); "
                f"its message is {exc.message!r}",
                fix,
                at=exc,
            )
        return
    dummy = result is None or isinstance(result, (int, float))
    fail(
        f"{what} should raise ValueError, but returned {type(result).__name__} {result!r}"[:300],
        (
            "printing a message and returning a dummy value hides the error: the caller carries "
            "on with a wrong value and fails later, far from the cause; "
            if dummy
            else ""
        )
        + fix,
    )
