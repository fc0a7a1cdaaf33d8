"""The Linux system calls the sandbox makes through libc, and their constants."""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def call(name: str, *args: object) -> None:
    """libc's `name(*args)`, raising OSError on failure (or off Linux)."""
    if libc is None:
        raise OSError(f"{name} needs Linux")
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def pidfd_open(pid: int) -> int | None:
    """A descriptor for process `pid` (Linux 5.3+), readable once it exits and never another
    process's, or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2)."""

    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data or None))


# seccomp: a filter that refuses some system calls (EPERM) and allows every other one
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
X32_BIT = 0x40000000  # x86-64's x32 system calls: refused, as every foreign ABI
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
NUMBERS = {  # the system calls the filter refuses or looks into
    "x86_64": {"setsid": 112, "unshare": 272, "setns": 308, "clone": 56, "clone3": 435,
               "prctl": 157},
    "aarch64": {"setsid": 157, "unshare": 97, "setns": 268, "clone": 220, "clone3": 435,
                "prctl": 167},
}  # fmt: skip
NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET


class _Filter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def refuse_student_syscalls(arch: str) -> None:
    """Install a seccomp filter on this process (and what it starts) that refuses (EPERM)
    setsid(), prctl(PR_SET_PDEATHSIG, ...), and namespaces of its own (unshare, setns, clone
    with a CLONE_NEW* flag: a large attack surface of the kernel), as every call of another
    ABI; clone3, whose flags it cannot see, fails with ENOSYS, and libc falls back to clone.
    Needs no_new_privs set first. (Both architectures are little-endian: an argument's low
    word is at its offset.)"""
    if arch not in AUDIT_ARCH:
        raise OSError(f"no seccomp filter for the {arch} architecture")
    nr = NUMBERS[arch]
    first_argument = 16  # seccomp_data: nr, arch, ip, then args[0]
    program: list[str | tuple[int, int, str | None, str | None]] = [
        # (code, k, label if true, label if false: None is the next instruction), or a label
        (BPF_LD_W_ABS, 4, None, None),  # the architecture
        (BPF_JEQ_K, AUDIT_ARCH[arch], None, "deny"),
        (BPF_LD_W_ABS, 0, None, None),  # the system call's number
        (BPF_JGE_K, X32_BIT, "deny", None),
        (BPF_JEQ_K, nr["setsid"], "deny", None),
        (BPF_JEQ_K, nr["unshare"], "deny", None),
        (BPF_JEQ_K, nr["setns"], "deny", None),
        (BPF_JEQ_K, nr["clone3"], "no such call", None),
        (BPF_JEQ_K, nr["clone"], "clone", None),
        (BPF_JEQ_K, nr["prctl"], "prctl", "allow"),
        "clone",
        (BPF_LD_W_ABS, first_argument, None, None),  # its flags
        (BPF_JSET_K, NAMESPACE_FLAGS, "deny", "allow"),
        "prctl",
        (BPF_LD_W_ABS, first_argument, None, None),  # its option
        (BPF_JEQ_K, PR_SET_PDEATHSIG, "deny", "allow"),
        "allow",
        (BPF_RET_K, SECCOMP_RET_ALLOW, None, None),
        "deny",
        (BPF_RET_K, SECCOMP_RET_ERRNO | EPERM, None, None),
        "no such call",
        (BPF_RET_K, SECCOMP_RET_ERRNO | ENOSYS, None, None),
    ]
    code = _assemble(program)
    filters = (_Filter * len(code))(*code)
    call(
        "prctl",
        PR_SET_SECCOMP,
        SECCOMP_MODE_FILTER,
        ctypes.byref(_Program(len(code), filters)),
        0,
        0,
    )


def _assemble(program: list[str | tuple[int, int, str | None, str | None]]) -> list[_Filter]:
    """BPF instructions, their jumps (a count of instructions to skip) worked out from labels."""
    at: dict[str, int] = {}  # a label: the index of the instruction after it
    count = 0
    for item in program:
        if isinstance(item, str):
            at[item] = count
        else:
            count += 1
    code: list[_Filter] = []
    for item in program:
        if not isinstance(item, str):
            op, k, yes, no = item
            here = len(code) + 1  # jumps count from the next instruction
            code.append(_Filter(op, at[yes] - here if yes else 0, at[no] - here if no else 0, k))
    return code
