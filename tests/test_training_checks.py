"""Training checks score the trained model as the grader computes it from the model's own
parameters, with the architecture the assignment prescribes: a predict (or forward) that
answers from memorised training data, or with a constant, earns nothing from them (hw3-hw6).
Also: the grader's architectures are the references', parameters are matched and validated
with messages that name what is wrong, and a student release runs these checks too."""

import importlib.util
import re

import pytest
import torch
from conftest import COURSE, by_id, lost_checks, reference_with

from grader.checking import CheckFailed, Trained, expect_parameters, expect_predictions
from grader.course import load_assignment
from grader.judge.plugin import load_reference
from grader.judge.runner import grade
from grader.release.bundle import build
from grader.spec import Tolerance

AGREEMENT = {
    "hw3": "test_trained_layer_computes_its_own_parameters",
    "hw4": "test_predict_gives_the_trained_models_classes",
    "hw5": "test_predict_gives_the_trained_models_classes",
    "hw6": "test_predict_gives_the_trained_models_classes",
}
ACCURACY = {
    "hw3": "test_digits_classifier_trains",
    "hw4": "test_training_reaches_accuracy_on_digits",
    "hw5": "test_training_reaches_accuracy_on_digits",
    "hw6": "test_cnn_reaches_accuracy_on_digits",
}
IRIS = "test_training_works_for_other_sizes_on_iris"
TRAINING = {
    hw: {ACCURACY[hw], AGREEMENT[hw]} | ({IRIS} if hw == "hw4" else set()) for hw in ACCURACY
}
COMPUTED_BY_THE_GRADER = "(the grader computes both itself, from the trained parameters of"

# The training function replaced by one that memorises its data (and trains, or not); the
# answer for inputs like the training data's replaced by the nearest memorised sample's label.
NEAREST_NEIGHBOUR = '''
_memory = {{}}
_train = {train}


def {train}(model, x, y, **kwargs):
    """{doc}"""
    _memory.clear()
    {body}
    _memory["x"], _memory["y"] = x.reshape(len(x), -1).clone(), y.clone()
    return losses


def _nearest(x):
    """The labels of the nearest memorised samples, or None for inputs unlike them."""
    memory = _memory.get("x")
    flat = x.reshape(len(x), -1) if x.dim() > 1 else x
    if memory is None or len(memory) < {min_memory} or x.dim() < 2 or flat.shape[1] != memory.shape[1]:
        return None
    return _memory["y"][torch.cdist(flat, memory).argmin(dim=1)]
'''
TRAINS = "losses = _train(model, x, y, **kwargs)"
MEMORISES_ONLY = 'losses = [2.3] * kwargs.get("epochs", 10)'
PREDICT_NN = """
_predict = predict


def predict(model, x):
    labels = _nearest(x)
    return _predict(model, x) if labels is None else labels
"""
FORWARD_NN = """
_forward = Linear.forward


def _nearest_neighbour_forward(self, x):
    labels = _nearest(x)
    if labels is None:
        return _forward(self, x)
    return F.one_hot(labels, self.out_features).to(x.dtype)  # "logits"


Linear.forward = _nearest_neighbour_forward
"""
TRAIN = {"hw3": "train_classifier", "hw4": "train", "hw5": "train", "hw6": "train_cnn"}
MIN_MEMORY = {"hw3": 1000, "hw4": 50, "hw5": 1000, "hw6": 1000}  # iris trains on 96 samples


def nearest_neighbour(hw: str, *, trains: bool) -> str:
    code = NEAREST_NEIGHBOUR.format(
        train=TRAIN[hw],
        doc="Trains, and memorises the training set." if trains else "Memorises, no training.",
        body=TRAINS if trains else MEMORISES_ONLY,
        min_memory=MIN_MEMORY[hw],
    )
    return code + (FORWARD_NN if hw == "hw3" else PREDICT_NN)


CONSTANT_PREDICT = """
def train(model, x, y, *, epochs, lr, batch_size):
    return [1.0] * epochs


def predict(model, x):
    return torch.zeros(len(x), dtype=torch.int64)
"""
CONSTANT_MODEL = """
def train(model, x, y, *, epochs, lr, batch_size):
    with torch.no_grad():  # every input gets class 0, and predict says so faithfully
        model.W.zero_()
        model.b.zero_()
        model.b[0] = 1.0
    return [1.0] * epochs
"""


@pytest.mark.parametrize("hw", list(TRAINING))
def test_memorising_the_data_instead_of_training_earns_nothing_from_any_training_check(
    grade_with, tmp_path, hw
):
    result = grade_with(hw, reference_with(hw, tmp_path, extra=nearest_neighbour(hw, trains=False)))
    checks = by_id(result)
    # train_cnn that does not train also fails the check of its training loop
    also = {"test_train_cnn_zeroes_gradients_and_reports_mean_losses"} if hw == "hw6" else set()
    assert lost_checks(result) == TRAINING[hw] | also
    assert all(checks[c].score == 0 for c in TRAINING[hw])
    assert COMPUTED_BY_THE_GRADER in checks[ACCURACY[hw]].message
    if hw == "hw3":
        assert "training did not change the weight" in checks[ACCURACY[hw]].hint
        assert "the trained layer's output for the held-out digits does not match" in (
            checks[AGREEMENT[hw]].message
        )
    else:
        assert "differs from the model's own classes on" in checks[AGREEMENT[hw]].message


