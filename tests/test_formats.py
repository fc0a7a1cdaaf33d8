"""JUnit, Gradescope and JSON reports of a mixed-result submission, validated against their shapes."""

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import by_id, reference_with
from schemas import validate_gradescope, validate_junit

from grader.outputs.formats import dump, to_gradescope, to_junit
from grader.outputs.redact import HIDDEN_WITHHELD
from grader.outputs.schema import SCHEMA_VERSION, CheckResult, GradeResult

WRONG_AXIS = {
    "return x - x.mean(dim=0, keepdim=True)": "return x - x.mean(dim=1, keepdim=True)",
    "return x[x > 0]": "raise ValueError('no positives today')",
}


@pytest.fixture(scope="module")
def mixed(grade_with, tmp_path_factory):
    """hw1 graded on a reference with two bugs: public and hidden checks fail, the rest pass."""
    path = reference_with("hw1", tmp_path_factory.mktemp("mixed"), WRONG_AXIS)
    result = grade_with("hw1", path)
    checks = by_id(result)
    assert checks["test_center_columns"].status == "failed"
    assert checks["test_center_columns_float32"].status == "failed"  # hidden
    assert checks["test_select_positive"].status == "failed"
    assert checks["test_arange_grid"].status == "passed"
    return result


def test_junit_of_a_mixed_result_is_valid_and_counts_its_failures(mixed):
    text = to_junit(mixed)
    assert validate_junit(text) == []
    suite = ET.fromstring(text).find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(mixed.checks)
    failed = [c for c in cases if c.find("failure") is not None]
    assert (
        len(failed) == sum(c.status == "failed" for c in mixed.checks) == int(suite.get("failures"))
    )
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["score"] == f"{mixed.score:g}" and props["max_score"] == f"{mixed.max_score:g}"
    assert props["points.test_center_columns"] == "0/1"
    assert props["points.test_arange_grid"] == "1/1"
    by_class = {c.get("classname"): c for c in cases}
    raised = by_class["hw1.public.test_select_positive"]
    assert "no positives today" in raised.find("failure").get("message")
    assert raised.get("file") == "tensor_ops.py" and int(raised.get("line")) > 0
    assert "points: 0/1" in raised.find("failure").text


def test_junit_survives_control_characters_in_what_student_code_printed():
    result = GradeResult(
        assignment="hw1",
        title="t",
        submission="s",
        seed=1,
        output="a\x00b\x1b[31mc",
        checks=[
            CheckResult(
                id="test_x",
                name='x <&> "y"',
                tier="public",
                status="error",
                score=0,
                max_score=1,
                message="bad\x07",
            )
        ],
    )
    text = to_junit(result)
    assert validate_junit(text) == []
    root = ET.fromstring(text)
    assert root.find("testsuite/testcase").get("name") == 'x <&> "y"'
    assert root.find("testsuite").get("errors") == "1"


def test_junit_validator_rejects_what_junit_10_xsd_rejects():
    good = '<testsuites><testsuite name="a" tests="1"><testcase name="t"/></testsuite></testsuites>'
    assert validate_junit(good) == []
    assert validate_junit(
        good.replace('<testcase name="t"/>', '<testcase name="t"><properties/></testcase>')
    )
    assert validate_junit(good.replace(' tests="1"', ""))
    assert validate_junit(good.replace('tests="1"', 'tests="2"'))
    assert validate_junit(good.replace('name="t"', 'id="t"'))
    assert validate_junit("<testsuites><testsuite") != []


def test_gradescope_of_a_mixed_result_follows_the_specification(mixed):
    data = json.loads(dump(mixed, "gradescope"))
    assert validate_gradescope(data) == []
    assert data["score"] == mixed.score
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(mixed.score)
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(mixed.max_score)
    tests = {t["extra_data"]["id"]: t for t in data["tests"]}
    assert {t["visibility"] for t in data["tests"] if "hidden" in t["tags"]} == {"after_published"}
    assert {t["visibility"] for t in data["tests"] if "public" in t["tags"]} == {"visible"}
    public = tests["test_center_columns"]
    assert public["status"] == "failed" and "subtracted each row's mean" in public["output"]
    hidden = tests["test_center_columns_float32"]
    assert hidden["status"] == "failed" and hidden["output"] == HIDDEN_WITHHELD
    assert by_id(mixed)["test_center_columns_float32"].message not in json.dumps(data)
    passed = tests["test_arange_grid"]
    assert (passed["status"], passed["score"], passed["output"]) == ("passed", 1.0, "")


def test_gradescope_hidden_visibility_is_configurable_and_checked(mixed):
    data = to_gradescope(mixed, hidden_visibility="hidden")
    assert {t["visibility"] for t in data["tests"] if "hidden" in t["tags"]} == {"hidden"}
    with pytest.raises(Exception, match="visibility must be one of"):
        to_gradescope(mixed, hidden_visibility="later")


def test_gradescope_validator_rejects_undocumented_fields_and_values():
    assert validate_gradescope({"score": 1, "tests": []}) == []
    assert validate_gradescope({"score": "1"})
    assert validate_gradescope({"tests": [{"name": "a", "score": 1, "status": "error"}]})
    assert validate_gradescope({"tests": [{"name": "a"}]})
    assert validate_gradescope({"score": 1, "tests": [{"visibility": "later"}]})
    assert validate_gradescope({"score": 1, "colour": "red"})


def test_json_is_our_versioned_schema_and_round_trips(mixed):
    data = json.loads(dump(mixed, "json"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert {"assignment", "score", "max_score", "seed", "checks", "notes"} <= set(data)
    assert GradeResult.from_dict(data).to_dict() == data
