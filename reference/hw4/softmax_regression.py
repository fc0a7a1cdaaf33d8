"""hw4 reference solution: softmax regression from scratch."""

import torch


def softmax(logits: torch.Tensor) -> torch.Tensor:
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


def cross_entropy(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    picked = probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return -picked.log().mean()


def cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs.gather(1, targets.unsqueeze(1)).mean()


def sgd_step(params: list[torch.Tensor], lr: float) -> None:
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()


def accuracy(scores: torch.Tensor, targets: torch.Tensor) -> float:
    return (scores.argmax(dim=1) == targets).double().mean().item()


class SoftmaxRegression:
    """logits = x @ W + b, for x of shape (N, num_features)."""

    def __init__(self, num_features: int, num_classes: int):
        self.W = torch.normal(0.0, 0.01, size=(num_features, num_classes), requires_grad=True)
        self.b = torch.zeros(num_classes, requires_grad=True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.W, self.b]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.W + self.b


def train(
    model: SoftmaxRegression,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
) -> list[float]:
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = cross_entropy_with_logits(model.forward(x[batch]), y[batch])
            loss.backward()
            sgd_step(model.parameters(), lr)
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    return losses


def predict(model: SoftmaxRegression, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.forward(x).argmax(dim=1)
