"""hw5 public checks: relu, the MLP's layers and modes, the L2 penalty, predict, and the MLP
trained on the digits.

The grader computes what a trained MLP predicts itself, from its parameters in eval mode
(eval_forward): an accuracy comes from the parameters train produced, never from predict.
"""

import torch

from grader.checking import (
    Architecture,
    assert_close,
    check,
    check_training,
    expect_predictions,
    expect_tensor,
    fail,
    named_parameters,
)

F64 = torch.float64


def layers(inputs: int, hidden1: int, hidden2: int, outputs: int) -> dict[str, tuple[int, ...]]:
    """The parameter shapes of MLP(inputs, hidden1, hidden2, outputs)."""
    sizes = {"fc1": (hidden1, inputs), "fc2": (hidden2, hidden1), "fc3": (outputs, hidden2)}
    return {
        f"{fc}.{kind}": shape if kind == "weight" else shape[:1]
        for fc, shape in sizes.items()
        for kind in ("weight", "bias")
    }


LAYERS = layers(10, 8, 6, 3)
EVAL_HINT = (
    "dropout is still active in eval mode: Dropout.forward must pass self.training to "
    "dropout, and the Dropout modules must be attributes of the MLP (self.drop1 = ...), "
    "not hidden in a plain list, so that model.eval() reaches them"
)


def eval_forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The MLP without dropout, computed by the judge from the student's own parameters."""
    h = (x @ params["fc1.weight"].T + params["fc1.bias"]).clamp(min=0)
    h = (h @ params["fc2.weight"].T + params["fc2.bias"]).clamp(min=0)
    return h @ params["fc3.weight"].T + params["fc3.bias"]


def mlp_parameters(model, layers: dict[str, tuple] = LAYERS) -> dict[str, torch.Tensor]:
    """The model's parameters by name, checked against the expected names and shapes."""
    params = named_parameters(model, "the MLP")
    if sorted(params) != sorted(layers):
        fail(
            f"the MLP's parameters should be {sorted(layers)}, got {sorted(params)}",
            "three nn.Linear layers named fc1, fc2, fc3; your Dropout has no parameters",
        )
    for name, shape in layers.items():
        expect_tensor(params[name], f"parameter {name}", shape=shape)
    return {name: value.detach() for name, value in params.items()}


@check(task="2.1", points=1)
def test_relu_and_its_gradient(student, reference, spec):
    """relu(x) is max(x, 0), and its gradient is 1 where x > 0 and 0 where x < 0"""
    x = torch.randn(7, 5, dtype=F64)
    assert_close(
        student.relu(x),
        reference.relu(x),
        spec.tolerance(),
        what="relu(x)",
        hint="x.clamp(min=0) or torch.maximum(x, torch.zeros_like(x))",
    )
    grad_out = torch.randn(7, 5, dtype=F64)
    result = student.vjp(student.relu, x, grad_output=grad_out, wrt=[0])
    assert_close(result["grads"][0], grad_out * (x > 0), spec.tolerance(), what="d relu(x) / d x")


@check(task="2.2", points=1)
def test_mlp_has_three_linear_layers_and_two_dropouts(student, spec):
    """MLP(10, 8, 6, 3, 0.2, 0.5) has fc1, fc2, fc3 and drop1 (p 0.2), drop2 (p 0.5)"""
    model = student.MLP(10, 8, 6, 3, 0.2, 0.5)
    mlp_parameters(model)
    for name, p in (("drop1", 0.2), ("drop2", 0.5)):
        layer = model.attr(name)
        if getattr(layer, "type_name", None) != "Dropout":
            fail(
                f"model.{name} should be your Dropout module, got {layer!r:.100}",
                f"self.{name} = Dropout(dropout{name[-1]}) in MLP.__init__",
            )
        if model.attr(f"{name}.p") != p:
            fail(
                f"model.{name}.p should be {p}, got {model.attr(f'{name}.p')!r}",
                "dropout1 goes after the first hidden layer, dropout2 after the second",
            )


