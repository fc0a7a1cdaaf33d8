"""Judge side of the worker processes: start the zygote, spawn, talk to and kill workers.

Importing this module is cheap (no torch): the CLI starts the zygote first, so that the
zygote's torch import overlaps with the judge's own.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from typing import IO, Any, Protocol, TypeVar

from grader.errors import GraderError, ProtocolError, ReplyTooLarge, SandboxError
from grader.sandbox import syscalls
from grader.sandbox.limits import Limits

T = TypeVar("T")

SIGNAL_REASONS: dict[int, str] = {
    signal.SIGKILL: "it was killed (SIGKILL), usually for going over the memory limit",
    signal.SIGXCPU: "it used up its CPU time limit",
    signal.SIGXFSZ: "it wrote a file larger than the file-size limit",
    signal.SIGSEGV: "it crashed with a segmentation fault",
    signal.SIGABRT: "it aborted",
}


class WorkerLost(Exception):
    """The worker died, timed out or broke the protocol; `reason` is written for the student."""

    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class Output:
    """Collects a worker's stdout/stderr from a pipe, keeping at most `cap` bytes."""

    def __init__(self, fd: int, cap: int):
        self.cap, self.data, self.dropped = cap, bytearray(), 0
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                keep = max(0, self.cap - len(self.data))
                self.data += chunk[:keep]
                self.dropped += len(chunk) - min(keep, len(chunk))

    def text(self, wait: float = 0.5) -> str:
        self._thread.join(wait)
        text = self.data.decode("utf-8", "replace")
        return text + (f"\n[... {self.dropped} more bytes not shown]" if self.dropped else "")


