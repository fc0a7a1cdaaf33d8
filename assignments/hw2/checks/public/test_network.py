"""hw2 public checks: the two-layer network's forward pass and its gradients.

Gradients are compared with autograd on the reference (float64), with central differences
of the loss, and, for batch averaging, with the mean of the per-sample gradients.
"""

import torch

from grader.checking import assert_close, check, fail, ratio, scale_hint

F64 = torch.float64
NAMES = ("w1", "b1", "w2", "b2")
# (activation, loss, outputs): one output for MSE, so that a gradient not averaged over the
# batch is exactly N times too large
CONFIGS = (("relu", "mse", 1), ("sigmoid", "cross_entropy", 3))


def _problem(
    n: int, d: int, h: int, c: int, loss: str, seed: int
) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Parameters, inputs and targets for a d -> h -> c network on a batch of n."""
    gen = torch.Generator().manual_seed(seed)
    params = {
        "w1": torch.randn(h, d, generator=gen, dtype=F64),
        "b1": torch.randn(h, generator=gen, dtype=F64),
        "w2": torch.randn(c, h, generator=gen, dtype=F64),
        "b2": torch.randn(c, generator=gen, dtype=F64),
    }
    x = torch.randn(n, d, generator=gen, dtype=F64)
    target = (
        torch.randn(n, c, generator=gen, dtype=F64)
        if loss == "mse"
        else torch.randint(0, c, (n,), generator=gen)
    )
    return params, x, target


def _grads(got, what: str) -> dict:
    if not isinstance(got, dict) or set(got) != set(NAMES):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        fail(
            f"{what} should be a dict with keys {list(NAMES)}, got {keys}",
            "return one gradient per parameter, under the parameter's name",
        )
    return got


def _loss_and_grads(got, what: str) -> tuple[float, dict]:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{what} should return (loss, grads), got {type(got).__name__}")
    value = got[0]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"the loss returned by {what} should be a number, got {type(value).__name__}")
    return float(value), _grads(got[1], f"the gradients returned by {what}")


def _divisor_hint(got, expected, batch: int) -> str:
    """Gradients averaged over the wrong count: name the count the student divided by."""
    r = ratio(got, expected)
    if r is None:
        return ""
    k = batch / r
    if k < 1.5 or abs(k - round(k)) > 1e-6 * k or round(k) == batch:
        return scale_hint(got, expected, batch)
    return (
        f"your gradient is {batch}/{round(k)} × the expected one: you divided by {round(k)}, "
        f"but this batch has {batch} samples — is a batch size hard-coded? Read it from the "
        "input's shape (x.shape[0])"
    )


@check(task="4.1", points=1, needs=["1.1"])
def test_mlp_forward(student, reference, spec):
    """mlp_forward matches the reference with sigmoid and with ReLU"""
    for activation in ("sigmoid", "relu"):
        params, x, _ = _problem(4, 3, 5, 2, "mse", seed=1)
        assert_close(
            student.mlp_forward(params, x, activation),
            reference.mlp_forward(params, x, activation),
            spec.tolerance(),
            what=f"mlp_forward(params, x, {activation!r}) for a 3 -> 5 -> 2 network",
        )


@check(task="4.2", points=2, needs=["1.2"])
def test_mlp_backward_matches_autograd(student, reference, spec):
    """mlp_backward's gradients match autograd for sigmoid and ReLU (3 -> 5 -> 2, batch of 4)"""
    for activation in ("sigmoid", "relu"):
        params, x, _ = _problem(4, 3, 5, 2, "mse", seed=2)
        g = torch.randn(4, 2, dtype=F64)
        what = f"mlp_backward(params, x, grad_out, {activation!r})"
        got = _grads(student.mlp_backward(params, x, g, activation), what)
        expected = reference.autograd_grads("mlp_forward", [params, x, activation], g)[0]
        for name in NAMES:
            assert_close(
                got[name],
                expected[name],
                spec.tolerance("grad"),
                batch_size=4,
                what=f"the gradient of {name} from {what}",
            )


@check(task="4.3", points=2, needs=["4.1", "4.2", "3.2", "3.4"])
def test_loss_and_grads_match_autograd(student, reference, spec):
    """loss_and_grads returns the loss and autograd's gradients, for MSE and cross-entropy"""
    for activation, loss, c in CONFIGS:
        params, x, target = _problem(4, 3, 5, c, loss, seed=3)
        what = f"loss_and_grads(params, x, target, {activation!r}, {loss!r})"
        value, got = _loss_and_grads(
            student.loss_and_grads(params, x, target, activation, loss), what
        )
        args = [params, x, target, activation, loss]
        assert_close(
            torch.tensor(value, dtype=F64),
            reference.mlp_loss(*args),
            spec.tolerance(),
            what=f"the loss from {what}",
            batch_size=4,
        )
        expected = reference.autograd_grads("mlp_loss", args)[0]
        for name in NAMES:
            assert_close(
                got[name],
                expected[name],
                spec.tolerance("grad"),
                batch_size=4,
                what=f"the gradient of {name} from {what}",
            )


@check(task="4.3", points=2, needs=["4.1", "4.2", "3.2", "3.4"])
def test_gradients_match_central_differences(student, reference, spec):
    """your loss is the loss, and your gradients agree with its central differences,
    (L(p+h) - L(p-h)) / 2h"""
    h = spec.threshold("central_difference_h")
    for activation, loss, c in CONFIGS:
        params, x, target = _problem(4, 3, 4, c, loss, seed=4)
        what = f"loss_and_grads(params, x, target, {activation!r}, {loss!r})"
        value, got = _loss_and_grads(
            student.loss_and_grads(params, x, target, activation, loss), what
        )
        args = [params, x, target, activation, loss]
        assert_close(
            torch.tensor(value, dtype=F64),
            reference.mlp_loss(*args),
            spec.tolerance(),
            what=f"the loss from {what}",
            batch_size=4,
        )
        for name in NAMES:
            numeric = torch.zeros_like(params[name])
            for index in range(params[name].numel()):
                sides = []
                for step in (h, -h):
                    shifted = {k: v.clone() for k, v in params.items()}
                    shifted[name].view(-1)[index] += step
                    sides.append(float(reference.mlp_loss(shifted, x, target, activation, loss)))
                numeric.view(-1)[index] = (sides[0] - sides[1]) / (2 * h)
            assert_close(
                got[name],
                numeric,
                spec.tolerance("numeric"),
                batch_size=4,
                what=f"the gradient of {name} from {what}, against central differences "
                f"of the loss (h = {h:g})",
            )


@check(task="4.3", points=2, needs=["4.1", "4.2", "3.2", "3.4"])
def test_gradients_are_averaged_over_the_batch(student, reference, spec):
    """for a batch of 6, the gradients are the mean of the 6 per-sample gradients"""
    for activation, loss, c in CONFIGS:
        params, x, target = _problem(6, 3, 4, c, loss, seed=5)
        what = f"loss_and_grads for a batch of 6 ({activation}, {loss})"
        _, got = _loss_and_grads(student.loss_and_grads(params, x, target, activation, loss), what)
        per_sample = [
            reference.autograd_grads(
                "mlp_loss", [params, x[i : i + 1], target[i : i + 1], activation, loss]
            )[0]
            for i in range(6)
        ]
        for name in NAMES:
            mean = sum(g[name] for g in per_sample) / 6
            assert_close(
                got[name],
                mean,
                spec.tolerance("grad"),
                what=f"the gradient of {name} from {what}, against the mean of the "
                "per-sample gradients",
                hint_fn=lambda g, e: _divisor_hint(g, e, 6),
            )
