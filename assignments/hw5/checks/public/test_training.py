"""hw5 public check: the MLP with dropout, trained on the digits, reaches the accuracy threshold."""

from grader.checking import check_training, training_budget


def fit(impl, split, spec):
    """Train a fresh MLP with `impl` (student or reference) and predict the held-out inputs."""
    t = spec.threshold
    model = impl.MLP(
        split.num_features,
        int(t("hidden1")),
        int(t("hidden2")),
        split.num_classes,
        t("dropout1"),
        t("dropout2"),
    )
    impl.train(
        model,
        split.x_train,
        split.y_train,
        epochs=int(t("epochs")),
        lr=t("lr"),
        batch_size=int(t("batch_size")),
        weight_decay=t("weight_decay"),
    )
    return impl.predict(model, split.x_test)


def test_training_reaches_accuracy_on_digits(student, reference, spec, load_data, seed):
    """trained on the digits, the MLP classifies held-out digits accurately, in time"""
    split = load_data("digits", seed=seed)
    check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec),
        split.y_test,
        threshold=spec.threshold("digits_accuracy"),
        **training_budget(spec),
        what="predict(model, held-out digits) after train",
        hint="check that the loss goes down: zero the gradients every step, add "
        "weight_decay · l2_penalty(model) to the loss, train in model.train() "
        "mode and predict in model.eval() mode",
    )