@check(task="2.2", points=2, needs=["1.2", "2.1"])
def test_mlp_forward_in_eval_mode(student, spec):
    """in eval mode the MLP computes fc3(relu(fc2(relu(fc1(x))))) exactly, every time"""
    model = student.MLP(10, 8, 6, 3, 0.2, 0.5)
    params = mlp_parameters(model)
    model.eval()
    x = torch.randn(20, 10)
    expected = eval_forward(params, x)
    first, second = model(x), model(x)
    expect_tensor(first, "model(x)", shape=(20, 3))
    if not torch.equal(first, second):
        fail("two calls of model(x) after model.eval() gave different outputs", EVAL_HINT)
    assert_close(
        first,
        expected,
        spec.tolerance("float32"),
        what="model(x) after model.eval()",
        hint="fc1 → relu → drop1 → fc2 → relu → drop2 → fc3 (no relu after fc3)",
    )


def _modes(model) -> dict[str, object]:
    """Each submodule's `training` flag, by name, from the worker (validated)."""
    pairs = model.method("named_modules")()
    if not (isinstance(pairs, list) and all(isinstance(p, tuple) and len(p) == 2 for p in pairs)):
        fail(
            f"MLP(...).named_modules() should give (name, module) pairs, got {type(pairs).__name__}",
            "subclass nn.Module and call super().__init__() first",
        )
    return {(name if isinstance(name, str) else "?") or "model": m.training for name, m in pairs}


@check(task="2.2", points=2)
def test_train_and_eval_reach_every_module(student):
    """model.train() turns dropout on and model.eval() off, in every submodule"""
    model = student.MLP(10, 32, 32, 3, 0.5, 0.5)
    x = torch.rand(50, 10) + 0.5

    def out():
        return expect_tensor(model(x), "MLP(10, 32, 32, 3, 0.5, 0.5)(x)", shape=(50, 3))

    model.train()
    modes = _modes(model)
    if not all(m is True for m in modes.values()):
        fail(
            f"after model.train() some modules are in eval mode: {modes}",
            "call super().__init__() in every module and let nn.Module keep `training`",
        )
    if torch.equal(out(), out()):
        fail(
            "after model.train(), two calls of model(x) gave the same output: dropout is off",
            "Dropout.forward must apply dropout when self.training is True",
        )
    model.eval()
    modes = _modes(model)
    if any(m is not False for m in modes.values()):
        fail(
            f"after model.eval() some modules are still in training mode: {modes}",
            "keep no `training` flag of your own: nn.Module.eval() sets it on every submodule",
        )
    if not torch.equal(out(), out()):
        fail("after model.eval(), two calls of model(x) gave different outputs", EVAL_HINT)


@check(task="2.3", points=1, needs=["2.2"])
def test_l2_penalty_is_half_the_squared_weights(student, spec):
    """l2_penalty(model) is ½ Σ w² over the three weight matrices (not the biases), differentiably"""
    model = student.MLP(10, 8, 6, 3)
    params = mlp_parameters(model)
    result = student.vjp(student.l2_penalty, model, grad_output=torch.tensor(1.0), wrt=[])
    weights = sum(float((params[f"fc{i}.weight"].double() ** 2).sum()) for i in (1, 2, 3))
    biases = sum(float((params[f"fc{i}.bias"].double() ** 2).sum()) for i in (1, 2, 3))
    got = expect_tensor(result["out"], "l2_penalty(model)", shape=())

    def which(g: torch.Tensor, e: torch.Tensor) -> str:
        value = float(g)
        if abs(value - (weights + biases) / 2) < 1e-4 * weights:
            return "weight decay applies to the weights only: leave the biases out"
        if abs(value - weights) < 1e-4 * weights:
            return "you left out the ½: ½ Σ w² has the gradient w, so decay is weight_decay · w"
        return ""

    assert_close(
        got,
        torch.tensor(weights / 2, dtype=got.dtype),
        spec.tolerance("float32"),
        what="l2_penalty(model)",
        hint_fn=which,
    )