class WorkerProcess:
    """One live worker: a channel socket, its output, and how to stop it.

    A reply is read within the caps of `limits` (`reply_mib`, `reply_objects`) and, with the
    decoding of its value (`decode`), before the request's deadline; a worker that breaks
    them or the protocol is killed, and the request fails with a `WorkerLost`.
    """

    def __init__(
        self,
        pid: int,
        sock: socket.socket,
        output: Output,
        status_fd: int,
        limits: Limits | None = None,
        pidfd: int | None = None,
        on_end: Callable[[], object] | None = None,
    ):
        self.pid, self.sock, self.output, self.status_fd = pid, sock, output, status_fd
        self._on_end = on_end  # called once `close` has seen it exit
        limits = limits or Limits()
        self.max_bytes = int(limits.reply_mib * (1 << 20))  # per reply: `[limits] reply_mib`
        self.max_objects = int(limits.reply_objects)
        self.dead = False
        # readable once the worker has exited (None: poll /proc); signals go through it
        self._exited = pidfd if pidfd is not None else syscalls.pidfd_open(pid)
        self._closed = False
        self._signalling = threading.Lock()  # kill() and close() never overlap
        self._deadline: float | None = None  # of the last request, for decoding its reply
        self._timeout: float | None = None
        self._what = ""

    def request(
        self, message: dict[str, Any], blobs: list[bytes], timeout: float | None, what: str
    ) -> tuple[dict[str, Any], list[memoryview]]:
        """Send one request and wait for its reply, killing the worker after `timeout` s."""
        from grader.sandbox import wire

        if self.dead:
            raise WorkerLost("the worker is no longer running")
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._timeout, self._what = timeout, what

        def exchange() -> tuple[dict[str, Any], list[memoryview]]:
            wire.send(self.sock, message, blobs, self._deadline)
            return wire.recv(
                self.sock,
                self._deadline,
                max_bytes=self.max_bytes,
                max_objects=self.max_objects,
            )

        return self._guarded(exchange)

    def decode(
        self, value: Any, blobs: list[memoryview], handle: Callable[[dict[str, Any]], Any]
    ) -> Any:
        """A value of the last request's reply, decoded within its caps and its deadline."""
        from grader.sandbox import wire

        return self._guarded(
            lambda: wire.decode(
                value,
                blobs,
                handle,
                max_objects=self.max_objects,
                max_bytes=self.max_bytes,
                deadline=self._deadline,
            )
        )

    def malformed(self, problem: str) -> WorkerLost:
        """Kill the worker for a reply that is readable but wrong; the error to raise."""
        return self._kill_for(
            f"your code sent back something unreadable during {self._what}: {problem}"
        )

    def _guarded(self, step: Callable[[], T]) -> T:
        """`step()`, with a failed exchange turned into a `WorkerLost` that says why."""
        what = self._what
        try:
            return step()
        except TimeoutError:
            lost = self._kill_for(f"your code ran out of time after {self._timeout:g} s in {what}")
            lost.timed_out = True
        except (EOFError, OSError):
            reason = self.exit_reason()
            lost = WorkerLost(f"the worker running your code stopped during {what}: {reason}")
        except ReplyTooLarge as exc:
            lost = self._kill_for(f"your code returned {exc} from {what}")
        except ProtocolError as exc:
            lost = self._kill_for(f"your code sent back something unreadable during {what}: {exc}")
        raise lost  # outside the handlers: no chained error keeps the reply's buffers alive

    def _kill_for(self, reason: str) -> WorkerLost:
        self.kill()
        return WorkerLost(reason)

    def exit_reason(self) -> str:
        """How the worker ended, in words, once it has ended."""
        self.dead = True
        status = _read_status(self.status_fd)
        if status.startswith("exit "):
            code = int(status.split()[1])
            return (
                f"it exited with status {code} (did your code call sys.exit() or "
                "os._exit()? Return values or raise exceptions instead)"
            )
        if status.startswith("signal "):
            sig = int(status.split()[1])
            return SIGNAL_REASONS.get(sig, f"it was killed by signal {sig}")
        return "it disappeared without an exit status (its process group was killed)"

    def kill(self) -> None:
        """Stop the worker and everything it started. Once it has been closed, nothing: its
        pid may be another process's by then. (A budget's timer thread calls it too.)"""
        self.dead = True
        with self._signalling:
            if self._closed:
                return
            pidfd = self._exited
            try:
                if pidfd is None or not _exited(pidfd, 0):  # its pid and group are its own
                    os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                if pidfd is not None:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        self.kill()
        with self._signalling:
            if self._closed:
                return
            self._closed = True
        # the worker's exit (PID 1 of its namespace) takes the rest with it: wait, at most 2 s
        if self._exited is not None:
            ended = _exited(self._exited, 2.0)
            os.close(self._exited)
            self._exited = None
        else:
            deadline = time.monotonic() + 2.0
            while os.path.exists(f"/proc/{self.pid}") and time.monotonic() < deadline:
                time.sleep(0.005)
            ended = not os.path.exists(f"/proc/{self.pid}")
        if ended and self._on_end is not None:
            self._on_end()
        self.sock.close()
        try:
            os.close(self.status_fd)
        except OSError:
            pass


def _exited(pidfd: int, wait: float) -> bool:
    """Whether the process of `pidfd` has exited, waiting at most `wait` s for it."""
    poller = select.poll()  # not select(): a descriptor may be numbered 1024 or more
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(wait * 1000))


SOCKET_BUFFER = 4 << 20  # capped by net.core.wmem_max (often 208 KiB, 4 MiB here)
HELLO_BYTES = 1 << 20  # what a worker's first message may take: notes and an error report
HELLO_OBJECTS = 10_000


