"""hw2 — manual backpropagation. Replace each `raise NotImplementedError(...)` with your code.

Read README.md in this folder first: it derives every gradient you need. Run
`grader check hw2` to see how you are doing.

Conventions (the same as PyTorch's):
  * a batch is the first dimension: x has shape (N, in_features);
  * a weight has shape (out_features, in_features), like nn.Linear.weight;
  * losses are averaged over the batch (reduction="mean").

You may not use autograd anywhere in this file: no `.backward()`, no `torch.autograd.*`,
no `torch.func`. Every gradient is yours.
"""

from __future__ import annotations

import math

import torch

# ---------------------------------------------------------------------------- given


def init_params(
    n_in: int,
    n_hidden: int,
    n_out: int,
    *,
    seed: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict[str, torch.Tensor]:
    """Given: parameters of a 2-layer MLP, drawn like nn.Linear's, U(-1/√fan_in, 1/√fan_in).

    Returns {"w1": (n_hidden, n_in), "b1": (n_hidden,), "w2": (n_out, n_hidden), "b2": (n_out,)}.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    params = {}
    for i, (fan_in, fan_out) in enumerate(((n_in, n_hidden), (n_hidden, n_out)), start=1):
        bound = 1 / math.sqrt(fan_in)
        params[f"w{i}"] = (
            torch.rand(fan_out, fan_in, generator=generator, dtype=dtype) * 2 - 1
        ) * bound
        params[f"b{i}"] = (torch.rand(fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
    return params


# ---------------------------------------------------------------------------- 1. the linear layer


def linear_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Task 1.1: out = x @ weight.T + bias.

    x (N, in), weight (out, in), bias (out,)  ->  out (N, out).
    """
    raise NotImplementedError("Task 1.1: linear_forward")


def linear_backward(
    grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Task 1.2: (grad_x, grad_weight, grad_bias) of the linear layer, given grad_out = ∂L/∂out.

    grad_x = grad_out @ weight          (N, in)
    grad_weight = grad_out.T @ x        (out, in): the shape of weight
    grad_bias = Σ_n grad_out[n]         (out,):    the shape of bias
    """
    raise NotImplementedError("Task 1.2: linear_backward")


# ---------------------------------------------------------------------------- 2. activations


def sigmoid(z: torch.Tensor) -> torch.Tensor:
    """Task 2.1: σ(z) = 1 / (1 + exp(-z)), elementwise."""
    raise NotImplementedError("Task 2.1: sigmoid")


def sigmoid_backward(grad_out: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Task 2.2: ∂L/∂z = grad_out · σ(z) · (1 - σ(z)), where z is the input of sigmoid."""
    raise NotImplementedError("Task 2.2: sigmoid_backward")


def relu(z: torch.Tensor) -> torch.Tensor:
    """Task 2.3: max(z, 0), elementwise."""
    raise NotImplementedError("Task 2.3: relu")


def relu_backward(grad_out: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Task 2.4: ∂L/∂z = grad_out where z > 0, else 0 (z is the input of relu)."""
    raise NotImplementedError("Task 2.4: relu_backward")


# ---------------------------------------------------------------------------- 3. losses


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Task 3.1: the mean over all N·D elements of (pred - target)², a 0-dim tensor
    (like F.mse_loss)."""
    raise NotImplementedError("Task 3.1: mse_loss")


def mse_loss_backward(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Task 3.2: ∂ mse_loss / ∂pred = 2 (pred - target) / (N·D), the shape of pred."""
    raise NotImplementedError("Task 3.2: mse_loss_backward")


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Task 3.3: -(1/N) Σ_n log softmax(logits[n])[labels[n]], a 0-dim tensor
    (like F.cross_entropy). logits (N, C) float, labels (N,) int64 class indices."""
    raise NotImplementedError("Task 3.3: cross_entropy")


def cross_entropy_backward(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Task 3.4: ∂ cross_entropy / ∂logits = (softmax(logits) - onehot(labels)) / N, shape (N, C)."""
    raise NotImplementedError("Task 3.4: cross_entropy_backward")


# ---------------------------------------------------------------------------- 4. the network

# name -> (forward, backward); the network below looks its functions up here
ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_backward), "relu": (relu, relu_backward)}
LOSSES = {
    "mse": (mse_loss, mse_loss_backward),
    "cross_entropy": (cross_entropy, cross_entropy_backward),
}


def mlp_forward(
    params: dict[str, torch.Tensor], x: torch.Tensor, activation: str = "sigmoid"
) -> torch.Tensor:
    """Task 4.1: out = linear(act(linear(x, w1, b1)), w2, b2), act = ACTIVATIONS[activation].

    No activation after the last layer: out (N, n_out) are raw outputs (logits).
    """
    raise NotImplementedError("Task 4.1: mlp_forward")


def mlp_backward(
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    grad_out: torch.Tensor,
    activation: str = "sigmoid",
) -> dict[str, torch.Tensor]:
    """Task 4.2: the gradients {"w1", "b1", "w2", "b2"} given grad_out = ∂L/∂out (N, n_out).

    Recompute the forward pass's intermediate values (z1 = linear(x, w1, b1), h = act(z1)),
    then apply the chain rule from the output back to w1. Each gradient has the shape of its
    parameter.
    """
    raise NotImplementedError("Task 4.2: mlp_backward")


def loss_and_grads(
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    activation: str = "sigmoid",
    loss: str = "mse",
) -> tuple[float, dict[str, torch.Tensor]]:
    """Task 4.3: (the loss as a Python float, the gradients of the loss w.r.t. params).

    loss is a key of LOSSES: "mse" (target (N, n_out) float) or "cross_entropy"
    (target (N,) int64 labels).
    """
    raise NotImplementedError("Task 4.3: loss_and_grads")


# ---------------------------------------------------------------------------- 5. training


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
    """Task 5.1: `steps` steps of full-batch gradient descent, p ← p - lr · ∂L/∂p.

    Returns (the final parameters, the list of the `steps` losses, each computed before its
    update). Do not modify the tensors in `params`; work on copies.
    """
    raise NotImplementedError("Task 5.1: train")
