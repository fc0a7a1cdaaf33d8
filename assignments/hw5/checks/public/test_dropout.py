"""hw5 public checks: inverted dropout by hand — its statistics, eval mode, edge cases, gradient.

Dropout is random, so two of these checks are statistical. Each compares a statistic measured
on N = 200 000 elements with what correct dropout gives, by a two-sided z-test (the normal
approximation to the binomial is accurate here: N·p·(1-p) ≥ 18 000). A check making K such
tests runs each at level ALPHA / K, so a correct solution fails it with probability at most
ALPHA = 1e-6 — once in a million runs — while every recognised mistake is off by hundreds of
standard deviations. The hints are read off the same statistics.

The worker's RNG starts from this check's seed, like the judge's: inputs come from a generator
of their own, or the keep mask would draw the very numbers the inputs were made of.
"""

import math
from statistics import NormalDist

import torch

from grader.checking import assert_close, check, expect_tensor, fail, normal_draw_hint

N = 200_000
PS = (0.1, 0.3, 0.5, 0.8)
ALPHA = 1e-6
KEEP_HINT = (
    "p is the probability to DROP an element, not to keep it: keep = rand_like(x) > p "
    "keeps each element with probability 1 - p"
)
FLAT_HINT = (
    "about half the elements are dropped whatever p is: compare a uniform draw with p, "
    "keep = rand_like(x) > p"
)
UNSCALED_HINT = (
    "the survivors are not scaled: divide them by 1 - p (inverted dropout), so that "
    "the expected value of every element stays what it was"
)
EVAL_HINT = (
    "dropout is the identity in eval mode: when training is False (self.training in a "
    "module) return x unchanged"
)


def z_limit(tests: int) -> float:
    """The |z| above which one of `tests` two-sided tests fails, for an overall level ALPHA."""
    return NormalDist().inv_cdf(1 - ALPHA / tests / 2)


def positive_inputs(seed: int, n: int = N, dtype=torch.float32) -> torch.Tensor:
    """Inputs in [0.5, 1.5), never 0 (a 0 in the output means the element was dropped), drawn
    independently of the worker's RNG."""
    return torch.rand(n, dtype=dtype, generator=torch.Generator().manual_seed(seed + 1)) + 0.5


def near_fraction(f: float, target: float, z: float) -> bool:
    return abs(f - target) <= z * math.sqrt(target * (1 - target) / N) + 1e-12


def diagnose_fractions(fractions: dict[float, float], z: float) -> str:
    """The mistake that the zero fraction measured at each p points to, or ''."""
    wrong = {p: f for p, f in fractions.items() if not near_fraction(f, p, z)}
    if not wrong:
        return ""
    if all(near_fraction(f, 1 - p, z) for p, f in wrong.items()):
        return KEEP_HINT
    normal = normal_draw_hint(wrong, lambda f, target: near_fraction(f, target, z))
    if normal:
        return normal
    if all(near_fraction(f, 0.5, z) for f in fractions.values()):
        return FLAT_HINT
    return "each element must be dropped with probability p, independently: rand_like(x) > p"


def train_outputs(student, x: torch.Tensor) -> dict[float, torch.Tensor]:
    """dropout(x, p, training=True) for every p in PS (a fresh copy of x each time), validated."""
    outputs = {}
    for p in PS:
        what = f"dropout(x, {p}, training=True)"
        outputs[p] = expect_tensor(
            student.dropout(x, p, True), what, shape=tuple(x.shape), dtype=x.dtype
        )
        if not torch.isfinite(outputs[p]).all():
            fail(f"{what} has NaN or inf entries", "out = x * keep / (1 - p) is finite for p < 1")
    return outputs


def zero_fractions(outputs: dict[float, torch.Tensor]) -> dict[float, float]:
    return {p: float((out == 0).double().mean()) for p, out in outputs.items()}


