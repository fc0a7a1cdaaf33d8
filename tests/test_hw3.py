"""hw3 (nn.Linear, re-implemented): stub, reference, one buggy submission per recognised
mistake, each forbidden API (statically and at run time), and reproducible results."""

import pytest
from conftest import by_id, lost_checks, reference_with, without_durations

HW = "hw3"
TRANSPOSED = "PyTorch stores a Linear weight as (out_features, in_features)"
NOT_A_PARAMETER = "wrap it in nn.Parameter"
USES_FORWARD = {
    "test_forward_matches_reference",
    "test_gradients_match_reference",
    "test_wrong_last_dimension_raises_value_error",
    "test_digits_classifier_trains",
    "test_trained_layer_computes_its_own_parameters",
    "test_forward_any_leading_dims",
    "test_gradients_any_leading_dims",
    "test_forward_without_bias",
}


IN_PLACE_1D = """
_forward_any = Linear.forward


def _forward_in_place(self, x):
    if x.dim() == 1:
        x.unsqueeze_(0)  # in place: changes the caller's tensor
        return _forward_any(self, x)[0]
    return _forward_any(self, x)


Linear.forward = _forward_in_place
"""
VALUE_ERROR = (
    "raise ValueError(\n"
    '                f"expected an input whose last dimension is {self.in_features} "\n'
    '                f"(in_features), got shape {tuple(x.shape)}"\n'
    "            )"
)

