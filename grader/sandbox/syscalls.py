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
