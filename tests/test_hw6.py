"""hw6 (a CNN): stub, reference, one buggy submission per recognised mistake, forbidden APIs
(scoped to conv2d / max_pool2d), training that never converges, and training that is too slow."""

import dataclasses
import re

import pytest
from conftest import COURSE, by_id, lost_checks, reference_with

from grader.course import load_assignment
from grader.judge.runner import grade

CONV2D = {
    "test_conv2d_matches_f_conv2d",
    "test_conv2d_with_stride_and_padding",
    "test_conv2d_without_bias",
    "test_conv2d_gradients_match",
    "test_conv2d_random_shapes",
    "test_conv2d_float32",
}
MAX_POOL = {
    "test_max_pool2d_default_stride",
    "test_max_pool2d_with_stride_and_padding",
    "test_max_pool2d_random_shapes",
}
ACCURACY = "test_cnn_reaches_accuracy_on_digits"

LOOP_CONV2D_WITHOUT_PLUS_ONE = """
def conv2d(x, weight, bias=None, stride=1, padding=0):
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = (h + 2 * padding - kh) // stride  # the + 1 is missing
    w_out = (w + 2 * padding - kw) // stride
    xp = F.pad(x, (padding, padding, padding, padding))
    rows = []
    for i in range(h_out):
        row = [torch.einsum("nchw,ochw->no", xp[:, :, i * stride:i * stride + kh,
                                                 j * stride:j * stride + kw], weight)
               for j in range(w_out)]
        rows.append(torch.stack(row, -1))
    out = torch.stack(rows, -2)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
"""

SIZE_WITHOUT_PLUS_ONE = """
def conv_output_size(size, kernel_size, stride=1, padding=0):
    if kernel_size > size + 2 * padding:
        raise ValueError("the kernel does not fit")
    return (size + 2 * padding - kernel_size) // stride
"""

# mistake -> (how the reference is changed, the checks it must lose, {check: words of its hint})
BUGS = {
    "output size without + 1": (
        dict(replace={"conv_output_size(": "_size("}, extra=SIZE_WITHOUT_PLUS_ONE),
        {
            "test_conv_output_size_examples",
            "test_conv_output_size_rejects_a_kernel_that_does_not_fit",
            "test_conv_output_size_random_cases",
        },
        {
            "test_conv_output_size_examples": "you forgot the + 1",
            "test_conv_output_size_random_cases": "⌊(W − K + 2P) / S⌋ + 1",
        },
    ),
    "conv2d output one pixel short": (
        dict(extra=LOOP_CONV2D_WITHOUT_PLUS_ONE),
        CONV2D,
        {
            "test_conv2d_matches_f_conv2d": "you forgot the + 1; out = ⌊(W − K + 2P) / S⌋ + 1",
            "test_conv2d_random_shapes": "⌊(W − K + 2P) / S⌋ + 1",
        },
    ),
    "kernel flipped (true convolution)": (
        dict(
            replace={
                "weight.reshape(c_out, -1) @ cols": "weight.flip(-2, -1).reshape(c_out, -1) @ cols"
            }
        ),
        CONV2D,
        {
            "test_conv2d_matches_f_conv2d": "cross-correlation",
            "test_conv2d_gradients_match": "forward pass first",
        },
    ),
    "bias forgotten": (
        dict(replace={"out = out + bias.reshape(1, c_out, 1)": "out = out"}),
        CONV2D - {"test_conv2d_without_bias"},
        {
            "test_conv2d_matches_f_conv2d": "right except for the bias",
            "test_conv2d_with_stride_and_padding": "right except for the bias",
        },
    ),
    "max-pool padded with 0": (
        dict(replace={'value=float("-inf")': "value=0.0"}),
        {"test_max_pool2d_with_stride_and_padding", "test_max_pool2d_random_shapes"},
        {"test_max_pool2d_with_stride_and_padding": "pad with -inf, not 0"},
    ),
    "max-pool stride defaults to 1": (
        dict(
            replace={
                "stride = kernel_size if stride is None else stride": "stride = 1 if stride is None else stride"
            }
        ),
        {"test_max_pool2d_default_stride", "test_max_pool2d_random_shapes"},
        {
            "test_max_pool2d_default_stride": "stride = kernel_size",
            "test_max_pool2d_random_shapes": "you left out the stride",
        },
    ),
    "flatten size hard-coded for 8x8": (
        dict(replace={"nn.Linear(c2 * size * size, hidden)": "nn.Linear(16 * 2 * 2, hidden)"}),
        {"test_cnn_other_sizes"},
        {"test_cnn_other_sizes": "hard-coded"},
    ),
    "zero_grad forgotten": (
        dict(replace={"            optimizer.zero_grad()\n": ""}),
        {"test_train_cnn_zeroes_gradients_and_reports_mean_losses", ACCURACY},
        {"test_train_cnn_zeroes_gradients_and_reports_mean_losses": "optimizer.zero_grad()"},
    ),
    "predict without model.eval()": (
        dict(replace={"    model.eval()\n": ""}),
        {"test_predict_uses_eval_mode", "test_predict_gives_the_trained_models_classes"},
        {
            "test_predict_uses_eval_mode": "model.eval()",
            "test_predict_gives_the_trained_models_classes": "call model.eval() (dropout off)",
        },
    ),
    "run fields sorted": (
        dict(
            replace={
                'namedtuple("Run", params.keys())': 'namedtuple("Run", sorted(params))',
                "itertools.product(*params.values())": "itertools.product(*(params[k] for k in sorted(params)))",
            }
        ),
        {"test_get_runs_example", "test_get_runs_three_keys_in_dictionary_order"},
        {"test_get_runs_example": "dictionary's key order"},
    ),
}


