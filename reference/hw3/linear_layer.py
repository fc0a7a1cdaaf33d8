"""hw3 reference solution: nn.Linear, re-implemented.

`train_classifier` is given to students as it is here. The last function, `autograd_linear`,
is not part of the assignment: it is the oracle the checks compare with (this module's layer
with given parameters, forward and backward by autograd, in float64).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Linear(nn.Module):
    """y = x @ weight.T + bias, for x of shape (..., in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"expected an input whose last dimension is {self.in_features} "
                f"(in_features), got shape {tuple(x.shape)}"
            )
        out = x @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 10,
    lr: float = 0.5,
    batch_size: int = 64,
    seed: int = 0,
) -> list[float]:
    """Minibatch SGD on cross-entropy over model.parameters(); returns the mean loss of each epoch."""
    params = list(model.parameters())
    if not params:
        raise ValueError("the model has no parameters, so there is nothing to train")
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():  # a plain SGD step: p <- p - lr * dL/dp
                for p in params:
                    if p.grad is not None:
                        p -= lr * p.grad
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    return losses


# -- the checks' oracle (judge side; not part of the assignment) -------------------------------


def autograd_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, grad_out: torch.Tensor
) -> dict[str, torch.Tensor | None]:
    """This module's Linear holding `weight` and `bias`, in float64: its output for `x` and
    autograd's gradients w.r.t. x, weight and bias for the output gradient `grad_out`."""
    with torch.random.fork_rng(devices=[]):  # constructing the layer draws an initialisation
        layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None).double()
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    x = x.detach().double().requires_grad_(True)
    out = layer(x)
    out.backward(grad_out.double())
    return {
        "out": out.detach(),
        "grad_x": x.grad,
        "grad_weight": layer.weight.grad,
        "grad_bias": None if bias is None else layer.bias.grad,
    }
