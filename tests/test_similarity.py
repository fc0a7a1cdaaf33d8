"""`grader similarity` and `grader grade --similarity` on a small generated hw1 class
(`similarity_class`): a disguised copy ranks first by a clear margin, the stub's code counts
for nothing, unreadable entries are listed as skipped, pairs.csv has every pair in order, and
the page renders in a real headless browser with the matches highlighted and nothing a
student wrote able to inject markup."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import COURSE, run_cli
from similarity_class import (
    BOB,
    CAROL,
    CAROL_HELPER,
    ERIN,
    MALLORY,
    STUB,
    solved,
    write_class,
)

from grader.cli import main
from grader.course import load_assignment
from grader.outputs.gradebook import as_text
from grader.similarity.compare import compare_class, stub_kgrams
from grader.similarity.fingerprints import fingerprints
from grader.similarity.page import PALETTE
from grader.similarity.report import write_similarity
from grader.similarity.tokens import read_source

HW1 = load_assignment(COURSE, "hw1")
EVIL_ID = "<img src=x onerror=alert(1)>"
FORMULA_ID = '=HYPERLINK("evil.example")'
EVIL_CODE = {  # an independent partial solution whose code tries to break out of the page
    "arange_grid": "# </script><img src=x onerror=alert(1)>\n"
    "return torch.arange(rows * cols).reshape(rows, cols).to(torch.int64)",
    "select_positive": 'note = "</script><script>alert(1)</script>"\nreturn x[torch.gt(x, 0)]',
}
SKIPPED = {
    "zed": "zed.py is a symbolic link: not graded",
    "yan": "yan.zip: not a readable .zip archive",
    "pipe": "pipe.py is a named pipe (FIFO)",
}
CHROMIUM_INSTALL = "apt-get install -y --no-install-recommends chromium"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Path:
    """The class, two hostile ids, and three entries that cannot be read."""
    subs = tmp_path_factory.mktemp("similarity") / "submissions"
    write_class(subs)
    (subs / EVIL_ID).mkdir()
    (subs / EVIL_ID / "tensor_ops.py").write_text(solved(EVIL_CODE))
    (subs / f"{FORMULA_ID}.py").write_text(STUB)
    os.symlink(subs / "carol.py", subs / "zed.py")
    (subs / "yan.zip").write_bytes(b"PK\x03\x04 not really a zip")
    os.mkfifo(subs / "pipe.py")
    return subs


@pytest.fixture(scope="module")
def comparison(classroom):
    return compare_class(HW1, classroom)


@pytest.fixture(scope="module")
def report(classroom, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    proc = run_cli("similarity", "hw1", str(classroom), "--out", str(out), "--top", "45")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "carol" in proc.stdout and "skipped zed" in proc.stdout
    return out


def scores(comparison) -> dict[frozenset, float]:
    subs = comparison.submissions
    return {frozenset((subs[p.a].id, subs[p.b].id)): p.similarity for p in comparison.pairs}


def tokens(source: str) -> list[str]:
    return [t.text for t in read_source("m.py", source.encode(), budget=10_000).tokens]


def test_renaming_reformatting_comments_and_docstrings_leave_the_tokens_alike():
    original = (
        "import torch\n\n"
        "def center(x):\n"
        '    """Subtract the column means."""\n'
        "    means = x.sum(dim=0) / x.shape[0]  # per column\n"
        "    return x - means.unsqueeze(0)\n"
    )
    disguised = (
        "import torch as T\n\n\n"
        "def center(matrix):\n"
        "    # remove the mean of every column\n"
        "    mu = matrix.sum(dim = 0,\n"
        "                    ) / matrix.shape[0]; return matrix - mu.unsqueeze(0)\n"
    )
    assert tokens(original) == tokens(disguised)
    assert "means" not in tokens(original) and "sum" in tokens(original)


def test_what_the_code_calls_is_kept_so_other_calls_differ():
    assert tokens("y = torch.arange(n)\n") != tokens("y = torch.zeros(n)\n")
    assert tokens("import numpy as np\ny = np.ones(n)\n") == tokens("y = numpy.ones(n)\n")


def test_reordered_functions_keep_their_fingerprints():
    head, *functions = solved(CAROL, CAROL_HELPER).split("\n\n\ndef ")
    backward = "\n\n\ndef ".join([head, *reversed(functions)])
    stub = stub_kgrams(HW1)
    a, b = (
        set(fingerprints([read_source("m.py", s.encode(), budget=10_000)], stub)[0])
        for s in (solved(CAROL, CAROL_HELPER), backward)
    )
    assert len(a) > 100 and len(a & b) >= 0.95 * len(a)


def test_code_that_does_not_tokenize_is_compared_as_far_as_it_reads():
    source = read_source("m.py", b"def f(x):\n    return torch.cdist(x, (x +\n", budget=100)
    assert "does not parse" in source.note and "tokenized up to line 2" in source.note
    assert [t.text for t in source.tokens][:4] == ["def", "N", "(", "N"]


def test_a_disguised_copy_ranks_first_by_a_clear_margin(comparison):
    top, second = comparison.pairs[0], comparison.pairs[1]
    subs = comparison.submissions
    assert {subs[top.a].id, subs[top.b].id} == {"carol", "mallory"}
    assert top.similarity >= 0.9
    assert second.similarity <= 0.25 and top.similarity >= 3 * second.similarity


def test_the_stub_scores_zero_against_students_who_left_stub_code_in_place(comparison):
    found = scores(comparison)
    for stub_like in ("frank", FORMULA_ID):  # both handed in the stub as it is
        others = {k: v for k, v in found.items() if stub_like in k}
        assert others and max(others.values()) == 0.0, others
    by_id = {s.id: s for s in comparison.submissions}
    assert by_id["frank"].prints == {}
    # erin did the first six functions and left the rest of the stub: none of it counts
    starts = {span.first for spans in by_id["erin"].prints.values() for span in spans}
    last_done = solved(ERIN).splitlines().index("    return x[mask]") + 1
    assert starts and max(starts) <= last_done


def test_stub_code_two_students_left_in_place_is_no_match(tmp_path):
    """Three students, too few for anything to count as common: only the stub's removal
    keeps erin and hank, who both left functions 7 to 11 as the stub has them, apart."""
    (tmp_path / "erin.py").write_text(solved(ERIN))
    (tmp_path / "hank.py").write_text(solved(dict(list(BOB.items())[11:])))
    (tmp_path / "frank.py").write_text(STUB)
    found = scores(compare_class(HW1, tmp_path))
    assert found[frozenset(("erin", "frank"))] == found[frozenset(("frank", "hank"))] == 0.0
    assert found[frozenset(("erin", "hank"))] <= 0.05


def test_unreadable_entries_are_listed_as_skipped_with_their_reason(comparison):
    skipped = {s.id: s.reason for s in comparison.skipped}
    assert set(skipped) == set(SKIPPED)
    for sid, reason in SKIPPED.items():
        assert reason in skipped[sid]
    assert len(comparison.submissions) == 10


def test_pairs_csv_has_every_pair_highest_first(report, comparison):
    text = (report / "pairs.csv").read_text()
    assert text.splitlines()[0] == "a,b,similarity"
    rows = list(csv.DictReader(io.StringIO(text)))
    n = len(comparison.submissions)
    assert len(rows) == n * (n - 1) // 2
    values = [float(r["similarity"]) for r in rows]
    assert values == sorted(values, reverse=True) and 0 <= min(values) <= max(values) <= 1
    assert all(re.fullmatch(r"[01]\.\d{4}", r["similarity"]) for r in rows)
    assert {rows[0]["a"], rows[0]["b"]} == {"carol", "mallory"}
    raw = {as_text(s.id): s.id for s in comparison.submissions}  # ties: by id, as it was
    ties = [(raw[r["a"]], raw[r["b"]]) for r in rows if r["similarity"] == "0.0000"]
    assert len(ties) > 10 and ties == sorted(ties)
    ids = {r["a"] for r in rows} | {r["b"] for r in rows}
    assert "'" + FORMULA_ID in ids and FORMULA_ID not in ids  # never a formula
    assert EVIL_ID in ids


def test_the_page_lists_who_was_skipped_and_who_wrote_nothing_of_their_own(report):
    page = (report / "similarity.html").read_text()
    for sid, reason in SKIPPED.items():
        assert f"<tr><td>{sid}</td><td>skipped</td><td>{html_escaped(reason)}" in page
    assert "<tr><td>frank</td><td>compared</td><td>no code of its own beyond the stub" in page


def test_the_page_escapes_everything_a_student_wrote(report):
    page = (report / "similarity.html").read_text()
    assert "<img" not in page and "<script" not in page
    assert html_escaped(EVIL_ID) in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    assert "default-src 'none'" in page  # no script, nothing fetched, even by mistake
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"chromium is missing: .ci/run installs it ({CHROMIUM_INSTALL})")
    pytest.skip(f"needs a headless browser: {CHROMIUM_INSTALL}")


def test_the_page_renders_in_a_headless_browser_with_the_matches_highlighted(report, tmp_path):
    from PIL import Image

    browser, url = chromium(), (report / "similarity.html").as_uri()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    common.append(f"--user-data-dir={tmp_path / 'profile'}")
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=90
    ).stdout
    assert "1. carol and mallory: 0.9" in dom
    assert len(re.findall(r'<div class="l m0"', dom)) >= 4  # match 1, on both sides
    assert "<img" not in dom and "<script" not in dom  # nothing a student wrote became markup
    assert html_escaped(EVIL_ID) in dom
    shot = tmp_path / "page.png"
    subprocess.run(
        [*common, "--window-size=1400,2400", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=90,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    want = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    highlighted = sum(
        n
        for n, colour in image.getcolors(1 << 24) or []
        if max(abs(c - w) for c, w in zip(colour, want, strict=True)) <= 3
    )
    assert highlighted > 5000, highlighted  # a dozen highlighted lines at least


def test_usage_errors_exit_2_with_one_line(classroom, tmp_path):
    runner = CliRunner()
    cases = {
        ("hw99", str(classroom)): "unknown assignment 'hw99'",
        ("hw1", str(tmp_path / "nope")): "no such folder",
        ("hw1", str(classroom), "--out", str(classroom / "report")): "inside the submissions",
    }
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "alice.py").write_text(MALLORY)
    (lonely / "bob.zip").write_bytes(b"junk")
    cases["hw1", str(lonely)] = "1 submission to compare (need at least 2); skipped bob.zip"
    for args, message in cases.items():
        result = runner.invoke(main, ["similarity", *args, "--course", str(COURSE)])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
        assert "Traceback" not in result.output


def test_a_zip_and_a_notebook_are_compared_like_a_file(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "mallory.zip", "w") as zf:
        zf.writestr("hw1/tensor_ops.py", MALLORY)
    cell = {"cell_type": "code", "source": solved({"outer_sum": "return a[:, None] + b"})}
    (subs / "nina.ipynb").write_text(json.dumps({"nbformat": 4, "cells": [cell]}))
    (subs / "dan.py").write_text(MALLORY)
    found = write_similarity(HW1, subs, tmp_path / "out")
    assert [s.id for s in found.submissions] == ["dan", "mallory", "nina"]
    assert found.pairs[0].similarity == 1.0 and found.pairs[0].shared > 100


@pytest.mark.slow
def test_grade_with_similarity_writes_the_same_report_into_the_gradebook():
    root = Path(tempfile.mkdtemp(prefix=".grader-similarity-", dir=COURSE.parent))
    try:
        subs = root / "submissions"
        paths = write_class(subs)
        for sid, path in paths.items():
            if sid not in ("erin", "frank"):  # quick ones: what is graded is not the point
                path.unlink()
        (subs / "ivan.py").write_text(paths["erin"].read_text().replace("mask", "keep"))
        for path in [root, subs, *subs.iterdir()]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        out = root / "gradebook"
        proc = run_cli("grade", "hw1", str(subs), "--out", str(out), "--similarity", "-j", "1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (out / "grades.csv").is_file()
        alone = write_similarity(HW1, subs, root / "alone")
        assert (out / "similarity/pairs.csv").read_text() == (root / "alone/pairs.csv").read_text()
        top = alone.pairs[0]
        assert [alone.submissions[i].id for i in (top.a, top.b)] == ["erin", "ivan"]
        assert top.similarity == 1.0 and len(alone.pairs) == 3
        assert "ivan" in (out / "similarity/similarity.html").read_text()
        assert "pairs:" in proc.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)