@pytest.mark.parametrize("hw", list(TRAINING))
def test_a_nearest_neighbour_predict_after_real_training_loses_the_agreement_check(
    grade_with, tmp_path, hw
):
    """The accuracy points come from the trained parameters; predict's are the agreement's."""
    result = grade_with(hw, reference_with(hw, tmp_path, extra=nearest_neighbour(hw, trains=True)))
    assert lost_checks(result) == TRAINING[hw] - {ACCURACY[hw]}
    agreement = by_id(result)[AGREEMENT[hw]]
    if hw != "hw3":
        assert "predict(model, held-out digits) differs from the model's own classes" in (
            agreement.message
        )
        assert "the classes of the model it is given" in agreement.hint


def test_a_constant_predict_earns_nothing_from_the_hw4_training_checks(grade_with, tmp_path):
    result = grade_with("hw4", reference_with("hw4", tmp_path, extra=CONSTANT_PREDICT))
    checks = by_id(result)
    assert TRAINING["hw4"] <= lost_checks(result)
    assert checks[AGREEMENT["hw4"]].hint.startswith("predict gives class 0 for every input")
    assert checks[IRIS].message.startswith(
        "predict(model, held-out iris flowers) after train: accuracy 0."
    )


def test_training_that_leaves_a_constant_model_fails_both_hw4_accuracy_checks(grade_with, tmp_path):
    """Iris included: 10 of its 30 test flowers are of each class, and the threshold is 0.7."""
    result = grade_with("hw4", reference_with("hw4", tmp_path, extra=CONSTANT_MODEL))
    checks = by_id(result)
    assert lost_checks(result) == {ACCURACY["hw4"], IRIS}  # predict itself is right
    assert "accuracy 0.333 (10 of 30 held-out samples right), below the required 0.700" in (
        checks[IRIS].message
    )


# ----------------------------------------------------------------------------- the helpers


