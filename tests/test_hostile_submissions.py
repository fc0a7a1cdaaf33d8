"""Hostile submissions score exactly what their honest work earns (here: the stub's 0),
while the grader finishes normally and says why."""

import os
import platform
import sys
import uuid

import pytest
from conftest import COURSE, by_id, stub_with

FAST = {"call_timeout_s": 3, "import_timeout_s": 3}


def grade_attack(grade_with, tmp_path, code, **kwargs):
    result = grade_with("hw1", stub_with("hw1", tmp_path, code), limits=FAST, **kwargs)
    assert len(result.checks) >= 12
    return result


def messages(result):
    return "\n".join(c.message for c in result.checks)


def test_sys_exit_at_import_is_reported_and_scores_zero(grade_with, tmp_path):
    result = grade_attack(grade_with, tmp_path, "import sys\nsys.exit(0)\n")
    assert result.score == 0
    assert all("sys.exit(0) was called" in c.message for c in result.checks)
    assert all("importing your module" in c.message for c in result.checks)


def test_os_exit_at_import_is_reported_and_scores_zero(grade_with, tmp_path):
    result = grade_attack(grade_with, tmp_path, "import os\nos._exit(0)\n")
    assert result.score == 0
    assert all("exited with status 0" in c.message for c in result.checks)


def test_infinite_loop_at_import_times_out_once(grade_with, tmp_path):
    result = grade_attack(grade_with, tmp_path, "while True:\n    pass\n")
    assert result.score == 0
    assert all("did not finish within 3 s" in c.message for c in result.checks)
    assert result.duration_s < 30  # the import is not retried for every check


def test_infinite_loop_in_a_task_fails_that_check_and_the_rest_still_run(grade_with, tmp_path):
    code = "def arange_grid(rows, cols):\n    while True:\n        pass\n"
    result = grade_attack(grade_with, tmp_path, code)
    checks = by_id(result)
    assert result.score == 0
    assert "ran out of time after 3 s in `arange_grid`" in checks["test_arange_grid"].message
    assert checks["test_linspace_column"].message.startswith("not implemented")


def test_monkeypatching_comparisons_and_pytest_at_import_changes_nothing(grade_with, tmp_path):
    code = (
        "import numpy, torch, pytest, _pytest.assertion.rewrite\n"
        "_pytest.assertion.rewrite.AssertionRewritingHook.exec_module = lambda *a: None\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.equal = lambda *a, **k: True\n"
        "torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "pytest.approx = lambda *a, **k: a[0]\n"
        "torch.Tensor.__eq__ = lambda self, other: True\n"
    )
    # hw1 forbids torch.cdist, and where an API is forbidden the scan rejects stores into a
    # module's namespace before anything runs: without that, the judge must still hold
    result = grade_attack(grade_with, tmp_path, code, no_forbidden=True)
    assert result.score == 0
    assert all(c.message.startswith("not implemented") for c in result.checks)


