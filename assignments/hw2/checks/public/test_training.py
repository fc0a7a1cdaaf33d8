"""hw2 public check: XOR, learned by the network with your own gradients and your own loop."""

import math

import torch
import torch.nn.functional as F

from grader.checking import check, fail, ratio, scale_hint

F64 = torch.float64
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=F64)
XOR_Y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=F64)
SEEDS = (0, 1, 2)


def _judge_loss(
    params: dict, x: torch.Tensor, target: torch.Tensor, activation: str, loss: str
) -> torch.Tensor:
    """The loss of `params`, computed here in the judge with PyTorch's own functions."""
    act = torch.sigmoid if activation == "sigmoid" else F.relu
    out = F.linear(act(F.linear(x, params["w1"], params["b1"])), params["w2"], params["b2"])
    return F.mse_loss(out, target) if loss == "mse" else F.cross_entropy(out, target)


def _step_hint(
    student, start: dict, target: torch.Tensor, lr: float, activation: str, loss: str
) -> str:
    """Name what is wrong with one step of the student's loop: its change of the parameters
    against -lr · (autograd's gradient)."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in start.items()}
    grads = torch.autograd.grad(
        _judge_loss(leaves, XOR_X, target, activation, loss), list(leaves.values())
    )
    expected = torch.cat([-lr * g.flatten() for g in grads])
    got = student.train(start, XOR_X, target, lr=lr, steps=1, activation=activation, loss=loss)[0]
    try:
        step = torch.cat([(got[k].double() - start[k]).flatten() for k in start])
    except (TypeError, KeyError, RuntimeError, AttributeError):
        return ""
    if not step.abs().max() > 0:
        return "one step of your loop leaves the parameters unchanged: p = p - lr * grad"
    found = scale_hint(step, expected, batch_size=XOR_X.shape[0])
    if found:
        return f"in one step of your loop, the change of the parameters is off: {found}"
    return (
        ""
        if ratio(step, expected)
        else ("one step of your loop does not move the parameters by -lr × their gradient")
    )


def _trained_params(got, start: dict, steps: int, what: str) -> dict:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{what} should return (params, losses), got {type(got).__name__}")
    params, losses = got
    if not isinstance(params, dict) or set(params) != set(start):
        fail(
            f"the parameters returned by {what} should be a dict with keys {sorted(start)}, got "
            f"{sorted(params) if isinstance(params, dict) else type(params).__name__}"
        )
    for name, value in params.items():
        if not isinstance(value, torch.Tensor) or value.shape != start[name].shape:
            fail(
                f"parameter {name} returned by {what} should be a tensor of shape "
                f"{tuple(start[name].shape)}, got "
                f"{tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__}"
            )
    if not isinstance(losses, (list, tuple)) or len(losses) != steps:
        fail(
            f"the losses returned by {what} should be a list of {steps} numbers (one per step), "
            f"got {type(losses).__name__}"
            + (f" of length {len(losses)}" if isinstance(losses, (list, tuple)) else "")
        )
    return {k: v.double() for k, v in params.items()}


def first_steps(
    student,
    reference,
    start: dict,
    target: torch.Tensor,
    *,
    lr: float,
    activation: str,
    loss: str,
    steps: int = 3,
) -> None:
    """`steps` steps of the student's loop give the reference's parameters and losses."""
    what = (
        f"train(params, x, target, lr={lr:g}, steps={steps}, activation={activation!r}, "
        f"loss={loss!r}) on XOR"
    )
    got = student.train(start, XOR_X, target, lr=lr, steps=steps, activation=activation, loss=loss)
    params = _trained_params(got, start, steps, what)
    expected, losses = reference.train(
        start, XOR_X, target, lr=lr, steps=steps, activation=activation, loss=loss
    )
    close = all(
        torch.allclose(params[k], expected[k].double(), rtol=1e-6, atol=1e-9) for k in start
    ) and all(
        isinstance(v, (int, float)) and math.isclose(v, e, rel_tol=1e-6, abs_tol=1e-9)
        for v, e in zip(got[1], losses, strict=True)
    )
    if not close:
        fail(
            f"after {what}, the parameters (or the losses) are not those of {steps} steps of "
            "gradient descent, p = p - lr * grad, from the same start",
            _step_hint(student, start, target, lr, activation, loss)
            or "each step: loss_and_grads at the current parameters, then p = p - lr * grad",
        )


def train_and_judge(
    student,
    reference,
    *,
    hidden: int,
    n_out: int,
    target: torch.Tensor,
    activation: str,
    loss: str,
    training,
) -> None:
    """Train from init_params(seed) for each of SEEDS; the judge computes each final loss.

    `training` ([training.mse] or [training.cross_entropy]): full-batch gradient descent,
    `epochs` steps of rate `lr`, to a final loss of at most `max_loss`.

    First, a few steps of the student's loop must move the parameters as the reference's
    gradient descent does: trained weights that did not come from the student's own
    gradients (hard-coded, or from a fake loss) earn nothing.
    """
    lr, steps, max_loss = training.lr, training.epochs, training.max_loss
    start = reference.init_params(2, hidden, n_out, seed=SEEDS[0])
    first_steps(student, reference, start, target, lr=lr, activation=activation, loss=loss)
    for seed in SEEDS:
        start = reference.init_params(2, hidden, n_out, seed=seed)
        what = (
            f"train(params, x, target, lr={lr:g}, steps={steps}, activation={activation!r}, "
            f"loss={loss!r}) on XOR from init_params(2, {hidden}, {n_out}, seed={seed})"
        )
        params = _trained_params(
            student.train(
                start, XOR_X, target, lr=lr, steps=steps, activation=activation, loss=loss
            ),
            start,
            steps,
            what,
        )
        before = float(_judge_loss(start, XOR_X, target, activation, loss))
        after = float(_judge_loss(params, XOR_X, target, activation, loss))
        if after <= max_loss:
            continue
        hint = _step_hint(student, start, target, lr, activation, loss)
        if hint:
            pass
        elif not math.isfinite(after):
            hint = "training diverged: the steps are far too large"
        elif after > before:
            hint = (
                "the loss went up: step against the gradient, p = p - lr * grad (a flipped "
                "sign climbs the loss)"
            )
        else:
            hint = (
                "the loss falls, but too slowly: check that every gradient check passes, and "
                "that each step uses the gradients of the current parameters"
            )
        fail(
            f"after {what}, the loss is {after:.4g} (it started at {before:.4g}); it should be at "
            f"most {max_loss:g}",
            hint,
        )


@check(task="5.1", points=4, needs=["4.3"])
def test_xor_training_reaches_loss_threshold(student, reference, spec):
    """XOR: your train loop reaches the loss threshold (ReLU + MSE, sigmoid + cross-entropy; 3 seeds)"""
    hidden = int(spec.threshold("xor_hidden"))
    train_and_judge(
        student,
        reference,
        hidden=hidden,
        n_out=1,
        target=XOR_Y,
        activation="relu",
        loss="mse",
        training=spec.training("mse"),
    )
    train_and_judge(
        student,
        reference,
        hidden=hidden,
        n_out=2,
        target=XOR_Y[:, 0].long(),
        activation="sigmoid",
        loss="cross_entropy",
        training=spec.training("cross_entropy"),
    )
