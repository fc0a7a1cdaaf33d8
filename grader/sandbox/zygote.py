"""The zygote: a clean process with torch imported that forks a fresh worker on request.

It holds no reference code, no check code and no expected values, so nothing a
worker inherits from it is secret. Run as `python -m grader.sandbox.zygote FD [warm]`, where FD
is a SOCK_SEQPACKET socket to the judge. Each request carries three descriptors
(the worker's channel, its output pipe, a status pipe) and is answered with the
pid of the worker's monitor, which the judge kills to stop the worker. A batch starts one
zygote and asks it for clones (a fork each, instead of another ~2 s start).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
from typing import Any, NoReturn

from grader.sandbox.limits import Limits


def _status_text(status: int) -> str:
    if os.WIFEXITED(status):
        return f"exit {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {status}"


def _monitor(
    ctl: socket.socket, request: dict[str, Any], zygote: int, chan: int, out: int, status: int
) -> NoReturn:
    """Child of the zygote (pid `zygote`): enters the sandbox, forks the worker, reports how
    it ended."""
    from grader.sandbox import confine, worker

    ctl.close()
    os.setsid()
    notes = confine.die_with_parent()  # a monitor, and so its worker, never outlives the zygote
    if os.getppid() != zygote:  # the zygote ended before that took effect (a clone's monitor
        # is re-parented to the zygote it was cloned from, a subreaper, not to PID 1)
        os._exit(0)
    request["uid"] = confine.UID_BASE + os.getpid()  # a user of its own: unique while it lives
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        limits = Limits.from_dict(request["limits"])
        found, pid_namespace, request["workdir"] = confine.enter_namespaces(
            request["workdir"],
            work_mib=limits.work_mib,
            uid=request["uid"],
            hide=[m for m in request.get("masks", []) if isinstance(m, str)],
        )
    except BaseException as exc:  # noqa: BLE001 - no student code has run: the sandbox's fault
        worker.refuse(socket.socket(fileno=chan), exc)
    notes += found
    child = os.fork()
    if child == 0:
        os.close(status)
        worker.start(chan, out, request, notes, pid_namespace)
    os.close(chan)
    os.close(out)
    while True:
        try:
            _, st = os.waitpid(child, 0)
            break
        except ChildProcessError:
            st = 0
            break
        except InterruptedError:
            continue
    try:
        os.write(status, _status_text(st).encode())
    finally:
        os._exit(0)


def _warm_up() -> None:
    """Import what student code triggers lazily and every worker would import again: the first
    torch.optim optimizer imports torch._dynamo (~1 s of CPU), and backward() with a given
    gradient (every vjp request) imports sympy (~0.4 s). Neither starts a thread."""
    import torch._dynamo  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401


def _become_subreaper() -> None:
    """Orphaned workers are re-parented here rather than to PID 1 (not inherited by a fork)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def serve() -> None:
    """Import torch, say ready, then serve requests until the judge closes the socket."""
    ctl = socket.socket(fileno=int(sys.argv[1]))
    import torch

    torch.set_num_threads(1)  # before any op: forking after a multi-threaded op hangs the child
    torch.set_num_interop_threads(1)
    torch.zeros(2, 2) @ torch.ones(2, 2)  # warm up the allocator and the matmul path
    import numpy.random  # noqa: F401 - numpy 2 imports it lazily
    import torch.nn.functional  # noqa: F401 - what student code imports first

    import grader.sandbox.worker  # noqa: F401 - imported once here, not in every worker

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped automatically
    _become_subreaper()
    cold = sys.argv[2:] != ["warm"]  # "warm": warm up before saying ready (a batch's zygotes)
    if not cold:
        _warm_up()
    ctl.sendall(b"ready")
    _serve(ctl, cold)


def _serve(ctl: socket.socket, cold: bool) -> None:
    """Answer each request on `ctl`: fork a worker's monitor (3 descriptors: the worker's
    channel, output and status), or a clone of this zygote (`{"clone": true}`, 1 descriptor:
    the clone's own control socket, on which it says ready)."""
    while True:
        try:
            raw, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 3)
        except (ConnectionError, OSError):
            return
        if not raw:
            return
        request = json.loads(raw)
        clone = request.get("clone") is True
        if len(fds) != (1 if clone else 3):
            for fd in fds:
                os.close(fd)
            ctl.sendall(json.dumps({"error": "wrong number of descriptors"}).encode())
            continue
        if clone and cold:  # a clone is as warm as a batch's zygote
            cold = False
            _warm_up()
        gc.freeze()  # children neither copy nor scan what exists now (gc headers live in objects)
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                if clone:
                    ctl.close()  # the parent's channel: what comes on it is not for the clone
                    _become_subreaper()
                    twin = socket.socket(fileno=fds[0])
                    twin.sendall(b"ready")
                    _serve(twin, cold=False)
                    os._exit(0)
                _monitor(ctl, request, me, *fds)
            finally:
                os._exit(71)
        for fd in fds:
            os.close(fd)
        ctl.sendall(json.dumps({"pid": pid}).encode())
        if cold:  # after the first spawn: off the critical path of a single `grader check`
            cold = False
            _warm_up()


if __name__ == "__main__":
    serve()
