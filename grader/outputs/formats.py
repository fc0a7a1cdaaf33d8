"""Machine-readable reports of one GradeResult: our JSON, JUnit XML, Gradescope `results.json`.

Each is a function of the result alone, so `grader check` and `grader grade` (per submission)
write the same files:

    text = formats.dump(result, "junit")

What a reader sees of a hidden check is `grader.outputs.redact`'s rule: JUnit and JSON
show everything (for the course's own CI), Gradescope withholds hidden checks' details.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from grader import __version__
from grader.contract import task_order
from grader.errors import ConfigError
from grader.outputs.redact import Audience, shown
from grader.outputs.schema import SCHEMA_VERSION, GradeResult, format_points

MACHINE_FORMATS = ("json", "junit", "gradescope")
GRADESCOPE_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
# characters XML 1.0 cannot hold, not even escaped (student output may contain them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def to_json(result: GradeResult) -> str:
    """The canonical, versioned result (`schema_version`)."""
    return json.dumps(result.to_dict(), indent=2)


# ----------------------------------------------------------------------------- JUnit


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def to_junit(result: GradeResult) -> str:
    """JUnit XML as CI tools read it (Jenkins' junit-10.xsd shape): one testsuite per
    assignment, one testcase per check, failures with their message, and the points in the
    testsuite's properties (`score`, `max_score`, `points.<check id>` = "got/max",
    `task.<check id>` = its task, `task_points.<task>` = "got/max")."""
    failures = sum(c.status == "failed" for c in result.checks)
    errors = sum(c.status == "error" for c in result.checks)
    counts = {
        "tests": str(len(result.checks)),
        "failures": str(failures),
        "errors": str(errors),
        "time": f"{result.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "grader", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": result.assignment, "skipped": "0", **counts})
    props = ET.SubElement(suite, "properties")
    meta = {
        "assignment": result.assignment,
        "title": result.title,
        "submission": result.submission,
        "seed": str(result.seed),
        "score": format_points(result.score),
        "max_score": format_points(result.max_score),
        "grader_version": __version__,
        "schema_version": str(SCHEMA_VERSION),
    }
    meta.update(
        {
            f"points.{c.id}": f"{format_points(c.score)}/{format_points(c.max_score)}"
            for c in result.checks
        }
    )
    meta.update({f"task.{c.id}": c.task for c in result.checks if c.task})
    meta.update(
        {
            f"task_points.{t}": f"{format_points(got)}/{format_points(most)}"
            for t, (got, most) in result.task_scores().items()
            if t
        }
    )
    meta.update({f"note.{i}": n for i, n in enumerate(result.sandbox_notes + result.notes, 1)})
    for name, value in meta.items():
        ET.SubElement(props, "property", name=_xml_text(name), value=_xml_text(value))
    for c in result.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            name=_xml_text(c.name),
            classname=f"{result.assignment}.{c.tier}.{c.id}",
            time=f"{c.duration_s:.3f}",
            status=c.status,
        )
        if c.file:  # a notebook's cell line is no line of the .ipynb file: left out
            case.set("file", _xml_text(c.file))
            if not c.cell:
                case.set("line", str(c.line))
        if c.status != "passed":
            body = f"{shown(c, Audience.FULL).text()}\npoints: {format_points(c.score)}/{format_points(c.max_score)}"
            first = (c.message.strip().splitlines() or [c.status])[0][:500]
            kind = "failure" if c.status == "failed" else "error"
            element = ET.SubElement(case, kind, message=_xml_text(first), type=c.status)
            element.text = _xml_text(body)
    if result.output.strip():
        ET.SubElement(suite, "system-out").text = _xml_text(result.output)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ----------------------------------------------------------------------------- Gradescope


def to_gradescope(result: GradeResult, *, hidden_visibility: str = "after_published") -> dict:
    """A Gradescope autograder `results.json` (its documented fields): the score, the run
    time, and a test per check; hidden-tier checks get `hidden_visibility`."""
    if hidden_visibility not in GRADESCOPE_VISIBILITY:
        raise ConfigError(
            f"Gradescope visibility must be one of {', '.join(GRADESCOPE_VISIBILITY)}, "
            f"got {hidden_visibility!r}"
        )
    tests: list[dict[str, object]] = []
    within: dict[str, int] = {}
    for c in sorted(result.checks, key=lambda c: task_order(c.task)):  # stable: file order
        within[c.task] = within.get(c.task, 0) + 1
        tests.append(
            {
                "name": c.name,
                "number": f"{c.task}.{within[c.task]}" if c.task else str(len(tests) + 1),
                "score": c.score,
                "max_score": c.max_score,
                "status": "passed" if c.status == "passed" else "failed",
                "output": shown(c, Audience.SUBMITTING).text(),
                "output_format": "text",
                "tags": [c.tier] + ([f"task {c.task}"] if c.task else []),
                "visibility": hidden_visibility if c.tier == "hidden" else "visible",
                "extra_data": {
                    "id": c.id,
                    "task": c.task,
                    "caused_by": c.caused_by,
                    "tier": c.tier,
                    "status": c.status,
                    "seed": c.seed,
                    "duration_s": c.duration_s,
                },
            }
        )
    summary = [
        f"{result.assignment} — {result.title}: {format_points(result.score)}/"
        f"{format_points(result.max_score)} (seed {result.seed}, grader {__version__})"
    ]
    summary += result.notes + [f"sandbox: {n}" for n in result.sandbox_notes]
    return {
        "score": result.score,
        "execution_time": round(result.duration_s, 3),
        "output": "\n".join(summary),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "extra_data": {
            "assignment": result.assignment,
            "max_score": result.max_score,
            "seed": result.seed,
            "schema_version": SCHEMA_VERSION,
            "grader_version": __version__,
        },
        "tests": tests,
    }


def dump(result: GradeResult, fmt: str, *, hidden_visibility: str = "after_published") -> str:
    """`result` as the text of a `fmt` file (one of MACHINE_FORMATS)."""
    if fmt == "json":
        return to_json(result)
    if fmt == "junit":
        return to_junit(result)
    if fmt == "gradescope":
        return json.dumps(to_gradescope(result, hidden_visibility=hidden_visibility), indent=2)
    raise ConfigError(f"unknown report format {fmt!r} (known: {', '.join(MACHINE_FORMATS)})")