@check(task="3.2", points=1, needs=["2.2"])
def test_predict_switches_dropout_off(student, spec):
    """predict(model, x) gives the top class of the dropout-free output, the same every time"""
    model = student.MLP(10, 32, 32, 3, 0.5, 0.5)
    params = mlp_parameters(
        model,
        {
            "fc1.weight": (32, 10),
            "fc1.bias": (32,),
            "fc2.weight": (32, 32),
            "fc2.bias": (32,),
            "fc3.weight": (3, 32),
            "fc3.bias": (3,),
        },
    )
    x = torch.randn(200, 10)
    expected = eval_forward(params, x).argmax(1)
    for attempt in (1, 2):
        got = expect_tensor(
            student.predict(model, x),
            "predict(model, x)",
            shape=(200,),
            hint="one class per row: model(x).argmax(dim=1)",
        )
        if got.is_floating_point() or not torch.equal(got.long(), expected):
            wrong = int((got.long() != expected).sum())
            fail(
                f"predict(model, x), call {attempt}: {wrong} of 200 predictions differ from the "
                "top class of the model's dropout-free output",
                "call model.eval() (and use torch.no_grad()) before predicting: in training mode "
                "dropout makes predictions random"
                if wrong < 200
                else "",
            )


def fit(impl, split, spec, *, epochs=None, losses=None):
    """Train a fresh MLP with `impl` (student or reference) on `split`; return the model."""
    t, run = spec.threshold, spec.training()
    model = impl.MLP(
        split.num_features,
        int(t("hidden1")),
        int(t("hidden2")),
        split.num_classes,
        t("dropout1"),
        t("dropout2"),
    )
    got = impl.train(
        model,
        split.x_train,
        split.y_train,
        epochs=run.epochs if epochs is None else epochs,
        lr=run.lr,
        batch_size=run.batch_size,
        weight_decay=run.weight_decay,
    )
    if losses is not None:
        losses[impl] = got
    return model


def mlp(split, spec) -> Architecture:
    """The MLP the training checks build, as the grader computes it: eval mode, no dropout."""
    sizes = (split.num_features, int(spec.threshold("hidden1")), int(spec.threshold("hidden2")))
    return Architecture(
        f"MLP{sizes + (split.num_classes,)}",
        layers(*sizes, split.num_classes),
        forward=eval_forward,
        classes={"fc3.weight": 0, "fc3.bias": 0},
    )


@check(task="3.1", points=4, needs=["2.2", "2.3"])
def test_training_reaches_accuracy_on_digits(student, reference, spec, load_data, seed):
    """trained on the digits, the MLP classifies held-out digits accurately, in time"""
    split = load_data("digits", seed=seed)
    losses = {}
    check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec, losses=losses),
        split.y_test,
        architecture=mlp(split, spec),
        inputs=split.x_test,
        training=spec.training(),
        losses=losses,
        what="predict(model, held-out digits) after train",
        hint="check that the loss goes down: zero the gradients every step, add "
        "weight_decay · l2_penalty(model) to the loss, and train in model.train() mode",
    )


@check(task="3.2", points=1, needs=["3.1"])
def test_predict_gives_the_trained_models_classes(student, reference, spec, load_data, seed):
    """after train, predict(model, x) gives the classes of the dropout-free MLP, on held-out digits"""
    split = load_data("digits", seed=seed)
    epochs = spec.training().agreement_epochs
    trained = check_training(
        student,
        reference,
        lambda impl: fit(impl, split, spec, epochs=epochs),
        split.y_test,
        architecture=mlp(split, spec),
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
        hint="call model.eval() (dropout off) and use torch.no_grad(), then return "
        "model(x).argmax(dim=1): the classes of the model it is given",
    )
