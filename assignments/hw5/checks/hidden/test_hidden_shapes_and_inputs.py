"""hw5 hidden checks: other shapes, dtypes and p, and inputs left untouched."""

import math

import torch

from grader.checking import (
    assert_close,
    check,
    expect_tensor,
    fail,
    named_parameters,
    normal_draw_hint,
)


@check(task="1.1", points=1)
def test_dropout_keeps_shape_and_dtype_and_another_p(student, spec, seed):
    """dropout works on a 3-D float64 tensor with p = 0.65 (zero fraction z-test, level 1e-6)"""
    p, n = 0.65, 40 * 50 * 100
    inputs = torch.Generator().manual_seed(seed + 1)  # independent of the worker's RNG
    x = torch.rand(40, 50, 100, dtype=torch.float64, generator=inputs) + 0.5
    got = expect_tensor(
        student.dropout(x, p, True),
        "dropout(x, 0.65) for x (40, 50, 100) float64",
        shape=(40, 50, 100),
        dtype=torch.float64,
    )
    f = float((got == 0).double().mean())
    z = (f - p) / math.sqrt(p * (1 - p) / n)
    if abs(z) > 4.89:  # two-sided level 1e-6
        fail(
            f"dropout(x, 0.65) zeroed a fraction {f:.4f}, expected 0.65 (z = {z:.1f})",
            normal_draw_hint(
                {p: f},
                lambda g, target: abs(g - target) <= 4.89 * math.sqrt(target * (1 - target) / n),
            )
            or "keep = rand_like(x) > p works for any shape and dtype",
        )
    kept = got != 0
    assert_close(
        got[kept],
        x[kept] / (1 - p),
        spec.tolerance(),
        what="the kept elements of dropout(x, 0.65) (expected x / 0.35)",
        hint="inverted dropout divides the kept elements by 1 - p (here 0.35)",
    )


@check(task="1.1", points=1)
def test_dropout_does_not_change_its_input(student):
    """dropout(x, p) returns a new tensor and leaves x as it was"""
    x = torch.rand(1000) + 0.5
    handle = student.put(x.clone())
    out = expect_tensor(student.dropout(handle, 0.5, True), "dropout(x, 0.5)", shape=(1000,))
    kept = out != 0
    # dropout drops some elements and keeps the others as one multiple of x
    if bool(kept.all()) or not bool(kept.any()):
        fail(
            f"dropout(x, 0.5) {'dropped none' if bool(kept.all()) else 'kept none'} of x's "
            "1000 elements",
            "out = x * keep / (1 - p) with keep = rand_like(x) > p",
        )
    after = expect_tensor(handle.method("clone")(), "x after dropout(x, 0.5)")
    if not torch.equal(after, x):
        fail(
            f"dropout(x, 0.5) changed x itself ({int((after != x).sum())} of 1000 elements)",
            "build the output out of place, x * keep / (1 - p); x[mask] = 0 or x.mul_() "
            "changes the caller's tensor (and breaks autograd)",
        )


@check(task="2.2", points=1, needs=["1.2", "2.1"])
def test_mlp_of_other_sizes(student, spec):
    """the MLP works for other layer sizes (7 → 5 → 4 → 2), nothing hard-coded"""
    model = student.MLP(7, 5, 4, 2, 0.3, 0.3)
    params = {
        name: value.detach() for name, value in named_parameters(model, "MLP(7, 5, 4, 2)").items()
    }
    shapes = {
        "fc1.weight": (5, 7),
        "fc1.bias": (5,),
        "fc2.weight": (4, 5),
        "fc2.bias": (4,),
        "fc3.weight": (2, 4),
        "fc3.bias": (2,),
    }
    got = {name: tuple(value.shape) for name, value in params.items()}
    if got != shapes:
        fail(
            f"MLP(7, 5, 4, 2) should have parameters {shapes}, got {got}",
            "use the constructor's arguments for every layer size",
        )
    model.eval()
    x = torch.randn(9, 7)
    h = (x @ params["fc1.weight"].T + params["fc1.bias"]).clamp(min=0)
    h = (h @ params["fc2.weight"].T + params["fc2.bias"]).clamp(min=0)
    assert_close(
        model(x),
        h @ params["fc3.weight"].T + params["fc3.bias"],
        spec.tolerance("float32"),
        what="MLP(7, 5, 4, 2) in eval mode on x (9, 7)",
        hint="use the constructor's arguments for every layer size",
    )
