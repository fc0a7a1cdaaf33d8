"""hw3 public checks: the layer as a one-layer classifier of the digits, trained by the given
train_classifier, learns as well as the reference layer and about as fast; after training, its
forward is still x @ weight.T + bias.

The grader computes the trained layer's outputs itself, from its weight and bias: an accuracy
comes from the parameters training produced, never from the layer's forward.
"""

import torch

from grader.checking import (
    Architecture,
    StudentError,
    check,
    check_training,
    expect_predictions,
    expect_tensor,
    fail,
)

LINEAR = Architecture(
    "Linear(64, 10)",
    {"weight": (10, 64), "bias": (10,)},
    forward=lambda p, x: x @ p["weight"].T + p["bias"],
    read=lambda layer: {"weight": layer.weight, "bias": layer.bias},
    classes={"weight": 0, "bias": 0},
)


def fit(impl, split, spec, seed, *, epochs=None, before=None, losses=None):
    """Train a fresh Linear(64, 10) with `impl` (student or reference); return the layer."""
    layer = impl.Linear(64, 10)
    if before is not None:
        before[impl] = layer.weight
    run = spec.training()
    got = impl.train_classifier(
        layer,
        split.x_train,
        split.y_train,
        epochs=run.epochs if epochs is None else epochs,
        lr=run.lr,
        batch_size=run.batch_size,
        seed=seed % 2**31,
    )
    if losses is not None:
        losses[impl] = got
    return layer


def train(student, reference, spec, split, fit, what, **kwargs):
    """check_training for Linear(64, 10), naming a layer without parameters."""
    try:
        return check_training(
            student,
            reference,
            fit,
            split.y_test,
            architecture=LINEAR,
            inputs=split.x_test,
            training=spec.training(),
            what=what,
            **kwargs,
        )
    except StudentError as exc:
        if "has no parameters" in exc.message:
            fail(
                f"{what} failed: your layer has no parameters to train",
                "wrap weight and bias in nn.Parameter: training updates model.parameters() only",
                at=exc,
            )
        raise


@check(task="1.3", points=3, needs=["1.1", "1.2"])
def test_digits_classifier_trains(student, reference, spec, seed, load_data):
    """Linear(64, 10) trained on the digits reaches the accuracy threshold within the time budget"""
    split = load_data("digits", seed=0)
    run = spec.training()
    options = {"epochs": run.epochs, "lr": run.lr, "batch_size": run.batch_size}
    before, losses = {}, {}

    def diagnose(params: dict[str, torch.Tensor]) -> str:
        weight = expect_tensor(before[student], "Linear(64, 10).weight before training")
        if torch.equal(weight.double(), params["weight"]):
            return (
                "training did not change the weight: it must be a registered nn.Parameter, used "
                "in forward as self.weight (not .data, not a copy), or SGD never updates it"
            )
        return "check that the forward and gradient checks pass; then compare your forward with the reference's"

    train(
        student,
        reference,
        spec,
        split,
        lambda impl: fit(impl, split, spec, seed, before=before, losses=losses),
        f"train_classifier(Linear(64, 10), digits, {', '.join(f'{k}={v:g}' for k, v in options.items())})",
        hint_fn=diagnose,
        losses=losses,
    )


@check(task="1.3", points=1, needs=["1.1"])
def test_trained_layer_computes_its_own_parameters(student, reference, spec, seed, load_data):
    """after train_classifier, the layer's forward on held-out digits is x @ weight.T + bias"""
    split = load_data("digits", seed=0)
    epochs = spec.training().agreement_epochs
    trained = train(
        student,
        reference,
        spec,
        split,
        lambda impl: fit(impl, split, spec, seed, epochs=epochs),
        f"train_classifier(Linear(64, 10), digits, epochs={epochs})",
        threshold=0.0,  # any trained layer will do: its accuracy is the check above's business
    )
    expect_predictions(
        lambda: trained.model(split.x_test),
        trained,
        spec.tolerance("float32"),
        what="the trained layer's output for the held-out digits",
        hint="forward must compute x @ self.weight.T + self.bias from the layer's own parameters, "
        "whatever happened before",
        scores=True,
    )
