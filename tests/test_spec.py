"""assignment.toml: parsed into a typed spec, rejected with a message naming file and key."""

import ast
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import COURSE

from grader.course import assignment_ids, find_course, load_assignment
from grader.errors import ConfigError
from grader.spec import load_spec

GOOD = """
[assignment]
title = "T"
module = "mod"

[tolerances]
loose = { rtol = 1e-3, atol = 1e-4 }

[thresholds]
accuracy = 0.9

[limits]
call_timeout_s = 4

[forbidden]
"torch.nn.functional.linear" = "write x @ w.T + b"
"""


def write(tmp_path, text):
    root = tmp_path / "assignments" / "hwX"
    root.mkdir(parents=True)
    (root / "assignment.toml").write_text(text)
    return root


def test_a_valid_file_becomes_a_typed_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD), tmp_path / "reference" / "hwX")
    assert spec.title == "T" and spec.module == "mod" and spec.files == ("mod.py",)
    assert spec.tolerance("loose").rtol == 1e-3 and spec.tolerance().rtol == 1e-5
    assert spec.threshold("accuracy") == 0.9
    assert spec.limits.call_timeout_s == 4 and spec.limits.memory_mib == 3072
    assert spec.forbidden == {"torch.nn.functional.linear": "write x @ w.T + b"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("[assignment]\ntitle = 'T'\n", "missing key 'module' in [assignment]"),
        (
            GOOD.replace('module = "mod"', 'module = "my-mod"'),
            "module must be a Python module name",
        ),
        (GOOD + "\n[extra]\n", "unknown key 'extra' in [top level]"),
        (
            GOOD.replace("call_timeout_s = 4", "call_timeout = 4"),
            "unknown key 'call_timeout' in [limits]",
        ),
        (
            GOOD.replace("call_timeout_s = 4", "call_timeout_s = 'slow'"),
            "[limits] call_timeout_s must be int or float",
        ),
        (GOOD + "\n[points]\ntest_a = 5\n", "[points] is gone: each check declares its points"),
        (GOOD + '\n[tasks]\n"1" = "f"\n', '[tasks] ids look like "2.1" (section.item)'),
        (GOOD + '\n[tasks]\n"1.1" = 3\n', '[tasks] "1.1" must name what it asks for'),
        (GOOD + "\n[training]\nlr = 0.1\n", "missing key 'epochs' in [training]"),
        (GOOD.replace("rtol = 1e-3, ", ""), "missing key 'rtol' in [tolerances.loose]"),
        ("[assignment\n", "not valid TOML"),
    ],
)
def test_mistakes_are_named_with_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_spec(write(tmp_path, text), tmp_path / "reference" / "hwX")
    assert message in str(info.value)
    assert "assignment.toml" in str(info.value)


def test_asking_for_an_undeclared_tolerance_names_the_known_ones(tmp_path):
    spec = load_spec(write(tmp_path, GOOD), tmp_path)
    with pytest.raises(ConfigError, match="no tolerance named 'tight'.*have: loose, default"):
        spec.tolerance("tight")


def test_course_is_found_from_a_subfolder_and_unknown_ids_are_listed():
    assert find_course(COURSE / "assignments" / "hw1") == COURSE
    assert "hw1" in assignment_ids(COURSE)
    with pytest.raises(ConfigError, match="unknown assignment 'nope' \\(known: hw1"):
        load_assignment(COURSE, "nope")


def test_total_points_come_from_the_checks_declarations():
    spec = load_assignment(COURSE, "hw1")
    assert len(spec.check_ids()) >= 12
    assert spec.total_points() == sum(spec.points_for(c) for c in spec.check_ids())


def test_only_the_checks_hidden_folder_makes_a_check_hidden(grade_with):
    """A course that itself lives under a folder called `hidden` keeps its public checks public."""
    root = Path(tempfile.mkdtemp(prefix=".grader-tier-", dir=COURSE.parent))
    try:
        course = root / "hidden" / "course"
        for part in ("assignments/hw1", "reference/hw1"):
            shutil.copytree(COURSE / part, course / part)
        result = grade_with("hw1", course / "reference/hw1", course=course)
        tiers = {c.id: c.tier for c in result.checks}
        spec = load_assignment(COURSE, "hw1")
        public = {c for c in spec.check_ids() if c not in hidden_ids(spec)}
        assert {c for c, t in tiers.items() if t == "public"} == public and public
        assert {c for c, t in tiers.items() if t == "hidden"} == hidden_ids(spec)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def hidden_ids(spec) -> set[str]:
    return {
        n.name
        for path in (spec.checks_dir / "hidden").rglob("test_*.py")
        for n in ast.parse(path.read_text()).body
        if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    }
