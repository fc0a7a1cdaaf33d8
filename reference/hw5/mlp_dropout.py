"""hw5 reference solution: an MLP with inverted dropout written by hand."""

import torch
import torch.nn.functional as F
from torch import nn


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand_like(x) > p
    return x * keep / (1.0 - p)


class Dropout(nn.Module):
    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def relu(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(min=0)


class MLP(nn.Module):
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
        self.fc1 = nn.Linear(num_inputs, num_hidden1)
        self.drop1 = Dropout(dropout1)
        self.fc2 = nn.Linear(num_hidden1, num_hidden2)
        self.drop2 = Dropout(dropout2)
        self.fc3 = nn.Linear(num_hidden2, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop1(relu(self.fc1(x)))
        h = self.drop2(relu(self.fc2(h)))
        return self.fc3(h)


def l2_penalty(model: nn.Module) -> torch.Tensor:
    return sum((m.weight**2).sum() for m in model.modules() if isinstance(m, nn.Linear)) / 2


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
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            (loss + weight_decay * l2_penalty(model)).backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    return losses


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1)