def test_object_whose_eq_is_always_true_fails_with_a_clear_message(grade_with, tmp_path):
    code = (
        "class Anything:\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "def arange_grid(rows, cols):\n"
        "    return Anything()\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert result.score == 0
    message = by_id(result)["test_arange_grid"].message
    assert "should be a tensor, but your code returned an Anything" in message


def test_tensor_subclass_with_a_lying_torch_function_is_judged_by_its_bytes(grade_with, tmp_path):
    code = (
        "import torch\n"
        "class Liar(torch.Tensor):\n"
        "    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        return True\n"
        "def arange_grid(rows, cols):\n"
        "    return torch.zeros(rows, cols, dtype=torch.int64).as_subclass(Liar)\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert result.score == 0
    message = by_id(result)["test_arange_grid"].message
    assert "does not match the expected values" in message and "got 0" in message


def test_printing_a_fake_success_does_not_reach_the_score(grade_with, tmp_path):
    code = (
        "print('all checks passed 100/100')\nimport sys\nprint('total: 27/27', file=sys.stderr)\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert result.score == 0
    assert "all checks passed 100/100" in result.output  # kept, labelled as the student's output
    assert "100/100" not in messages(result)


def test_memory_bomb_hits_the_limit_and_grading_goes_on(grade_with, tmp_path):
    code = (
        "def arange_grid(rows, cols):\n"
        "    import torch\n"
        "    hog = []\n"
        "    while True:\n"
        "        hog.append(torch.empty(1 << 30, dtype=torch.uint8))\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    checks = by_id(result)
    assert result.score == 0
    assert "can't allocate memory" in checks["test_arange_grid"].message
    assert "more memory than the worker may use" in checks["test_arange_grid"].hint
    assert checks["test_linspace_column"].message.startswith("not implemented")


def _processes_of_user(uid):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            zombie = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
            if os.stat(f"/proc/{pid}").st_uid == uid and not zombie:
                found.append(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def test_fork_bomb_is_contained_and_leaves_no_process_behind(grade_with, tmp_path):
    code = (
        "import os\n"
        "print('worker uid', os.getuid())\n"
        "def arange_grid(rows, cols):\n"
        "    while True:\n"
        "        try:\n"
        "            os.fork()\n"
        "        except OSError:\n"
        "            pass\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert result.score == 0
    assert by_id(result)["test_arange_grid"].status == "failed"
    assert by_id(result)["test_linspace_column"].message.startswith("not implemented")
    if os.geteuid() == 0:
        uid = int(result.output.split("worker uid")[1].split()[0])
        assert uid >= 200_000  # a user of its own, so the process limit applies to it alone
        assert _processes_of_user(uid) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_student_code_cannot_start_a_session_of_its_own(grade_with, tmp_path):
    """Each new session gets a CPU share of its own: spinning processes in sessions of their
    own would slow the classmates graded beside it, and their timed checks."""
    code = (
        "import os\n"
        "def _try():\n"
        "    try:\n"
        "        os.setsid()\n"
        "        return 'allowed'\n"
        "    except OSError as exc:\n"
        "        return f'refused: {exc}'\n"
        "print('parent', _try())\n"
        "_pid = os.fork()\n"
        "if _pid == 0:\n"
        "    print('child', _try(), flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(_pid, 0)\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert "parent refused: [Errno 1] Operation not permitted" in result.output
    assert "child refused: [Errno 1] Operation not permitted" in result.output
    assert not any("sessions of its own" in n for n in result.sandbox_notes)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_student_code_cannot_unset_its_parent_death_signal(grade_with, tmp_path):
    """Unset, a worker would outlive a killed zygote, spinning beside the classmates graded
    after it."""
    code = (
        "import ctypes, os\n"
        "_libc = ctypes.CDLL(None, use_errno=True)\n"
        "for _sig in (0, 9):\n"
        "    _r = _libc.prctl(1, _sig, 0, 0, 0)  # PR_SET_PDEATHSIG\n"
        "    print('pdeathsig', _sig, _r, os.strerror(ctypes.get_errno()) if _r else 'set')\n"
        "print('name', _libc.prctl(15, b'tensor_ops', 0, 0, 0))  # PR_SET_NAME: still allowed\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert "pdeathsig 0 -1 Operation not permitted" in result.output
    assert "pdeathsig 9 -1 Operation not permitted" in result.output
    assert "name 0" in result.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_student_code_cannot_make_namespaces_but_can_start_threads_and_processes(
    grade_with, tmp_path
):
    """Namespaces of its own (a user namespace makes it root there) open much of the kernel to
    it; threads (clone3 refused, libc falls back to clone) and forks still work."""
    code = (
        "import ctypes, os, threading\n"
        "_libc = ctypes.CDLL(None, use_errno=True)\n"
        "for _name, _flags in (('user', 0x10000000), ('net', 0x40000000), ('mount', 0x20000)):\n"
        "    _r = _libc.unshare(_flags)\n"
        "    print('unshare', _name, _r, os.strerror(ctypes.get_errno()) if _r else 'made')\n"
        "_r = _libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWUSER | SIGCHLD)\n"
        "if _r == 0:\n"
        "    os._exit(0)\n"
        "print('clone', 'refused' if _r == -1 else 'made')\n"
        "_t = threading.Thread(target=lambda: print('thread ran', flush=True))\n"
        "_t.start(); _t.join()\n"
        "_pid = os.fork()\n"
        "if _pid == 0:\n"
        "    os._exit(7)\n"
        "print('fork', os.waitstatus_to_exitcode(os.waitpid(_pid, 0)[1]))\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    for name in ("user", "net", "mount"):
        assert f"unshare {name} -1 Operation not permitted" in result.output
    if platform.machine() == "x86_64":
        assert "clone refused" in result.output
    assert "thread ran" in result.output
    assert "fork 7" in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="hiding files needs a mount namespace (root)")
def test_reference_and_checks_cannot_be_read_or_used(grade_with, tmp_path):
    reference = COURSE / "reference" / "hw1" / "tensor_ops.py"
    check = COURSE / "assignments" / "hw1" / "checks" / "hidden" / "test_hidden_shapes.py"
    code = (
        "import sys\n"
        f"for path in [{str(reference)!r}, {str(check)!r}]:\n"
        "    try:\n"
        "        text = open(path).read()\n"
        "        print(text)\n"
        "        exec(text, globals())  # use the reference's answers if it can be read\n"
        "    except OSError as exc:\n"
        "        print('could not read', path, type(exc).__name__)\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert result.score == 0
    assert "could not read" in result.output
    assert "def pairwise_distances" not in result.output
    assert "test_one_hot_other_sizes" not in result.output


@pytest.mark.skipif(
    os.geteuid() != 0, reason="private scratch folders need a mount namespace (root)"
)
def test_files_written_outside_the_working_folder_never_reach_the_machine(grade_with, tmp_path):
    token = uuid.uuid4().hex
    targets = [
        f"/tmp/pwned-{token}",
        f"/var/tmp/pwned-{token}",
        str(COURSE / f"pwned-{token}"),
        str(COURSE / "reference" / "hw1" / f"pwned-{token}"),
    ]
    code = (
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "    except OSError:\n"
        "        pass\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    assert result.score == 0
    for path in targets:
        assert not os.path.exists(path), path


def test_honest_work_next_to_an_attack_still_earns_its_points(grade_with, tmp_path):
    code = (
        "import torch, sys\n"
        "def arange_grid(rows, cols):\n"
        "    return torch.arange(rows * cols).reshape(rows, cols)\n"
        "def linspace_column(start, end, steps):\n"
        "    sys.exit(0)\n"
    )
    result = grade_attack(grade_with, tmp_path, code)
    checks = by_id(result)
    assert checks["test_arange_grid"].status == "passed"
    assert checks["test_arange_grid_other_shapes"].status == "passed"
    assert "sys.exit(0) was called" in checks["test_linspace_column"].message
    assert (
        result.score
        == checks["test_arange_grid"].max_score + checks["test_arange_grid_other_shapes"].max_score
    )
