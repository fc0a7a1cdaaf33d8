"""Results on disk: a record that is there but cannot be read is a visible problem, never a
silent "no result"."""

from __future__ import annotations

import json

import pytest
from conftest import COURSE

from grader.batch.engine import Batch, config_hash, plan
from grader.batch.records import (
    RECORD_VERSION,
    Record,
    RecordError,
    load_record,
    save_record,
)
from grader.course import load_assignment
from grader.outputs.schema import CheckResult, GradeResult


def a_record(sid: str = "ann") -> Record:
    check = CheckResult("test_a", "a check", "public", "passed", 1.0, 1.0)
    result = GradeResult(
        assignment="hw1", title="T", submission=f"{sid}.py", seed=1, checks=[check]
    )
    return Record(
        id=sid,
        entry=f"{sid}.py",
        kind="py",
        content_hash="h",
        config_hash="c",
        status="graded",
        result=result,
    )


def test_a_saved_record_loads_back_equal(tmp_path):
    save_record(tmp_path / "ann.json", a_record())
    assert load_record(tmp_path / "ann.json").to_dict() == a_record().to_dict()


def test_no_record_is_none(tmp_path):
    assert load_record(tmp_path / "nobody.json") is None


@pytest.mark.parametrize(
    "text, words",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"record_version": RECORD_VERSION + 1}), "record version"),
        (json.dumps(["a list"]), "record version None"),
        (
            json.dumps({"record_version": RECORD_VERSION, "id": "ann"}),
            "does not follow the record schema",
        ),
        (b"\xff\xfe", "cannot read this result"),
    ],
)
def test_an_unreadable_record_is_an_error_naming_the_file(tmp_path, text, words):
    path = tmp_path / "ann.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(RecordError, match=words) as info:
        load_record(path)
    assert str(path) in str(info.value)


def test_a_batch_grades_an_unreadable_record_again_and_says_so(tmp_path):
    spec = load_assignment(COURSE, "hw1")
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    submissions.mkdir()
    for sid in ("ann", "bob", "cat"):
        (submissions / f"{sid}.py").write_text("x = 1\n")
    batch = Batch.create(
        spec, submissions, course=COURSE, out=out, jobs=1, timeout_s=10, seed=None, force=False
    )
    config = config_hash(spec, seed=batch.seed, timeout_s=batch.timeout_s)
    batch.results_dir.mkdir(parents=True)
    (batch.results_dir / "ann.json").write_text("{truncated")
    broken = a_record("bob").to_dict()
    del broken["result"]["checks"][0]["status"]
    (batch.results_dir / "bob.json").write_text(json.dumps(broken))
    found = plan(batch, config)
    assert [e.id for e in found.todo] == ["ann", "bob", "cat"] and found.kept == 0
    assert len(found.problems) == 2
    assert "ann.json: this result is not valid JSON" in found.problems[0]
    assert "grading ann.py again" in found.problems[0]
    assert "bob.json: this result does not follow the record schema" in found.problems[1]
