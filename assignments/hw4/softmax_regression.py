"""hw4 — softmax regression from scratch. Replace each `raise NotImplementedError(...)`.

Read README.md in this folder first. Run `grader check hw4` to see how you are doing.
Not allowed here: F.softmax / F.log_softmax / F.cross_entropy / F.nll_loss (and their
torch.* and Tensor-method aliases), nn.CrossEntropyLoss, and anything from torch.optim.
"""

import torch


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Task 1.1: softmax over the last dimension, numerically stable.

    softmax(z)_j = exp(z_j - m) / Σ_k exp(z_k - m), with m = max_k z_k of the same row:
    subtracting m changes nothing mathematically and keeps exp from overflowing.
    """
    raise NotImplementedError("Task 1.1: softmax")


def cross_entropy(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Task 1.2: mean cross-entropy of probabilities (N, C) for integer targets (N,).

    loss = -(1/N) Σ_i log probs[i, targets[i]]   (pick with gather or integer indexing)
    """
    raise NotImplementedError("Task 1.2: cross_entropy")


def cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Task 1.3: mean cross-entropy straight from logits (N, C), stable for any logits.

    log softmax(z)_j = (z_j - m) - log Σ_k exp(z_k - m);  loss = -(1/N) Σ_i log softmax(z_i)_{targets[i]}
    """
    raise NotImplementedError("Task 1.3: cross_entropy_with_logits")


def sgd_step(params: list[torch.Tensor], lr: float) -> None:
    """Task 2.1: one SGD step, in place: p ← p - lr · p.grad for each p; then zero p.grad."""
    raise NotImplementedError("Task 2.1: sgd_step")


def accuracy(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Task 2.2: the fraction of rows whose largest score is at the target class, as a float."""
    raise NotImplementedError("Task 2.2: accuracy")


class SoftmaxRegression:
    """Task 3.1: logits = x @ W + b for x of shape (N, num_features)."""

    def __init__(self, num_features: int, num_classes: int):
        """W: (num_features, num_classes) drawn from N(0, 0.01²); b: (num_classes,) zeros;
        both with requires_grad=True."""
        raise NotImplementedError("Task 3.1: SoftmaxRegression.__init__")

    def parameters(self) -> list[torch.Tensor]:
        return [self.W, self.b]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits, shape (N, num_classes)."""
        raise NotImplementedError("Task 3.1: SoftmaxRegression.forward")


def train(
    model: SoftmaxRegression,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
) -> list[float]:
    """Task 3.2: minibatch SGD on cross_entropy_with_logits; returns each epoch's mean loss.

    Each epoch: shuffle the samples (torch.randperm), then for every batch of `batch_size`:
    forward, loss, loss.backward(), sgd_step(model.parameters(), lr).
    """
    raise NotImplementedError("Task 3.2: train")


def predict(model: SoftmaxRegression, x: torch.Tensor) -> torch.Tensor:
    """Task 3.3: the predicted class of each row of x, int64 of shape (N,)."""
    raise NotImplementedError("Task 3.3: predict")
