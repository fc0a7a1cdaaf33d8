"""`grader export gradescope`: the autograder zip, unpacked into a folder laid out like
/autograder and run there the way Gradescope runs it (as root, `unshare` refused)."""

import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import COURSE, reference_with, run_cli
from schemas import validate_gradescope

from grader.course import load_assignment
from grader.errors import ConfigError, SubmissionError
from grader.outputs.redact import HIDDEN_WITHHELD
from grader.release.autograder import GRADER_FAILED_TEXT, Settings, find_submission
from grader.release.gradescope import export
from grader.sandbox.confine import UID_BASE, closed_to_others
from grader.sandbox.rootfs import runtime_paths

HW1 = load_assignment(COURSE, "hw1")
TOTAL = 27  # hw1's points, hidden checks included
JUNK = ("__pycache__/tensor_ops.cpython-311.pyc", ".git/HEAD", ".pytest_cache/README.md")


@pytest.fixture(scope="module")
def scratch():
    """A world-readable folder outside /tmp (the worker's view of /tmp is not the judge's)."""
    folder = Path(tempfile.mkdtemp(prefix=".grader-gradescope-", dir=COURSE.parent))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def autograder_zip(scratch) -> Path:
    """The zip of hw1, exported by the real command from a course that also holds hw2 and
    caches, a .git folder and pytest's cache inside hw1's folders."""
    course = scratch / "course"
    for part in ("assignments/hw1", "assignments/hw2", "reference/hw1", "reference/hw2"):
        shutil.copytree(COURSE / part, course / part)
    for folder in (course / "assignments/hw1", course / "reference/hw1"):
        for junk in JUNK:
            (folder / junk).parent.mkdir(parents=True, exist_ok=True)
            (folder / junk).write_text("junk")
    out = scratch / "autograder.zip"
    proc = run_cli("export", "gradescope", "hw1", "--out", str(out), "--course", str(course))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "23 checks (5 hidden), 27 points" in proc.stdout
    return out


