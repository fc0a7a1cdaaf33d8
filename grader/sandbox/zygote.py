"""The zygote: a clean process with torch imported that forks a fresh worker on request.

It holds no reference code, no check code and no expected values, so nothing a
worker inherits from it is secret. Run as `python -m grader.sandbox.zygote FD [warm]`, where FD
is a SOCK_SEQPACKET socket to the judge. Each request carries three descriptors
(the worker's channel, its output pipe, a status pipe) and is answered with the
worker's pid, which the judge kills to stop it; the zygote reaps it and writes how it ended
to its status pipe. A batch starts one zygote and asks it for clones (a fork each, instead of
another ~2 s start).
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
from typing import Any, NoReturn

from grader.sandbox import confine, syscalls
from grader.sandbox.limits import Limits


def _status_text(status: int) -> str:
    if os.WIFEXITED(status):
        return f"exit {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {status}"


def _worker(
    request: dict[str, Any], zygote: int, chan: int, out: int, pid_ns: str | None
) -> NoReturn:
    """Child of the zygote (pid `zygote`), PID 1 of a PID namespace of its own unless `pid_ns`
    says why not: enters the rest of the sandbox and becomes the worker."""
    from grader.sandbox import worker

    os.setsid()  # a process group of its own, which the judge kills with it
    notes = confine.die_with_parent()  # a worker never outlives its zygote
    pid, parent = confine.host_pid_and_parent()
    if parent != zygote:  # the zygote ended before that took effect
        os._exit(0)
    request["uid"] = confine.UID_BASE + pid  # a user of its own: unique while it lives
    try:
        limits = Limits.from_dict(request["limits"])
        found, in_force, request["workdir"] = confine.enter_namespaces(
            request["workdir"],
            work_mib=limits.work_mib,
            uid=request["uid"],
            hide=[m for m in request.get("masks", []) if isinstance(m, str)],
            pid_ns=pid_ns,
        )
    except BaseException as exc:  # noqa: BLE001 - no student code has run: the sandbox's fault
        worker.refuse(socket.socket(fileno=chan), exc)
    worker.start(chan, out, request, notes + found, in_force)


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

    _become_subreaper()
    cold = sys.argv[2:] != ["warm"]  # "warm": warm up before saying ready (a batch's zygotes)
    if not cold:
        _warm_up()
    server = _Server(ctl, cold)
    ctl.sendall(b"ready")
    server.run()
    sys.stderr.flush()
    os._exit(0)  # no teardown: the final collections over torch's objects take ~0.5 s


class _Server:
    """A zygote's loop. Each request on `ctl` is answered with a pid: a worker's (3
    descriptors: its channel, output and status pipe, on which this process writes how it
    ended), or a clone's (`{"clone": true}`, 1 descriptor: the clone's own control socket, on
    which it says ready). Everything forked here is reaped here."""

    def __init__(self, ctl: socket.socket, cold: bool):
        self.ctl, self.cold = ctl, cold
        self.statuses: dict[int, int] = {}  # a live worker's pid: its status pipe
        self.pidfds: dict[int, int] = {}  # and a pidfd, to kill it when the judge goes
        self.wake_r, self.wake_w = os.pipe()  # written to on SIGCHLD
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wake_w)
        self.home = confine.pid_namespace_home()  # None: workers get no namespaces

    def run(self) -> None:
        """Serve until the judge closes `ctl`, then kill the workers still alive (student code
        can clear their parent-death signal: a thread's execve)."""
        try:
            self._serve()
        finally:
            for pidfd in self.pidfds.values():
                try:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except OSError:
                    pass

    def _serve(self) -> None:
        while True:
            readable, _, _ = select.select([self.ctl.fileno(), self.wake_r], [], [])
            if self.wake_r in readable:
                try:
                    while os.read(self.wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                self._reap()
            if self.ctl.fileno() in readable and not self._answer():
                return

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            pidfd = self.pidfds.pop(pid, None)
            if pidfd is not None:
                os.close(pidfd)
            fd = self.statuses.pop(pid, None)  # None: a clone, or an orphan re-parented here
            if fd is not None:
                try:
                    os.write(fd, _status_text(status).encode())
                except OSError:  # the judge no longer listens
                    pass
                os.close(fd)

    def _answer(self) -> bool:
        """Answer one request; False once the judge has gone."""
        try:
            raw, fds, _, _ = socket.recv_fds(self.ctl, 1 << 20, 3)
        except OSError:
            return False
        if not raw:
            return False
        request = json.loads(raw)
        clone = request.get("clone") is True
        if len(fds) != (1 if clone else 3):
            for fd in fds:
                os.close(fd)
            self.ctl.sendall(json.dumps({"error": "wrong number of descriptors"}).encode())
            return True
        if clone and self.cold:  # a clone is as warm as a batch's zygote
            self.cold = False
            _warm_up()
        gc.freeze()  # children neither copy nor scan what exists now (gc headers live in objects)
        pid = self._clone(fds[0]) if clone else self._spawn(request, fds[0], fds[1], fds[2])
        reply = json.dumps({"pid": pid}).encode()
        pidfd = self.pidfds.get(pid)
        if pidfd is None:
            self.ctl.sendall(reply)
        else:  # the judge signals the worker through it: never another process with its pid
            socket.send_fds(self.ctl, [reply], [pidfd])
        if self.cold:  # after the first spawn: off the critical path of a single `grader check`
            self.cold = False
            _warm_up()
        return True

    def _spawn(self, request: dict[str, Any], chan: int, out: int, status: int) -> int:
        """Fork a worker, PID 1 of a PID namespace of its own where there are namespaces."""
        pid_ns = "namespaces are off" if self.home is None else confine.new_pid_namespace()
        me = os.getpid()
        try:
            pid = os.fork()
        finally:
            if os.getpid() == me and self.home is not None and pid_ns is None:
                confine.return_to_pid_namespace(self.home)  # for the next child
        if pid == 0:
            try:
                os.close(status)  # how it ends is written by this process, not by itself
                self._leave()
                _worker(request, me, chan, out, pid_ns)
            finally:
                os._exit(71)
        self.statuses[pid] = status
        pidfd = syscalls.pidfd_open(pid)  # before this process can reap it
        if pidfd is not None:
            self.pidfds[pid] = pidfd
        os.close(chan)
        os.close(out)
        return pid

    def _clone(self, fd: int) -> int:
        """Fork a clone of this zygote that serves its own socket `fd`."""
        pid = os.fork()
        if pid == 0:
            try:
                self._leave()
                _become_subreaper()
                twin = socket.socket(fileno=fd)
                server = _Server(twin, cold=False)
                twin.sendall(b"ready")
                server.run()
                os._exit(0)
            finally:
                os._exit(71)
        os.close(fd)
        return pid

    def _leave(self) -> None:
        """In a child: close what is this server's (the parent's channel: what comes on it is
        not for the child; the other workers' status pipes), and restore SIGCHLD."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in [*self.statuses.values(), *self.pidfds.values(), self.wake_r, self.wake_w]:
            os.close(fd)
        if self.home is not None:
            os.close(self.home)
        self.ctl.close()


if __name__ == "__main__":
    serve()