def expect_dropout_shape(out: torch.Tensor, x: torch.Tensor, what: str) -> None:
    """`out` looks like dropout of `x`: some elements dropped (0), some kept, and the kept ones
    all the same multiple c·x of the input (c = 1 / (1 - p) when right)."""
    kept = out != 0
    if bool(kept.all()) or not bool(kept.any()):
        fail(
            f"{what} {'dropped none' if bool(kept.all()) else 'kept none'} of the "
            f"{out.numel()} elements",
            "out = x * keep / (1 - p) with keep = rand_like(x) > p",
        )
    factor = out[kept] / x[kept]
    if not torch.allclose(factor, factor[0].expand_as(factor), rtol=1e-4):
        fail(
            f"{what} should return every element as 0 or as the same multiple of x "
            f"(x / (1 - p)); its kept elements are x times {float(factor.min()):.4g} to "
            f"{float(factor.max()):.4g}",
            "out = x * keep / (1 - p): scale every survivor by the same 1 / (1 - p)",
        )


@check(task="1.1", points=2)
def test_dropout_drops_a_fraction_p(student, seed):
    """dropout(x, p) zeroes a fraction p of the elements, for p = 0.1, 0.3, 0.5, 0.8"""
    z = z_limit(len(PS))  # ≈ 5.03: a correct solution fails with probability ≤ 1e-6
    fractions = zero_fractions(train_outputs(student, positive_inputs(seed)))
    for p, f in fractions.items():
        score = (f - p) / math.sqrt(p * (1 - p) / N)
        if abs(score) > z:
            fail(
                f"dropout(x, {p}) zeroed a fraction {f:.4f} of {N} elements; expected {p} "
                f"(z = {score:.1f}, allowed |z| ≤ {z:.2f}; zero fractions for p = "
                f"{', '.join(f'{q}: {g:.3f}' for q, g in fractions.items())})",
                diagnose_fractions(fractions, z),
            )


@check(task="1.1", points=2)
def test_dropout_preserves_the_mean(student, seed):
    """dropout(x, p) keeps the mean of x: the survivors are scaled by 1 / (1 - p)"""
    z = z_limit(len(PS))
    x = positive_inputs(seed)
    outputs = train_outputs(student, x)
    fractions = zero_fractions(outputs)
    mean_x, sum_sq = float(x.double().mean()), float((x.double() ** 2).sum())
    for p, out in outputs.items():
        expect_dropout_shape(out, x, f"dropout(x, {p})")
        mean = float(out.double().mean())
        # The output mean minus the input mean is an average of N independent terms
        # x_i · (k_i / (1 - p) - 1); its standard error is estimated from those terms, so the
        # test asks only whether the mean is preserved, whatever the mask does.
        sd = float((out.double() - x.double()).std()) / math.sqrt(N)
        score = (mean - mean_x) / max(sd, 1e-300)
        if abs(score) > z:
            ratio = mean / mean_x
            hint = diagnose_fractions(fractions, z)
            if hint:
                hint = "the mean is off because the wrong fraction is dropped: " + hint
            elif abs(ratio - (1 - p)) <= z * math.sqrt(sum_sq * p * (1 - p)) / N / mean_x:
                hint = UNSCALED_HINT
            elif abs(ratio - (1 - p) / p) < 0.02 * (1 - p) / p:
                hint = "the survivors are divided by p; divide them by 1 - p, the keep probability"
            fail(
                f"dropout(x, {p}) changed the mean of x from {mean_x:.4f} to {mean:.4f} "
                f"({ratio:.3f}x; z = {score:.1f}, allowed |z| ≤ {z:.2f})",
                hint,
            )