def test_the_zip_holds_the_two_scripts_and_this_assignment_only(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    names = sorted(modes)
    print(f"{len(names)} files:", [n for n in names if not n.startswith("package/grader/")])
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_ISREG(modes[script]) and stat.S_IMODE(modes[script]) == 0o755
    assert "course/reference/hw1/tensor_ops.py" in names
    assert "course/assignments/hw1/checks/hidden/test_hidden_shapes.py" in names
    assert "course/assignments/hw1/assignment.toml" in names
    assert "package/grader/release/autograder.py" in names and "package/pyproject.toml" in names
    tops = {"setup.sh", "run_autograder", "requirements.txt", "autograder.json"}
    allowed = ("package/", "course/assignments/hw1/", "course/reference/hw1/")
    assert [n for n in names if n not in tops and not n.startswith(allowed)] == []
    parts = {part for n in names for part in n.split("/")}
    assert not parts & {"hw2", ".git", "__pycache__", ".pytest_cache", "results.json"}
    assert not [n for n in names if n.endswith(".pyc")]
    assert all(stat.S_IMODE(m) == 0o644 for n, m in modes.items() if n not in tops)


def test_setup_sh_is_bash_that_pins_every_dependency_and_torchs_cpu_build(autograder_zip, scratch):
    with zipfile.ZipFile(autograder_zip) as zf:
        setup = zf.read("setup.sh").decode()
        pins = zf.read("requirements.txt").decode().splitlines()
    (scratch / "setup.sh").write_text(setup)
    proc = subprocess.run(["bash", "-n", str(scratch / "setup.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    torch = f"torch=={metadata.version('torch').split('+')[0]}+cpu"
    assert f'--index-url https://download.pytorch.org/whl/cpu "{torch}"' in setup
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert f"{python} -m venv" in setup
    assert '-r "$source_dir/requirements.txt"' in setup and '"$source_dir/package"' in setup
    assert torch in pins
    pinned = dict(line.split("==") for line in pins)
    for direct in ("numpy", "pytest", "click", "rich", "scikit-learn", "scipy", "sympy"):
        assert pinned[direct] == metadata.version(direct), direct  # dependencies' too


def test_export_refuses_what_would_not_work_on_gradescope(tmp_path):
    settings = Settings("hw1")
    with pytest.raises(ConfigError, match=r"Gradescope takes a \.zip file"):
        export(COURSE, "hw1", tmp_path / "autograder.tar", zygote=None, settings=settings)
    (tmp_path / "old.zip").write_text("")
    with pytest.raises(ConfigError, match="exists; pass --force to replace it"):
        export(COURSE, "hw1", tmp_path / "old.zip", zygote=None, settings=settings)
    course = tmp_path / "course"
    shutil.copytree(HW1.root, course / "assignments/hw1")
    shutil.copytree(HW1.reference, course / "reference/hw1")
    toml = course / "assignments/hw1/assignment.toml"
    toml.write_text(
        toml.read_text().replace("[assignment]\n", '[assignment]\ndata_dir = "/srv/mnist"\n')
    )
    with pytest.raises(
        ConfigError, match="data_dir '/srv/mnist' must be a folder inside the course"
    ):
        export(course, "hw1", tmp_path / "new.zip", zygote=None, settings=settings)
    assert not (tmp_path / "new.zip").exists() and not list(tmp_path.glob(".new-*"))
    with pytest.raises(ConfigError, match="hidden_visibility must be one of"):
        Settings("hw1", hidden_visibility="students")


# ----------------------------------------------------------------------------- running it


def _gradescope_like() -> list[str]:
    """The command prefix that runs a command as Gradescope does: as root but without
    CAP_SYS_ADMIN, so `unshare` is refused (setpriv). Where the Python runtime sits under a
    folder closed to other users (pyenv in /root), a private mount namespace first opens that
    folder as /usr/lib/python3 is open on Gradescope. As another user: nothing to add."""
    if os.geteuid() != 0:
        return []
    if not (shutil.which("setpriv") and shutil.which("unshare")):
        pytest.skip("setpriv and unshare (util-linux) are needed to run as Gradescope does")
    setpriv = ["setpriv", "--bounding-set=-sys_admin", "--"]
    closed = closed_to_others(runtime_paths())
    if closed is None:
        return setpriv
    inside = [p for p in runtime_paths() if p.startswith(closed.rstrip("/") + "/")]
    keep = sorted({p[len(closed) :].strip("/").split("/")[0] for p in inside})
    script = (
        'orig="$(mktemp -d)" && mount --bind "$0" "$orig" && '
        'mount -t tmpfs -o mode=0755,size=1m tmpfs "$0" && '
        + "".join(f'mkdir "$0/{k}" && mount --bind "$orig/{k}" "$0/{k}" && ' for k in keep)
        + 'umount -l "$orig" && exec "$@"'
    )
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "bash",
        "-c",
        script,
        closed,
    ] + setpriv


def run_autograder(
    zip_path: Path, scratch: Path, submission: dict[str, str], root: Path | None = None, **env
):
    """Unpack the zip as Gradescope does into a fresh ROOT (source/, run_autograder, the
    submission's files, results/), run ROOT/run_autograder with the current Python and the
    zip's copy of the grader; returns (the process, results.json). ROOT must not exist yet."""
    root = root or Path(tempfile.mkdtemp(prefix="autograder-", dir=scratch))
    root.mkdir(exist_ok=True)
    os.chmod(root, 0o755)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    for name, content in submission.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (root / "results").mkdir()
    env = {
        **os.environ,
        "GRADER_AUTOGRADER_ROOT": str(root),
        "GRADER_AUTOGRADER_PYTHON": sys.executable,
        "PYTHONPATH": str(root / "source" / "package"),
        **env,
    }
    proc = subprocess.run(
        [*_gradescope_like(), str(root / "run_autograder")],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd="/",
    )
    print(proc.stdout[-6000:], proc.stderr[-3000:])
    results = root / "results" / "results.json"
    data = json.loads(results.read_text()) if results.exists() else None
    if data is not None:
        assert validate_gradescope(data) == [], data
    return proc, data


PROBE = """
import os as _os
def _can_read(path):
    return "readable" if _os.access(path, _os.R_OK) else "closed"
print("PROBE uid", _os.getuid(), "oom_score_adj", open("/proc/self/oom_score_adj").read().strip())
for _what, _path in SECRETS.items():
    print("PROBE", _what, _can_read(_path))
try:
    open(RESULTS, "w").write('{"score": 1000}')
    print("PROBE results.json written")
except OSError:
    print("PROBE results.json not written")
"""


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root")
def test_a_correct_submission_gets_full_marks_and_cannot_read_the_course_as_on_gradescope(
    autograder_zip, scratch
):
    root = scratch / "probe-root"
    secrets = {
        "reference": f"{root}/source/course/reference/hw1/tensor_ops.py",
        "hidden checks": f"{root}/source/course/assignments/hw1/checks/hidden",
        "autograder.json": f"{root}/source/autograder.json",
        "/etc/shadow": "/etc/shadow",
    }
    probe = f"SECRETS = {secrets!r}\nRESULTS = {str(root / 'results/results.json')!r}\n" + PROBE
    source = (HW1.reference / "tensor_ops.py").read_text() + probe
    proc, data = run_autograder(autograder_zip, scratch, {"tensor_ops.py": source}, root=root)
    assert proc.returncode == 0, proc.stderr
    assert data["score"] == TOTAL and len(data["tests"]) == 23
    assert all(t["status"] == "passed" for t in data["tests"])
    hidden = [t for t in data["tests"] if "hidden" in t["tags"]]
    assert len(hidden) == 5 and {t["visibility"] for t in hidden} == {"after_published"}
    assert data["stdout_visibility"] == "hidden"
    notes = data["extra_data"]["sandbox_notes"]
    assert any(n.startswith("namespaces unavailable") for n in notes), notes
    assert any("a user of its own" in n for n in notes), notes
    assert "sandbox" not in data["output"]  # the sandbox's state is for instructors
    seen = {
        line.split("PROBE ", 1)[1].strip(" │")
        for line in proc.stdout.splitlines()
        if "PROBE " in line
    }
    print("what the student's code found:", sorted(seen))
    uid = next(int(s.split()[1]) for s in seen if s.startswith("uid "))
    assert uid >= UID_BASE and "oom_score_adj 1000" in next(s for s in seen if "uid" in s)
    assert {"reference closed", "hidden checks closed", "autograder.json closed"} <= seen
    assert "/etc/shadow closed" in seen and "results.json not written" in seen
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@pytest.mark.slow
def test_a_wrong_submission_in_a_folder_loses_points_and_hidden_details_stay_hidden(
    autograder_zip, scratch, tmp_path
):
    wrong = reference_with(
        "hw1", tmp_path, {"images.permute(0, 2, 3, 1)": "images.permute(0, 3, 2, 1)"}
    )
    proc, data = run_autograder(
        autograder_zip, scratch, {"my-work/tensor_ops.py": wrong.read_text()}
    )
    assert proc.returncode == 0, proc.stderr
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and data["score"] == TOTAL - sum(t["max_score"] for t in failed)
    public = [t for t in failed if "public" in t["tags"]]
    hidden = [t for t in failed if "hidden" in t["tags"]]
    assert [t["name"].split()[0] for t in public + hidden] == ["channels_last"] * 2
    assert "channels_last(x) has the wrong shape: got (2, 5, 4, 3)" in public[0]["output"]
    assert {t["output"] for t in hidden} == {HIDDEN_WITHHELD}
    hidden_input = "for x of shape (1, 1, 3, 7)"  # the hidden check's detail: instructors only
    assert hidden_input in proc.stdout and hidden_input not in json.dumps(data)


NOTEBOOK = json.dumps(
    {"nbformat": 4, "cells": [{"cell_type": "code", "source": "%matplotlib inline\nX = 1\n"}]}
)
MODULE = "X = 1\n"


def _zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "files, where, graded",
    [
        ({"tensor_ops.py": MODULE, "notes.md": "", "b.ipynb": NOTEBOOK}, "your submission", ""),
        ({"repo/tensor_ops.py": MODULE, "repo/.git/HEAD": ""}, "your submission", "repo/"),
        (
            {"assignments/hw1/tensor_ops.py": MODULE, "assignments/hw2/backprop.py": ""},
            "your submission/assignments/hw1",
            "",
        ),
        ({"hw1.ipynb": NOTEBOOK, "README.md": ""}, "hw1.ipynb", ""),
        ({"work/hw1.ipynb": NOTEBOOK}, "hw1.ipynb", ""),
        ({"mine.zip": _zipped({"hw1/tensor_ops.py": MODULE})}, "mine.zip", ""),
        ({"my_ops.py": MODULE, "data.csv": ""}, "my_ops.py", ""),
    ],
    ids=["module", "one folder down", "release repo", "notebook", "zipped folder", "zip", "py"],
)
def test_run_autograder_finds_the_module_in_what_gradescope_hands_over(
    tmp_path, files, where, graded
):
    folder = tmp_path / "submission"
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode()
        (folder / name).write_bytes(data)
    (tmp_path / "unpacked").mkdir()
    path, found, notes = find_submission(folder, HW1, tmp_path / "unpacked")
    assert found == where
    module = path / graded / "tensor_ops.py" if path.is_dir() else path
    assert "X = 1" in module.read_text()
    if where.endswith(".ipynb"):
        assert any("%matplotlib" in n for n in notes), notes
    if where == "my_ops.py":
        assert notes == ["my_ops.py was graded as tensor_ops.py"]


@pytest.mark.parametrize(
    "files, problem",
    [
        ({}, "your submission is empty: upload tensor_ops.py"),
        ({"a.ipynb": NOTEBOOK, "b.ipynb": NOTEBOOK}, "2 .ipynb files (a.ipynb, b.ipynb)"),
        ({"x/tensor_ops.py": MODULE, "y/tensor_ops.py": MODULE}, "more than one tensor_ops.py"),
        ({"mine.zip": _zipped({"hw1/ops.py": MODULE})}, "mine.zip: no tensor_ops.py here"),
    ],
)
def test_run_autograder_says_what_it_cannot_grade(tmp_path, files, problem):
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "unpacked").mkdir()
    with pytest.raises(SubmissionError, match=re.escape(problem)):
        find_submission(folder if files else tmp_path / "nothing", HW1, tmp_path / "unpacked")


def test_a_submission_without_the_module_is_graded_0_with_the_reason(autograder_zip, scratch):
    proc, data = run_autograder(
        autograder_zip, scratch, {"notes.txt": "see attached", "draft/ops.txt": ""}
    )
    assert proc.returncode == 0, proc.stderr
    assert data["score"] == 0 and data["tests"] == []
    assert "no tensor_ops.py" in data["output"] and "notes.txt, draft" in data["output"]
    assert "Upload tensor_ops.py itself" in data["output"]


@pytest.mark.parametrize("broken", ["no Python", "no course in the zip"])
def test_when_the_grader_itself_fails_results_json_says_so(autograder_zip, scratch, broken):
    zip_path, env = autograder_zip, {}
    if broken == "no Python":
        env = {"GRADER_AUTOGRADER_PYTHON": str(scratch / "no-such-python")}
    else:
        zip_path = scratch / "without-course.zip"
        with zipfile.ZipFile(autograder_zip) as src, zipfile.ZipFile(zip_path, "w") as dst:
            for info in src.infolist():
                if not info.filename.startswith("course/"):
                    dst.writestr(info, src.read(info))
    proc, data = run_autograder(zip_path, scratch, {"tensor_ops.py": "x = 1\n"}, **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert data["output"] == GRADER_FAILED_TEXT and data["score"] == 0
    assert "error:" in proc.stderr  # what went wrong, for the instructor's log
