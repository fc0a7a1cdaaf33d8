"""Hints for the mistakes real tutorial code makes: each from a submission that is the
reference with that one mistake, graded by the real checks (only the check files that see
it, to keep the run short); a hint names the mistake and never changes a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import by_id, course_with, reference_with

from grader.checking import CheckFailed, StudentError, fail, hard_coded_hint
from grader.judge import hints

pytestmark = pytest.mark.slow


def graded(grade_with, tmp_path, assignment, checks, replace, keep=()):
    submission = reference_with(assignment, tmp_path, replace)
    course = course_with(tmp_path, assignment, *checks, keep=keep)
    return by_id(grade_with(assignment, submission, course=course)), submission


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_name_the_module_has_as_self_attribute_gets_did_you_mean(grade_with, tmp_path):
    checks, submission = graded(
        grade_with,
        tmp_path,
        "hw3",
        ["public/test_forward.py"],
        {"out = x @ self.weight.T": "out = x @ weight.T"},
    )
    check = checks["test_forward_matches_reference"]
    assert check.status == "failed" and check.score == 0
    assert "NameError" in check.message and "name 'weight' is not defined" in check.message
    assert check.hint.startswith("did you mean self.weight?"), check.hint
    assert "attribute of the Linear object" in check.hint
    assert (check.file, check.line) == (
        "linear_layer.py",
        line_of(submission, "out = x @ weight.T"),
    )


def test_a_flag_stored_as_self_bias_before_register_parameter_is_explained(grade_with, tmp_path):
    checks, _ = graded(
        grade_with,
        tmp_path,
        "hw3",
        ["public/test_parameters.py"],
        {
            "        if bias:\n            self.bias": "        self.bias = bias\n        if bias:\n            self.bias"
        },
    )
    check = checks["test_bias_false_registers_none"]
    assert check.status == "failed" and "attribute 'bias' already exists" in check.message
    assert "register_parameter('bias', ...) failed because self.bias already exists" in check.hint
    assert "self.bias = bias, the constructor's True/False flag" in check.hint
    assert "Don't assign the flag to self.bias" in check.hint
    assert "self.register_parameter('bias', None)" in check.hint
    assert checks["test_parameters_are_registered"].status == "passed"  # bias=True still works


def test_a_loss_per_sample_where_a_scalar_is_expected_says_average(grade_with, tmp_path):
    checks, _ = graded(
        grade_with,
        tmp_path,
        "hw4",
        ["public/test_softmax_and_cross_entropy.py"],
        {
            "return -log_probs.gather(1, targets.unsqueeze(1)).mean()": (
                "return -log_probs.gather(1, targets.unsqueeze(1))"
            )
        },
    )
    check = checks["test_cross_entropy_with_logits_matches_reference"]
    assert "got (8, 1), expected ()" in check.message
    assert "one value per sample (shape (8, 1))" in check.hint
    assert "average over the batch (.mean())" in check.hint
    gradient = checks["test_cross_entropy_gradient_matches"]  # autograd meets the (8, 1) loss
    assert "Mismatch in shape" in gradient.message
    assert "average over the batch (.mean())" in gradient.hint


def test_a_cnn_sized_for_28x28_images_names_both_sizes_and_image_size(grade_with, tmp_path):
    checks, _ = graded(
        grade_with,
        tmp_path,
        "hw6",
        ["public/test_lenet.py"],
        {"        size = image_size\n": "        size = 28  # the MNIST tutorial's size\n"},
        keep=(
            "test_cnn_output_shape",
            "test_cnn_has_the_lenet_layers",
            "test_predict_uses_eval_mode",
        ),
    )
    check = checks["test_cnn_output_shape"]
    assert "mat1 and mat2 shapes cannot be multiplied (5x64 and 784x64)" in check.message
    for words in (
        "your first Linear layer takes 784 inputs per image, but it got 64",
        "8×8 images leave 16×2×2 = 64",
        "784 = 16×7×7 is what 28×28 images leave",
        "The layer sizes must follow image_size",
    ):
        assert words in check.hint, check.hint
    layers = checks["test_cnn_has_the_lenet_layers"]
    assert "(64, 784)" in layers.message and "784 = 16×7×7" in layers.hint
    assert all(c.status == "failed" for c in checks.values())


def test_a_keep_mask_drawn_with_randn_is_named_from_the_zero_fractions(grade_with, tmp_path):
    checks, _ = graded(
        grade_with,
        tmp_path,
        "hw5",
        ["public/test_dropout.py", "hidden/test_hidden_shapes_and_inputs.py"],
        {"keep = torch.rand_like(x) > p": "keep = torch.randn(x.shape, dtype=x.dtype) < 1 - p"},
    )
    for name in (
        "test_dropout_drops_a_fraction_p",
        "test_dropout_preserves_the_mean",
        "test_dropout_keeps_shape_and_dtype_and_another_p",
    ):
        check = checks[name]
        assert check.status == "failed" and check.score == 0, name
        assert "a mask drawn from a normal distribution" in check.hint, (name, check.hint)
        assert "torch.randn(...) < 1 - p keeps a fraction Φ(1 − p)" in check.hint
        assert "keep = torch.rand_like(x) > p" in check.hint
    # what it measured, at p = 0.1: 1 - Φ(0.9) ≈ 0.184 dropped
    assert "0.18" in checks["test_dropout_drops_a_fraction_p"].hint


def test_a_float32_cast_of_a_float64_input_says_keep_the_dtype(grade_with, tmp_path):
    checks, _ = graded(
        grade_with,
        tmp_path,
        "hw2",
        ["public/test_layers.py", "public/test_network.py"],
        {"    return 1 / (1 + torch.exp(-z))": "    return (1 / (1 + torch.exp(-z))).float()"},
    )
    sigmoid = checks["test_sigmoid_forward_and_backward"]
    assert "got torch.float32, expected torch.float64" in sigmoid.message
    assert "your result is float32 but the input was float64" in sigmoid.hint
    assert ".float()" in sigmoid.hint and "keep the input's dtype" in sigmoid.hint
    forward = checks["test_mlp_forward"]  # the float32 hidden layer meets a float64 weight
    assert "float != double" in forward.message
    assert "a float32 tensor met a float64 one" in forward.hint


def test_a_hidden_check_that_rewraps_a_student_error_keeps_its_file_and_line(grade_with, tmp_path):
    checks, submission = graded(
        grade_with,
        tmp_path,
        "hw3",
        ["hidden/test_other_inputs.py"],
        {
            "        if self.bias is not None:\n            out = out + self.bias": "        out = out + self.bias"
        },
    )
    check = checks["test_forward_without_bias"]
    assert check.tier == "hidden" and check.status == "failed"
    assert check.message.startswith("Linear(5, 3, bias=False)(x) raised TypeError")
    assert "with bias=False, self.bias is None" in check.hint  # the check's own hint
    line = line_of(submission, "out = out + self.bias")
    assert (check.file, check.line) == ("linear_layer.py", line)
    assert f'File "linear_layer.py", line {line}, in forward' in check.message


def test_helpers_that_rewrap_keep_file_and_line():
    error = StudentError(
        {"type": "RuntimeError", "message": "boom", "file": "a.py", "line": 7, "traceback": "tb"},
        "`f`",
    )
    with pytest.raises(CheckFailed) as info:
        fail("f failed", "hint", at=error)
    assert (info.value.file, info.value.line, info.value.message) == ("a.py", 7, "f failed\ntb")

    def raising():
        raise error

    with pytest.raises(CheckFailed) as info, hard_coded_hint("sizes look hard-coded"):
        raising()
    assert (info.value.file, info.value.line) == ("a.py", 7)
    with pytest.raises(CheckFailed) as info, hard_coded_hint("sizes look hard-coded"):
        fail("inner", "its hint", at=error)
    assert (info.value.file, info.value.line) == ("a.py", 7)
    assert info.value.hint == "sizes look hard-coded (its hint)"


def test_error_hints_read_the_sizes_out_of_the_message():
    kernel = (
        "Calculated padded input size per channel: (2 x 2). Kernel size: (5 x 5). "
        "Kernel size can't be greater than actual input size"
    )
    assert hints.error_hint(kernel).startswith("a 5×5 kernel met a feature map of only 2×2")
    lenet = {"image_size": 8, "channels": 16, "side": lambda n: n // 4}
    view = "shape '[-1, 784]' is invalid for input of size 320"
    assert "takes 784 inputs per image: 8×8 images leave 16×2×2 = 64" in (
        hints.flatten_error_hint(view, **lenet)
    )
    assert hints.flatten_error_hint(kernel, **lenet) == hints.error_hint(kernel)
    assert hints.flattened_size_hint(64, **lenet) == ""  # the right size: nothing to say
    transposed = "mat1 and mat2 shapes cannot be multiplied (4x5 and 3x5)"
    assert "a transposed weight?" in hints.error_hint(transposed)
    assert hints.shape_hint((8,), ()) and hints.shape_hint((3, 4), ()) == ""
    assert hints.dtype_hint(torch.float32, torch.float64)
    assert hints.dtype_hint(torch.float64, torch.float32) == ""
    source = "class A:\n    def __init__(self):\n        self.w = 1\n    def f(self):\n        return w\n"
    assert hints.source_hint("NameError", "name 'w' is not defined", source, 5).startswith(
        "did you mean self.w?"
    )
    assert hints.source_hint("NameError", "name 'v' is not defined", source, 5) == ""