@check(task="1.2", points=2, needs=["1.1"])
def test_dropout_is_identity_in_eval_mode(student):
    """dropout(x, p, training=False) and Dropout(p) after .eval() return x unchanged"""
    x = torch.randn(1000)
    for p in (0.3, 0.5):
        got = expect_tensor(
            student.dropout(x, p, False), f"dropout(x, {p}, training=False)", shape=(1000,)
        )
        if not torch.equal(got, x):
            fail(
                f"dropout(x, {p}, training=False) changed x ({int((got != x).sum())} of 1000 "
                "elements differ)",
                EVAL_HINT,
            )
    layer = student.Dropout(0.5)
    if layer.training is not True:
        fail(
            "a new Dropout module should start in training mode",
            "call super().__init__() first; nn.Module starts with training = True",
        )
    if not bool((expect_tensor(layer(x), "Dropout(0.5)(x) in training mode") == 0).any()):
        fail(
            "Dropout(0.5) in training mode dropped nothing out of 1000 elements",
            "forward must call dropout(x, self.p, self.training)",
        )
    layer.eval()
    for attempt in (1, 2):
        got = expect_tensor(layer(x), "Dropout(0.5)(x) after .eval()", shape=(1000,))
        if not torch.equal(got, x):
            fail(
                f"Dropout(0.5)(x) after layer.eval() changed x (call {attempt}: "
                f"{int((got != x).sum())} of 1000 elements differ)",
                EVAL_HINT,
            )


@check(task="1.1", points=1)
def test_dropout_edge_cases_p0_and_p1(student, seed):
    """dropout with p = 0 returns x, and with p = 1 returns zeros (no NaN)"""
    # p = 0 on 16 elements: a `rand_like(x) > p` mask drops an element only when a float32
    # uniform draw is exactly 0, probability 16 · 2**-24 < 1e-6 in all.
    x = positive_inputs(seed, 16)
    got = expect_tensor(student.dropout(x, 0.0, True), "dropout(x, 0.0)", shape=(16,))
    if not torch.equal(got, x):
        dropped = int((got == 0).sum())
        fail(
            f"dropout(x, 0.0) should return x unchanged; {dropped} of 16 elements were zeroed"
            + ("" if dropped else " and the others changed"),
            KEEP_HINT if dropped == 16 else "with p = 0 nothing is dropped and 1 / (1 - p) = 1",
        )
    x = positive_inputs(seed, 1000)
    got = expect_tensor(student.dropout(x, 1.0, True), "dropout(x, 1.0)", shape=(1000,))
    if not torch.isfinite(got).all():
        fail(
            "dropout(x, 1.0) has NaN or inf entries",
            "with p = 1 everything is dropped: return torch.zeros_like(x) (x * 0 / (1 - 1) is NaN)",
        )
    if bool((got != 0).any()):
        fail(
            f"dropout(x, 1.0) should be all zeros; {int((got != 0).sum())} of 1000 survived",
            KEEP_HINT if bool((got == x).all()) else "with p = 1 every element is dropped",
        )


@check(task="1.1", points=2)
def test_dropout_gradient_flows_only_through_kept_units(student, spec, seed):
    """the gradient through dropout(x, 0.4) uses the forward pass's own mask: grad_out / 0.6 where kept, 0 where dropped"""
    x = positive_inputs(seed, 2000, torch.float64)
    grad_out = torch.randn(2000, dtype=torch.float64)
    result = student.vjp(student.dropout, x, 0.4, True, grad_output=grad_out, wrt=[0])
    out = expect_tensor(result["out"], "dropout(x, 0.4)", shape=(2000,))
    grad = result["grads"][0]
    if grad is None:
        fail(
            "no gradient reached x through dropout(x, 0.4)",
            "compute the output from x with torch operations (x * mask / (1 - p)); .detach(), "
            ".data or building a new tensor from values cuts the graph",
        )
    kept = out != 0
    if not kept.any() or kept.all():
        fail(
            f"dropout(x, 0.4) kept {int(kept.sum())} of 2000 elements: cannot check the gradient",
            "about 60% should be kept",
        )
    grad = expect_tensor(grad, "the gradient of dropout(x, 0.4) with respect to x", shape=(2000,))
    leaked = int((grad[~kept] != 0).sum())
    if leaked:
        fail(
            f"the gradient reaches {leaked} of the {int((~kept).sum())} dropped elements",
            "a dropped element does not affect the output, so its gradient must be 0: "
            "multiply x by the mask",
        )
    assert_close(
        grad,
        grad_out * out / x,
        spec.tolerance(),
        what="d dropout(x, 0.4) / d x (expected grad_out · out / x: the scale of the forward pass)",
    )
