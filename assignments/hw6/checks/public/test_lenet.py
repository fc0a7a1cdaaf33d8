"""hw6 public checks: the LeNet-like CNN — layers, dropout, training loop, eval mode, accuracy.

The grader computes what a trained CNN predicts itself: the trained parameters in the CNN the
README prescribes (lenet_forward), in eval mode. An accuracy comes from the parameters
train_cnn produced, never from predict.
"""

import torch
import torch.nn.functional as F

from grader.checking import (
    Architecture,
    CheckFailed,
    assert_close,
    check,
    check_training,
    expect_predictions,
    expect_tensor,
    fail,
    flatten_error_hint,
    flattened_size_hint,
    named_parameters,
    ratio,
)

FLATTEN_HINT = (
    "the first Linear layer takes channels[1] × s × s inputs, where s is the image size "
    "after two conv + pool blocks: compute s with conv_output_size (s = 2 for 8×8 "
    "images), never hard-code it"
)
# CNN() of the README: 8×8 images, channels[1] = 16; each block's 3×3 conv (padding 1) keeps
# the size and its 2×2 pool halves it, so s = image_size // 4 after the two blocks
LENET_SIZES = {"image_size": 8, "channels": 16, "side": lambda n: n // 2 // 2}


def hint_for_error(message: str) -> str:
    """The hint for an error the student's code raised in these checks: a CNN whose layer
    sizes do not follow image_size (the grader calls it with the message)."""
    return flatten_error_hint(message, **LENET_SIZES)


def param_shapes(model, what: str = "CNN()") -> list[tuple[int, ...]]:
    return sorted(tuple(t.shape) for t in named_parameters(model, what).values())


@check(task="3.1", points=1, needs=["1.1"])
def test_cnn_output_shape(student):
    """CNN() maps a batch of 8×8 digit images (N, 1, 8, 8) to logits (N, 10)"""
    model = student.CNN()
    x = torch.rand(5, 1, 8, 8)
    expect_tensor(
        model(x), "CNN()(x) for x of shape (5, 1, 8, 8)", shape=(5, 10), dtype=torch.float32
    )


@check(task="3.1", points=2)
def test_cnn_has_the_lenet_layers(student, reference):
    """CNN has two 3×3 conv layers and two Linear layers of the sizes in the README"""
    got = param_shapes(student.CNN())
    expected = sorted(tuple(p.shape) for p in reference.CNN().parameters())
    if got != expected:
        convs = [s for s in got if len(s) == 4]
        fc1 = [s[1] for s in got if len(s) == 2 and s[0] == 64 and s[1] != 64]  # (hidden, ·)
        hint = (
            (flattened_size_hint(fc1[0], **LENET_SIZES) if len(fc1) == 1 else "") or FLATTEN_HINT
            if len(convs) == 2 and sorted(convs) == sorted(s for s in expected if len(s) == 4)
            else "two Conv2d(kernel_size=3, padding=1) layers (in_channels → channels[0] → "
            "channels[1]), then Linear(·, hidden) and Linear(hidden, num_classes)"
        )
        fail(f"the parameters of CNN() have shapes {got}; expected {expected}", hint)


@check(task="3.1", points=1)
def test_cnn_dropout_only_in_train_mode(student):
    """CNN(dropout=0.5) is random in train mode and deterministic in eval mode"""
    model = student.CNN(dropout=0.5)
    x = torch.rand(64, 1, 8, 8)
    if torch.equal(expect_tensor(model(x), "model(x)"), expect_tensor(model(x), "model(x)")):
        fail(
            "two forward passes of CNN(dropout=0.5) in train mode gave identical outputs: "
            "no dropout is active",
            "add nn.Dropout(dropout) after the ReLU of the first Linear layer",
        )
    model.method("eval")()
    if not torch.equal(expect_tensor(model(x), "model(x)"), expect_tensor(model(x), "model(x)")):
        fail(
            "two forward passes of CNN(dropout=0.5) in eval mode differ: dropout is still active",
            "use nn.Dropout (it is switched off by model.eval()), or F.dropout(x, p, self.training)",
        )


@check(task="3.2", points=2, needs=["3.1"])
def test_train_cnn_zeroes_gradients_and_reports_mean_losses(student, load_data, spec):
    """train_cnn does not accumulate gradients across steps and returns the mean loss per epoch"""
    split = load_data("digits", seed=0)
    n = 96
    x, y = split.images(split.x_train[:n]), split.y_train[:n]
    model = student.CNN(dropout=0.0)
    before = named_parameters(model, "CNN(dropout=0.0)")
    if not before:
        fail("CNN(dropout=0.0) has no parameters", "assign the layers as attributes of self")
    logits = expect_tensor(model(x), "model(x)", shape=(n, 10)).detach()
    if not torch.equal(logits, expect_tensor(model(x), "model(x)", shape=(n, 10)).detach()):
        fail(
            "CNN(dropout=0.0) gives different outputs for the same input in train mode",
            "pass the dropout argument on: nn.Dropout(dropout), not a fixed probability",
        )
    loss = float(F.cross_entropy(logits.double(), y))
    # lr=0 and one full batch per epoch: the weights stay put, so both epochs see the same gradient
    losses = student.train_cnn(model, x, y, epochs=2, lr=0.0, batch_size=n)
    if not (
        isinstance(losses, list) and len(losses) == 2 and all(isinstance(v, float) for v in losses)
    ):
        fail(
            f"train_cnn(..., epochs=2) should return a list of 2 floats, got {losses!r}",
            "append the epoch's mean loss (a Python float: loss.item()) once per epoch",
        )
    after = named_parameters(model, "CNN(dropout=0.0)")
    if after.keys() != before.keys() or any(not torch.equal(before[k], after[k]) for k in before):
        fail("train_cnn(..., lr=0.0) changed the weights", "pass the lr argument to the optimizer")
    assert_close(
        torch.tensor(losses, dtype=torch.float64),
        torch.full((2,), loss, dtype=torch.float64),
        spec.tolerance("loss"),
        what="the epoch losses of train_cnn on one full batch",
        hint="return the mean cross-entropy over the epoch's samples (F.cross_entropy "
        "averages over the batch by default)",
    )
    grads = [model.attr(f"{name}.grad") for name in before]
    grads = [
        g if g is None else expect_tensor(g, f"{name}.grad", shape=tuple(before[name].shape))
        for name, g in zip(before, grads, strict=True)
    ]
    if all(g is None or not bool(g.any()) for g in grads):
        return  # zeroed after each step (also correct): nothing left to compare
    if any(g is None for g in grads):
        fail(
            "after train_cnn only some parameters have a .grad",
            "call loss.backward() on the loss "
            "of the whole model, and optimizer.zero_grad() on an optimizer over model.parameters()",
        )
    g_logits = (torch.softmax(logits.double(), 1) - F.one_hot(y, 10).double()) / n
    ref = student.vjp(model, x, grad_output=g_logits.float())["params"]
    expected = torch.cat(
        [
            (
                ref.get(k) if isinstance(ref.get(k), torch.Tensor) else torch.zeros_like(before[k])
            ).flatten()
            for k in before
        ]
    )
    got = torch.cat([g.flatten() for g in grads])
    r = ratio(got, expected)
    if r is not None and abs(r - 2) < 1e-3:
        fail(
            "after 2 training steps the gradients are 2× the gradient of one step: they accumulate",
            "call optimizer.zero_grad() before each loss.backward() (gradients add up otherwise)",
        )
    assert_close(
        got,
        expected,
        spec.tolerance("gradients"),
        batch_size=n,
        what="the parameters' .grad after train_cnn (all parameters, flattened)",
    )


@check(task="3.3", points=1, needs=["3.1"])
def test_predict_uses_eval_mode(student):
    """predict returns int64 labels from the eval-mode model, even when called in train mode"""
    model = student.CNN(dropout=0.5)
    x = torch.rand(256, 1, 8, 8)
    model.method("eval")()
    expected = expect_tensor(model(x), "model(x)", shape=(256, 10)).argmax(dim=1)
    model.method("train")()
    got = expect_tensor(
        student.predict(model, x),
        "predict(model, x)",
        shape=(256,),
        dtype=torch.int64,
        hint="return logits.argmax(dim=1)",
    )
    differ = int((got != expected).sum())
    if differ:
        fail(
            f"predict(model, x) differs from the eval-mode model's argmax on {differ} of 256 images",
            "call model.eval() (dropout off) and use torch.no_grad() before predicting",
        )


def lenet_forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """CNN() of the README in eval mode (dropout off), computed from its parameters `p`."""
    x = F.max_pool2d(F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, p["conv2.weight"], p["conv2.bias"], padding=1)), 2)
    x = F.relu(x.flatten(1) @ p["fc1.weight"].T + p["fc1.bias"])
    return x @ p["fc2.weight"].T + p["fc2.bias"]


