"""Hostile hand-ins at intake. Nothing is followed and nothing blocks: symbolic links, FIFOs,
sockets and devices are refused with a note (or, as a whole entry, an "unreadable" reason);
every student file is opened with O_NOFOLLOW | O_NONBLOCK; the content hash covers exactly
what is graded; whatever cannot be read or parsed is a SubmissionError with a reason, never
another exception; any student id gets safe file names; no gradebook cell runs as a formula."""

from __future__ import annotations

import builtins
import csv
import io
import json
import os
import re
import shutil
import socket
import stat
import zipfile
from pathlib import Path

import pytest
from conftest import COURSE, run_cli

from grader.batch.engine import Batch, config_hash, plan
from grader.batch.records import Record, file_stem, load_record, save_record
from grader.course import load_assignment
from grader.errors import SubmissionError
from grader.intake import files
from grader.intake.archive import read_python
from grader.intake.entries import Entry, content_hash, scan, unpack
from grader.intake.submission import gather, prepare
from grader.judge.forbidden import find_violations
from grader.outputs.feedback import feedback_markdown
from grader.outputs.gradebook import grades_csv
from grader.outputs.schema import CheckResult, GradeResult

SPEC = load_assignment(COURSE, "hw1")
REFERENCE = COURSE / "reference/hw1"
CODE = "def arange_grid(rows, cols):\n    return None\n"
LONG_SUM = "x = " + "+".join(["1"] * 300_000) + "\n"  # ast/compile: RecursionError
DEEP_JSON = '{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}"
LINK, FIFO = stat.S_IFLNK | 0o777, stat.S_IFIFO | 0o644


