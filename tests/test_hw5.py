"""hw5 (MLP with dropout): the stub scores 0, the reference full marks, and each recognised
mistake loses exactly the checks it should, with the hint that names it."""

import re

import pytest
from conftest import COURSE, reference_with

REFERENCE = COURSE / "reference/hw5"
FRACTION = "test_dropout_drops_a_fraction_p"
MEAN = "test_dropout_preserves_the_mean"
EVAL = "test_dropout_is_identity_in_eval_mode"
GRAD = "test_dropout_gradient_flows_only_through_kept_units"
LAYERS = "test_mlp_has_three_linear_layers_and_two_dropouts"
MLP_EVAL = "test_mlp_forward_in_eval_mode"
MODES = "test_train_and_eval_reach_every_module"
L2 = "test_l2_penalty_is_half_the_squared_weights"
PREDICT = "test_predict_switches_dropout_off"
TRAINING = "test_training_reaches_accuracy_on_digits"
PREDICTS_TRAINED = "test_predict_gives_the_trained_models_classes"
OTHER_P = "test_dropout_keeps_shape_and_dtype_and_another_p"
IN_PLACE = "test_dropout_does_not_change_its_input"
OTHER_SIZES = "test_mlp_of_other_sizes"
STILL_ACTIVE = "dropout is still active in eval mode"

# mistake -> (replacements in the reference, {failed check: text of its hint or message})
MISTAKES = {
    "survivors_not_scaled": (
        {"return x * keep / (1.0 - p)": "return x * keep"},
        {
            MEAN: "the survivors are not scaled: divide them by 1 - p",
            OTHER_P: "divides the kept elements by 1 - p",
        },
    ),
    "mask_from_randn": (
        {"keep = torch.rand_like(x) > p": "keep = torch.randn_like(x) > p"},
        {
            FRACTION: "a mask drawn from a normal distribution: torch.randn(...) > p keeps a "
            "fraction 1 − Φ(p)",
            MEAN: "the mean is off because the wrong fraction is dropped: the fractions dropped",
            OTHER_P: "expected 0.65 (z = ",
        },
    ),
    "p_used_as_keep_probability": (
        {
            "keep = torch.rand_like(x) > p": "keep = torch.rand_like(x) < p",
            "return x * keep / (1.0 - p)": "return x * keep / p",
        },
        {
            FRACTION: "p is the probability to DROP an element, not to keep it",
            OTHER_P: "expected 0.65 (z = -",
        },
    ),
    "dropout_active_in_eval": (
        {"if not training or p == 0:": "if p == 0:"},
        {
            EVAL: "dropout is the identity in eval mode",
            MLP_EVAL: STILL_ACTIVE,
            MODES: STILL_ACTIVE,
            PREDICT: "call model.eval()",
            PREDICTS_TRAINED: "call model.eval()",
            OTHER_SIZES: "does not match",
        },
    ),
    "dropout_modules_in_a_plain_list": (
        {
            "        self.drop1 = Dropout(dropout1)\n": "",
            "        self.drop2 = Dropout(dropout2)\n": "        self.drops = [Dropout(dropout1), Dropout(dropout2)]\n",
            "self.drop1(": "self.drops[0](",
            "self.drop2(": "self.drops[1](",
        },
        {
            LAYERS: "'MLP' object has no attribute 'drop1'",
            MLP_EVAL: "not hidden in a plain list",
            MODES: "not hidden in a plain list",
            PREDICT: "call model.eval()",
            PREDICTS_TRAINED: "call model.eval()",
            OTHER_SIZES: "does not match",
        },
    ),
    "predict_without_eval": (
        {"    model.eval()\n    with torch.no_grad():": "    with torch.no_grad():"},
        {
            PREDICT: "call model.eval() (and use torch.no_grad()) before predicting",
            PREDICTS_TRAINED: "call model.eval() (dropout off)",
        },
    ),
    "l2_penalty_with_biases": (
        {
            "(m.weight**2).sum() for m in model.modules() if isinstance(m, nn.Linear)": "(q**2).sum() for q in model.parameters()"
        },
        {L2: "weight decay applies to the weights only: leave the biases out"},
    ),
    "input_changed_in_place": (
        {"    return x * keep / (1.0 - p)": "    x[~keep] = 0\n    x /= 1.0 - p\n    return x"},
        {GRAD: "anywhere else build a new tensor", IN_PLACE: "changed x itself"},
    ),
}
# These change what the network computes while it trains or predicts, which costs accuracy by
# degrees: whether that is enough to fail the accuracy check depends on the seed. If it fails,
# it must be for the accuracy; every other check is exact.
COSTS_ACCURACY = {
    "survivors_not_scaled",
    "mask_from_randn",
    "p_used_as_keep_probability",
    "dropout_active_in_eval",
    "dropout_modules_in_a_plain_list",
    "predict_without_eval",
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_loses_exactly_its_checks_with_its_hint(grade_with, tmp_path, mistake):
    replace, expected = MISTAKES[mistake]
    result = grade_with("hw5", reference_with("hw5", tmp_path, replace=replace))
    failed = {c.id: c for c in result.checks if c.status != "passed"}
    if mistake in COSTS_ACCURACY and TRAINING in failed:
        assert failed.pop(TRAINING).message.startswith(
            "predict(model, held-out digits) after train: accuracy 0."
        )
    assert set(failed) == set(expected), {k: v.message for k, v in failed.items()}
    for check, text in expected.items():
        assert failed[check].status == "failed"
        assert text in failed[check].hint + failed[check].message, (check, failed[check])


def test_dropout_apis_are_forbidden_statically(grade_with, tmp_path):
    buggy = reference_with(
        "hw5",
        tmp_path,
        replace={
            "    keep = torch.rand_like(x) > p\n    return x * keep / (1.0 - p)": "    return F.dropout(x, p, training)"
        },
    )
    failed = {c.id: c for c in grade_with("hw5", buggy).checks if c.status != "passed"}
    assert "test_relu_and_its_gradient" not in failed and len(failed) == 15
    assert {re.sub(r"^line \d+: ", "", c.message) for c in failed.values()} == {
        "your code uses torch.nn.functional.dropout, which this assignment forbids: draw the "
        "keep mask yourself: rand_like(x) > p, then scale by 1 / (1 - p)"
    }
    assert all(re.match(r"line \d+: ", c.message) for c in failed.values())


def test_dropout_modules_behind_a_computed_name_are_caught_in_the_source(grade_with, tmp_path):
    # the class is looked up by a name built at run time: a violation by itself
    buggy = reference_with(
        "hw5",
        tmp_path,
        replace={
            "self.drop1 = Dropout(dropout1)": "self.drop1 = getattr(nn, 'Drop' + 'out')(dropout1)"
        },
    )
    failed = {c.id: c for c in grade_with("hw5", buggy).checks if c.status != "passed"}
    assert set(failed) == {
        LAYERS,
        MLP_EVAL,
        MODES,
        L2,
        PREDICT,
        TRAINING,
        PREDICTS_TRAINED,
        OTHER_SIZES,
    }
    for check in (TRAINING, PREDICTS_TRAINED):
        assert re.match(
            r"line \d+: your code uses getattr, setattr or delattr with a computed name",
            failed[check].message,
        ), failed[check].message
