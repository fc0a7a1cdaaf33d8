"""What `grader grade` makes of a submissions folder: entries and ids, safe zip extraction,
notebooks as modules, content hashes, and feedback that keeps hidden checks' code hidden."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import COURSE

from grader.batch.records import Record
from grader.course import load_assignment
from grader.errors import SubmissionError
from grader.intake.archive import read_python
from grader.intake.entries import content_hash, scan
from grader.intake.notebook import notebook_to_source
from grader.outputs.feedback import feedback_markdown
from grader.outputs.redact import HIDDEN_BROKEN
from grader.outputs.schema import CheckResult, GradeResult

SPEC = load_assignment(COURSE, "hw1")


def make_zip(path: Path, members: dict[str, str], symlinks: dict[str, str] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
        for name, target in dict(symlinks).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return path


def make_notebook(path: Path, *cells: str, nbformat: int = 4) -> Path:
    path.write_text(
        json.dumps(
            {
                "nbformat": nbformat,
                "cells": [
                    {"cell_type": "code", "source": c.splitlines(keepends=True)} for c in cells
                ],
            }
        )
    )
    return path


# -- entries ------------------------------------------------------------------------------


def test_scan_names_students_by_entry_and_reports_junk_duplicates_and_hidden(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ben.py").write_text("")
    (tmp_path / "cat.ZIP").write_bytes(b"")
    (tmp_path / "dan.ipynb").write_text("{}")
    (tmp_path / "eve.py").write_text("")
    (tmp_path / "eve.zip").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / ".DS_Store").write_text("")
    os.mkfifo(tmp_path / "pipe")  # must be reported without being opened (it would block)
    entries, hidden = scan(tmp_path)
    kinds = {e.id: (e.kind, e.name) for e in entries}
    assert kinds == {
        "ann": ("folder", "ann"),
        "ben": ("py", "ben.py"),
        "cat": ("zip", "cat.ZIP"),
        "dan": ("notebook", "dan.ipynb"),
        "eve": ("unreadable", "eve.py and eve.zip"),
        "notes.txt": ("unreadable", "notes.txt"),
        "pipe": ("unreadable", "pipe"),
    }
    assert [e.id for e in entries] == sorted(kinds)
    assert hidden == [".DS_Store"]
    problems = {e.id: e.problem for e in entries}
    assert "keep only one" in problems["eve"]
    assert "not a regular file or folder" in problems["pipe"]
    assert all(content_hash(e, SPEC) for e in entries)


def test_content_hash_follows_the_python_files_only(tmp_path):
    folder = tmp_path / "ann"
    (folder / "repo/.git").mkdir(parents=True)
    (folder / "repo/tensor_ops.py").write_text("x = 1\n")
    (entry,), _ = scan(tmp_path)
    first = content_hash(entry, SPEC)
    (folder / "repo/README.md").write_text("notes")
    (folder / "repo/.git/HEAD").write_text("ref")
    assert content_hash(entry, SPEC) == first
    (folder / "repo/tensor_ops.py").write_text("x = 2\n")
    assert content_hash(entry, SPEC) != first


# -- zip archives -------------------------------------------------------------------------


def test_zip_of_a_folder_is_unpacked_without_its_top_folder_or_links(tmp_path):
    archive = make_zip(
        tmp_path / "a.zip",
        {
            "ann/tensor_ops.py": "x = 1\n",
            "ann/data.csv": "1,2",
            "ann/__MACOSX/._tensor_ops.py": "junk",
        },
        symlinks={"ann/link.py": "/etc/passwd"},
    )
    hand_in = read_python(archive, "a.zip")
    assert sorted(hand_in.files) == ["tensor_ops.py"]
    assert hand_in.notes == ["a.zip/ann/link.py is a symbolic link: not graded"]


@pytest.mark.parametrize("name", ["../evil.py", "/abs.py", "a/../../evil.py", "C:\\evil.py"])
def test_zip_with_a_path_that_escapes_is_refused(tmp_path, name):
    archive = make_zip(tmp_path / "a.zip", {name: "x", "tensor_ops.py": "x"})
    with pytest.raises(SubmissionError, match="unsafe path"):
        read_python(archive, "a.zip")


def test_zip_bomb_stops_at_the_size_cap_whatever_its_headers_say(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"tensor_ops.py": "#" * (21 << 20)})
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(SubmissionError, match="more than 20 MiB"):
        read_python(archive, "a.zip")


def test_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path):
    (tmp_path / "a.zip").write_text("hello")
    with pytest.raises(SubmissionError, match="a.zip: not a readable .zip archive"):
        read_python(tmp_path / "a.zip", "a.zip")


# -- notebooks ----------------------------------------------------------------------------


def test_notebook_code_cells_become_a_module_without_ipython_syntax(tmp_path):
    path = make_notebook(
        tmp_path / "n.ipynb",
        "import math\n!pip install torch\n%matplotlib inline",
        "%%bash\nrm -rf /\n",
        "%%time\ny = 2\n",
        "def f():\n    %time g()\n    return 3\n",
        "math?\n",
        's = """\n%not a magic inside a string\n"""\n',
    )
    source, notes = notebook_to_source(path)
    namespace: dict = {}
    exec(compile(source, "n.py", "exec"), namespace)  # valid Python, and nothing above ran
    assert namespace["y"] == 2 and namespace["f"]() == 3
    assert "%not a magic inside a string" in namespace["s"]
    assert "rm -rf" not in source
    text = "\n".join(notes)
    for dropped in (
        "!pip install torch",
        "%matplotlib inline",
        "`%%bash` cell",
        "%%time",
        "%time g()",
        "math?",
    ):
        assert dropped in text


@pytest.mark.parametrize(
    "content, message",
    [
        ("{ not json", "not a readable Jupyter notebook"),
        (json.dumps({"nbformat": 3, "worksheets": []}), "not a Jupyter notebook in format 4"),
        (
            json.dumps({"nbformat": 4, "cells": [{"cell_type": "markdown", "source": "hi"}]}),
            "no code cells",
        ),
    ],
)
def test_unreadable_notebooks_say_why(tmp_path, content, message):
    (tmp_path / "n.ipynb").write_text(content)
    with pytest.raises(SubmissionError, match=message):
        notebook_to_source(tmp_path / "n.ipynb")


# -- feedback -----------------------------------------------------------------------------


def record_with(*checks: CheckResult, status: str = "graded") -> Record:
    result = GradeResult(
        assignment="hw1",
        title="Tensor operations",
        submission="ann.py",
        seed=1,
        checks=list(checks),
    )
    return Record(
        id="ann",
        entry="ann.py",
        kind="py",
        content_hash="h",
        config_hash="c",
        status=status,
        result=result,
    )


def test_feedback_keeps_hidden_checks_code_and_inputs_out():
    assert_message = "values differ\nassert secret_input(17) == 3\n +  where 4 = secret_input(17)"
    text = feedback_markdown(
        record_with(
            CheckResult(
                "test_a",
                "public check",
                "public",
                "failed",
                0,
                1,
                message="assert x == 1\n +  where x = 2",
                hint="try harder",
            ),
            CheckResult("test_b", "hidden check", "hidden", "failed", 0, 1, message=assert_message),
            CheckResult(
                "test_c",
                "broken hidden check",
                "hidden",
                "error",
                0,
                1,
                message="the check itself failed (KeyError: 'secret_key')",
            ),
            CheckResult("test_d", "hidden ok", "hidden", "passed", 1, 1),
        )
    )
    assert "values differ" in text and "hidden check" in text
    assert "secret_input" not in text and "secret_key" not in text
    assert HIDDEN_BROKEN in text
    assert "assert x == 1" in text and "try harder" in text  # public checks: everything
    assert "Score: 1 / 4 (25%)" in text


def test_feedback_says_why_a_submission_was_not_graded_normally():
    check = CheckResult("test_a", "a check", "public", "failed", 0, 1, message="not graded: x")
    record = record_with(check, status="unreadable")
    record.error = "ann.zip: not a readable .zip archive"
    assert "could not be graded: ann.zip: not a readable .zip archive" in feedback_markdown(record)
