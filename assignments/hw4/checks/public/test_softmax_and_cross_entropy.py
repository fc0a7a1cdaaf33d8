"""hw4 public checks: softmax and the two cross-entropies (values, stability, gradient)."""

import torch
import torch.nn.functional as F

from grader.checking import assert_close, check, expect_tensor, fail

F64 = torch.float64
STABLE_HINT = (
    "exp overflows for logits near 1e3 (exp(710) = inf in float64): subtract each "
    "row's maximum before exp — softmax(z) = softmax(z - max(z)) exactly"
)
LOG_HINT = (
    "a probability underflowed to 0 and its log is -inf: never take the log of a "
    "softmax; use log-softmax = (z - m) - log Σ exp(z - m), with m the row maximum"
)


def extreme_logits(rows: int = 8, classes: int = 10) -> torch.Tensor:
    """Logits up to ±1e3, plus a row of equal huge values and a row of equal tiny ones."""
    z = torch.empty(rows, classes, dtype=F64).uniform_(-1e3, 1e3)
    z[0] = 1e3
    z[1] = -1e3
    return z


@check(task="1.1", points=1)
def test_softmax_rows_sum_to_one(student, spec):
    """softmax(logits) has non-negative rows that each sum to 1"""
    logits = torch.randn(6, 10, dtype=F64) * 3
    p = expect_tensor(student.softmax(logits), "softmax(logits)", shape=(6, 10), dtype=F64)
    if not torch.isfinite(p).all() or (p < 0).any():
        fail("softmax(logits) has negative, inf or NaN entries; probabilities lie in [0, 1]")
    hint = ""
    if torch.allclose(p.sum(0), torch.ones(10, dtype=F64)):
        hint = (
            "your columns sum to 1: normalise over the classes (the last dimension), "
            "e.sum(dim=-1, keepdim=True), not over the batch"
        )
    elif torch.isclose(p.sum(), torch.tensor(1.0, dtype=F64)):
        hint = "the whole tensor sums to 1: divide each row by its own sum (keepdim=True)"
    assert_close(
        p.sum(-1),
        torch.ones(6, dtype=F64),
        spec.tolerance(),
        what="the row sums of softmax(logits)",
        hint=hint,
    )


@check(task="1.1", points=1)
def test_softmax_matches_reference(student, reference, spec):
    """softmax matches the reference on random logits"""
    logits = torch.randn(5, 7, dtype=F64) * 4
    assert_close(
        student.softmax(logits),
        reference.softmax(logits),
        spec.tolerance(),
        what="softmax(logits) for random logits (5, 7)",
    )


@check(task="1.1", points=2)
def test_softmax_is_stable_on_extreme_logits(student, reference, spec):
    """softmax gives finite, correct values for logits as large as ±1000"""
    logits = extreme_logits()
    got = expect_tensor(
        student.softmax(logits), "softmax(logits) for logits up to ±1e3", shape=tuple(logits.shape)
    )
    if not torch.isfinite(got).all():
        fail("softmax(logits) contains inf or NaN for logits up to ±1e3", STABLE_HINT)
    assert_close(
        got,
        reference.softmax(logits),
        spec.tolerance(),
        what="softmax(logits) for logits up to ±1e3",
        hint_fn=_stability_hint,
    )


def _stability_hint(got: torch.Tensor, expected: torch.Tensor) -> str:
    return STABLE_HINT if not torch.isfinite(got).all() else ""


@check(task="1.2", points=1)
def test_cross_entropy_matches_reference(student, reference, spec):
    """cross_entropy(probs, targets) is the mean of -log probs[i, targets[i]]"""
    probs = reference.softmax(torch.randn(8, 5, dtype=F64))
    targets = torch.randint(0, 5, (8,))
    got = student.cross_entropy(probs, targets)
    block = -probs[:, targets].log().mean()  # the N x N block a wrong index picks

    def wrong_pick(g: torch.Tensor, e: torch.Tensor) -> str:
        if torch.isclose(g.double(), block):
            return (
                "probs[:, targets] picks an N×N block; pick one entry per row: "
                "probs[torch.arange(N), targets] or probs.gather(1, targets.unsqueeze(1))"
            )
        return ""

    assert_close(
        got,
        reference.cross_entropy(probs, targets),
        spec.tolerance(),
        what="cross_entropy(probs, targets) for 8 samples",
        batch_size=8,
        hint_fn=wrong_pick,
    )


@check(task="1.3", points=1)
def test_cross_entropy_with_logits_matches_reference(student, reference, spec):
    """cross_entropy_with_logits matches the reference on random logits"""
    logits, targets = torch.randn(8, 5, dtype=F64) * 2, torch.randint(0, 5, (8,))
    assert_close(
        student.cross_entropy_with_logits(logits, targets),
        reference.cross_entropy_with_logits(logits, targets),
        spec.tolerance(),
        what="cross_entropy_with_logits(logits, targets) for 8 samples",
        batch_size=8,
    )


@check(task="1.3", points=2)
def test_cross_entropy_with_logits_is_stable(student, reference, spec):
    """cross_entropy_with_logits is finite and correct for logits as large as ±1000"""
    logits = extreme_logits()
    targets = logits.argmin(1)  # the least likely class: its probability underflows to 0
    got = student.cross_entropy_with_logits(logits, targets)
    if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
        fail(
            f"cross_entropy_with_logits is {got.item() if got.numel() == 1 else 'not finite'} "
            "for logits up to ±1e3 (expected a finite loss of about 1e3)",
            LOG_HINT,
        )
    assert_close(
        got,
        reference.cross_entropy_with_logits(logits, targets),
        spec.tolerance(),
        what="cross_entropy_with_logits(logits, targets) for logits up to ±1e3",
        batch_size=8,
    )


@check(task="1.3", points=2)
def test_cross_entropy_gradient_matches(student, spec):
    """the gradient of cross_entropy_with_logits matches autograd's (softmax - onehot) / N"""
    logits, targets = torch.randn(8, 5, dtype=F64), torch.randint(0, 5, (8,))
    result = student.vjp(
        student.cross_entropy_with_logits,
        logits,
        targets,
        grad_output=torch.tensor(1.0, dtype=F64),
        wrt=[0],
    )
    z = logits.clone().requires_grad_(True)
    F.cross_entropy(z, targets).backward()  # the judge's oracle; students may not use it
    assert_close(
        result["grads"][0],
        z.grad,
        spec.tolerance("gradient"),
        what="d loss / d logits",
        batch_size=8,
    )