def special_files(folder: Path) -> dict[str, str]:
    """A FIFO, a socket and (where this process may make one) a device in `folder`: each
    file's name, and what a note calls it."""
    os.mkfifo(folder / "pipe.py")
    made = {"pipe.py": "a named pipe (FIFO)", "sock.py": "a socket"}
    here = os.getcwd()
    os.chdir(folder)  # a socket's path must be short
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("sock.py")
    finally:
        os.chdir(here)
    try:
        os.mknod(folder / "null.py", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        made["null.py"] = "a device"
    except (PermissionError, AttributeError):
        pass
    return made


def make_zip(path: Path, members: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    """A zip of `members`; those in `modes` get that Unix mode (a link, a FIFO, ...)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
    return path


def notebook(*cells: str) -> str:
    return json.dumps(
        {"nbformat": 4, "cells": [{"cell_type": "code", "source": cell} for cell in cells]}
    )


def entry_of(path: Path) -> Entry:
    (entry,) = [e for e in scan(path.parent)[0] if e.path == path]
    return entry


# -- links and special files ----------------------------------------------------------------


@pytest.mark.timeout(60)  # a FIFO opened for reading would block here
def test_entries_that_are_links_or_special_files_are_unreadable_with_the_reason(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice/tensor_ops.py").write_text(CODE)
    os.symlink(tmp_path / "alice", subs / "mallory")  # another student's folder
    os.symlink(REFERENCE / "tensor_ops.py", subs / "trudy.py")  # the reference
    os.symlink(REFERENCE, subs / "oscar")
    os.symlink(subs / "nowhere", subs / "dangling.zip")
    made = special_files(subs)
    entries, _ = scan(subs)
    problems = {e.id: e.problem for e in entries if e.kind == "unreadable"}
    stems = [name.removesuffix(".py") for name in made]
    assert sorted(problems) == sorted(["mallory", "trudy", "oscar", "dangling", *stems])
    for sid, name in [("mallory", "mallory"), ("trudy", "trudy.py"), ("oscar", "oscar")]:
        assert problems[sid].startswith(f"{name} is a symbolic link: not graded"), problems[sid]
    for name, what in made.items():
        want = f"{name} is {what}, not a regular file or folder: not graded"
        assert problems[name.removesuffix(".py")] == want
    for entry in entries:
        assert content_hash(entry, SPEC)
        with pytest.raises(SubmissionError, match=re.escape(entry.problem)):
            unpack(entry, SPEC, tmp_path)


@pytest.mark.timeout(60)
def test_a_folder_is_a_tree_of_regular_files_and_every_refusal_is_a_note(tmp_path):
    other = tmp_path / "alice.py"
    other.write_text("stolen = 1\n")
    bob = tmp_path / "subs/bob"
    (bob / "pkg").mkdir(parents=True)
    (bob / ".git").mkdir()
    (bob / "tensor_ops.py").write_text(CODE)
    (bob / "pkg/util.py").write_text("u = 1\n")
    os.symlink(other, bob / "link.py")
    os.symlink(REFERENCE, bob / "hw")
    os.symlink(other, bob / "pkg/inner.py")
    os.symlink(other, bob / "evil\nname.py")
    os.symlink(other, bob / ".git/hook.py")  # inside a folder that never counts: silent
    made = special_files(bob / "pkg")
    hand_in = gather(bob, SPEC, "bob")
    assert sorted(hand_in.files) == ["pkg/util.py", "tensor_ops.py"]
    assert sorted(hand_in.notes) == sorted(
        [
            "bob/hw is a symbolic link: not graded",
            "bob/link.py is a symbolic link: not graded",
            "bob/evil\\nname.py is a symbolic link: not graded",
            "bob/pkg/inner.py is a symbolic link: not graded",
            *(f"bob/pkg/{name} is {what}: not graded" for name, what in made.items()),
        ]
    )
    target, notes = unpack(entry_of(bob), SPEC, tmp_path)
    assert notes == hand_in.notes
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.py"))
    assert written == sorted(hand_in.files)
    prepared = prepare(bob, SPEC)  # what `grader check --submission bob` does
    try:
        assert [p.relative_to(prepared.work).as_posix() for p in prepared.sources] == written
        assert all(stat.S_ISREG(p.lstat().st_mode) for p in prepared.sources)
        assert sorted(n.replace(str(bob), "bob") for n in prepared.notes) == sorted(hand_in.notes)
    finally:
        shutil.rmtree(prepared.tmp)


@pytest.mark.parametrize(
    "layout, reason",
    [
        ({"tensor_ops.py": "other"}, "bob/tensor_ops.py is a symbolic link: not graded"),
        ({"hw": "reference"}, "bob/hw is a symbolic link: not graded"),
        ({"repo/tensor_ops.py": "other"}, "bob/repo/tensor_ops.py is a symbolic link"),
        ({"tensor_ops.py": "fifo"}, "bob/tensor_ops.py is a named pipe (FIFO): not graded"),
    ],
)
@pytest.mark.timeout(60)
def test_a_module_reached_only_through_a_link_or_a_pipe_is_not_graded(tmp_path, layout, reason):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice/tensor_ops.py").write_text(CODE)
    targets = {"other": tmp_path / "alice/tensor_ops.py", "reference": REFERENCE}
    bob = tmp_path / "subs/bob"
    for rel, what in layout.items():
        (bob / rel).parent.mkdir(parents=True, exist_ok=True)
        if what == "fifo":
            os.mkfifo(bob / rel)
        else:
            os.symlink(targets[what], bob / rel)
    entry = entry_of(bob)
    assert content_hash(entry, SPEC)
    with pytest.raises(SubmissionError, match=re.escape(reason)) as info:
        unpack(entry, SPEC, tmp_path)
    assert "no tensor_ops.py here or one folder down" in str(info.value)


def test_the_content_hash_covers_exactly_what_is_graded(tmp_path):
    dave = tmp_path / "subs/dave"
    (dave / "repo").mkdir(parents=True)
    (dave / "scratch").mkdir()
    (dave / "repo/tensor_ops.py").write_text(CODE)
    (dave / "setup.py").write_text("x = 1\n")
    (dave / "scratch/try.py").write_text("y = 1\n")
    entry = entry_of(dave)
    first = content_hash(entry, SPEC)
    (dave / "setup.py").write_text("x = 2\n")  # outside the module's folder: not graded
    (dave / "scratch/try.py").write_text("y = 2\n")
    (dave / "repo/README.md").write_text("notes")
    assert content_hash(entry, SPEC) == first
    (dave / "repo/helper.py").write_text("h = 1\n")  # graded: it is copied next to the module
    second = content_hash(entry, SPEC)
    os.symlink(dave / "setup.py", dave / "repo/link.py")  # its note is part of the result
    third = content_hash(entry, SPEC)
    assert len({first, second, third}) == 3
    prepared = prepare(dave, SPEC)
    try:
        assert [p.name for p in prepared.sources] == ["helper.py", "tensor_ops.py"]
        assert prepared.notes == [f"{dave}/repo/link.py is a symbolic link: not graded"]
    finally:
        shutil.rmtree(prepared.tmp)


def test_every_student_file_is_opened_without_following_links_or_blocking(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    (subs / "ann/pkg").mkdir(parents=True)
    (subs / "ann/tensor_ops.py").write_text(CODE)
    (subs / "ann/pkg/util.py").write_text("u = 1\n")
    (subs / "ben.py").write_text(CODE)
    make_zip(subs / "cat.zip", {"cat/tensor_ops.py": CODE})
    (subs / "dan.ipynb").write_text(notebook(CODE))
    opened: list[tuple[str, int]] = []
    os_open, io_open = os.open, io.open

    def spy(path, flags, *args, **kwargs):
        opened.append((os.fspath(path), flags))
        return os_open(path, flags, *args, **kwargs)

    def refuse(path, *args, **kwargs):
        assert not str(path).startswith(str(subs)), f"{path} opened with open()"
        return io_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    entries, _ = scan(subs)
    for entry in entries:
        content_hash(entry, SPEC)
        (tmp_path / entry.id).mkdir()
        unpack(entry, SPEC, tmp_path / entry.id)
    reads = [(path, flags) for path, flags in opened if not flags & os.O_CREAT]
    assert len(reads) >= 8
    for path, flags in reads:
        assert flags & os.O_NOFOLLOW and flags & os.O_NONBLOCK, path


@pytest.mark.timeout(60)
def test_zip_members_that_are_links_or_special_files_are_notes_not_files(tmp_path):
    modes = {
        "ann/hw": LINK,
        "ann/link.py": LINK,
        "ann/pipe.py": FIFO,
        "ann/dev.py": stat.S_IFCHR | 0o644,
        "ann/sock.py": stat.S_IFSOCK | 0o755,
        "ann/plain.py": 0,  # a zip tool that records no Unix mode
    }
    members = {name: str(REFERENCE) for name in modes} | {"ann/tensor_ops.py": CODE}
    hand_in = read_python(make_zip(tmp_path / "ann.zip", members, modes), "ann.zip")
    assert sorted(hand_in.files) == ["plain.py", "tensor_ops.py"]
    assert sorted(hand_in.notes) == [
        "ann.zip/ann/dev.py is a device: not graded",
        "ann.zip/ann/hw is a symbolic link: not graded",
        "ann.zip/ann/link.py is a symbolic link: not graded",
        "ann.zip/ann/pipe.py is a named pipe (FIFO): not graded",
        "ann.zip/ann/sock.py is a socket: not graded",
    ]


def test_refusals_beyond_the_first_twenty_are_counted_in_one_note(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "tensor_ops.py").write_text(CODE)
    for i in range(25):
        os.symlink(REFERENCE, ann / f"link{i:02}")
    notes = gather(ann, SPEC, "ann").notes
    assert (
        len(notes) == 21 and notes[-1] == "ann: 5 more symbolic links or special files: not graded"
    )


def test_a_folder_nested_too_deep_is_left_out_with_a_note(tmp_path):
    ann = tmp_path / "ann"
    deep = ann.joinpath(*["d"] * (files.MAX_FOLDER_DEPTH + 3))
    deep.mkdir(parents=True)
    (deep / "x.py").write_text("x = 1\n")
    (ann / "tensor_ops.py").write_text(CODE)
    hand_in = gather(ann, SPEC, "ann")
    assert list(hand_in.files) == ["tensor_ops.py"]
    assert [n for n in hand_in.notes if f"more than {files.MAX_FOLDER_DEPTH} folders deep" in n]


# -- whatever cannot be read or parsed: the entry's reason ----------------------------------


def _utf8_flag_with_a_bad_name(path: Path) -> None:
    make_zip(path, {"tensor_ops.py": CODE})
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 9] |= 0x08  # general purpose flag bit 11: "the names are UTF-8"
    data[data.find(b"tensor_ops.py", central)] = 0xFF  # ... but this one is not
    path.write_bytes(bytes(data))


def _corrupt_deflate(path: Path) -> None:
    make_zip(path, {"tensor_ops.py": "".join(f"x{i} = {i * 7919}\n" for i in range(5000))})
    data = bytearray(path.read_bytes())
    for i in range(200, 400):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _unknown_compression(path: Path) -> None:
    make_zip(path, {"tensor_ops.py": CODE})
    data = bytearray(path.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(header) + (8 if header == b"PK\x03\x04" else 10)
        data[at : at + 2] = (99).to_bytes(2, "little")  # no such method
    path.write_bytes(bytes(data))


HOSTILE = {
    "deep.ipynb": (lambda p: p.write_text(DEEP_JSON), "nested too deeply for the grader"),
    "sum.ipynb": (
        lambda p: p.write_text(notebook(LONG_SUM)),
        "code cell 1 is too deeply nested for the grader to analyse",
    ),
    "surrogate.ipynb": (
        lambda p: p.write_text(notebook("x = '\ud800'\n")),
        "code cell 1 holds text that is not valid Unicode",
    ),
    "latin1.ipynb": (
        lambda p: p.write_bytes(notebook("x = 'é'\n").replace("\\u00e9", "é").encode("latin-1")),
        "not a readable Jupyter notebook",
    ),
    "list.ipynb": (lambda p: p.write_text("[" * 50 + "]" * 50), "not a Jupyter notebook"),
    "huge.ipynb": (lambda p: p.write_bytes(b" " * (21 << 20)), "larger than 20 MiB"),
    "badname.zip": (_utf8_flag_with_a_bad_name, "not a readable .zip archive"),
    "corrupt.zip": (_corrupt_deflate, "cannot be unpacked"),
    "method.zip": (_unknown_compression, "cannot be unpacked"),
    "longname.zip": (
        lambda p: make_zip(p, {"x" * 300 + "/tensor_ops.py": CODE, "a.py": ""}),
        "cannot be unpacked (File name too long)",
    ),
    "clash.zip": (
        lambda p: make_zip(p, {"a.py": "", "a.py/tensor_ops.py": CODE}),
        "or as both a file and a folder",
    ),
    "huge.py": (lambda p: p.write_bytes(b"#" * (21 << 20)), "larger than 20 MiB"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_what_cannot_be_read_or_parsed_is_the_entrys_reason(tmp_path, name):
    make, reason = HOSTILE[name]
    make(tmp_path / name)
    entry = entry_of(tmp_path / name)
    assert content_hash(entry, SPEC) == content_hash(entry, SPEC)
    (tmp_path / "tmp").mkdir()
    with pytest.raises(SubmissionError, match=re.escape(reason)) as info:
        unpack(entry, SPEC, tmp_path / "tmp")
    assert str(info.value).startswith(name.split(".")[0])  # it names the hand-in


def test_a_file_that_cannot_be_read_is_the_entrys_reason(tmp_path, monkeypatch):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "tensor_ops.py").write_text(CODE)
    (ann / "secret.py").write_text("")
    os_open = os.open

    def denied(path, *args, **kwargs):
        if os.fspath(path) == "secret.py":
            raise PermissionError(13, "Permission denied")
        return os_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(SubmissionError, match=r"ann/secret.py: cannot be read \(Permission denied"):
        gather(ann, SPEC, "ann")
    monkeypatch.setattr(files, "MAX_ENTRIES", 1)
    with pytest.raises(SubmissionError, match="more than 1 files and folders"):
        gather(ann, SPEC, "ann")


def test_the_forbidden_api_scan_fails_cleanly_on_code_too_deep_to_analyse(tmp_path):
    deep = tmp_path / "tensor_ops.py"
    deep.write_text(LONG_SUM)
    for apis in (["torch.autograd"], []):  # whether or not the assignment forbids anything
        with pytest.raises(SubmissionError, match="tensor_ops.py: too deeply nested for the grad"):
            find_violations([deep], apis)
    nul = tmp_path / "nul.py"
    nul.write_bytes(b"x = 1\0\n")  # not Python: the worker's import says so
    assert find_violations([nul], ["torch.autograd"]) == {}


@pytest.mark.parametrize("assignment", ["hw1", "hw2"])  # hw2 forbids APIs, hw1 does not
def test_grader_check_on_code_too_deep_to_analyse_is_one_clear_line(tmp_path, assignment):
    deep = tmp_path / "deep.py"
    deep.write_text(LONG_SUM)
    proc = run_cli("check", assignment, "--submission", str(deep))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "too deeply nested for the grader to analyse" in line
    assert "split it into smaller statements" in line


# -- any student id: safe file names, records found again, no formulas --------------------

IDS = [
    "alice",
    "Alice",
    "L" * 245,
    "zoë ünïcode",
    "new\nline",
    "..",
    "-rf",
    ".hidden",
    "a~b",
    '=HYPERLINK("http://evil.example","click")',
    "x" * 100,
    "x" * 101,
    "",
    "bad\\xffbyte",
]


def test_any_student_id_gets_a_short_safe_file_name_of_its_own():
    stems = [file_stem(sid) for sid in IDS]
    assert len({s.lower() for s in stems}) == len(IDS)  # distinct on a case-insensitive disk too
    for stem in stems:
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.~-]{0,99}", stem), stem
    assert file_stem("alice") == "alice" and file_stem("x" * 100) == "x" * 100
    assert file_stem("Alice") != "Alice" and file_stem("..") != ".."


def a_record(sid: str, entry: str, digest: str, config: str) -> Record:
    check = CheckResult("test_a", "a check", "public", "passed", 1.0, 1.0)
    result = GradeResult(assignment="hw1", title="T", submission=entry, seed=1, checks=[check])
    return Record(sid, entry, "py", digest, config, "graded", result)


def test_results_of_any_id_are_found_again_and_kept_by_a_rerun(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    usable = [sid for sid in IDS if sid and sid[0] != "." and "/" not in sid and "\\" not in sid]
    names = [f"{sid}.py" for sid in usable] + ["bad\udcffbyte.py"]  # not UTF-8 on disk
    for name in names:
        (submissions / name).write_text(CODE)
    batch = Batch.create(
        SPEC,
        submissions,
        course=COURSE,
        out=tmp_path / "out",
        jobs=1,
        timeout_s=10,
        seed=None,
        force=False,
    )
    config = config_hash(SPEC, seed=batch.seed, timeout_s=batch.timeout_s)
    first = plan(batch, config)
    assert len(first.todo) == len(names)
    for entry in first.todo:
        record = a_record(entry.id, entry.name, first.digests[entry.id], config)
        save_record(batch.result_path(entry.id), record)
    again = plan(batch, config)
    assert again.kept == len(names) and again.todo == [] and again.problems == []
    assert {batch.load(e.id).id for e in again.entries} == {e.id for e in again.entries}
    # results of an earlier layout (results/<id>.json), or of another id, are not this id's
    save_record(batch.result_path("Alice"), a_record("alice", "Alice.py", "h", config))
    save_record(batch.results_dir / "Alice.json", a_record("Alice", "Alice.py", "h", config))
    assert [e.id for e in plan(batch, config).todo] == ["Alice"]
    assert load_record(batch.result_path("Alice"), "Alice") is None


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+1",
        "-1+2",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        " =2+2",
    ],
)
def test_no_gradebook_cell_runs_as_a_spreadsheet_formula(value):
    rows = [a_record("ann", "ann.py", "h", "c"), a_record(value, f"{value}.py", "h", "c")]
    rows[1].status, rows[1].error = "unreadable", value
    parsed = list(csv.reader(io.StringIO(grades_csv(rows), newline="")))
    assert parsed[1] == ["ann", "1", "1", "100", "graded", ""]
    assert parsed[2][0] == "'" + value and parsed[2][-1] == "'" + value
    assert parsed[2][1:4] == ["1", "1", "100"]


def test_feedback_shows_an_odd_id_on_one_line():
    text = feedback_markdown(a_record("new\nline", "new\nline.py", "h", "c"))
    assert "Feedback for **new\\nline** (you handed in `new\\nline.py`)." in text
    assert files.printable("bad\udcffbyte \u202e") == "bad\\xffbyte \\u202e"
    assert files.printable("a lone \ud800").encode() == b"a lone \\ud800"  # valid text
