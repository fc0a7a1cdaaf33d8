"""Isolation of one worker: namespaces, its own root filesystem (`grader.sandbox.rootfs`),
resource limits, an unprivileged user.

Everything here degrades: a feature the OS refuses (not root, not Linux) is left
out and named in the notes the judge shows once in the report.
"""

from __future__ import annotations

import os
import resource
import signal

from grader.sandbox import rootfs, syscalls
from grader.sandbox.limits import Limits
from grader.sandbox.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_REC,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
)

UID_BASE = 200_000  # unprivileged uids for workers: UID_BASE + the monitor's (global) pid
UNISOLATED = "no network isolation, and student code can read every file the grader can"


def enter_namespaces(
    workdir: str, *, work_mib: int, uid: int, hide: list[str] | tuple[str, ...] = ()
) -> tuple[list[str], bool, str]:
    """In the monitor process: new mount, network, IPC and PID namespaces, and the allow-list
    root of `grader.sandbox.rootfs` holding a copy of `workdir`, with `hide` covered there
    (datasets inside the Python runtime, whose labels the judge keeps).

    Returns notes on what could not be done, whether the namespaces are in force, and the
    worker's folder (rootfs.WORKDIR, or `workdir` itself where there is no private root).
    """
    if os.environ.get("GRADER_NO_NAMESPACES") == "1":
        return [f"namespaces turned off (GRADER_NO_NAMESPACES=1): {UNISOLATED}"], False, workdir
    if os.geteuid() != 0 or syscalls.libc is None:
        return [f"not running as root on Linux: {UNISOLATED}"], False, workdir
    try:
        syscalls.call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID)
        syscalls.mount(None, "/", None, MS_REC | MS_PRIVATE)
    except OSError as exc:
        return [f"namespaces unavailable ({exc}): {UNISOLATED}"], False, workdir
    try:
        rootfs.enter_private_root(workdir, work_mib=work_mib, uid=uid, hide=hide)
    except OSError as exc:
        return (
            [
                f"could not give the worker a root filesystem of its own ({exc}): student code "
                "can read every file the grader can"
            ],
            True,
            workdir,
        )
    return [], True, rootfs.WORKDIR


def _count_processes(uid: int) -> int:
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 1024  # no /proc (macOS): leave room for the user's other processes
    count = 0
    for pid in pids:
        try:
            count += os.stat(f"/proc/{pid}").st_uid == uid
        except OSError:
            pass
    return count


def die_with_parent() -> list[str]:
    """Have the kernel SIGKILL this process when its parent ends (Linux only); notes if not."""
    try:
        syscalls.call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError as exc:
        return [f"a worker is not stopped automatically when the grader dies ({exc})"]
    return []


def confine_worker(workdir: str, limits: Limits, pid_namespace: bool, uid: int) -> list[str]:
    """In the worker, before student code: limits, private dir, unprivileged user `uid`."""
    notes = die_with_parent()
    if pid_namespace:
        try:
            syscalls.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as exc:
            notes.append(
                f"could not give the worker a /proc of its own ({exc}): it sees the "
                "host's processes there"
            )
    processes = limits.processes
    run_as: int | None = uid  # None: stay the current user
    if os.geteuid() != 0 or not pid_namespace:
        run_as = None
        processes += _count_processes(os.getuid())  # the limit counts all of this user's processes
    else:
        for root, dirs, files in os.walk(workdir):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, uid, uid)
        os.chmod(workdir, 0o700)
    mib = 1 << 20
    for name, value in (
        ("RLIMIT_AS", limits.memory_mib * mib),
        ("RLIMIT_CPU", limits.cpu_s),
        ("RLIMIT_FSIZE", limits.file_mib * mib),
        ("RLIMIT_NOFILE", limits.open_files),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", processes),
    ):
        if not hasattr(resource, name):
            notes.append(f"no {name} on this OS")
            continue
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (OSError, ValueError):
            notes.append(f"could not set {name}")
    if run_as is not None:
        os.setgroups([])
        os.setgid(run_as)
        os.setuid(run_as)
        notes += die_with_parent()  # changing the user cleared the parent-death signal
    try:
        syscalls.call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except OSError as exc:
        notes.append(
            f"could not stop the worker from gaining privileges through set-uid "
            f"programs (PR_SET_NO_NEW_PRIVS: {exc})"
        )
    os.chdir(workdir)
    tmp = os.path.join(workdir, ".tmp")
    os.makedirs(tmp, exist_ok=True)
    os.environ.clear()
    os.environ.update(
        PATH="/usr/bin:/bin",
        HOME=workdir,
        TMPDIR=tmp,
        LANG="C.UTF-8",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return notes
