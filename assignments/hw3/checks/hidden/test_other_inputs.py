"""hw3 hidden checks: inputs with other numbers of leading dimensions, other sizes, no bias,
and reset_parameters. Code written only for (N, in_features) inputs fails here."""

import torch

from grader.checking import (
    StudentError,
    assert_close,
    check,
    error_hint,
    expect_tensor,
    fail,
    public_case_first,
)


def _parameters(layer, i: int, o: int, bias: bool = True):
    w = expect_tensor(layer.weight, f"Linear({i}, {o}).weight", shape=(o, i))
    b = expect_tensor(layer.bias, f"Linear({i}, {o}).bias", shape=(o,)) if bias else None
    return w, b


IN_PLACE = (
    "an in-place operation on the input (x.unsqueeze_(0), x += ...) breaks autograd: "
    "use the out-of-place form (x = x.unsqueeze(0))"
)


def _in_place_hint(message: str) -> str:
    return IN_PLACE if "in-place" in message or "inplace" in message else error_hint(message)


def _two_d_first(cases, check) -> None:
    """`check(shape)` for each input shape; the first is 2-D, as in the public checks."""
    public_case_first(
        cases,
        check,
        lambda shape: (
            f"your layer works for a 2-D input {cases[0]} but not for one of shape {shape}: forward "
            "must accept any number of leading dimensions, (..., in_features) -> (..., out_features); "
            "x @ self.weight.T does (torch.mm and view(N, -1) do not)"
        ),
        error_hint=_in_place_hint,
    )


@check(task="1.3", points=2, needs=["1.1"])
def test_forward_any_leading_dims(student, reference, spec):
    """forward works for 1-D, 3-D and 4-D inputs and other layer sizes"""
    for i, o in ((5, 3), (7, 2), (1, 6)):
        layer = student.Linear(i, o)
        w, b = _parameters(layer, i, o)

        def check(shape, layer=layer, w=w, b=b, o=o):
            x = torch.randn(*shape)
            expected = reference.autograd_linear(x, w, b, torch.ones(*shape[:-1], o))["out"]
            assert_close(
                layer(x),
                expected,
                spec.tolerance("float32"),
                check_dtype=False,
                what=f"Linear({shape[-1]}, {o})(x) for x of shape {shape}",
            )

        _two_d_first(((4, i), (i,), (2, 3, i), (2, 1, 3, i)), check)


@check(task="1.3", points=1, needs=["1.1"])
def test_gradients_any_leading_dims(student, reference, spec):
    """gradients w.r.t. input, weight and bias match for 1-D and 3-D inputs"""
    layer = student.Linear(5, 3)
    w, b = _parameters(layer, 5, 3)

    def check(shape):
        x, g = torch.randn(*shape), torch.randn(*shape[:-1], 3)
        expected = reference.autograd_linear(x, w, b, g)
        got = student.vjp(layer, x, grad_output=g, wrt=[0])
        for name, value in (
            ("input", got["grads"][0]),
            ("weight", got["params"].get("weight")),
            ("bias", got["params"].get("bias")),
        ):
            if value is None:
                fail(
                    f"no gradient reached the {name} for x of shape {shape}",
                    f"{name} is not a registered parameter: wrap it in nn.Parameter"
                    if name != "input" and name not in got["params"]
                    else "",
                )
            assert_close(
                value,
                expected["grad_x" if name == "input" else f"grad_{name}"],
                spec.tolerance("float32"),
                check_dtype=False,
                what=f"the gradient w.r.t. the {name}, for x of shape {shape}",
            )

    _two_d_first(((4, 5), (5,), (2, 4, 5)), check)


@check(task="1.3", points=1, needs=["1.1"])
def test_forward_without_bias(student, reference, spec):
    """Linear(5, 3, bias=False) computes x @ weight.T, with no bias term"""
    layer = student.Linear(5, 3, bias=False)
    w, _ = _parameters(layer, 5, 3, bias=False)
    x = torch.randn(4, 5)
    try:
        got = layer(x)
    except StudentError as exc:
        if exc.not_implemented or "NoneType" not in exc.message:
            raise
        fail(
            f"Linear(5, 3, bias=False)(x) raised {exc.type_name}: {exc.message}",
            "with bias=False, self.bias is None: add it only when it exists "
            "(if self.bias is not None: out = out + self.bias)",
            at=exc,
        )
    assert_close(
        got,
        reference.autograd_linear(x, w, None, torch.ones(4, 3))["out"],
        spec.tolerance("float32"),
        check_dtype=False,
        what="Linear(5, 3, bias=False)(x) for x of shape (4, 5)",
    )


@check(task="1.2", points=1, needs=["1.1"])
def test_reset_parameters_redraws(student):
    """reset_parameters() draws new values for weight and bias

    (Their distribution is checked on new layers, by the public initialisation checks.)
    """
    layer = student.Linear(16, 8)
    before = [expect_tensor(layer.weight, "weight"), expect_tensor(layer.bias, "bias")]
    layer.method("reset_parameters")()
    after = [
        expect_tensor(layer.weight, "weight after reset_parameters()"),
        expect_tensor(layer.bias, "bias after reset_parameters()"),
    ]
    for name, old, new in zip(("weight", "bias"), before, after, strict=True):
        if torch.equal(old, new):
            fail(
                f"reset_parameters() left the {name} unchanged",
                "draw new values in place: self.weight.uniform_(-bound, bound) inside torch.no_grad()",
            )