def _hello(worker: WorkerProcess, timeout: float) -> dict[str, Any]:
    """The worker's first message: how importing the submission went, or why it was lost."""
    from grader.sandbox import wire

    lost = ""
    try:
        hello, _ = wire.recv(
            worker.sock,
            time.monotonic() + timeout,
            max_bytes=HELLO_BYTES,
            max_objects=HELLO_OBJECTS,
        )
        return hello
    except TimeoutError:
        worker.kill()
        lost = (
            f"importing your module did not finish within {timeout:g} s (an endless loop or "
            "a very slow computation at the top level of your file?)"
        )
    except (EOFError, OSError):
        lost = f"the worker stopped while importing your module: {worker.exit_reason()}"
    except ProtocolError as exc:
        worker.kill()
        lost = f"your module sent back something unreadable while it was imported: {exc}"
    return {"ok": False, "lost": lost}


def _read_status(fd: int, wait: float = 10.0) -> str:
    """How the worker ended: the zygote writes it when it reaps the worker, which waits while
    it warms up (1-2 s, just after the first spawn of a `grader check`)."""
    deadline = time.monotonic() + wait
    chunks = b""
    os.set_blocking(fd, False)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 64)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except OSError:
            break
        if not chunk:
            break
        chunks += chunk
    return chunks.decode(errors="replace")


class WorkerSource(Protocol):
    """What a judge gets its workers from: a `Zygote`, or a stand-in with the same `spawn`
    (such as a batch's per-submission time budget).

    `spawn` returns the live worker and its hello, the worker's first message: `ok` and
    `error` (how importing the submission went) and `notes`, or `ok` false and `lost` (the
    worker was lost while importing). The hello is the worker's word, not validated here.
    """

    def spawn(
        self,
        *,
        workdir: str,
        module: str,
        limits: Limits,
        forbidden: list[str],
        masks: list[str],
        seed: int,
    ) -> tuple[WorkerProcess, dict[str, Any]]: ...


