"""The judge's side of a worker: handles freed when the judge drops them, and a worker that
cannot be set up reported as the machine's fault, not the student's."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from conftest import COURSE

from grader.errors import SandboxError
from grader.judge.forbidden import Policy
from grader.judge.proxy import Session, Student
from grader.sandbox.client import Zygote
from grader.sandbox.limits import Limits

MODULE = """
import weakref

_alive = weakref.WeakSet()


class Thing:
    def __init__(self):
        _alive.add(self)


def alive():
    return len(_alive)
"""


@pytest.fixture
def workdir():
    # the worker's user must be able to reach it: not under /tmp's private copy, not 0700
    folder = tempfile.mkdtemp(prefix=".grader-worker-", dir=COURSE.parent)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def session(zygote, workdir: str, module: str = "mod") -> Session:
    return Session(
        zygote,
        workdir=workdir,
        module=module,
        limits=Limits(),
        forbidden=Policy(instead={}, only_in={}, static={}),
        masks=[],
    )


def test_objects_the_judge_no_longer_refers_to_are_freed_in_the_worker(zygote, workdir):
    with open(f"{workdir}/mod.py", "w") as fh:
        fh.write(MODULE)
    s = session(zygote, workdir)
    s.begin_check(0)
    student = Student(s)
    things = [student.Thing() for _ in range(5)]
    assert student.alive() == 5
    kept = things[0]
    del things
    gc.collect()
    assert student.alive() == 1  # the other four handles went with this request
    assert kept.type_name == "Thing"
    s.close()


def test_a_worker_that_cannot_be_set_up_is_the_sandboxs_fault(zygote, workdir):
    s = session(zygote, f"{workdir}/does-not-exist")
    s.begin_check(0)
    with pytest.raises(SandboxError, match="before any of the submission's code ran"):
        Student(s).anything()
    s.close()


def test_a_submission_cannot_pass_itself_off_as_a_sandbox_failure(grade_with, tmp_path):
    code = (
        "import os, socket, stat\n"
        "from grader.sandbox import wire\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
        "            wire.send(socket.socket(fileno=fd), {'ok': False, 'setup_error': 'forged'}, [])\n"
        "    except OSError:\n"
        "        pass\n"
    )
    path = tmp_path / "tensor_ops.py"
    path.write_text((COURSE / "reference/hw1/tensor_ops.py").read_text() + "\n" + code)
    result = grade_with("hw1", path)
    assert [c for c in result.checks if c.status == "error"] == []
    assert not any("could not set up" in c.message for c in result.checks)
    assert result.score == 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_clone_forks_workers_of_its_own_and_closing_it_ends_them(workdir):
    with open(f"{workdir}/mod.py", "w") as fh:
        fh.write(MODULE)
    with Zygote() as mother:
        clone = mother.clone()
        if clone is None:
            pytest.skip("no pidfd_open here: a batch starts a zygote per slot instead")
        s = session(clone, workdir)
        s.begin_check(0)
        student = Student(s)
        student.Thing()
        assert student.alive() == 1
        worker = s.worker.pid
        assert _alive(worker) and _alive(clone.process.pid)
        clone.close()
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker) and not _alive(clone.process.pid)
        again = session(mother, workdir)  # the mother still serves
        again.begin_check(0)
        assert Student(again).alive() == 0
        again.close()


def test_a_closed_worker_is_never_signalled_again_even_when_its_pid_is_reused(zygote, workdir):
    # a submission can wrap the pid counter; a late kill (its time budget running out) must
    # not reach the process that has its old pid by then
    with open(f"{workdir}/mod.py", "w") as fh:
        fh.write(MODULE)
    s = session(zygote, workdir)
    s.begin_check(0)
    assert Student(s).alive() == 0
    worker = s.worker
    s.close()
    if os.geteuid() != 0:
        pytest.skip("only root can choose the next pid (/proc/sys/kernel/ns_last_pid)")
    deadline = time.monotonic() + 10  # until the zygote has reaped it (it may be warming up)
    while os.path.exists(f"/proc/{worker.pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    with open("/proc/sys/kernel/ns_last_pid", "w") as fh:
        fh.write(str(worker.pid - 1))
    other = subprocess.Popen(["sleep", "30"])
    try:
        if other.pid != worker.pid:
            pytest.skip("another process took the pid first")
        worker.kill()
        time.sleep(0.2)
        assert other.poll() is None  # still running
    finally:
        other.kill()
        other.wait()


EXEC_FROM_A_THREAD = """
import os, sys, threading, time


def _later():  # a thread's execve leaves the process without its parent-death signal
    time.sleep(0.05)
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)"])


threading.Thread(target=_later, daemon=True).start()
"""


def test_a_worker_that_cleared_its_parent_death_signal_still_ends_with_its_zygote(workdir):
    with open(f"{workdir}/mod.py", "w") as fh:
        fh.write(EXEC_FROM_A_THREAD)
    zygote = Zygote(warm_first=True)  # a batch's: a cold one warms up after its first spawn
    s = session(zygote, workdir)
    s.begin_check(0)
    worker = s._live_worker()
    time.sleep(0.5)  # it has exec'd by now
    assert _alive(worker.pid)
    zygote.close()  # as when the judge goes without closing its workers
    deadline = time.monotonic() + 5
    while _alive(worker.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(worker.pid)
    s.close()
    assert not alive


def test_a_zygote_whose_workers_have_all_ended_is_stopped_at_once(workdir):
    # a `grader check`: a cold zygote warms up for a second or more after its first spawn,
    # and nothing is left for it to kill once the judge has seen every worker end
    with open(f"{workdir}/mod.py", "w") as fh:
        fh.write(MODULE)
    zygote = Zygote()
    s = session(zygote, workdir)
    s.begin_check(0)
    assert Student(s).alive() == 0
    s.close()
    zygote.close()
    assert zygote.process.returncode == -signal.SIGKILL  # not waited for


def test_workers_a_forked_judge_left_running_end_with_the_zygote(workdir):
    # a batch's judges are forks, which spawn workers this process never hears of
    with open(f"{workdir}/mod.py", "w") as fh:
        fh.write(EXEC_FROM_A_THREAD)
    zygote = Zygote(warm_first=True)
    zygote.wait_ready()
    read, write = os.pipe()
    judge = os.fork()
    if judge == 0:  # spawns a worker that clears its parent-death signal, then dies
        try:
            s = session(zygote, workdir)
            s.begin_check(0)
            os.write(write, str(s._live_worker().pid).encode())
            time.sleep(0.5)  # it has exec'd by now
        finally:
            os._exit(0)
    os.close(write)
    worker = int(os.read(read, 64))
    os.close(read)
    os.waitpid(judge, 0)
    assert _alive(worker)
    zygote.close()
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)
