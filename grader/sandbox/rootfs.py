"""The worker's filesystem: an allow-list, not a deny-list.

In its own mount namespace, the worker (still root) builds a fresh, empty root (a small
tmpfs) and binds into it, read-only, only what student code needs to run:

- the Python runtime: the interpreter's prefixes and the `sys.path` folders inside them or in
  site-packages (never a folder of a course or a checkout, such as an editable install's);
- the system libraries a lazily loaded extension module may need (`/usr/lib*` and the
  dynamic linker's cache), with the host's `/lib`-style symlinks;
- the device nodes `/dev/null`, `/dev/zero`, `/dev/random`, `/dev/urandom`;
- an empty `/proc`, on which the worker (PID 1 of its own PID namespace) mounts its own.

The one writable place is `WORKDIR`: a size-capped tmpfs holding a copy of the submission,
with the worker's `/tmp` inside it. Then the root is switched (`pivot_root`) and the old one
detached, so nothing else exists: not the course, its `.git`, the checkout the grader was
installed from, `/home`, `/root` (beyond the path to a Python that lives there), `/run`,
`/var`, nor another worker's folder.
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import stat
import sys
import sysconfig
from collections.abc import Iterator

from grader.sandbox.syscalls import (
    MNT_DETACH,
    MS_BIND,
    MS_MOVE,
    MS_NODEV,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    call,
    mount,
)

WORKDIR = "/sandbox"  # where the submission's copy lives inside the worker's root
STAGE = "/tmp"  # mount point of the new root while it is built (inside the private namespace)
SYSTEM_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)
LINKS = ("/lib", "/lib64", "/lib32", "/libx32")  # usually symlinks into /usr
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}


def _outermost(paths: list[str]) -> list[str]:
    """`paths` without those inside another one of them."""
    return [
        p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in paths)
    ]


def runtime_paths() -> list[str]:
    """The folders of the Python runtime the worker imports from: its prefixes, and the
    `sys.path` entries inside them or named site-packages / dist-packages."""
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    paths = set(prefixes) | {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        inside = any(real == p or real.startswith(p + "/") for p in prefixes)
        if real and (inside or os.path.basename(real) in ("site-packages", "dist-packages")):
            paths.add(real)
    return _outermost(sorted(p for p in paths if os.path.isdir(p) and p != "/"))


def _opened(paths: list[str]) -> dict[str, int]:
    """O_PATH descriptors of `paths`, so they can be bound after mounts hide them."""
    return {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in paths}


def _bind(fd: int, target: str, *, read_only: bool = True, devices: bool = False) -> None:
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (MS_RDONLY if read_only else 0)
    mount(None, target, None, flags | (0 if devices else MS_NODEV))


def _place(root: str, path: str, *, folder: bool) -> str:
    target = root + path
    if folder:
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        with open(target, "a"):
            pass
    return target


def copy_submission(source: str, target: str, uid: int) -> None:
    """Copy the regular files of the folder `source` into `target`, owned by `uid`; links
    and special files are not copied (intake has refused them already)."""
    for here, dirs, files in os.walk(source):
        rel = os.path.relpath(here, source)
        dest = os.path.normpath(os.path.join(target, rel))
        os.makedirs(dest, mode=0o700, exist_ok=True)
        os.chown(dest, uid, uid)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
        for name in files:
            path = os.path.join(here, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            out = os.path.join(dest, name)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as src, open(out, "xb") as dst:
                shutil.copyfileobj(src, dst)
            os.chown(out, uid, uid)


def _pivot(root: str) -> None:
    """Make `root` the root of this mount namespace and detach the old one."""
    os.chdir(root)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is not None:
        call("syscall", ctypes.c_long(number), b".", b".")  # the old root stacks under "."
        call("umount2", b".", MNT_DETACH)
    else:  # no pivot_root number known: move the new root over / and chroot into it
        mount(".", "/", None, MS_MOVE)
        os.chroot(".")
    os.chdir("/")


def _links() -> Iterator[tuple[str, str]]:
    for link in LINKS:
        if os.path.islink(link):
            yield link, os.readlink(link)


def _hide(paths: list[str], binds: list[str], null_fd: int) -> None:
    """Cover the `paths` that lie inside a bound folder (a dataset inside site-packages)."""
    for path in map(os.path.realpath, paths):
        if not any(path == b or path.startswith(b + "/") for b in binds):
            continue
        target = STAGE + path
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
        elif os.path.exists(target):
            mount(f"/proc/self/fd/{null_fd}", target, None, MS_BIND)


def enter_private_root(
    workdir: str, *, work_mib: int, uid: int, hide: list[str] | tuple[str, ...] = ()
) -> None:
    """Switch this process (the worker, still root, in fresh namespaces) to the allow-list
    root, with a copy of the host folder `workdir` at WORKDIR, and the `hide` paths that lie
    inside a bound folder covered. Raises OSError when it cannot."""
    binds = runtime_paths() + [p for p in SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)]
    files = [p for p in SYSTEM_FILES if os.path.isfile(p)]
    devices = [p for p in DEVICES if os.path.exists(p)]
    links = list(_links())
    if any(p == WORKDIR or p.startswith(WORKDIR + "/") for p in binds):
        raise OSError(f"the Python runtime lives under {WORKDIR}, the worker's own folder")
    fds = _opened(binds + files + devices + [workdir])
    try:
        mount("tmpfs", STAGE, "tmpfs", MS_NOSUID, "mode=0755,size=4m")
        for path in binds:
            _bind(fds[path], _place(STAGE, path, folder=True))
        for path in files:
            _bind(fds[path], _place(STAGE, path, folder=False))
        for path in devices:
            _bind(fds[path], _place(STAGE, path, folder=False), read_only=False, devices=True)
        for link, target in links:
            os.symlink(target, STAGE + link)
        _place(STAGE, "/proc", folder=True)
        work = _place(STAGE, WORKDIR, folder=True)
        mount(
            "tmpfs",
            work,
            "tmpfs",
            MS_NOSUID | MS_NODEV,
            f"mode=0700,uid={uid},gid={uid},size={work_mib}m",
        )
        copy_submission(f"/proc/self/fd/{fds[workdir]}", work, uid)
        scratch = os.path.join(work, ".tmp")
        os.makedirs(scratch, mode=0o700, exist_ok=True)
        os.chown(scratch, uid, uid)
        mount(scratch, _place(STAGE, "/tmp", folder=True), None, MS_BIND)
        _hide(list(hide), binds, fds["/dev/null"])
    finally:
        for fd in fds.values():
            os.close(fd)
    _pivot(STAGE)
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
