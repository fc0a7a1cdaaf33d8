"""The worker's sandbox: what is in force, and graceful degradation where it is not."""

import os

import pytest
from conftest import by_id, reference_with, run_cli, stub_with


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
