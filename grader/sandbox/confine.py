"""Isolation of one worker: namespaces, its own root filesystem (`grader.sandbox.rootfs`),
resource limits, an unprivileged user.

Everything here degrades: a feature the OS refuses (not root, not Linux) is left
out and named in the notes the judge shows once in the report. As root without namespaces
(a container that refuses `unshare`, such as Gradescope's), the worker still gets a copy of
the submission of its own and runs as a user of its own, so it cannot read what only root
may read, nor signal or trace the grader; it sees the host's filesystem and network.
"""

from __future__ import annotations

import os
import platform
import resource
import signal
import stat

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

UID_BASE = 200_000  # unprivileged uids for workers: UID_BASE + the worker's pid in the zygote's
UNISOLATED = "no network isolation, and student code can read every file the grader can"
NO_PRIVATE_ROOT = "no network isolation and no private filesystem"
OWN_USER = (
    "student code runs as a user of its own (no namespaces): it can read what every user may "
    "read, and nothing that only the grader's user may"
)
AS_ROOT = "student code runs as root, as the grader does, and can read and change every file"
OOM_SCORE = "/proc/self/oom_score_adj"


def pid_namespace_home() -> int | None:
    """In the zygote: its own PID namespace, to return to after forking each worker into a new
    one; None where workers get no namespaces (not root, not Linux, GRADER_NO_NAMESPACES=1)."""
    if os.environ.get("GRADER_NO_NAMESPACES") == "1" or os.geteuid() != 0 or not syscalls.libc:
        return None
    try:
        return os.open("/proc/self/ns/pid", os.O_RDONLY)
    except OSError:
        return None


def new_pid_namespace() -> str | None:
    """In the zygote: the next process it forks is PID 1 of a new PID namespace (undone by
    `return_to_pid_namespace`). None, or why not."""
    try:
        syscalls.call("unshare", CLONE_NEWPID)
    except OSError as exc:
        return f"namespaces unavailable ({exc})"
    return None


def return_to_pid_namespace(home: int) -> None:
    """In the zygote, after the fork: its later children are in its own namespace again."""
    syscalls.call("setns", home, CLONE_NEWPID)


def host_pid_and_parent() -> tuple[int, int]:
    """This process's pid and its parent's as the zygote sees them (in a new PID namespace,
    getpid() says 1 and getppid() 0; /proc is still the zygote's until the worker mounts its
    own)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            stat_line = fh.read()
    except OSError:
        return os.getpid(), os.getppid()
    return int(stat_line.split(b" ", 1)[0]), int(stat_line.rsplit(b")", 1)[1].split()[1])


def enter_namespaces(
    workdir: str,
    *,
    work_mib: int,
    uid: int,
    hide: list[str] | tuple[str, ...] = (),
    pid_ns: str | None = None,
) -> tuple[list[str], bool, str]:
    """In the worker, PID 1 of a new PID namespace (`pid_ns` None; else why it is not): new
    mount, network and IPC namespaces, and the allow-list root of `grader.sandbox.rootfs`
    holding a copy of `workdir`, with `hide` covered there (datasets inside the Python
    runtime, whose labels the judge keeps).

    Returns notes on what could not be done, whether the namespaces are in force, and the
    worker's folder (rootfs.WORKDIR, or `workdir` itself where there is no private root).
    """
    if os.environ.get("GRADER_NO_NAMESPACES") == "1":
        return _without_namespaces("namespaces turned off (GRADER_NO_NAMESPACES=1)", workdir, uid)
    if os.geteuid() != 0 or syscalls.libc is None:
        return [f"not running as root on Linux: {UNISOLATED}"], False, workdir
    if pid_ns is not None:
        return _without_namespaces(pid_ns, workdir, uid)
    try:
        syscalls.call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)
        syscalls.mount(None, "/", None, MS_REC | MS_PRIVATE)
    except OSError as exc:
        return _without_namespaces(f"namespaces unavailable ({exc})", workdir, uid)
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


def _without_namespaces(why: str, workdir: str, uid: int) -> tuple[list[str], bool, str]:
    """`enter_namespaces` where there are none. As root, the worker gets a fresh copy of the
    submission owned by `uid`, next to `workdir` (in the judge's private temp folder), as it
    would in its own root: no worker sees what an earlier one wrote."""
    if os.geteuid() != 0:
        return [f"{why}: {UNISOLATED}"], False, workdir
    own = os.path.join(os.path.dirname(workdir.rstrip("/")), f"worker-{uid}")
    os.mkdir(own, 0o700)
    os.chown(own, uid, uid, follow_symlinks=False)
    rootfs.copy_submission(workdir, own, uid)
    return [f"{why}: {NO_PRIVATE_ROOT}"], False, own


def closed_to_others(paths: list[str]) -> str | None:
    """The first of `paths` (or a folder above one) that users other than its owner cannot
    read or pass through, or None."""
    for path in paths:
        here, need = path, stat.S_IROTH | stat.S_IXOTH
        while True:
            if os.stat(here).st_mode & need != need:
                return here
            if here == os.path.dirname(here):
                break
            here, need = os.path.dirname(here), stat.S_IXOTH
    return None


def _first_to_go_when_memory_runs_out() -> list[str]:
    """Have the kernel's OOM killer stop the worker before the judge (a container's memory
    is shared: the judge must live to write the results)."""
    if not os.path.exists(OOM_SCORE):
        return []
    try:
        with open(OOM_SCORE, "w") as fh:
            fh.write("1000")
    except OSError as exc:
        return [f"the worker is not the first process stopped when memory runs out ({exc})"]
    return []


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


def _seccomp_filter() -> list[str]:
    """Refuse setsid() to student code: a process in a session of its own gets a CPU share of
    its own from the scheduler (autogroups), so a few of them would slow the workers of the
    other submissions graded at the same time, and their timed checks. Nor may it unset the
    parent-death signal, and so outlive the zygote."""
    try:
        syscalls.refuse_student_syscalls(platform.machine())
    except OSError as exc:
        return [
            f"student code may start sessions of its own (no seccomp filter: {exc}), which could "
            "slow the submissions graded beside it, and outlive the grader"
        ]
    return []


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
    notes += _first_to_go_when_memory_runs_out()
    run_as: int | None = uid if os.geteuid() == 0 else None  # None: stay the current user
    if run_as is not None and pid_namespace:
        for root, dirs, files in os.walk(workdir):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, uid, uid)
        os.chmod(workdir, 0o700)
    elif run_as is not None:  # no namespaces: the host's runtime must be readable by `uid`
        closed = closed_to_others(rootfs.runtime_paths())
        if closed is not None:
            notes.append(f"{AS_ROOT}: the Python runtime ({closed}) is closed to other users")
            run_as = None
    if run_as is not None:
        try:
            os.setgroups([])
            os.setgid(run_as)
            os.setuid(run_as)
        except OSError as exc:
            if pid_namespace:
                raise
            notes.append(f"{AS_ROOT}: it could not switch to a user of its own ({exc})")
            run_as = None
        else:
            notes += die_with_parent()  # changing the user cleared the parent-death signal
            if not pid_namespace:
                notes.append(OWN_USER)
    processes = limits.processes
    if run_as is None:  # the limit counts all of this user's processes
        processes += _count_processes(os.getuid())
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
    try:
        syscalls.call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except OSError as exc:
        notes.append(
            f"could not stop the worker from gaining privileges through set-uid "
            f"programs (PR_SET_NO_NEW_PRIVS: {exc})"
        )
    notes += _seccomp_filter()
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
