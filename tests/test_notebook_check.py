"""Notebooks in `grader check` and `grader grade`: one conversion, every location as the
student's "cell N, line M", `from __future__` in any cell as in Jupyter, IPython lines dropped
with a note."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import COURSE, by_id, course_with, run_cli
from rich.console import Console

from grader.intake.notebook import read_notebook
from grader.outputs import formats, github
from grader.outputs.formats import to_json
from grader.outputs.schema import CheckResult, GradeResult
from grader.outputs.terminal import print_report

REFERENCE = (COURSE / "reference/hw3/linear_layer.py").read_text()
HEAD, LINEAR, TRAIN, *ORACLE = REFERENCE.split("\n\n\n")
# cell 2 holds the __future__ import, and an annotation that only works with it
FUTURE = "from __future__ import annotations\n\n\ndef same(x: NotDefinedAnywhere) -> NotDefinedAnywhere:\n    return x\n"
NAME_ERROR = LINEAR.replace("out = x @ self.weight.T", "out = x @ weight.T")


def notebook(*cells: str) -> str:
    """A notebook as Jupyter saves it: a markdown cell before each code cell."""
    out = []
    for i, source in enumerate(cells, 1):
        out.append({"cell_type": "markdown", "metadata": {}, "source": [f"## Part {i}\n"]})
        out.append(
            {
                "cell_type": "code",
                "execution_count": 7 * i,  # run out of order: never what a location counts
                "metadata": {},
                "outputs": [],
                "source": source.splitlines(keepends=True),
            }
        )
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def hw3_cells(linear: str = LINEAR) -> list[str]:
    """The hw3 reference as a student's notebook: magics first, the future import in cell 2,
    the layer in cell 3."""
    head = HEAD.replace("from __future__ import annotations\n\n", "")
    return [
        "%matplotlib inline\n!pip install torch\n" + head,
        FUTURE,
        linear,
        TRAIN,
        "\n\n\n".join(ORACLE),
    ]


def line_in(cell: str, text: str) -> int:
    return next(i for i, line in enumerate(cell.split("\n"), 1) if text in line)


@pytest.fixture
def folder():
    """A world-readable folder outside /tmp for the CLI's subprocesses."""
    root = Path(tempfile.mkdtemp(prefix=".grader-notebooks-", dir=COURSE.parent))
    os.chmod(root, 0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_check_grades_a_notebook_of_the_reference_to_full_marks(folder):
    path = folder / "work.ipynb"
    path.write_text(notebook(*hw3_cells()))
    proc = run_cli("check", "hw3", "--submission", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "total: 22/22" in proc.stdout
    assert "cell 1: dropped `%matplotlib inline`" in proc.stdout
    assert "cell 1: dropped `!pip install torch`" in proc.stdout


@pytest.mark.slow
def test_an_error_in_cell_3_is_reported_at_its_cell_and_line(grade_with, folder):
    path = folder / "work.ipynb"
    path.write_text(notebook(*hw3_cells(NAME_ERROR)))
    course = course_with(folder, "hw3", "public/test_forward.py")
    result = grade_with("hw3", path, course=course)
    line = line_in(NAME_ERROR, "out = x @ weight.T")
    check = by_id(result)["test_forward_matches_reference"]
    assert (check.file, check.cell, check.line) == ("work.ipynb", 3, line)
    assert f'File "work.ipynb", cell 3, line {line}, in forward' in check.message
    assert "linear_layer.py" not in check.message
    assert check.hint.startswith("did you mean self.weight?")
    assert json.loads(to_json(result))["checks"][0]["cell"] == 3
    console = Console(file=io.StringIO(), width=200)
    print_report(result, console)
    text = console.file.getvalue()
    assert f'"work.ipynb", cell 3, line {line}, in forward' in text  # its traceback says where
    assert "cell N is the N-th code cell from the top" in text


@pytest.mark.slow
def test_a_syntax_error_and_a_forbidden_api_in_a_cell_are_reported_at_it(grade_with, folder):
    course = course_with(folder, "hw3", "public/test_forward.py")
    broken = LINEAR.replace(
        "def reset_parameters(self) -> None:", "def reset_parameters(self) -> None"
    )
    (folder / "syntax.ipynb").write_text(notebook(*hw3_cells(broken)))
    first = grade_with("hw3", folder / "syntax.ipynb", course=course).checks[0]
    line = line_in(broken, "def reset_parameters")
    assert (first.file, first.cell, first.line) == ("syntax.ipynb", 3, line)
    assert f"(syntax.ipynb, cell 3, line {line})" in first.message
    assert f'File "syntax.ipynb", cell 3, line {line}' in first.message

    forbidden = LINEAR.replace("out = x @ self.weight.T", "out = F.linear(x, self.weight)")
    (folder / "forbidden.ipynb").write_text(notebook(*hw3_cells(forbidden)))
    result = grade_with("hw3", folder / "forbidden.ipynb", course=course)
    check = by_id(result)["test_forward_matches_reference"]
    line = line_in(forbidden, "F.linear")
    assert check.message.startswith(
        f"cell 3, line {line}: your code uses torch.nn.functional.linear"
    )


@pytest.mark.slow
def test_grade_reports_a_notebook_at_its_cells_too(folder):
    subs, out = folder / "subs", folder / "out"
    subs.mkdir()
    (subs / "ann.ipynb").write_text(notebook(*hw3_cells(NAME_ERROR)))
    course = course_with(folder, "hw3", "public/test_forward.py")
    proc = run_cli("grade", "hw3", str(subs), "--out", str(out), "--course", str(course))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ann = json.loads((out / "results/ann.json").read_text())
    assert any("%matplotlib inline" in n for n in ann["notes"])
    line = line_in(NAME_ERROR, "out = x @ weight.T")
    check = next(c for c in ann["result"]["checks"] if c["id"] == "test_forward_matches_reference")
    assert (check["file"], check["cell"], check["line"]) == ("ann.ipynb", 3, line)
    assert f'File "ann.ipynb", cell 3, line {line}, in forward' in check["message"]
    assert f"At `ann.ipynb`, cell 3, line {line}." in (out / "feedback/ann.md").read_text()


# -- the conversion ----------------------------------------------------------------------


def test_future_imports_move_to_line_1_and_no_line_moves(tmp_path):
    cells = [
        "x = 1\n%time y = 2",
        "from __future__ import (annotations,\n    division)  # both\nz = 3",
        "%%time\nfrom __future__ import generator_stop; w = 4\n",
        "",  # an empty code cell still counts
        "v = 5",
    ]
    path = tmp_path / "n.ipynb"
    path.write_text(notebook(*cells))
    converted = read_notebook(path, module="m.py")
    lines = converted.source.split("\n")
    assert lines[0].startswith(
        "from __future__ import annotations, division; from __future__ import generator_stop"
    )
    assert converted.cells.locate(1) == (2, 1)
    namespace: dict = {}
    exec(compile(converted.source, "m.py", "exec"), namespace)
    assert (namespace["z"], namespace["w"], namespace["v"]) == (3, 4, 5)
    for number, source in enumerate(cells, 1):
        for at, text in enumerate(source.split("\n"), 1):
            if text.strip() and not text.startswith(("%", "from __future__", "    division")):
                found = [i for i, line in enumerate(lines, 1) if line == text]
                assert [converted.cells.locate(i) for i in found] == [(number, at)], text
    assert converted.cells.locate(2) == (0, 0)  # a header the grader wrote
    assert read_notebook(path, module="m.py").cells == converted.cells  # deterministic


def test_a_location_in_a_cell_reaches_every_output_as_its_cell(tmp_path):
    check = CheckResult(
        "test_x", "x", "public", "failed", 0, 1, "boom", file="w.ipynb", line=4, cell=3
    )
    result = GradeResult("hw3", "t", str(tmp_path / "w.ipynb"), 1, checks=[check])
    (tmp_path / "w.ipynb").write_text("{}")
    case = ET.fromstring(formats.dump(result, "junit")).find(".//testcase")
    assert case.get("file") == "w.ipynb" and case.get("line") is None  # no line of the .ipynb
    assert "at w.ipynb, cell 3, line 4" in case.find("failure").text
    (command,) = github.workflow_commands(result, module_file="m.py", workspace=tmp_path)
    assert command.startswith("::error file=w.ipynb,title=") and "cell 3, line 4" in command
    old = result.to_dict()
    del old["checks"][0]["cell"]  # a record written before cells existed
    assert GradeResult.from_dict(old).checks[0].cell == 0
    assert GradeResult.from_dict(result.to_dict()).checks[0].cell == 3
