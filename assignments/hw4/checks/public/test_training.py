"""hw4 public checks: softmax regression trained on the digits reaches the accuracy threshold;
the same code trains on data of other sizes."""

import math

from grader.checking import check_training, expect_tensor, fail, training_budget


def fit(impl, split, spec):
    """Train a fresh model with `impl` (student or reference) and predict the held-out inputs."""
    model = impl.SoftmaxRegression(split.num_features, split.num_classes)
    impl.train(
        model,
        split.x_train,
        split.y_train,
        epochs=int(spec.threshold("epochs")),
        lr=spec.threshold("lr"),
        batch_size=int(spec.threshold("batch_size")),
    )
    return impl.predict(model, split.x_test)


def test_training_reaches_accuracy_on_digits(student, reference, spec, load_data, seed):
    """trained on the digits, the model classifies held-out digits accurately, in time"""
    split = load_data("digits", seed=seed)
    check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec),
        split.y_test,
        threshold=spec.threshold("digits_accuracy"),
        **training_budget(spec),
        what="predict(model, held-out digits) after train",
        hint="check that each batch's loss goes down: the gradient reaches W and b "
        "(requires_grad), sgd_step moves against it, and gradients are zeroed",
    )


def test_training_works_for_other_sizes_on_iris(student, spec, load_data, seed):
    """train and predict work for other sizes (iris: 4 features, 3 classes), nothing hard-coded"""
    split = load_data("iris", seed=seed)
    epochs = int(spec.threshold("epochs"))
    model = student.SoftmaxRegression(split.num_features, split.num_classes)
    sizes_hint = (
        "read sizes from the data (x.shape, num_classes): nothing should assume "
        "64 features or 10 classes"
    )
    losses = student.train(
        model,
        split.x_train,
        split.y_train,
        epochs=epochs,
        lr=spec.threshold("lr"),
        batch_size=int(spec.threshold("batch_size")),
    )
    if (
        not isinstance(losses, list)
        or len(losses) != epochs
        or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in losses)
    ):
        fail(
            f"train(..., epochs={epochs}) should return a list of {epochs} finite numbers (the "
            f"mean loss of each epoch), got {losses if isinstance(losses, list) else type(losses).__name__!r:.200}",
            "append the epoch's mean loss (a float: loss.item()) after each epoch",
        )
    predictions = expect_tensor(
        student.predict(model, split.x_test),
        "predict(model, iris inputs)",
        shape=(len(split.x_test),),
        hint=sizes_hint,
    )
    if predictions.is_floating_point() or not ((predictions >= 0) & (predictions < 3)).all():
        fail(
            f"predict(model, iris inputs) should be class labels 0, 1 or 2, got "
            f"{predictions.unique().tolist()}",
            sizes_hint,
        )
