"""hw5 — an MLP with dropout, written by hand. Replace each `raise NotImplementedError(...)`.

Read README.md in this folder first. Run `grader check hw5` to see how you are doing.
Not allowed here: nn.Dropout (and Dropout1d/2d/3d), F.dropout (and dropout1d/2d/3d),
torch.dropout, torch.native_dropout. nn.Linear, F.cross_entropy and torch.optim are fine.
"""

import torch
import torch.nn.functional as F  # noqa: F401 - for F.cross_entropy in train
from torch import nn


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Task 1.1: inverted dropout. In training, zero each element with probability p and
    scale the survivors by 1 / (1 - p), so the expected value of every element is unchanged:

        keep = rand_like(x) > p          (a uniform draw: each element is kept with probability 1 - p)
        out  = x * keep / (1 - p)

    When not training, return x unchanged. p = 0 keeps everything; p = 1 drops everything
    (all zeros: do not divide by 1 - p = 0). Never change x itself.
    """
    raise NotImplementedError("Task 1.1: dropout")


class Dropout(nn.Module):
    """Task 1.2: a module that applies `dropout` with its own p in training mode only."""

    def __init__(self, p: float):
        super().__init__()
        raise NotImplementedError("Task 1.2: Dropout.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 1.2: Dropout.forward")


def relu(x: torch.Tensor) -> torch.Tensor:
    """Task 2.1: max(x, 0) elementwise."""
    raise NotImplementedError("Task 2.1: relu")


class MLP(nn.Module):
    """Task 2.2: fc1 → relu → drop1 → fc2 → relu → drop2 → fc3.

    fc1, fc2, fc3 are nn.Linear layers (num_inputs → num_hidden1 → num_hidden2 → num_outputs);
    drop1, drop2 are your Dropout modules with p = dropout1 and p = dropout2.
    """

    def __init__(
        self,
        num_inputs: int,
        num_hidden1: int,
        num_hidden2: int,
        num_outputs: int,
        dropout1: float = 0.2,
        dropout2: float = 0.5,
    ):
        super().__init__()
        raise NotImplementedError("Task 2.2: MLP.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 2.2: MLP.forward")


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """Task 2.3: ½ Σ w² over the weights (not the biases) of the model's nn.Linear layers."""
    raise NotImplementedError("Task 2.3: l2_penalty")


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
) -> list[float]:
    """Task 3.1: minibatch SGD on F.cross_entropy + weight_decay · l2_penalty(model), in
    training mode, reshuffling every epoch; returns each epoch's mean cross-entropy."""
    raise NotImplementedError("Task 3.1: train")


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Task 3.2: the predicted class of each row of x (int64, shape (N,)), with dropout off."""
    raise NotImplementedError("Task 3.2: predict")
