"""hw4 public checks: softmax regression trained on the digits reaches the accuracy threshold,
predict gives the trained model's classes, and the same code trains on data of other sizes.

The grader computes what a trained model predicts itself, from its W and b (x @ W + b, then
the top class): an accuracy comes from the parameters train produced, never from predict.
"""

import math

from grader.checking import (
    Architecture,
    check,
    check_training,
    expect_predictions,
    fail,
)


def softmax_regression(num_features: int, num_classes: int) -> Architecture:
    """The model the README prescribes, as the grader computes it from a model's W and b."""
    return Architecture(
        f"SoftmaxRegression({num_features}, {num_classes})",
        {"W": (num_features, num_classes), "b": (num_classes,)},
        forward=lambda p, x: x @ p["W"] + p["b"],
        read=lambda model: {"W": model.W, "b": model.b},
        classes={"W": 1, "b": 0},
    )


def fit(impl, split, spec, *, epochs=None, losses=None):
    """Train a fresh model with `impl` (student or reference) on `split`; return the model."""
    model = impl.SoftmaxRegression(split.num_features, split.num_classes)
    got = impl.train(
        model,
        split.x_train,
        split.y_train,
        epochs=spec.training().epochs if epochs is None else epochs,
        lr=spec.training().lr,
        batch_size=spec.training().batch_size,
    )
    if losses is not None:
        losses[impl] = got
    return model


@check(task="3.2", points=4, needs=["1.3", "2.1", "3.1"])
def test_training_reaches_accuracy_on_digits(student, reference, spec, load_data, seed):
    """trained on the digits, the model classifies held-out digits accurately, in time"""
    split = load_data("digits", seed=seed)
    losses = {}
    check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec, losses=losses),
        split.y_test,
        architecture=softmax_regression(64, 10),
        inputs=split.x_test,
        training=spec.training(),
        losses=losses,
        what="predict(model, held-out digits) after train",
        hint="check that each batch's loss goes down: the gradient reaches W and b "
        "(requires_grad), sgd_step moves against it, and gradients are zeroed",
    )


@check(task="3.3", points=1, needs=["3.2"])
def test_predict_gives_the_trained_models_classes(student, reference, spec, load_data, seed):
    """after train, predict(model, x) gives the classes x @ W + b of the model, on held-out digits"""
    split = load_data("digits", seed=seed)
    epochs = spec.training().agreement_epochs
    trained = check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec, epochs=epochs),
        split.y_test,
        architecture=softmax_regression(64, 10),
        inputs=split.x_test,
        threshold=0.0,  # any trained model will do: its accuracy is the check above's business
        training=spec.training(),
        what=f"train(model, digits, epochs={epochs})",
    )
    expect_predictions(
        lambda: student.predict(trained.model, split.x_test),
        trained,
        spec.tolerance("float32"),
        what="predict(model, held-out digits)",
        hint="return model.forward(x).argmax(dim=1): the classes of the model it is given",
    )


@check(task="3.2", points=1, needs=["1.3", "2.1", "3.1"])
def test_training_works_for_other_sizes_on_iris(student, reference, spec, load_data, seed):
    """train and predict work for other sizes (iris: 4 features, 3 classes), nothing hard-coded"""
    split = load_data("iris", seed=seed)
    epochs = spec.training("iris").epochs
    losses = {}
    trained = check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec, losses=losses),
        split.y_test,
        architecture=softmax_regression(4, 3),
        inputs=split.x_test,
        training=spec.training("iris"),
        losses=losses,
        what="predict(model, held-out iris flowers) after train",
        hint="if the digits do not train either, fix that first; otherwise read the sizes from "
        "the data (x.shape, num_classes): nothing should assume 64 features or 10 classes",
    )
    got = losses[student]
    if (
        not isinstance(got, list)
        or len(got) != epochs
        or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in got)
    ):
        fail(
            f"train(..., epochs={epochs}) should return a list of {epochs} finite numbers (the "
            f"mean loss of each epoch), got {got if isinstance(got, list) else type(got).__name__!r:.200}",
            "append the epoch's mean loss (a float: loss.item()) after each epoch",
        )
    expect_predictions(
        lambda: student.predict(trained.model, split.x_test),
        trained,
        spec.tolerance("float32"),
        what="predict(model, held-out iris flowers)",
        hint="read sizes from the data: model.forward(x).argmax(dim=1) works for any number "
        "of classes",
    )