class Zygote:
    """A clean, torch-warmed process that forks workers; start it early, it takes ~2 s.

    with Zygote() as zygote:
        worker, hello = zygote.spawn(...)
    """

    def __init__(self, *, warm_first: bool = False) -> None:
        """`warm_first`: import what student code triggers lazily before saying ready (a
        batch's zygotes), instead of just after the first spawn (a single `grader check`)."""
        ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        stderr = tempfile.TemporaryFile()  # a file, not a pipe: it can never fill and block
        process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", str(theirs.fileno())]
            + (["warm"] if warm_first else []),
            pass_fds=[theirs.fileno()],
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        theirs.close()
        self._attach(ctl, process, stderr)

    def _attach(self, ctl: socket.socket, process: _Process, stderr: IO[bytes] | None) -> None:
        self._ctl, self.process, self._stderr = ctl, process, stderr
        self._ready = False
        self._lock = threading.Lock()
        self._spawned = 0
        self._running: set[int] = set()  # workers spawned here that close() has not seen end
        self._lent = False  # a fork of this process may have spawned workers through it
        _ZYGOTES.add(self)

    def clone(self) -> Zygote | None:
        """A warm copy of this zygote, forked from it (~30 ms, where starting one takes ~2 s
        of CPU); None where the clone could not be watched (no pidfd: not Linux 5.3+)."""
        if not hasattr(os, "pidfd_open"):
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                self._wait_ready()
                socket.send_fds(self._ctl, [b'{"clone": true}'], [theirs.fileno()])
                reply = json.loads(self._ctl.recv(4096))
        except (OSError, ValueError):
            ours.close()
            return None
        finally:
            theirs.close()
        try:
            process = _Clone(reply["pid"])
        except (KeyError, TypeError, OSError):
            ours.close()
            return None
        twin = Zygote.__new__(Zygote)
        twin._attach(ours, process, None)
        return twin

    def _wait_ready(self) -> None:
        if self._ready:
            return
        self._ctl.settimeout(120)
        try:
            ok = self._ctl.recv(16) == b"ready"
        except OSError:
            ok = False
        if not ok:
            err = ""
            if self.process.poll() is not None and self._stderr is not None:
                self._stderr.seek(0)
                err = self._stderr.read().decode(errors="replace")[-2000:]
            raise GraderError(f"the worker zygote failed to start (is torch installed?)\n{err}")
        self._ctl.settimeout(None)
        self._ready = True

    def wait_ready(self) -> None:
        """Block until the zygote has imported torch (`spawn` waits by itself)."""
        with self._lock:
            self._wait_ready()

    def spawn(
        self,
        *,
        workdir: str,
        module: str,
        limits: Limits,
        forbidden: list[str],
        masks: list[str],
        seed: int,
    ) -> tuple[WorkerProcess, dict[str, Any]]:
        """Fork a fresh worker for the submission in `workdir`; returns it and its hello."""
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):  # a tensor or an answer in one write, not in 200 KB turns
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        out_r, out_w = os.pipe()
        st_r, st_w = os.pipe()
        request = {
            "workdir": workdir,
            "module": module,
            "limits": limits.to_dict(),
            "forbidden": forbidden,
            "masks": masks,
            "seed": seed,
        }
        with self._lock:
            self._wait_ready()
            socket.send_fds(
                self._ctl, [json.dumps(request).encode()], [theirs.fileno(), out_w, st_w]
            )
            raw, fds, _, _ = socket.recv_fds(self._ctl, 4096, 1)
            reply = json.loads(raw)
        pidfd = fds[0] if fds else None  # the zygote's: opened before it could reap the worker
        for fd in (theirs.fileno(), out_w, st_w):
            os.close(fd)
        theirs.detach()
        if "pid" not in reply:
            raise GraderError(f"the worker zygote refused a request: {reply}")
        output = Output(out_r, limits.output_kib * 1024)
        self._spawned += 1
        token = self._spawned  # not its pid: a pid can be reused
        self._running.add(token)
        worker = WorkerProcess(
            reply["pid"], ours, output, st_r, limits, pidfd, lambda: self._running.discard(token)
        )
        # first frame: the sandbox's own, sent before any student code runs, so the
        # submission cannot forge it; then the import's
        setup = _hello(worker, limits.import_timeout_s)
        if setup.get("setup_error"):
            worker.close()
            raise SandboxError(
                f"the sandbox could not set up a worker, before any of the "
                f"submission's code ran: {setup['setup_error']}"
            )
        if setup.get("setup") != "ok":
            return worker, setup
        hello = _hello(worker, limits.import_timeout_s)
        notes = setup.get("notes")
        return worker, dict(hello, notes=notes if isinstance(notes, list) else [])

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the zygote: it kills the workers it forked as it goes, given a second (and
        their parent-death signal kills them should it be killed first). Where every worker
        it forked is known to have ended (none spawned by a fork of this process), it is
        killed at once: a `grader check`'s zygote may be warming up for a second or two."""
        try:
            self._ctl.close()
        finally:
            deadline = time.monotonic() + (1.0 if self._lent or self._running else 0.0)
            while self.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self._stderr is not None:
                self._stderr.close()


_ZYGOTES: weakref.WeakSet[Zygote] = weakref.WeakSet()


def _lend_zygotes() -> None:
    for zygote in list(_ZYGOTES):
        zygote._lent = True


os.register_at_fork(after_in_parent=_lend_zygotes)


class _Process(Protocol):
    def poll(self) -> int | None: ...
    def kill(self) -> None: ...
    def wait(self) -> object: ...


class _Clone:
    """A zygote's clone, as `Zygote.process`: a child of that zygote, not of this process,
    so it is watched and killed through a pidfd (which no later process can reuse)."""

    def __init__(self, pid: int):
        self.pid = pid
        self._fd: int | None = os.pidfd_open(pid)

    def poll(self) -> int | None:
        """None while it runs."""
        if self._fd is None or _exited(self._fd, 0):
            return 0
        return None

    def kill(self) -> None:
        if self._fd is not None:
            try:
                signal.pidfd_send_signal(self._fd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self) -> None:
        if self._fd is not None:
            _exited(self._fd, 10.0)
            os.close(self._fd)
            self._fd = None
