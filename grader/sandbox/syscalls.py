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


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2)."""

    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data or None))


# seccomp: a filter that refuses some system calls (EPERM) and allows every other one
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06
X32_BIT = 0x40000000  # x86-64's x32 system calls: refused, as every foreign ABI
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SETSID = {"x86_64": 112, "aarch64": 157}
PRCTL = {"x86_64": 157, "aarch64": 167}


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
    """Install a seccomp filter on this process (and what it starts) that makes setsid() and
    prctl(PR_SET_PDEATHSIG, ...) fail with EPERM, as every call of another ABI; needs
    no_new_privs set first. (Both little-endian: an argument's low word is at its offset.)"""
    if arch not in AUDIT_ARCH:
        raise OSError(f"no seccomp filter for the {arch} architecture")
    deny = SECCOMP_RET_ERRNO | 1  # EPERM
    code = [  # (code, jump if true, jump if false, k): jumps skip that many instructions
        (BPF_LD_W_ABS, 0, 0, 4),  # the architecture
        (BPF_JEQ_K, 0, 7, AUDIT_ARCH[arch]),  # another: deny
        (BPF_LD_W_ABS, 0, 0, 0),  # the system call's number
        (BPF_JGE_K, 5, 0, X32_BIT),  # x32: deny
        (BPF_JEQ_K, 4, 0, SETSID[arch]),  # deny
        (BPF_JEQ_K, 0, 2, PRCTL[arch]),  # else allow
        (BPF_LD_W_ABS, 0, 0, 16),  # its first argument (seccomp_data.args[0]), low word
        (BPF_JEQ_K, 1, 0, PR_SET_PDEATHSIG),  # deny
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        (BPF_RET_K, 0, 0, deny),
    ]
    filters = (_Filter * len(code))(*[_Filter(*c) for c in code])
    program = _Program(len(code), filters)
    call("prctl", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0)