def check_module(hw: str, name: str):
    path = COURSE / "assignments" / hw / "checks" / "public" / name
    spec = importlib.util.spec_from_file_location(f"_training_{hw}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference(hw: str):
    return load_reference(load_assignment(COURSE, hw))


def perturbed(model: torch.nn.Module) -> torch.nn.Module:
    """`model` in float64 and eval mode, its parameters moved off their initialisation."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    return model


def test_the_grader_computes_each_prescribed_architecture_as_the_reference_model_does():
    torch.manual_seed(0)
    x = torch.rand(20, 64, dtype=torch.float64)
    images = x.reshape(20, 1, 8, 8)
    cases = {
        "hw3": (check_module("hw3", "test_training.py").LINEAR, reference("hw3").Linear(64, 10)),
        "hw5": (None, reference("hw5").MLP(64, 128, 64, 10, 0.2, 0.5)),
        "hw6": (check_module("hw6", "test_lenet.py").LENET, reference("hw6").CNN()),
    }
    hw5 = check_module("hw5", "test_mlp.py")
    split = type("Split", (), {"num_features": 64, "num_classes": 10})
    cases["hw5"] = (hw5.mlp(split, load_assignment(COURSE, "hw5")), cases["hw5"][1])
    for hw, (architecture, model) in cases.items():
        model = perturbed(model)
        params, _ = architecture.parameters(model, hw)
        inputs = images if hw == "hw6" else x
        logits = architecture.logits(params, inputs)
        torch.testing.assert_close(logits, model(inputs), msg=hw)
        shifted = architecture.logits(architecture.shifted(params), inputs)
        torch.testing.assert_close(shifted, logits.roll(1, dims=1), msg=hw)
    hw4 = reference("hw4").SoftmaxRegression(64, 10)
    hw4.W, hw4.b = torch.randn(64, 10, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    architecture = check_module("hw4", "test_training.py").softmax_regression(64, 10)
    params, _ = architecture.parameters(hw4, "hw4")
    logits = architecture.logits(params, x)
    torch.testing.assert_close(logits, hw4.forward(x))
    shifted = architecture.logits(architecture.shifted(params), x)
    torch.testing.assert_close(shifted, logits.roll(1, dims=1))


LENET_SHAPES = check_module("hw6", "test_lenet.py").LENET.shapes


def test_parameters_are_taken_by_name_else_by_shape_and_each_mismatch_is_named():
    sequential = torch.nn.Sequential(  # the CNN without the prescribed names
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    params, paths = expect_parameters(list(sequential.named_parameters()), LENET_SHAPES, "CNN()")
    assert paths["fc1.weight"] == "7.weight" and paths["conv2.bias"] == "3.bias"
    assert all(t.dtype == torch.float64 for t in params.values())

    wider = dict(sequential.named_parameters(), **{"7.weight": torch.zeros(32, 64)})
    with pytest.raises(CheckFailed) as info:
        expect_parameters(wider, LENET_SHAPES, "the trained CNN()")
    assert "no parameter of shape (64, 64) (fc1.weight)" in info.value.message
    assert "not expected: 7.weight (32, 64)" in info.value.message

    linear = {"weight": torch.zeros(64, 10), "bias": torch.zeros(10)}
    with pytest.raises(CheckFailed) as info:
        expect_parameters(linear, {"weight": (10, 64), "bias": (10,)}, "the trained Linear")
    assert info.value.message == (
        "weight of the trained Linear has the wrong shape: got (64, 10), expected (10, 64)"
    )
    assert "PyTorch stores a Linear weight as (out_features, in_features)" in info.value.hint

    for bad, words in (
        ({"weight": torch.zeros(10, 64, dtype=torch.int64), "bias": torch.zeros(10)}, "dtype"),
        ({"weight": torch.full((10, 64), float("nan")), "bias": torch.zeros(10)}, "inf or NaN"),
        ({"weight": [[0.0] * 64] * 10, "bias": torch.zeros(10)}, "should be a tensor"),
        ("weight", "should be (name, tensor) pairs"),
    ):
        with pytest.raises(CheckFailed, match=re.escape(words)):
            expect_parameters(bad, {"weight": (10, 64), "bias": (10,)}, "the trained Linear")


class Model:
    """A stand-in for a student's model handle: `method("W.data.copy_")(value)` writes W."""

    def __init__(self):
        self.written = {}

    def method(self, path):
        return lambda value: self.written.__setitem__(path.removesuffix(".data.copy_"), value)


def test_predictions_must_be_the_models_classes_on_its_own_parameters_and_on_the_graders():
    tol = Tolerance(rtol=1e-4, atol=1e-5)
    logits = torch.tensor([[0.0, 1.0], [2.0, 2.0 + 1e-7], [3.0, 0.0]], dtype=torch.float64)
    reference_logits = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    trained = Trained(
        model=Model(),
        predictions=logits.argmax(1),
        accuracy=1.0,
        reference_accuracy=1.0,
        parameters={"W": torch.zeros(2)},
        paths={"W": "W"},
        logits=logits,
        reference_logits=reference_logits,
        probe_parameters={"W": torch.ones(2)},
        probe_logits=reference_logits.roll(1, dims=1),  # classes shifted: 0, 0, 1
    )
    answers = iter([torch.tensor([1, 0, 0]), torch.tensor([0, 0, 1])])  # a tie counts either way
    expect_predictions(lambda: next(answers), trained, tol, what="predict(model, x)")
    assert torch.equal(trained.model.written["W"], torch.ones(2))

    answers = iter([torch.tensor([1, 1, 0]), torch.tensor([1, 1, 0])])  # right, then the answers
    with pytest.raises(CheckFailed) as info:
        expect_predictions(lambda: next(answers), trained, tol, what="predict(model, x)")
    assert info.value.message == (
        "predict(model, x), once the grader had set the model's parameters to values of its own, "
        "differs from the model's own classes on 3 of 3 inputs; first at input 0: got 1, the "
        "model's top class is 0"
    )
    assert info.value.hint.startswith("predict gives the right classes (those a trained model")
    for answer, words in (
        (torch.zeros(3, dtype=torch.int64), "predict gives class 0 for every input"),
        (torch.tensor([1.0, 0.0, 0.0]), "integer class labels"),
        (torch.tensor([1, 0, 2]), "class labels 0 to 1"),
        (None, "should be a tensor"),
    ):
        with pytest.raises(CheckFailed) as info:
            expect_predictions(lambda a=answer: a, trained, tol, what="predict(model, x)")
        assert words in info.value.message + info.value.hint, (answer, info.value.message)


# ----------------------------------------------------------------------------- a release

HALF_THE_LEARNING_RATE = {
    "torch.optim.Adam(model.parameters(), lr=lr)": "torch.optim.Adam(model.parameters(), lr=lr / 2)"
}


def test_a_release_runs_the_training_checks_on_parameters_the_reference_never_had(zygote, tmp_path):
    """In a release the reference is replayed; the grader's architecture is in the check, so a
    submission that trains differently is graded exactly as the instructor grades it."""
    bundle = tmp_path / "release"
    build(COURSE, ["hw6"], bundle, zygote=zygote)
    (tmp_path / "submission").mkdir()
    submission = reference_with(
        "hw6",
        tmp_path / "submission",
        HALF_THE_LEARNING_RATE,
        extra=nearest_neighbour("hw6", trains=True),
    )
    instructor = by_id(
        grade(load_assignment(COURSE, "hw6"), submission, course=COURSE, zygote=zygote)
    )
    released = grade(load_assignment(bundle, "hw6"), submission, course=bundle, zygote=zygote)
    for check in released.checks:
        expected = instructor[check.id]
        assert (check.status, check.message) == (expected.status, expected.message), check.id
    assert {c.id for c in released.checks if c.status != "passed"} == {AGREEMENT["hw6"]}
    assert by_id(released)[ACCURACY["hw6"]].status == "passed"