@pytest.mark.parametrize("mistake", list(BUGS))
def test_buggy_submission_loses_exactly_its_checks_with_the_hint(grade_with, tmp_path, mistake):
    change, lost, hint_words = BUGS[mistake]
    result = grade_with("hw6", reference_with("hw6", tmp_path, **change))
    assert lost_checks(result) == lost, {
        c.id: c.message for c in result.checks if c.status != "passed"
    }
    checks = by_id(result)
    for check, words in hint_words.items():
        assert words in checks[check].hint, (check, checks[check].message, checks[check].hint)


def test_training_that_never_converges_fails_only_the_accuracy_check(grade_with, tmp_path):
    sub = reference_with("hw6", tmp_path, replace={"            optimizer.step()\n": ""})
    result = grade_with("hw6", sub)
    assert lost_checks(result) == {ACCURACY}
    message = by_id(result)[ACCURACY].message
    reached = float(
        re.search(
            r": accuracy ([\d.]+) \(\d+ of 359 held-out samples right\), below "
            r"the required 0.930",
            message,
        ).group(1)
    )
    assert reached < 0.3, message  # chance level is 0.1
    assert (
        "your epoch losses: [2.3" in message and "optimizer.step()" in by_id(result)[ACCURACY].hint
    )


def test_worker_accuracy_equals_the_judge_reference_run_with_another_seed(zygote):
    """The worker's training reproduces the judge's reference run bit for bit (so the calibration
    made judge-side holds), shown by an unreachable threshold with base seed 7."""
    spec = load_assignment(COURSE, "hw6")
    run = dataclasses.replace(spec.training(), min_accuracy=1.01)
    spec = dataclasses.replace(spec, trainings={**spec.trainings, "": run})
    result = grade(spec, COURSE / "reference/hw6", course=COURSE, zygote=zygote, seed=7)
    assert lost_checks(result) == {ACCURACY}
    got, ref = re.search(
        r": accuracy ([\d.]+) .* the reference reaches ([\d.]+) here",
        by_id(result)[ACCURACY].message,
    ).groups()
    assert got == ref and float(got) >= 0.93


def test_training_over_its_time_budget_fails_naming_the_budget(zygote, tmp_path):
    spec = load_assignment(COURSE, "hw6")
    run = dataclasses.replace(spec.training(), time_factor=1.0, time_floor_s=0.5)
    spec = dataclasses.replace(spec, trainings={**spec.trainings, "": run})
    sub = reference_with(
        "hw6",
        tmp_path,
        replace={
            "    optimizer = torch.optim.Adam(": "    __import__('time').sleep(60 if epochs > 2 else 0)\n"
            "    optimizer = torch.optim.Adam("
        },
    )
    result = grade(spec, sub, course=COURSE, zygote=zygote)
    assert lost_checks(result) == {ACCURACY}
    message = by_id(result)[ACCURACY].message
    assert re.search(
        r"did not finish within its time budget of [\d.]+ s \(1x the reference's "
        r"[\d.]+ s on the same data, at least 0.5 s",
        message,
    ), message


def test_forbidden_conv_in_conv2d_is_caught_statically_but_allowed_in_the_cnn(grade_with, tmp_path):
    sub = reference_with(
        "hw6",
        tmp_path,
        extra=(
            "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
            "    return F.conv2d(x, weight, bias, stride=stride, padding=padding)\n"
        ),
    )
    result = grade_with("hw6", sub)
    assert lost_checks(result) == CONV2D  # the CNN's nn.Conv2d (Task 3) is allowed
    message = by_id(result)["test_conv2d_matches_f_conv2d"].message
    assert re.fullmatch(
        r"line \d+: your code uses torch\.nn\.functional\.conv2d, which this assignment "
        r"forbids: write the convolution yourself: F\.unfold, then a matrix product",
        message,
    ), message


def test_forbidden_pooling_behind_a_computed_name_is_caught_in_the_source(grade_with, tmp_path):
    sub = reference_with(
        "hw6",
        tmp_path,
        extra=(
            "def max_pool2d(x, kernel_size, stride=None, padding=0):\n"
            "    return getattr(nn, 'MaxPool' + '2d')(kernel_size, stride, padding)(x)\n"
        ),
    )
    result = grade_with("hw6", sub)
    assert lost_checks(result) == MAX_POOL
    message = by_id(result)["test_max_pool2d_default_stride"].message
    assert re.match(
        r"line \d+: your code uses getattr, setattr or delattr with a computed name", message
    ), message
