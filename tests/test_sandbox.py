"""The worker's sandbox: what is in force, and graceful degradation where it is not."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import COURSE, by_id, reference_with, run_cli, stub_with


def test_without_namespaces_grading_still_works_and_the_report_says_so_once(tmp_path):
    proc = run_cli(
        "check", "hw1", "--submission", "reference/hw1", env={"GRADER_NO_NAMESPACES": "1"}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("sandbox: namespaces turned off") == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")
def test_worker_has_no_network_and_its_own_user(grade_with, tmp_path):
    code = (
        "import os, socket\n"
        "print('uid', os.getuid(), 'pid', os.getpid())\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "    print('network: reachable')\n"
        "except OSError as exc:\n"
        "    print('network:', type(exc).__name__)\n"
    )
    result = grade_with("hw1", stub_with("hw1", tmp_path, code))
    assert "network: reachable" not in result.output
    assert (
        "network: OSError" in result.output
        or "network: ConnectionRefusedError" in result.output
        or "Unreachable" in result.output
    )
    assert "pid 1" in result.output  # the worker is the init of its own PID namespace
    assert int(result.output.split("uid ")[1].split()[0]) >= 200_000
    assert result.sandbox_notes == []


def test_a_crash_in_one_check_gives_the_next_check_a_fresh_worker(grade_with, tmp_path):
    code = "import os\ndef linspace_column(start, end, steps):\n    os._exit(3)\n"
    path = reference_with("hw1", tmp_path, extra=code)
    checks = by_id(grade_with("hw1", path))
    assert "exited with status 3" in checks["test_linspace_column"].message
    assert checks["test_diag_plus_identity"].status == "passed"
    assert checks["test_arange_grid"].status == "passed"


def test_student_output_is_captured_and_capped(grade_with, tmp_path):
    code = "print('x' * 200_000)\n"
    result = grade_with("hw1", stub_with("hw1", tmp_path, code))
    assert len(result.output) < 70_000
    assert "more bytes not shown" in result.output


PROBE = r"""
import json as _json, os as _os, sys as _sys

_runtime = tuple({_os.path.realpath(p) for p in (_sys.base_prefix, _sys.prefix)})
_skip = ("/proc", "/usr/lib", "/sys") + _runtime
_readable, _listed = [], []
for _here, _dirs, _files in _os.walk("/", followlinks=False):
    _listed.append(_here)
    _dirs[:] = [d for d in _dirs if not _os.path.join(_here, d).startswith(_skip)]
    for _name in _files:
        _path = _os.path.join(_here, _name)
        if _os.access(_path, _os.R_OK) and not _os.path.islink(_path):
            _readable.append(_path)
_tried = {p: _os.path.exists(p) for p in TRY}
import importlib.util as _util
_data = _os.path.join(_os.path.dirname(_util.find_spec("sklearn").origin), "datasets", "data")
_tried["sklearn's bundled datasets"] = bool(_os.listdir(_data))
print("PROBE" + _json.dumps({"top": sorted(_os.listdir("/")), "readable": _readable,
                             "listed": _listed, "tried": _tried, "runtime": _runtime}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")
def test_the_worker_sees_only_the_runtime_and_its_own_folder(grade_with, tmp_path):
    """A course in a git repo under a world-readable folder outside /tmp, graded by a grader
    installed from another checkout: from inside, nothing of either is there."""
    root = Path(tempfile.mkdtemp(prefix=".grader-course-", dir=COURSE.parent))
    try:
        os.chmod(root, 0o755)
        course = root / "course"
        for part in ("assignments/hw1", "reference/hw1"):
            shutil.copytree(COURSE / part, course / part)
        git = ["git", "-C", str(course), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(git[:3] + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "course"], check=True)
        secrets = [
            course / "reference/hw1/tensor_ops.py",
            course / ".git/HEAD",
            course / "assignments/hw1/checks/hidden",
            COURSE / "reference/hw1/tensor_ops.py",
            COURSE / "grader/judge/plugin.py",
            COURSE / ".git",
            Path("/etc/passwd"),
            Path("/run"),
            Path("/var"),
            Path("/home"),
            Path(tempfile.gettempdir()),
        ]
        code = f"TRY = {[str(p) for p in secrets]!r}\n" + PROBE
        result = grade_with("hw1", stub_with("hw1", tmp_path, code), course=course)
        seen = json.loads(result.output.split("PROBE", 1)[1].splitlines()[0])
        print("top-level entries the worker sees:", seen["top"])
        print("readable outside the Python runtime:", seen["readable"])
        runtime_tops = {p.split("/")[1] for p in seen["runtime"]}
        assert (
            set(seen["top"])
            <= {"dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sandbox", "tmp", "usr"}
            | runtime_tops
        )
        assert {p for p, there in seen["tried"].items() if there} <= {"/tmp"}
        assert all(
            p.startswith(("/sandbox/", "/dev/", "/etc/ld.so.cache")) for p in seen["readable"]
        ), seen["readable"]
        assert "/sandbox/tensor_ops.py" in seen["readable"]
        assert result.sandbox_notes == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")
def test_everything_a_submission_writes_fits_in_its_capped_folder(grade_with, tmp_path):
    code = (
        "import os\n"
        "total = 0\n"
        "for i, folder in enumerate(['/sandbox', '/tmp', '/sandbox/.tmp', '/', '/dev/shm']):\n"
        "    try:\n"
        "        with open(os.path.join(folder, f'fill{i}'), 'wb') as fh:\n"
        "            while True:\n"
        "                fh.write(b'x' * (1 << 20))\n"
        "                fh.flush()\n"
        "                total += 1 << 20\n"
        "    except OSError as exc:\n"
        "        print('stopped in', folder, type(exc).__name__)\n"
        "print('WROTE', total)\n"
    )
    result = grade_with("hw1", stub_with("hw1", tmp_path, code), limits={"work_mib": 24})
    wrote = int(result.output.split("WROTE ")[1].split()[0])
    print(f"bytes written in all: {wrote}")
    assert 0 < wrote <= 24 << 20


def test_a_batch_refuses_a_degraded_sandbox_unless_told_otherwise(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "ann.py").write_text((COURSE / "reference/hw1/tensor_ops.py").read_text())
    args = ["grade", "hw1", str(submissions), "--out", str(tmp_path / "out")]
    env = {"GRADER_NO_NAMESPACES": "1"}
    refused = run_cli(*args, env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "the sandbox is degraded" in refused.stderr and "--allow-unsandboxed" in refused.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
    allowed = run_cli(*args, "--allow-unsandboxed", env=env)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "ann,1,1" in (tmp_path / "out" / "grades.csv").read_text()
