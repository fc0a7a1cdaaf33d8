"""`[forbidden]` entries scoped with `only_in`: parsing, and the static and run-time verdicts."""

import pytest

from grader.errors import ConfigError
from grader.judge.forbidden import ForbiddenAPIUsed, Policy, Use
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


def policy(static: dict[str, list[str]]) -> Policy:
    uses = {name: [Use(api, 1, api) for api in apis] for name, apis in static.items()}
    return Policy(
        instead={"torch.nn.Conv2d": "unfold", "torch.nn.functional.linear": "x @ w.T"},
        only_in={"torch.nn.Conv2d": ("conv2d",)},
        static=uses,
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


def test_a_construct_counts_only_where_some_api_is_forbidden_and_unless_allowed():
    uses = {
        "conv2d": [Use("construct:getattr", 3, "getattr")],
        "CNN": [Use("construct:getattr", 4, "getattr")],
    }
    s = Policy(
        instead={"torch.nn.Conv2d": "unfold"}, only_in={"torch.nn.Conv2d": ("conv2d",)}, static=uses
    )
    with pytest.raises(
        ForbiddenAPIUsed,
        match="line 3: your code uses getattr, setattr or delattr with a computed name",
    ):
        s.check_static("conv2d")
    s.check_static("CNN")  # nothing is forbidden in CNN, so nothing can be reached
    Policy(instead=s.instead, only_in=s.only_in, static=uses, allow=("getattr",)).check_static(
        "conv2d"
    )


def test_what_the_worker_says_ran_is_a_note_never_a_verdict():
    s = policy({})
    notes = s.ran_notes(["torch.nn.Conv2d", "torch.exp"], "conv2d")
    assert len(notes) == 1 and "torch.nn.Conv2d ran" in notes[0]
    assert s.ran_notes(["torch.nn.Conv2d"], "CNN") == []