LENET = Architecture(
    "CNN()",
    {
        "conv1.weight": (8, 1, 3, 3),
        "conv1.bias": (8,),
        "conv2.weight": (16, 8, 3, 3),
        "conv2.bias": (16,),
        "fc1.weight": (64, 64),
        "fc1.bias": (64,),
        "fc2.weight": (10, 64),
        "fc2.bias": (10,),
    },
    forward=lenet_forward,
    classes={"fc2.weight": 0, "fc2.bias": 0},
)


def fit(impl, split, spec, seed, *, epochs=None, losses=None):
    """Train a fresh CNN() with `impl` (student or reference) on `split`; return the model."""
    torch.manual_seed(seed)  # the reference starts from the RNG state the worker starts from
    model = impl.CNN()
    got = impl.train_cnn(
        model,
        split.images(split.x_train),
        split.y_train,
        epochs=spec.training().epochs if epochs is None else epochs,
        lr=spec.training().lr,
        batch_size=spec.training().batch_size,
    )
    if losses is not None:
        losses[impl] = got
    return model


@check(task="3.2", points=5, needs=["3.1"])
def test_cnn_reaches_accuracy_on_digits(student, reference, spec, load_data, seed):
    """CNN trained with train_cnn reaches the test-accuracy threshold on digits in time"""
    split = load_data("digits", seed=0)
    run = spec.training()
    epochs, lr, batch_size = run.epochs, run.lr, run.batch_size
    losses = {}
    try:
        check_training(
            student,
            reference,
            lambda impl: fit(impl, split, spec, seed, losses=losses),
            split.y_test,
            architecture=LENET,
            inputs=split.images(split.x_test),
            training=run,
            losses=losses,
            what=f"CNN() after train_cnn(epochs={epochs}, lr={lr:g}, batch_size={batch_size})",
            hint="if the loss does not fall: call optimizer.step() after loss.backward(), zero the "
            "gradients before backward (not between backward and step), and give the optimizer "
            "model.parameters()",
        )
    except CheckFailed as exc:
        mine = losses.get(student)
        if "held-out samples right" in exc.message and isinstance(mine, list):
            shown = ", ".join(f"{v:.3g}" if isinstance(v, float) else repr(v) for v in mine[:30])
            fail(f"{exc.message}; your epoch losses: [{shown}]", exc.hint)
        raise


@check(task="3.3", points=1, needs=["3.2"])
def test_predict_gives_the_trained_models_classes(student, reference, spec, load_data, seed):
    """after train_cnn, predict(model, x) gives the eval-mode CNN's classes on held-out digits"""
    split = load_data("digits", seed=0)
    epochs = spec.training().agreement_epochs
    trained = check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec, seed, epochs=epochs),
        split.y_test,
        architecture=LENET,
        inputs=split.images(split.x_test),
        threshold=0.0,  # any trained model will do: its accuracy is the check above's business
        training=spec.training(),
        what=f"train_cnn(CNN(), digits, epochs={epochs})",
    )
    expect_predictions(
        lambda: student.predict(trained.model, split.images(split.x_test)),
        trained,
        spec.tolerance("float32"),
        what="predict(model, held-out digits)",
        hint="call model.eval() (dropout off) and use torch.no_grad(), then return "
        "model(x).argmax(dim=1): the classes of the model it is given",
    )
