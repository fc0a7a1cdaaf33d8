"""A declared source encoding (PEP 263) cannot make the judge's scan read other code than the
worker imports: every graded .py file is decoded as Python would, and written as UTF-8."""

from __future__ import annotations

import io
import tokenize

import pytest
from conftest import COURSE

from grader.errors import SubmissionError
from grader.intake.files import HandIn, as_utf8
from grader.judge.forbidden import _parse


def test_a_coding_line_is_applied_and_then_removed_keeping_the_lines():
    latin = "# -*- coding: latin-1 -*-\ncafé = 1\n".encode("latin-1")
    assert as_utf8(latin) == (
        "# (coding line removed: the grader reads this file as UTF-8)\ncafé = 1\n".encode()
    )
    # UTF-7 hides a line break (+AAo-) in what a UTF-8 reader takes for a comment
    hidden = b"#!/usr/bin/env python\n# coding=utf-7\nx = 1  # +AAo-import os\n"
    assert as_utf8(hidden).splitlines()[1:] == [
        b"# (coding line removed: the grader reads this file as UTF-8)",
        b"x = 1  # ",
        b"import os",
    ]
    # characters str.splitlines() breaks at but Python does not: the coding line is still line 1
    for sep in ("\x1c", "\x1d", "\x1e", "\x0b", "\x0c"):  # (non-ASCII: not UTF-7 at all)
        tricky = f"#{sep}{sep}# -*- coding: utf-7 -*-\nx = 1  # +AAo-import os\n".encode()
        out = as_utf8(tricky)
        assert tokenize.detect_encoding(io.BytesIO(out).readline)[0] == "utf-8", sep
        assert out.split(b"\n")[2] == b"import os", sep
    assert as_utf8(b"\xef\xbb\xbfx = 1\r\n") == b"x = 1\r\n"  # a BOM is dropped
    assert as_utf8(b"x = '\xff'\n") == b"x = '\xff'\n"  # not decodable: left to fail as it would


def test_a_latin1_file_hiding_a_forbidden_base_class_is_scanned(grade_with, tmp_path):
    source = (COURSE / "reference/hw3/linear_layer.py").read_text()
    source = source.replace("class Linear(nn.Module):", "class Linear(nn.Linear):")
    path = tmp_path / "linear_layer.py"
    path.write_bytes(("# -*- coding: latin-1 -*-\n" + source + "\ncafé = 1\n").encode("latin-1"))
    result = grade_with("hw3", path)
    assert result.score == 0
    assert any(
        "uses torch.nn.Linear, which this assignment forbids" in c.message for c in result.checks
    )


def test_a_utf7_file_hiding_a_forbidden_call_is_scanned(grade_with, tmp_path):
    stub = (COURSE / "assignments/hw6/cnn.py").read_text()
    real = (
        (COURSE / "reference/hw6/cnn.py")
        .read_text()
        .replace(
            "    n, _, h, w = x.shape\n",
            "    return F.conv2d(x, weight, bias, stride, padding)\n",
            1,
        )
    )
    hidden = real.encode("utf-7").replace(b"\n", b"+AAo-")  # one "comment" line to UTF-8 eyes
    path = tmp_path / "cnn.py"
    path.write_bytes(
        b"#\x1c\x1c# -*- coding: utf-7 -*-\n" + stub.encode("utf-7") + b"\n# " + hidden + b"\n"
    )
    checks = [c for c in grade_with("hw6", path, tasks=["2.1"]).checks]
    assert checks and all(c.score == 0 for c in checks)
    assert any("uses torch.nn.functional.conv2d" in c.message for c in checks)


UNICODE_ESCAPE = b"# \xff coding: unicode_escape\nx = 1  # hidden\\ny = F.linear(x)\n"


def test_a_codec_the_tokenizer_cannot_detect_but_python_compiles_is_refused(tmp_path):
    """`unicode_escape` behind a non-UTF-8 byte: tokenize.detect_encoding gives up, yet the
    import decodes it (turning a comment's \\n into a line of code)."""
    with pytest.raises(SubmissionError, match="linear_layer.py: a Python file declares its enc"):
        HandIn("ann", {"linear_layer.py": UNICODE_ESCAPE}).write(tmp_path)


def test_the_scan_decodes_a_file_as_the_import_does(tmp_path):
    path = tmp_path / "mod.py"
    path.write_bytes(UNICODE_ESCAPE)
    tree = _parse(path)  # whatever reached the worker, the scan reads it as Python would
    assert tree is not None and [type(n).__name__ for n in tree.body] == ["Assign", "Assign"]