# mistake -> (change of the reference, code appended to it, {lost check: text its hint contains})
MISTAKES = {
    "weight transposed": (
        {
            "nn.Parameter(torch.empty(out_features, in_features))": "nn.Parameter(torch.empty(in_features, out_features))",
            "out = x @ self.weight.T": "out = x @ self.weight",
        },
        "",
        {
            check: TRANSPOSED
            for check in (
                "test_forward_matches_reference",
                "test_gradients_match_reference",
                "test_weight_and_bias_shapes",
                "test_forward_any_leading_dims",
                "test_gradients_any_leading_dims",
                "test_forward_without_bias",
                "test_digits_classifier_trains",  # the grader computes x @ weight.T + bias
                "test_trained_layer_computes_its_own_parameters",
            )
        },
    ),
    "init bound off by √3": (
        {"bound = 1 / math.sqrt(self.in_features)": "bound = math.sqrt(3 / self.in_features)"},
        "",
        {
            "test_weight_init_matches_pytorch_default": "your bound is √3 × the expected 1/√in_features",
            "test_bias_init_matches_pytorch_default": "your bound is √3 × the expected 1/√in_features",
        },
    ),
    "init bound off by √6 (kaiming_uniform_ without a=√5)": (
        {"self.weight.uniform_(-bound, bound)": "nn.init.kaiming_uniform_(self.weight)"},
        "",
        {
            "test_weight_init_matches_pytorch_default": "your bound is √6 × the expected 1/√in_features = 0.0625 — nn.init.kaiming_uniform_ without a=√5"
        },
    ),
    "init bound off by √2": (
        {"bound = 1 / math.sqrt(self.in_features)": "bound = math.sqrt(2 / self.in_features)"},
        "",
        {
            "test_weight_init_matches_pytorch_default": "your bound is √2 ×",
            "test_bias_init_matches_pytorch_default": "your bound is √2 ×",
        },
    ),
    "init drawn from randn": (
        {"self.weight.uniform_(-bound, bound)": "self.weight.normal_()"},
        "",
        {"test_weight_init_matches_pytorch_default": "the values look normally distributed (randn"},
    ),
    "bias not registered when bias=False": (
        {'self.register_parameter("bias", None)': "self.bias = None"},
        "",
        {"test_bias_false_registers_none": "self.register_parameter('bias', None)"},
    ),
    "bias not a parameter": (
        {
            "self.bias = nn.Parameter(torch.empty(out_features))": "self.bias = torch.empty(out_features, requires_grad=True)"
        },
        "",
        {
            "test_parameters_are_registered": "wrap the tensor in nn.Parameter",
            "test_gradients_match_reference": NOT_A_PARAMETER,
            "test_gradients_any_leading_dims": NOT_A_PARAMETER,
        },
    ),
    "weight not a parameter": (
        {
            "self.weight = nn.Parameter(torch.empty(out_features, in_features))": "self.weight = torch.empty(out_features, in_features, requires_grad=True)"
        },
        "",
        {
            "test_parameters_are_registered": "wrap the tensor in nn.Parameter",
            "test_gradients_match_reference": NOT_A_PARAMETER,
            "test_gradients_any_leading_dims": NOT_A_PARAMETER,
            "test_digits_classifier_trains": "training did not change the weight",
        },
    ),
    "bias added when bias=False": (
        {
            "        if self.bias is not None:\n            out = out + self.bias": "        out = out + self.bias"
        },
        "",
        {"test_forward_without_bias": "with bias=False, self.bias is None"},
    ),
    "in-place op on the input breaks autograd": (
        {},
        IN_PLACE_1D,
        {"test_gradients_any_leading_dims": "an in-place operation on the input"},
    ),
    "two dimensions hard-coded (torch.mm)": (
        {"out = x @ self.weight.T": "out = torch.mm(x, self.weight.T)"},
        "",
        {
            "test_forward_any_leading_dims": "works for a 2-D input (4, 5) but not for one of shape (5,)",
            "test_gradients_any_leading_dims": "works for a 2-D input (4, 5) but not for one of shape (5,)",
        },
    ),
    "print and return 0 on a wrong size": (
        {VALUE_ERROR: 'print(f"wrong size {tuple(x.shape)}")\n            return 0'},
        "",
        {
            "test_wrong_last_dimension_raises_value_error": "printing a message and returning a dummy value"
        },
    ),
    "sys.exit on a wrong size": (
        {VALUE_ERROR: '__import__("sys").exit(f"wrong size {tuple(x.shape)}")'},
        "",
        {"test_wrong_last_dimension_raises_value_error": "sys.exit ends the whole program"},
    ),
    "no size check: torch's own error": (
        {VALUE_ERROR: "pass"},
        "",
        {
            "test_wrong_last_dimension_raises_value_error": "torch failed deep inside the matrix product"
        },
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_loses_exactly_its_checks_and_names_itself(grade_with, tmp_path, mistake):
    replace, extra, expected = MISTAKES[mistake]
    result = grade_with(HW, reference_with(HW, tmp_path, replace, extra=extra))
    assert lost_checks(result) == set(expected)
    checks = by_id(result)
    assert result.score == result.max_score - sum(checks[c].max_score for c in expected)
    for check, hint in expected.items():
        assert hint in checks[check].hint, (check, checks[check].message, checks[check].hint)


ALL = {
    "test_parameters_are_registered",
    "test_weight_and_bias_shapes",
    "test_bias_false_registers_none",
    "test_extra_repr",
    "test_weight_init_matches_pytorch_default",
    "test_bias_init_matches_pytorch_default",
    "test_reset_parameters_redraws",
} | USES_FORWARD
# case -> (API, "uses" (static) or "called" (run time), the checks lost, code appended or a change)
GETATTR = "your code uses getattr, setattr or delattr with a computed name"


def uses(api: str) -> str:
    return f"your code uses {api}, which this assignment forbids"


# case -> (what every lost check's message says, the checks lost, the change); a name computed
# at run time is a violation by itself, and at module level it taints every check
FORBIDDEN = {
    "torch.nn.Linear (static)": (
        uses("torch.nn.Linear"),
        ALL,
        "class Linear(nn.Linear):\n    pass\n",
    ),
    "torch.nn.Linear (computed name)": (
        GETATTR,
        ALL,
        'class Linear(getattr(__import__("importlib").import_module("torch.nn"), "Lin" + "ear")):\n'
        "    pass\n",
    ),
    "torch.nn.modules.linear (static)": (
        uses("torch.nn.modules.linear.Linear"),
        ALL,
        "from torch.nn.modules.linear import Linear as _Linear\n\n\n"
        "class Linear(_Linear):\n    pass\n",
    ),
    "torch.nn.functional.linear (static)": (
        uses("torch.nn.functional.linear"),
        ALL,
        {"out = x @ self.weight.T": "out = F.linear(x, self.weight)"},
    ),
    "torch.nn.functional.linear (computed name)": (
        GETATTR,
        ALL,
        '_f = getattr(__import__("importlib").import_module("torch.nn.functional"), "lin" + "ear")\n\n\n'
        "def _forward(self, x):\n    return _f(x, self.weight, self.bias)\n\n\n"
        "Linear.forward = _forward\n",
    ),
}


@pytest.mark.parametrize("case", FORBIDDEN)
def test_each_forbidden_api_loses_the_checks_that_reach_it(grade_with, tmp_path, case):
    expected, affected, change = FORBIDDEN[case]
    replace, extra = (change, "") if isinstance(change, dict) else ({}, change)
    result = grade_with(HW, reference_with(HW, tmp_path, replace, extra=extra))
    assert lost_checks(result) == affected
    for check in affected:
        assert expected in by_id(result)[check].message


def test_the_same_submission_gives_the_same_results_twice(grade_with, tmp_path):
    replace = MISTAKES["init drawn from randn"][0] | MISTAKES["weight not a parameter"][0]
    submission = reference_with(HW, tmp_path, replace)
    first, second = grade_with(HW, submission), grade_with(HW, submission)
    assert without_durations(first) == without_durations(second)
    assert {
        "test_weight_init_matches_pytorch_default",
        "test_digits_classifier_trains",
    } <= lost_checks(first)
