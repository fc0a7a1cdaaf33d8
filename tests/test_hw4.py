"""hw4 (softmax regression): the stub scores 0, the reference full marks, and each recognised
mistake loses exactly the checks it should, with the hint that names it."""

import re

import pytest
from conftest import COURSE, by_id, reference_with

REFERENCE = COURSE / "reference/hw4"
STABLE = "test_softmax_is_stable_on_extreme_logits"
STABLE_F32 = "test_softmax_float32_stays_float32_and_stable"
CE = "test_cross_entropy_matches_reference"
CE_GRAD_PROBS = "test_cross_entropy_gradient_on_probabilities"
SGD = "test_sgd_step_updates_in_place_and_zeroes_gradients"
DIGITS = "test_training_reaches_accuracy_on_digits"
IRIS = "test_training_works_for_other_sizes_on_iris"
PREDICT = "test_predict_gives_the_trained_models_classes"
SGD_BODY = """    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()"""

# mistake -> (replacements in the reference, {failed check: text of its hint or message})
MISTAKES = {
    "softmax_without_max_subtraction": (
        {"shifted = logits - logits.max(dim=-1, keepdim=True).values": "shifted = logits"},
        {
            STABLE: "subtract each row's maximum before exp",
            STABLE_F32: "subtract each row's maximum",
        },
    ),
    "log_of_softmax_in_the_loss": (
        {
            "    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
            "    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()": "    log_probs = softmax(logits).log()"
        },
        {
            "test_cross_entropy_with_logits_is_stable": "never take the log of a softmax",
            "test_cross_entropy_gradient_is_finite_for_extreme_logits": "subtract the row max",
        },
    ),
    "loss_summed_not_averaged": (
        {"return -picked.log().mean()": "return -picked.log().sum()"},
        {
            CE: "8 is the batch size: did you forget to average",
            CE_GRAD_PROBS: "6 is the batch size: did you forget to average",
        },
    ),
    "target_picked_as_a_block": (
        {"picked = probs.gather(1, targets.unsqueeze(1)).squeeze(1)": "picked = probs[:, targets]"},
        {CE: "probs[:, targets] picks an N×N block", CE_GRAD_PROBS: "does not match"},
    ),
    "gradients_not_zeroed": (
        {"            p.grad.zero_()\n": ""},
        {SGD: "reset them with p.grad.zero_()"},
    ),
    "update_sign_flipped": (
        {"p -= lr * p.grad": "p += lr * p.grad"},
        {SGD: "a sign is flipped", DIGITS: "accuracy 0.", IRIS: "after train: accuracy 0."},
    ),
    "update_rebinds_a_local_name": (
        {SGD_BODY: "    for p in params:\n        p = p - lr * p.grad"},
        {SGD: "only rebinds a local name", DIGITS: "accuracy 0.", IRIS: "after train: accuracy 0."},
    ),
    "update_outside_no_grad": (
        {SGD_BODY: "    for p in params:\n        p -= lr * p.grad\n        p.grad.zero_()"},
        {
            SGD: "inside `with torch.no_grad():`",
            DIGITS: "inside `with torch.no_grad():`",
            PREDICT: "inside `with torch.no_grad():`",
            IRIS: "inside `with torch.no_grad():`",
        },
    ),
    "sizes_hard_coded_for_digits": (
        {
            "size=(num_features, num_classes)": "size=(64, 10)",
            "torch.zeros(num_classes, requires_grad=True)": "torch.zeros(10, requires_grad=True)",
        },
        {
            "test_model_has_the_right_parameters": "shape (num_features, num_classes)",
            IRIS: "matrix product do not fit",
        },
    ),
    "accuracy_is_a_count": (
        {"== targets).double().mean().item()": "== targets).sum().item()"},
        {"test_accuracy_matches_reference": "40 is the batch size"},
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_loses_exactly_its_checks_with_its_hint(grade_with, tmp_path, mistake):
    replace, expected = MISTAKES[mistake]
    result = grade_with("hw4", reference_with("hw4", tmp_path, replace=replace))
    failed = {c.id: c for c in result.checks if c.status != "passed"}
    assert set(failed) == set(expected), {k: v.message for k, v in failed.items()}
    for check, text in expected.items():
        assert failed[check].status == "failed"
        assert text in failed[check].hint + failed[check].message, (check, failed[check])


def test_training_that_never_converges_fails_only_the_accuracy_checks(grade_with, tmp_path):
    # the labels of each batch are not the labels of its images: nothing can be learnt
    buggy = reference_with("hw4", tmp_path, replace={"y[batch]": "y[start:start + batch_size]"})
    checks = by_id(grade_with("hw4", buggy))
    assert {c.id for c in checks.values() if c.status != "passed"} == {DIGITS, IRIS}
    assert checks[IRIS].message.startswith("predict(model, held-out iris flowers) after train: ")
    assert "a model that learned nothing scores about log(3) = 1.099" in checks[IRIS].message
    message = checks[DIGITS].message
    assert message.startswith("predict(model, held-out digits) after train: accuracy 0.")
    assert (
        "of 359 held-out samples right), below the required 0.900; the reference reaches" in message
    )
    assert float(message.split("accuracy ")[1].split()[0]) < 0.3


def test_forbidden_apis_and_computed_names_are_caught_in_the_source(grade_with, tmp_path):
    buggy = reference_with(
        "hw4",
        tmp_path,
        replace={
            # static: F.softmax in softmax; named as written, not as a tensor method
            "    shifted = logits - logits.max(dim=-1, keepdim=True).values\n    e = shifted.exp()\n"
            "    return e / e.sum(dim=-1, keepdim=True)": "    return torch.nn.functional.softmax(logits, dim=-1)",
            # a name built at run time: a violation by itself, whatever it names
            "    shifted = logits - logits.max(dim=1, keepdim=True).values\n": "    return getattr(torch.nn.functional, 'cross' + '_entropy')(logits, targets)\n",
        },
    )
    checks = by_id(grade_with("hw4", buggy))
    softmax = checks["test_softmax_matches_reference"].message
    assert re.fullmatch(
        r"line \d+: your code uses torch\.nn\.functional\.softmax, which this assignment "
        r"forbids: write softmax yourself: exp\(z - max\) / sum",
        softmax,
    ), softmax
    for check in ("test_cross_entropy_with_logits_matches_reference", DIGITS):
        assert re.match(
            r"line \d+: your code uses getattr, setattr or delattr with a computed name",
            checks[check].message,
        ), checks[check].message
    assert checks[CE].status == "passed"  # the probability loss is untouched


def test_torch_optim_is_forbidden_in_the_training_loop(grade_with, tmp_path):
    buggy = reference_with(
        "hw4",
        tmp_path,
        replace={
            "    losses = []\n": "    losses = []\n    opt = torch.optim.SGD(model.parameters(), lr=lr)\n",
            "            sgd_step(model.parameters(), lr)": "            opt.step()\n            opt.zero_grad()",
        },
    )
    failed = {c.id: c for c in grade_with("hw4", buggy).checks if c.status != "passed"}
    assert set(failed) == {DIGITS, PREDICT, IRIS}
    assert re.match(
        r"line \d+: your code uses torch\.optim\.SGD, which this assignment forbids: write "
        r"the update yourself in sgd_step",
        failed[DIGITS].message,
    ), failed[DIGITS].message
