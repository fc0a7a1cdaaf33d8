"""Validators for the published shapes of our machine-readable reports (no network, no XSD engine).

- JUnit: the constraints of the junit-10.xsd that Jenkins' xUnit plugin validates reports
  against (and other CI tools follow): which element may hold which, the required and allowed
  attributes, text-only leaves; plus the counts CI tools read (tests, failures, errors).
- Gradescope: the fields of the autograder `results.json` specification, with their types and
  allowed values.

Each returns a list of problems; an empty list means valid.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

# element -> (allowed attributes, required attributes, allowed children, may hold text)
JUNIT = {
    "testsuites": (
        {"name", "time", "tests", "failures", "disabled", "errors"},
        set(),
        {"testsuite"},
        False,
    ),
    "testsuite": (
        {
            "name",
            "tests",
            "failures",
            "errors",
            "time",
            "disabled",
            "skipped",
            "skips",
            "timestamp",
            "hostname",
            "id",
            "package",
            "assertions",
            "file",
            "skip",
            "log",
            "url",
        },
        {"tests"},
        {"testsuite", "properties", "testcase", "system-out", "system-err"},
        False,
    ),
    "properties": (set(), set(), {"property"}, False),
    "property": ({"name", "value"}, {"name", "value"}, set(), False),
    "testcase": (
        {
            "name",
            "assertions",
            "time",
            "timestamp",
            "classname",
            "status",
            "class",
            "file",
            "line",
            "log",
            "group",
            "url",
        },
        {"name"},
        {"skipped", "error", "failure", "system-out", "system-err"},
        False,
    ),
    "failure": ({"type", "message"}, set(), set(), True),
    "error": ({"type", "message"}, set(), set(), True),
    "skipped": ({"type", "message"}, set(), set(), True),
    "system-out": (set(), set(), set(), True),
    "system-err": (set(), set(), set(), True),
}
COUNTED = {"tests": "testcase", "failures": "failure", "errors": "error"}


def validate_junit(text: str) -> list[str]:
    """Problems of a JUnit XML document against junit-10.xsd's constraints."""
    try:
        root = ET.fromstring(text.encode())
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag not in ("testsuites", "testsuite"):
        return [f"root element is <{root.tag}>, expected <testsuites> or <testsuite>"]
    problems = []

    def visit(el: ET.Element, path: str) -> None:
        allowed, required, children, text_ok = JUNIT[el.tag]
        for name in sorted(set(el.attrib) - allowed):
            problems.append(f"{path}: attribute {name!r} is not allowed")
        for name in sorted(required - set(el.attrib)):
            problems.append(f"{path}: required attribute {name!r} is missing")
        if not text_ok and (el.text or "").strip():
            problems.append(f"{path}: holds text, which is not allowed")
        for i, child in enumerate(el):
            if child.tag not in children:
                problems.append(f"{path}: <{child.tag}> is not allowed inside <{el.tag}>")
                continue
            if (child.tail or "").strip() and not text_ok:
                problems.append(f"{path}: holds text, which is not allowed")
            visit(child, f"{path}/{child.tag}[{i}]")

    visit(root, root.tag)
    for el in root.iter():
        if el.tag in ("testsuites", "testsuite") and "time" in el.attrib:
            try:
                if float(el.attrib["time"]) < 0:
                    raise ValueError
            except ValueError:
                problems.append(f"<{el.tag}> time={el.attrib['time']!r} is not a duration")
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        for attr, tag in COUNTED.items():
            if attr in suite.attrib:
                n = len(cases) if tag == "testcase" else sum(len(c.findall(tag)) for c in cases)
                if suite.attrib[attr] != str(n):
                    problems.append(
                        f"testsuite {suite.get('name')!r}: {attr}={suite.attrib[attr]} "
                        f"but it holds {n}"
                    )
    return problems


GRADESCOPE_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
GRADESCOPE_TOP = {
    "score": (int, float),
    "execution_time": (int, float),
    "output": str,
    "output_format": str,
    "test_output_format": str,
    "test_name_format": str,
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "tests": list,
    "leaderboard": list,
}
GRADESCOPE_TEST = {
    "score": (int, float),
    "max_score": (int, float),
    "status": str,
    "name": str,
    "name_format": str,
    "number": str,
    "output": str,
    "output_format": str,
    "tags": list,
    "visibility": str,
    "extra_data": dict,
}


def _typed(data: dict, fields: dict, where: str) -> list[str]:
    problems = []
    for key, value in data.items():
        if key not in fields:
            problems.append(f"{where}: {key!r} is not a documented field")
        elif isinstance(value, bool) or not isinstance(value, fields[key]):
            problems.append(f"{where}: {key} has type {type(value).__name__}")
    for key in ("output_format", "test_output_format", "test_name_format", "name_format"):
        if key in data and data[key] not in GRADESCOPE_FORMATS:
            problems.append(
                f"{where}: {key}={data[key]!r} is not one of {sorted(GRADESCOPE_FORMATS)}"
            )
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in GRADESCOPE_VISIBILITY:
            problems.append(
                f"{where}: {key}={data[key]!r} is not one of {sorted(GRADESCOPE_VISIBILITY)}"
            )
    return problems


def validate_gradescope(data: dict) -> list[str]:
    """Problems of a Gradescope results.json against the autograder specification's fields."""
    if not isinstance(data, dict):
        return ["results.json must be a JSON object"]
    problems = _typed(data, GRADESCOPE_TOP, "results")
    tests = data.get("tests", [])
    for i, test in enumerate(tests if isinstance(tests, list) else []):
        if not isinstance(test, dict):
            problems.append(f"tests[{i}] is not an object")
            continue
        problems += _typed(test, GRADESCOPE_TEST, f"tests[{i}]")
        if "status" in test and test["status"] not in ("passed", "failed"):
            problems.append(f"tests[{i}]: status={test['status']!r} is not 'passed' or 'failed'")
        if "tags" in test and not all(isinstance(t, str) for t in test["tags"]):
            problems.append(f"tests[{i}]: tags must be strings")
        if "score" not in data and "score" not in test:
            problems.append(f"tests[{i}]: no score, and no top-level score either")
    return problems
