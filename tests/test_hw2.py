"""hw2 (manual backpropagation): stub, reference, one buggy submission per recognised mistake,
each forbidden API (statically and at run time), and reproducible results."""

import pytest
from conftest import by_id, lost_checks, reference_with, without_durations

HW = "hw2"
NOT_AVERAGED = "did you forget to average over the batch"
SIGN = "a sign is flipped"
TRANSPOSED = "(out_features, in_features)"
# every check that calls mlp_backward, directly or through loss_and_grads and train
USES_MLP_BACKWARD = {
    "test_mlp_backward_matches_autograd",
    "test_loss_and_grads_match_autograd",
    "test_gradients_match_central_differences",
    "test_gradients_are_averaged_over_the_batch",
    "test_xor_training_reaches_loss_threshold",
    "test_network_gradients_other_sizes",
}


# mistake -> (one-line change of the reference, {lost check: text its hint contains})
MISTAKES = {
    "gradient not averaged over the batch": (
        {"return 2 * (pred - target) / pred.numel()": "return 2 * (pred - target)"},
        {
            "test_mse_loss_backward": NOT_AVERAGED,
            "test_loss_and_grads_match_autograd": NOT_AVERAGED,
            "test_gradients_match_central_differences": NOT_AVERAGED,
            "test_gradients_are_averaged_over_the_batch": "6 is the batch size",
            "test_xor_training_reaches_loss_threshold": NOT_AVERAGED,
            "test_loss_gradients_other_shapes": NOT_AVERAGED,
            "test_network_gradients_other_sizes": "MSE is the mean over all N·D = 4·3 elements",
        },
    ),
    "gradient sign flipped": (
        {"return (probs - onehot) / logits.shape[0]": "return (onehot - probs) / logits.shape[0]"},
        {
            "test_cross_entropy_backward": SIGN,
            "test_loss_and_grads_match_autograd": SIGN,
            "test_gradients_match_central_differences": SIGN,
            "test_gradients_are_averaged_over_the_batch": SIGN,
            "test_xor_training_reaches_loss_threshold": SIGN,
            "test_loss_gradients_other_shapes": SIGN,
            "test_network_gradients_other_sizes": SIGN,
        },
    ),
    "update climbs the gradient": (
        {"params = {name: p - lr * grads[name]": "params = {name: p + lr * grads[name]"},
        {
            "test_xor_training_reaches_loss_threshold": "in one step of your loop, the change of "
            "the parameters is off: your result is exactly -1"
        },
    ),
    "grad_weight transposed": (
        {"grad_out.T @ x, grad_out.sum(dim=0)": "x.T @ grad_out, grad_out.sum(dim=0)"},
        {
            "test_linear_backward": "grad_weight is transposed",
            **{
                check: TRANSPOSED
                for check in USES_MLP_BACKWARD - {"test_xor_training_reaches_loss_threshold"}
            },
            "test_xor_training_reaches_loss_threshold": "",  # its update fails on the shapes
            "test_linear_backward_other_shapes": TRANSPOSED,
        },
    ),
    "weight used untransposed in the forward pass": (
        {"return x @ weight.T + bias": "return x @ weight + bias"},
        {
            "test_linear_forward": "you computed x @ weight + bias",
            "test_mlp_forward": "shapes in a matrix product do not fit",
            **{check: "shapes in a matrix product do not fit" for check in USES_MLP_BACKWARD},
        },
    ),
    "batch size hard-coded": (
        {"return (probs - onehot) / logits.shape[0]": "return (probs - onehot) / 4"},
        {
            "test_gradients_are_averaged_over_the_batch": "you divided by 4, but this batch has 6",
            "test_loss_gradients_other_shapes": "passes for the public shape of logits (4, 3) but not for (9, 7)",
            "test_network_gradients_other_sizes": "passes for the public batch size 4 but not for 6",
        },
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_loses_exactly_its_checks_and_names_itself(grade_with, tmp_path, mistake):
    replace, expected = MISTAKES[mistake]
    result = grade_with(HW, reference_with(HW, tmp_path, replace))
    assert lost_checks(result) == set(expected)
    checks = by_id(result)
    assert result.score == result.max_score - sum(checks[c].max_score for c in expected)
    for check, hint in expected.items():
        assert hint in checks[check].hint, (check, checks[check].message, checks[check].hint)


# a replacement for the reference's mlp_backward that reaches a forbidden API and then returns
# the right gradients; `computed` variants keep the API's name out of the source, which is a
# violation by itself: the scan cannot follow a computed name
GETATTR = "your code uses getattr, setattr or delattr with a computed name"
IMPORT = "your code uses an import by a computed name (__import__, importlib)"


def uses(api: str) -> str:
    return f"your code uses {api}, which this assignment forbids"


AUTOGRAD_BACKWARD = """
def mlp_backward(params, x, grad_out, activation="sigmoid"):
    leaves = {{k: v.detach().requires_grad_(True) for k, v in params.items()}}
    out = mlp_forward(leaves, x, activation)
    {call}
    return {{k: v.grad for k, v in leaves.items()}}
"""
FORBIDDEN = {
    "torch.Tensor.backward (static)": (
        uses("torch.Tensor.backward"),
        AUTOGRAD_BACKWARD.format(call="out.backward(grad_out)"),
    ),
    "torch.Tensor.backward (computed name)": (
        GETATTR,
        AUTOGRAD_BACKWARD.format(call='getattr(out, "back" + "ward")(grad_out)'),
    ),
    "torch.autograd.grad (static)": (
        uses("torch.autograd.grad"),
        AUTOGRAD_BACKWARD.format(
            call="grads = torch.autograd.grad(out, list(leaves.values()), grad_out)\n"
            "    return dict(zip(leaves, grads))"
        ),
    ),
    "torch.autograd.grad (computed import)": (
        IMPORT,
        AUTOGRAD_BACKWARD.format(
            call='ag = __import__("importlib").import_module("torch.autograd")\n'
            "    grads = ag.grad(out, list(leaves.values()), grad_out)\n"
            "    return dict(zip(leaves, grads))"
        ),
    ),
    "torch.autograd.backward (computed import and name)": (
        IMPORT,
        AUTOGRAD_BACKWARD.format(
            call='ag = __import__("importlib").import_module("torch.autograd")\n'
            '    getattr(ag, "back" + "ward")(out, grad_out)'
        ),
    ),
    "torch.autograd.backward (static)": (
        uses("torch.autograd.backward"),
        AUTOGRAD_BACKWARD.format(call="torch.autograd.backward(out, grad_out)"),
    ),
    "torch.autograd.forward_ad (static)": (
        uses("torch.autograd.forward_ad.dual_level"),
        AUTOGRAD_BACKWARD.format(
            call="with torch.autograd.forward_ad.dual_level():\n"
            "        pass\n"
            "    out.backward(grad_out)"
        ),
    ),
    "torch.autograd.functional (static)": (
        uses("torch.autograd.functional.vjp"),
        AUTOGRAD_BACKWARD.format(
            call="torch.autograd.functional.vjp(lambda v: v * 2, x, x)\n    out.backward(grad_out)"
        ),
    ),
    "torch.func (static)": (
        uses("torch.func.vjp"),
        AUTOGRAD_BACKWARD.format(
            call="torch.func.vjp(lambda v: v * 2, x)\n    out.backward(grad_out)"
        ),
    ),
    "forward-mode autodiff (computed import)": (
        IMPORT,
        """
_mlp_backward = mlp_backward


def mlp_backward(params, x, grad_out, activation="sigmoid"):
    fw = __import__("importlib").import_module("torch.autograd.forward_ad")
    with fw.dual_level():
        fw.make_dual(x, torch.ones_like(x))
    return _mlp_backward(params, x, grad_out, activation)
""",
    ),
}


@pytest.mark.parametrize("case", FORBIDDEN)
def test_each_forbidden_api_loses_the_checks_that_reach_it(grade_with, tmp_path, case):
    expected, code = FORBIDDEN[case]
    result = grade_with(HW, reference_with(HW, tmp_path, extra=code))
    assert lost_checks(result) == USES_MLP_BACKWARD
    for check in USES_MLP_BACKWARD:
        assert expected in by_id(result)[check].message


def test_the_same_submission_gives_the_same_results_twice(grade_with, tmp_path):
    submission = reference_with(HW, tmp_path, MISTAKES["gradient not averaged over the batch"][0])
    first, second = grade_with(HW, submission), grade_with(HW, submission)
    assert without_durations(first) == without_durations(second)
    assert first.score < first.max_score  # failures, with their numbers, are compared too
