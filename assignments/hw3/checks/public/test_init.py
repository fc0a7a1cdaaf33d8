"""hw3 public checks: the initialisation matches PyTorch's default in distribution.

nn.Linear draws weight and bias from U(-b, b) with b = 1/√in_features (kaiming_uniform_ with
a=√5 gives exactly this bound for the weight). A uniform draw never leaves [-b, b], comes
within 0.1 % of ±b somewhere among many draws, has mean 0, variance b²/3 and half its values
in [-b/2, b/2]. Each statistic is a z-test at |z| <= init_max_z (assignment.toml states the
false-failure rate); the values come from the worker's seeded generator, so a run is
reproducible.
"""

import math

import torch

from grader.checking import check, expect_tensor, fail

SQRT = {"√2": math.sqrt(2), "√3": math.sqrt(3), "√6": math.sqrt(6)}


def _bound_hint(values: torch.Tensor, bound: float, fan_in: int, fan_out: int) -> str:
    """Name the mistake from the values' spread: a bound off by √2, √3 or √6, a normal draw,
    the wrong fan, or no centring."""
    std = float(values.std())
    top = float(values.abs().max())
    if std == 0:
        return (
            "every value is the same: draw them at random, "
            "e.g. self.weight.uniform_(-bound, bound) inside torch.no_grad()"
        )
    if top / std > 2.5:  # uniform: max|v| = √3 std; a normal sample of this size: ~4.5 std
        return (
            "the values look normally distributed (randn / normal_), not uniform: PyTorch's "
            f"default is U(-1/√in_features, 1/√in_features), here ±{bound:.4g}"
        )
    if abs(float(values.mean())) > 0.25 * top:
        return "the values are not centred on 0: draw from U(-b, b), e.g. (torch.rand(...) * 2 - 1) * b"
    scale = top / bound
    for name, factor in SQRT.items():
        if math.isclose(scale, factor, rel_tol=0.01):
            extra = (
                " — nn.init.kaiming_uniform_ without a=√5 gives √6/√fan_in" if name == "√6" else ""
            )
            return (
                f"your bound is {name} × the expected 1/√in_features = {bound:.4g}{extra}; "
                "the default is b = 1/√in_features"
            )
        if math.isclose(scale, 1 / factor, rel_tol=0.01):
            return (
                f"your bound is 1/{name} × the expected 1/√in_features = {bound:.4g}; "
                "the default is b = 1/√in_features"
            )
    if math.isclose(top, 1 / math.sqrt(fan_out), rel_tol=0.01):
        return "your bound is 1/√out_features: the fan-in is in_features"
    return (
        f"your values lie within ±{top:.4g}; the default is U(-b, b) with "
        f"b = 1/√in_features = {bound:.4g}"
    )


def check_uniform(
    values: torch.Tensor, bound: float, what: str, *, max_z: float, fan_in: int, fan_out: int
) -> None:
    """`values` look like independent draws from U(-bound, bound)."""
    v = values.detach().double().flatten()
    n = v.numel()
    hint = _bound_hint(v, bound, fan_in, fan_out)
    top = float(v.abs().max())
    if top > bound * (1 + 1e-6):
        fail(
            f"{what}: a value of magnitude {top:.4g} lies outside ±{bound:.4g} = ±1/√in_features",
            hint,
        )
    if top < bound * (1 - 1e-3):
        fail(
            f"{what}: the largest magnitude is {top:.4g}, but among {n} uniform draws some come "
            f"within 0.1 % of the bound {bound:.4g}",
            hint,
        )
    var = bound**2 / 3
    stats = (
        ("mean", float(v.mean()), 0.0, math.sqrt(var / n)),
        ("variance", float(v.var()), var, bound**2 * math.sqrt(4 / 45 / n)),
        (
            "fraction within ±bound/2",
            float((v.abs() <= bound / 2).double().mean()),
            0.5,
            math.sqrt(0.25 / n),
        ),
    )
    for name, got, expected, std_error in stats:
        z = (got - expected) / std_error
        if abs(z) > max_z:
            fail(
                f"{what}: the {name} is {got:.4g}, expected {expected:.4g} for U(-{bound:.4g}, "
                f"{bound:.4g}) (z = {z:.1f} over {n} values; allowed |z| <= {max_z:g})",
                hint,
            )


@check(task="1.2", points=2, needs=["1.1"])
def test_weight_init_matches_pytorch_default(student, spec):
    """the weight of a new Linear(256, 1024) is drawn from U(-1/√256, 1/√256)"""
    layer = student.Linear(256, 1024)
    weight = expect_tensor(layer.weight, "Linear(256, 1024).weight")
    check_uniform(
        weight,
        1 / math.sqrt(256),
        "Linear(256, 1024).weight",
        max_z=spec.threshold("init_max_z"),
        fan_in=256,
        fan_out=1024,
    )


@check(task="1.2", points=1, needs=["1.1"])
def test_bias_init_matches_pytorch_default(student, spec):
    """the bias of a new Linear(64, 16384) is drawn from U(-1/√64, 1/√64)"""
    layer = student.Linear(64, 16384)
    bias = expect_tensor(layer.bias, "Linear(64, 16384).bias")
    check_uniform(
        bias,
        1 / math.sqrt(64),
        "Linear(64, 16384).bias",
        max_z=spec.threshold("init_max_z"),
        fan_in=64,
        fan_out=16384,
    )
