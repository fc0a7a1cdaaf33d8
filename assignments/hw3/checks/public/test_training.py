"""hw3 public check: the layer as a one-layer classifier of the digits, trained by the given
train_classifier, learns as well as the reference layer and about as fast."""

import math
import time

import torch

from grader.checking import StudentError, WorkerLost, expect_tensor, fail


def _accuracy(logits, labels: torch.Tensor, what: str) -> float:
    logits = expect_tensor(logits, what, shape=(len(labels), 10))
    return float((logits.argmax(dim=1) == labels).double().mean())


def test_digits_classifier_trains(student, reference, spec, seed, load_data):
    """Linear(64, 10) trained on the digits reaches the accuracy threshold within the time budget"""
    split = load_data("digits", seed=0)
    options = {
        "epochs": int(spec.threshold("digits_epochs")),
        "lr": spec.threshold("digits_lr"),
        "batch_size": int(spec.threshold("digits_batch_size")),
        "seed": seed % 2**31,
    }
    call = ", ".join(f"{k}={v:g}" for k, v in options.items() if k != "seed")

    start = time.perf_counter()
    model = reference.Linear(64, 10)
    reference.train_classifier(model, split.x_train, split.y_train, **options)
    reference_s = time.perf_counter() - start
    reference_accuracy = _accuracy(model(split.x_test), split.y_test, "the reference's logits")
    budget = min(
        spec.threshold("digits_cap_s"),
        max(spec.threshold("digits_floor_s"), spec.threshold("digits_time_factor") * reference_s),
    )

    layer = student.Linear(64, 10)
    x_train, y_train = student.put(split.x_train), student.put(split.y_train)
    before = expect_tensor(layer.weight, "Linear(64, 10).weight")
    what = f"train_classifier(Linear(64, 10), digits, {call})"
    try:
        with student.time_limit(budget):
            student.train_classifier(layer, x_train, y_train, **options)
    except WorkerLost as exc:
        if not exc.timed_out:
            raise
        fail(
            f"{what} did not finish within its time budget of {budget:.2f} s "
            f"({spec.threshold('digits_time_factor'):g}x the reference's {reference_s:.2f} s)",
            "forward should be whole-tensor operations (x @ self.weight.T + self.bias), with no "
            "Python loop over samples or features",
        )
    except StudentError as exc:
        if "has no parameters" in exc.message:
            fail(
                f"{what} failed: your layer has no parameters to train",
                "wrap weight and bias in nn.Parameter: training updates model.parameters() only",
            )
        raise
    accuracy = _accuracy(
        layer(split.x_test), split.y_test, "your layer's logits for the test images"
    )
    threshold = spec.threshold("digits_min_accuracy")
    if accuracy >= threshold:
        return
    after = expect_tensor(layer.weight, "Linear(64, 10).weight after training")
    if torch.equal(before, after):
        hint = (
            "training did not change the weight: it must be a registered nn.Parameter, used "
            "in forward as self.weight (not .data, not a copy), or SGD never updates it"
        )
    elif not math.isfinite(float(after.abs().max())):
        hint = "the weight became inf or NaN during training"
    else:
        hint = "check that the forward and gradient checks pass; then compare your forward with the reference's"
    fail(
        f"after {what}, your layer classifies {accuracy:.3f} of the held-out "
        f"digits correctly; required: {threshold:.3f} (the reference layer: {reference_accuracy:.3f})",
        hint,
    )
