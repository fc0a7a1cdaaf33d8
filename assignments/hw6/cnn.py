"""hw6 — a CNN. Replace each `raise NotImplementedError(...)` with your code.

Read README.md in this folder first: it explains every task and the exact interface.
Run `grader check hw6` to see how you are doing.

Tasks 1-2 (output size, conv2d, max_pool2d) must not use PyTorch's convolution or pooling
(F.conv2d, nn.Conv2d, F.max_pool2d, nn.MaxPool2d, ...): write them with `unfold` or loops.
Task 3 (the CNN) may, and should, use nn.Conv2d and nn.MaxPool2d.
"""

import torch
import torch.nn.functional as F  # noqa: F401 - F.unfold, F.pad and F.cross_entropy are allowed
from torch import nn


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Task 1.1: the output length along one dimension, out = ⌊(W − K + 2P) / S⌋ + 1.

    Raise ValueError when the kernel does not fit the padded input (K > W + 2P).
    """
    raise NotImplementedError("Task 1.1: conv_output_size")


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """Task 2.1: what F.conv2d computes, written by hand (unfold + matrix product, or loops).

    x (N, C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out,) or None
    → (N, C_out, H_out, W_out), out[n, o, i, j] = bias[o] + Σ_c,u,v weight[o, c, u, v] ·
    x_padded[n, c, i·S + u, j·S + v].
    """
    raise NotImplementedError("Task 2.1: conv2d")


def max_pool2d(
    x: torch.Tensor, kernel_size: int, stride: int | None = None, padding: int = 0
) -> torch.Tensor:
    """Task 2.2: what F.max_pool2d computes: the maximum of each kernel_size × kernel_size window.

    x (N, C, H, W) → (N, C, H_out, W_out). stride=None means stride = kernel_size;
    padding adds -inf (never 0) around the input.
    """
    raise NotImplementedError("Task 2.2: max_pool2d")


class CNN(nn.Module):
    """Task 3.1: a LeNet-like network (see README.md for the exact layers).

    [Conv2d(3×3, padding 1) → ReLU → MaxPool2d(2)] × 2 → flatten
    → Linear(·, hidden) → ReLU → Dropout(dropout) → Linear(hidden, num_classes)
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 8,
        channels: tuple[int, int] = (8, 16),
        hidden: int = 64,
        dropout: float = 0.25,
    ):
        super().__init__()
        raise NotImplementedError("Task 3.1: CNN.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, in_channels, image_size, image_size) → logits (N, num_classes)."""
        raise NotImplementedError("Task 3.1: CNN.forward")


def train_cnn(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 10,
    lr: float = 1e-2,
    batch_size: int = 64,
) -> list[float]:
    """Task 3.2: train `model` in place with Adam(lr) and mean cross-entropy on mini-batches
    of a fresh random permutation each epoch; return the mean training loss of each epoch."""
    raise NotImplementedError("Task 3.2: train_cnn")


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Task 3.3: the predicted class (int64, shape (N,)) of each image, in eval mode, no autograd."""
    raise NotImplementedError("Task 3.3: predict")


def get_runs(params: dict[str, list]) -> list[tuple]:
    """Task 4.1: every combination of the values in `params`, as named tuples called `Run`.

    get_runs({"lr": [0.01, 0.001], "batch_size": [100, 1000]}) ==
    [Run(lr=0.01, batch_size=100), Run(lr=0.01, batch_size=1000),
     Run(lr=0.001, batch_size=100), Run(lr=0.001, batch_size=1000)]
    """
    raise NotImplementedError("Task 4.1: get_runs")
