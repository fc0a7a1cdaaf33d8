"""hw2 public checks: MSE and cross-entropy, their values and their gradients w.r.t. the outputs.

The batches here have 4 samples, like XOR's; the hidden checks use other sizes.
"""

import torch

from grader.checking import assert_close, check

F64 = torch.float64


def _scalar(got):
    """A 0-dim tensor or a Python number, as a 0-dim float64 tensor (other things unchanged)."""
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        return torch.tensor(float(got), dtype=F64)
    return got


@check(task="3.1", points=1)
def test_mse_loss(student, reference, spec):
    """mse_loss is the mean of the squared errors (like F.mse_loss)"""
    pred, target = torch.randn(4, 1, dtype=F64), torch.randn(4, 1, dtype=F64)
    assert_close(
        _scalar(student.mse_loss(pred, target)),
        reference.mse_loss(pred, target),
        spec.tolerance(),
        what="mse_loss(pred, target) for pred (4, 1)",
        batch_size=4,
    )


@check(task="3.2", points=1)
def test_mse_loss_backward(student, reference, spec):
    """mse_loss_backward matches autograd: 2 (pred - target) / N"""
    pred, target = torch.randn(4, 1, dtype=F64), torch.randn(4, 1, dtype=F64)
    assert_close(
        student.mse_loss_backward(pred, target),
        reference.autograd_grads("mse_loss", [pred, target])[0],
        spec.tolerance("grad"),
        what="mse_loss_backward(pred, target) for pred (4, 1)",
        batch_size=4,
    )


@check(task="3.3", points=1)
def test_cross_entropy(student, reference, spec):
    """cross_entropy is the mean negative log-probability of the labels (like F.cross_entropy)"""
    logits, labels = torch.randn(4, 3, dtype=F64) * 2, torch.tensor([2, 0, 1, 2])
    assert_close(
        _scalar(student.cross_entropy(logits, labels)),
        reference.cross_entropy(logits, labels),
        spec.tolerance(),
        what="cross_entropy(logits, labels) for logits (4, 3)",
        batch_size=4,
    )


@check(task="3.4", points=2)
def test_cross_entropy_backward(student, reference, spec):
    """cross_entropy_backward matches autograd: (softmax(logits) - onehot(labels)) / N"""
    logits, labels = torch.randn(4, 3, dtype=F64) * 2, torch.tensor([2, 0, 1, 2])
    got = student.cross_entropy_backward(logits, labels)
    expected = reference.autograd_grads("cross_entropy", [logits, labels])[0]
    probs = torch.softmax(logits, dim=1)
    forgot_onehot = (
        isinstance(got, torch.Tensor)
        and got.shape == probs.shape
        and (torch.allclose(got.double(), probs / 4) or torch.allclose(got.double(), probs))
    )
    assert_close(
        got,
        expected,
        spec.tolerance("grad"),
        batch_size=4,
        what="cross_entropy_backward(logits, labels) for logits (4, 3)",
        hint="you returned softmax(logits) (/ N): subtract 1 at each row's label, "
        "(softmax - onehot) / N"
        if forgot_onehot
        else "",
    )
