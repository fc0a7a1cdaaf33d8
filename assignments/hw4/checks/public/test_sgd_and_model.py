"""hw4 public checks: the SGD step, accuracy, and the model's forward pass and predictions."""

import torch

from grader.checking import assert_close, check, expect_tensor, fail

F64 = torch.float64
REBIND_HINT = (
    "update the tensors themselves: inside `with torch.no_grad():` write "
    "p -= lr * p.grad (in place); `p = p - lr * p.grad` only rebinds a local name"
)


@check(task="2.1", points=2)
def test_sgd_step_updates_in_place_and_zeroes_gradients(student, spec):
    """sgd_step moves each parameter by -lr · grad, in place, and then zeroes its gradient"""
    lr = 0.1
    start = {"W": torch.randn(5, 3, dtype=F64), "b": torch.randn(3, dtype=F64)}
    grads = {"W": torch.randn(5, 3, dtype=F64), "b": torch.randn(3, dtype=F64)}
    handles = {
        name: student.put(value.clone().requires_grad_(True)) for name, value in start.items()
    }
    for name, handle in handles.items():
        handle.grad = grads[name]
    student.sgd_step(list(handles.values()), lr)
    for name, handle in handles.items():
        now = expect_tensor(handle.method("detach")(), f"parameter {name} after sgd_step")
        if torch.equal(now, start[name]):
            fail(f"sgd_step(params, lr) left parameter {name} unchanged", REBIND_HINT)
        assert_close(
            now - start[name],
            -lr * grads[name],
            spec.tolerance(),
            what=f"the change of parameter {name} (expected -lr · grad)",
        )
        grad = handle.attr("grad")
        if grad is not None and bool(expect_tensor(grad, f"{name}.grad").abs().max() > 0):
            fail(
                f"after sgd_step, {name}.grad still holds the old gradient",
                "gradients add up over backward() calls: after the update, reset them with "
                "p.grad.zero_() (or p.grad = None)",
            )


@check(task="2.2", points=1)
def test_accuracy_matches_reference(student, reference, spec):
    """accuracy(scores, targets) is the fraction of rows whose top score is the target"""
    scores = torch.randn(40, 6, dtype=F64)
    targets = torch.randint(0, 6, (40,))
    targets[:15] = scores[:15].argmax(1)  # some right, some wrong
    got = student.accuracy(scores, targets)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        fail(
            f"accuracy(scores, targets) should be a number, got {type(got).__name__}",
            "(scores.argmax(dim=1) == targets).float().mean().item()",
        )
    assert_close(
        torch.tensor(float(got), dtype=F64),
        torch.tensor(reference.accuracy(scores, targets), dtype=F64),
        spec.tolerance(),
        what="accuracy(scores, targets) for 40 samples",
        batch_size=40,
    )


@check(task="3.1", points=1)
def test_model_has_the_right_parameters(student, spec):
    """SoftmaxRegression(6, 4) has W (6, 4) with small random values and b (4,) of zeros"""
    model = student.SoftmaxRegression(6, 4)
    W = expect_tensor(
        model.W,
        "model.W",
        shape=(6, 4),
        dtype=torch.float32,
        hint="W maps features to classes: shape (num_features, num_classes)",
    )
    b = expect_tensor(model.b, "model.b", shape=(4,), dtype=torch.float32)
    if not (model.attr("W.requires_grad") and model.attr("b.requires_grad")):
        fail(
            "model.W and model.b must have requires_grad=True, or no gradient reaches them",
            "torch.normal(0, 0.01, size=(num_features, num_classes), requires_grad=True)",
        )
    if not torch.equal(b, torch.zeros(4)):
        fail(
            f"model.b should start at zero, got {b.tolist()}",
            "torch.zeros(num_classes, requires_grad=True)",
        )
    if W.abs().max() == 0 or W.abs().max() > 0.1:
        fail(
            f"model.W should hold small random values (std 0.01); its largest |value| is "
            f"{W.abs().max().item():.3g}",
            "torch.normal(0.0, 0.01, size=(num_features, num_classes))",
        )


@check(task="3.1", points=1, needs=["3.3"])
def test_model_forward_and_predict(student, spec):
    """forward(x) computes x @ W + b, and predict(model, x) returns each row's top class"""
    model = student.SoftmaxRegression(6, 4)
    W, b = torch.randn(6, 4), torch.randn(4)
    model.W, model.b = W, b
    x = torch.randn(9, 6)
    logits = x @ W + b
    assert_close(
        model.method("forward")(x),
        logits,
        spec.tolerance("float32"),
        what="model.forward(x) for x (9, 6)",
        hint="logits = x @ self.W + self.b (W has shape (num_features, num_classes))",
    )
    got = expect_tensor(
        student.predict(model, x),
        "predict(model, x)",
        shape=(9,),
        hint="one class per row: model.forward(x).argmax(dim=1)",
    )
    if got.is_floating_point() or not torch.equal(got.long(), logits.argmax(1)):
        fail(
            f"predict(model, x) should be the top class of each row, {logits.argmax(1).tolist()}, "
            f"got {got.tolist()}",
            "model.forward(x).argmax(dim=1)",
        )
