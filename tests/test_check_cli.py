"""`grader check` end to end, as a real subprocess: stub, reference, JSON, errors."""

import json
import subprocess
import sys

from conftest import run_cli


def test_stub_scores_zero_with_not_implemented_per_check():
    proc = run_cli("check", "hw1", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["score"] == 0 and result["max_score"] > 0
    assert result["schema_version"] == 1
    assert all(c["message"].startswith("not implemented") for c in result["checks"])
    assert len(result["checks"]) >= 12
    assert {"name", "tier", "status", "score", "max_score", "message", "hint", "duration_s"} <= set(
        result["checks"][0]
    )


def test_reference_scores_full_marks_and_exits_zero():
    proc = run_cli("check", "hw1", "--submission", "reference/hw1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "total: 27/27" in proc.stdout
    assert "seed 1234" in proc.stdout


def test_unknown_assignment_is_a_one_line_usage_error():
    proc = run_cli("check", "hw99")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "error: unknown assignment 'hw99' (known: hw1)"
        or proc.stderr.startswith("error: unknown assignment 'hw99'")
    )
    assert "Traceback" not in proc.stderr


def test_missing_submission_is_a_usage_error(tmp_path):
    proc = run_cli("check", "hw1", "--submission", str(tmp_path / "nope.py"))
    assert proc.returncode == 2
    assert "no such file or folder" in proc.stderr and "Traceback" not in proc.stderr


def test_list_shows_titles_and_points():
    proc = run_cli("list")
    assert proc.returncode == 0
    assert (
        "hw1" in proc.stdout and "Tensor operations" in proc.stdout and "27 points" in proc.stdout
    )


EXIT = """
import atexit, sys, threading, time
from grader.cli import _exit

atexit.register(lambda: print("atexit ran"))
print("x" * 100_000)  # block-buffered into a file: lost unless flushed
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread done"))).start()
_exit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
"""


def test_the_fast_exit_runs_atexit_flushes_output_and_keeps_the_status(tmp_path):
    script = tmp_path / "exit.py"
    script.write_text(EXIT)
    for mode, code, status in [("plain", "3", 3), ("thread", "0", 0), ("plain", "boom", 1)]:
        out = tmp_path / f"{mode}-{code}.txt"
        with open(out, "w") as fh:
            proc = subprocess.run(
                [sys.executable, str(script), mode, code],
                stdout=fh,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        text = out.read_text()
        assert proc.returncode == status, proc.stderr
        assert "x" * 100_000 in text and "atexit ran" in text
        assert ("thread done" in text) == (mode == "thread")  # waited for, not cut off
        assert ("boom" in proc.stderr) == (code == "boom")
