"""hw4 hidden checks: other shapes and dtypes, and the gradient of the probability loss."""

import torch

from grader.checking import assert_close, check, expect_tensor, fail

F64 = torch.float64


@check(task="1.1", points=1)
def test_softmax_over_the_last_dimension_of_3d_input(student, reference, spec):
    """softmax works on (batch, time, classes) input, over the last dimension"""
    logits = torch.randn(2, 3, 5, dtype=F64) * 3
    assert_close(
        student.softmax(logits),
        reference.softmax(logits),
        spec.tolerance(),
        what="softmax(logits) for logits (2, 3, 5)",
        hint="use dim=-1 and keepdim=True, not dim=1: the classes are the last dimension",
    )


@check(task="1.1", points=1)
def test_softmax_float32_stays_float32_and_stable(student, reference, spec):
    """softmax keeps float32 inputs float32 and stays finite for float32 logits up to ±1000"""
    logits = torch.empty(6, 4).uniform_(-1e3, 1e3)
    got = expect_tensor(
        student.softmax(logits), "softmax(float32 logits)", shape=(6, 4), dtype=torch.float32
    )
    if not torch.isfinite(got).all():
        fail(
            "softmax(logits) has inf or NaN for float32 logits up to ±1e3 (exp overflows "
            "above 88 in float32)",
            "subtract each row's maximum before exp",
        )
    assert_close(
        got,
        reference.softmax(logits),
        spec.tolerance("float32"),
        what="softmax(float32 logits up to ±1e3)",
    )


@check(task="1.2", points=1)
def test_cross_entropy_gradient_on_probabilities(student, reference, spec):
    """the gradient of cross_entropy(probs, targets) is -1 / (N · p) at the targets, 0 elsewhere"""
    probs = reference.softmax(torch.randn(6, 4, dtype=F64))
    targets = torch.randint(0, 4, (6,))
    result = student.vjp(
        student.cross_entropy, probs, targets, grad_output=torch.tensor(1.0, dtype=F64), wrt=[0]
    )
    p = probs.clone().requires_grad_(True)
    (-p[torch.arange(6), targets].log().mean()).backward()
    assert_close(
        result["grads"][0],
        p.grad,
        spec.tolerance("gradient"),
        what="d cross_entropy / d probs",
        batch_size=6,
    )


@check(task="1.3", points=1)
def test_cross_entropy_gradient_is_finite_for_extreme_logits(student, spec):
    """the gradient of cross_entropy_with_logits is finite and right for logits up to ±1000"""
    logits = torch.empty(5, 6, dtype=F64).uniform_(-1e3, 1e3)
    targets = logits.argmin(1)
    result = student.vjp(
        student.cross_entropy_with_logits,
        logits,
        targets,
        grad_output=torch.tensor(1.0, dtype=F64),
        wrt=[0],
    )
    z = logits.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(z, targets).backward()
    assert_close(
        result["grads"][0],
        z.grad,
        spec.tolerance("gradient"),
        what="d loss / d logits for logits up to ±1e3",
        batch_size=5,
        hint_fn=lambda g, e: (
            ""
            if torch.isfinite(g).all()
            else "the backward pass went through exp of a huge number: subtract the row max first"
        ),
    )
