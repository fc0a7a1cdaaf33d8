"""hw6 — a CNN: reference solution."""

import itertools
from collections import namedtuple

import torch
import torch.nn.functional as F
from torch import nn


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Task 1.1: the output length of a convolution or pooling along one dimension."""
    if kernel_size > size + 2 * padding:
        raise ValueError(
            f"a kernel of size {kernel_size} does not fit an input of size {size} "
            f"with padding {padding}"
        )
    return (size + 2 * padding - kernel_size) // stride + 1


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """Task 2.1: 2-D cross-correlation of x (N, C_in, H, W) with weight (C_out, C_in, kH, kW)."""
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(h, kh, stride, padding)
    w_out = conv_output_size(w, kw, stride, padding)
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C_in*kH*kW, L)
    out = weight.reshape(c_out, -1) @ cols  # (N, C_out, L)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1)
    return out.reshape(n, c_out, h_out, w_out)


def max_pool2d(
    x: torch.Tensor, kernel_size: int, stride: int | None = None, padding: int = 0
) -> torch.Tensor:
    """Task 2.2: the maximum of each kernel_size × kernel_size window of x (N, C, H, W)."""
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    h_out = conv_output_size(h, kernel_size, stride, padding)
    w_out = conv_output_size(w, kernel_size, stride, padding)
    x = F.pad(x, (padding,) * 4, value=float("-inf"))
    windows = x.unfold(2, kernel_size, stride).unfold(
        3, kernel_size, stride
    )  # (N, C, Ho, Wo, k, k)
    return windows.reshape(n, c, h_out, w_out, -1).amax(dim=-1)


class CNN(nn.Module):
    """Task 3.1: two conv + ReLU + max-pool blocks, then Linear → ReLU → Dropout → Linear."""

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
        c1, c2 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        size = image_size
        for _ in range(2):
            size = conv_output_size(conv_output_size(size, 3, 1, 1), 2, 2)
        self.fc1 = nn.Linear(c2 * size * size, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.dropout(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def train_cnn(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 10,
    lr: float = 1e-2,
    batch_size: int = 64,
) -> list[float]:
    """Task 3.2: train with Adam and cross-entropy on shuffled mini-batches; mean loss per epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    return losses


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Task 3.3: the predicted class of each image, in eval mode and without autograd."""
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1)


def get_runs(params: dict[str, list]) -> list[tuple]:
    """Task 4.1: every combination of the values in `params`, as named tuples `Run`."""
    Run = namedtuple("Run", params.keys())
    return [Run(*values) for values in itertools.product(*params.values())]
