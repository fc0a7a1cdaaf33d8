"""hw3 public checks: the layer's parameters — registered, named, shaped and printed like
nn.Linear's."""

import torch

from grader.checking import check, expect_tensor, fail, named_parameters

PARAMETER_HINT = (
    "wrap the tensor in nn.Parameter (self.weight = nn.Parameter(torch.empty("
    "out_features, in_features))): a plain tensor attribute is not a parameter, so "
    "optimizers, .parameters() and state_dict() never see it"
)


@check(task="1.1", points=2)
def test_parameters_are_registered(student):
    """weight and bias are registered parameters: in parameters(), in state_dict, trainable"""
    layer = student.Linear(5, 3)
    names = list(named_parameters(layer, "Linear(5, 3)", PARAMETER_HINT))
    for name in ("weight", "bias"):
        if name not in names:
            fail(
                f"Linear(5, 3).named_parameters() has no {name!r} (it has {names})", PARAMETER_HINT
            )
    if names != ["weight", "bias"]:
        fail(
            f"Linear(5, 3).named_parameters() should be exactly ['weight', 'bias'] (in that order, "
            f"as in nn.Linear), got {names}",
            "register only weight, then bias",
        )
    keys = list(layer.state_dict())
    if keys != ["weight", "bias"]:
        fail(
            f"Linear(5, 3).state_dict() should have the keys ['weight', 'bias'], got {keys}",
            "state_dict holds exactly the registered parameters and buffers",
        )
    for name in ("weight", "bias"):
        if layer.attr(f"{name}.requires_grad") is not True:
            fail(
                f"Linear(5, 3).{name}.requires_grad is not True: it would never be trained",
                "nn.Parameter(tensor) sets requires_grad=True; do not detach it or turn it off",
            )


@check(task="1.1", points=1)
def test_weight_and_bias_shapes(student):
    """weight has shape (out_features, in_features) and bias (out_features,), as in nn.Linear"""
    layer = student.Linear(5, 3)
    if (layer.in_features, layer.out_features) != (5, 3):
        fail(
            f"Linear(5, 3) should have in_features=5 and out_features=3, got "
            f"{layer.in_features!r} and {layer.out_features!r}",
            "store both sizes as attributes",
        )
    expect_tensor(layer.weight, "Linear(5, 3).weight", shape=(3, 5))  # a transposed one is named
    expect_tensor(layer.bias, "Linear(5, 3).bias", shape=(3,))


@check(task="1.1", points=1)
def test_bias_false_registers_none(student):
    """Linear(5, 3, bias=False) has no bias parameter and registers bias as None"""
    layer = student.Linear(5, 3, bias=False)
    names = list(named_parameters(layer, "Linear(5, 3, bias=False)"))
    hint = (
        "in __init__, when bias is False: self.register_parameter('bias', None), as nn.Linear "
        "does; then layer.bias is None and it is not a parameter"
    )
    if "bias" in names:
        fail(
            f"Linear(5, 3, bias=False) still has a bias parameter (named_parameters: {names})", hint
        )
    if layer.attr("bias") is not None:
        fail("Linear(5, 3, bias=False).bias should be None", hint)
    registered = layer.attr("_parameters")
    if not isinstance(registered, dict) or "bias" not in registered:
        fail(
            "Linear(5, 3, bias=False) sets bias to None without registering it: "
            "'bias' is not in layer._parameters",
            hint,
        )
    if "bias" in layer.state_dict():
        fail("Linear(5, 3, bias=False).state_dict() has a 'bias' entry", hint)


@check(task="1.4", points=1, needs=["1.1"])
def test_extra_repr(student):
    """extra_repr and print(layer) show the sizes and the bias, exactly as nn.Linear does"""
    for bias in (True, False):
        layer = student.Linear(5, 3, bias=bias)
        expected = torch.nn.Linear(5, 3, bias=bias).extra_repr()  # PyTorch's own format
        got = layer.method("extra_repr")()
        if got != expected:
            fail(
                f"Linear(5, 3, bias={bias}).extra_repr() should be {expected!r}, got {got!r}",
                "return f'in_features={self.in_features}, out_features={self.out_features}, "
                "bias={self.bias is not None}'",
            )
        if layer.text != f"Linear({expected})":
            fail(
                f"print(Linear(5, 3, bias={bias})) should show 'Linear({expected})', got "
                f"{layer.text!r}",
                "nn.Module's __repr__ uses extra_repr: do not override __repr__",
            )
