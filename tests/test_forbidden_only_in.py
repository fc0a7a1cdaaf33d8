"""`[forbidden]` entries scoped with `only_in`: parsing, and the static and run-time verdicts."""

import pytest

from grader.errors import ConfigError
from grader.judge.forbidden import ForbiddenAPIUsed, Policy
from grader.spec import load_spec

HEAD = '[assignment]\ntitle = "T"\nmodule = "mod"\n\n[forbidden]\n'


def spec_with(tmp_path, forbidden: str):
    root = tmp_path / "hwX"
    root.mkdir()
    (root / "assignment.toml").write_text(HEAD + forbidden)
    return load_spec(root, tmp_path / "ref")


def test_only_in_scopes_an_api_and_plain_entries_stay_global(tmp_path):
    spec = spec_with(
        tmp_path,
        '"torch.nn.Conv2d" = { instead = "unfold", only_in = ["conv2d", "pool"] }\n'
        '"torch.nn.functional.linear" = "x @ w.T"\n',
    )
    assert spec.forbidden == {"torch.nn.Conv2d": "unfold", "torch.nn.functional.linear": "x @ w.T"}
    assert spec.forbidden_only_in == {"torch.nn.Conv2d": ("conv2d", "pool")}


@pytest.mark.parametrize(
    "entry, words",
    [
        ('{ instead = "x", only_in = [] }', "only_in must be a non-empty list"),
        ('{ instead = "x", only_in = ["not a name"] }', "only_in must be a non-empty list"),
        ('{ instead = "x" }', "missing key 'only_in'"),
        ('{ instead = "x", only_in = ["f"], also = 1 }', "unknown key 'also'"),
    ],
)
def test_a_bad_only_in_entry_is_rejected_naming_the_file(tmp_path, entry, words):
    with pytest.raises(ConfigError, match=words) as info:
        spec_with(tmp_path, f'"torch.nn.Conv2d" = {entry}\n')
    assert "assignment.toml" in str(info.value)


def policy(static: dict) -> Policy:
    return Policy(
        instead={"torch.nn.Conv2d": "unfold", "torch.nn.functional.linear": "x @ w.T"},
        only_in={"torch.nn.Conv2d": ("conv2d",)},
        static=static,
    )


def test_a_scoped_api_is_a_violation_only_through_its_names():
    s = policy(
        {
            "conv2d": ["torch.nn.Conv2d"],
            "CNN": ["torch.nn.Conv2d"],
            "Net": ["torch.nn.Conv2d", "torch.nn.functional.linear"],
        }
    )
    with pytest.raises(ForbiddenAPIUsed, match="uses torch.nn.Conv2d"):
        s.check_static("conv2d")
    s.check_static("CNN")  # allowed there
    with pytest.raises(ForbiddenAPIUsed) as info:
        s.check_static("Net")
    assert info.value.apis == ["torch.nn.functional.linear"]
    assert s.applies("torch.nn.Conv2d", "conv2d") and not s.applies("torch.nn.Conv2d", None)
    assert s.applies("torch.nn.functional.linear", None)
    assert not s.applies("torch.exp", "conv2d")


def test_an_api_seen_running_is_a_violation_only_where_it_is_forbidden():
    s = policy({})
    with pytest.raises(
        ForbiddenAPIUsed, match="called torch.nn.Conv2d, which this assignment forbids: unfold"
    ):
        s.check_ran(["torch.nn.Conv2d"], "conv2d")
    s.check_ran(["torch.nn.Conv2d"], "CNN")
    s.check_ran(["torch.exp"], "conv2d")  # not on the list
