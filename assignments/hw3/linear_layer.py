"""hw3 — a custom layer: nn.Linear, re-implemented. Replace each `raise NotImplementedError(...)`.

Read README.md in this folder first. Run `grader check hw3` to see how you are doing.

You may not use nn.Linear or F.linear (torch.nn.functional.linear) anywhere in this file:
the point is to write them.
"""

from __future__ import annotations

import math  # noqa: F401 - you will want math.sqrt

import torch
import torch.nn.functional as F
from torch import nn


class Linear(nn.Module):
    """y = x @ weight.T + bias, for x of shape (..., in_features), like torch.nn.Linear.

    Attributes:
        in_features, out_features: the sizes given to the constructor.
        weight: an nn.Parameter of shape (out_features, in_features).
        bias: an nn.Parameter of shape (out_features,), or None (registered as a parameter
            with register_parameter("bias", None)) when the layer is built with bias=False.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        """Task 1.1: store the sizes, create the parameters, then call self.reset_parameters()."""
        super().__init__()
        raise NotImplementedError(
            "Task 1.1: Linear.__init__ (create weight and bias as nn.Parameter)"
        )

    def reset_parameters(self) -> None:
        """Task 1.2: PyTorch's default initialisation, in place and without autograd recording:
        weight and bias ~ U(-1/√in_features, 1/√in_features)."""
        raise NotImplementedError("Task 1.2: Linear.reset_parameters")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Task 1.3: x @ weight.T (+ bias) for x of shape (..., in_features); raise ValueError
        naming both sizes when x.shape[-1] != in_features."""
        raise NotImplementedError("Task 1.3: Linear.forward")

    def extra_repr(self) -> str:
        """Task 1.4: "in_features=5, out_features=3, bias=True", as nn.Linear prints it."""
        raise NotImplementedError("Task 1.4: Linear.extra_repr")


# ---------------------------------------------------------------------------- given


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
    """Given: minibatch SGD on cross-entropy over model.parameters(); returns each epoch's mean loss.

    `model` maps x (N, D) to logits (N, C); y holds int64 class labels. Your Linear(D, C) alone
    is such a model: a one-layer (softmax-regression) classifier. Nothing to change here.
    """
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
