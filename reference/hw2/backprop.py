"""hw2 reference solution: manual backpropagation through a small MLP.

The last function, `autograd_grads`, is not part of the assignment: it is the oracle the
checks compare students' hand-written gradients with (autograd on this module's forward
functions, in float64). It lives here so that it runs wherever the reference runs.
"""

from __future__ import annotations

import math

import torch


def init_params(
    n_in: int,
    n_hidden: int,
    n_out: int,
    *,
    seed: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict[str, torch.Tensor]:
    """Parameters of a 2-layer MLP, drawn like nn.Linear's: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    params = {}
    for i, (fan_in, fan_out) in enumerate(((n_in, n_hidden), (n_hidden, n_out)), start=1):
        bound = 1 / math.sqrt(fan_in)
        params[f"w{i}"] = (
            torch.rand(fan_out, fan_in, generator=generator, dtype=dtype) * 2 - 1
        ) * bound
        params[f"b{i}"] = (torch.rand(fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
    return params


def linear_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return x @ weight.T + bias


def linear_backward(
    grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return grad_out @ weight, grad_out.T @ x, grad_out.sum(dim=0)


def sigmoid(z: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + torch.exp(-z))


def sigmoid_backward(grad_out: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    s = sigmoid(z)
    return grad_out * s * (1 - s)


def relu(z: torch.Tensor) -> torch.Tensor:
    return z.clamp_min(0)


def relu_backward(grad_out: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return grad_out * (z > 0)


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((pred - target) ** 2).mean()


def mse_loss_backward(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 2 * (pred - target) / pred.numel()


def _log_softmax(logits: torch.Tensor) -> torch.Tensor:
    shifted = logits - logits.max(dim=1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return -_log_softmax(logits)[torch.arange(logits.shape[0]), labels].mean()


def cross_entropy_backward(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    probs = _log_softmax(logits).exp()
    onehot = torch.zeros_like(logits)
    onehot[torch.arange(logits.shape[0]), labels] = 1
    return (probs - onehot) / logits.shape[0]


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_backward), "relu": (relu, relu_backward)}
LOSSES = {
    "mse": (mse_loss, mse_loss_backward),
    "cross_entropy": (cross_entropy, cross_entropy_backward),
}


def mlp_forward(
    params: dict[str, torch.Tensor], x: torch.Tensor, activation: str = "sigmoid"
) -> torch.Tensor:
    act, _ = ACTIVATIONS[activation]
    hidden = act(linear_forward(x, params["w1"], params["b1"]))
    return linear_forward(hidden, params["w2"], params["b2"])


def mlp_backward(
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    grad_out: torch.Tensor,
    activation: str = "sigmoid",
) -> dict[str, torch.Tensor]:
    act, act_backward = ACTIVATIONS[activation]
    z1 = linear_forward(x, params["w1"], params["b1"])
    grad_hidden, grad_w2, grad_b2 = linear_backward(grad_out, act(z1), params["w2"])
    _, grad_w1, grad_b1 = linear_backward(act_backward(grad_hidden, z1), x, params["w1"])
    return {"w1": grad_w1, "b1": grad_b1, "w2": grad_w2, "b2": grad_b2}


def mlp_loss(
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    activation: str = "sigmoid",
    loss: str = "mse",
) -> torch.Tensor:
    """The loss of the network on (x, target), as a 0-dim tensor."""
    return LOSSES[loss][0](mlp_forward(params, x, activation), target)


def loss_and_grads(
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    activation: str = "sigmoid",
    loss: str = "mse",
) -> tuple[float, dict[str, torch.Tensor]]:
    loss_fn, loss_backward = LOSSES[loss]
    out = mlp_forward(params, x, activation)
    grads = mlp_backward(params, x, loss_backward(out, target), activation)
    return float(loss_fn(out, target)), grads


def train(
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    lr: float,
    steps: int,
    activation: str = "sigmoid",
    loss: str = "mse",
) -> tuple[dict[str, torch.Tensor], list[float]]:
    params = {name: p.clone() for name, p in params.items()}
    losses = []
    for _ in range(steps):
        value, grads = loss_and_grads(params, x, target, activation, loss)
        losses.append(value)
        params = {name: p - lr * grads[name] for name, p in params.items()}
    return params, losses


# -- the checks' oracle (judge side; not part of the assignment) -------------------------------


def autograd_grads(function: str, args: list, grad_out: torch.Tensor | float = 1.0) -> list:
    """Autograd's gradients of `function(*args)` (a function of this module), in float64.

    Returns one entry per argument: the gradient of a float tensor, a dict of gradients for a
    dict of float tensors, None for anything else (labels, strings). `grad_out` is the gradient
    flowing into the output (1.0 for a scalar loss).
    """

    def leaf(value):
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.detach().double().requires_grad_(True)
        if isinstance(value, dict):
            return {k: leaf(v) for k, v in value.items()}
        return value

    leaves = [leaf(a) for a in args]
    out = globals()[function](*leaves)
    out.backward(torch.as_tensor(grad_out, dtype=out.dtype).expand_as(out))

    def grad(value):
        if isinstance(value, torch.Tensor) and value.requires_grad:
            return value.grad if value.grad is not None else torch.zeros_like(value)
        if isinstance(value, dict):
            return {k: grad(v) for k, v in value.items()}
        return None

    return [grad(v) for v in leaves]
