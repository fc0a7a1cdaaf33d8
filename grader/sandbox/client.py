"""Judge side of the worker processes: start the zygote, spawn, talk to and kill workers.

Importing this module is cheap (no torch): the CLI starts the zygote first, so that the
zygote's torch import overlaps with the judge's own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Protocol

from grader.errors import GraderError, SandboxError
from grader.sandbox.limits import Limits

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
    """One live worker: a channel socket, its output, and how to stop it."""

    def __init__(self, pid: int, sock: socket.socket, output: Output, status_fd: int):
        self.pid, self.sock, self.output, self.status_fd = pid, sock, output, status_fd
        self.dead = False

    def request(
        self, message: dict[str, Any], blobs: list[bytes], timeout: float | None, what: str
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Send one request and wait for its reply, killing the worker after `timeout` s."""
        from grader.sandbox import wire

        if self.dead:
            raise WorkerLost("the worker is no longer running")
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            wire.send(self.sock, message, blobs)
            return wire.recv(self.sock, deadline)
        except TimeoutError:
            self.kill()
            raise WorkerLost(
                f"your code ran out of time after {timeout:g} s in {what}", timed_out=True
            ) from None
        except (EOFError, OSError):
            raise WorkerLost(
                f"the worker running your code stopped during {what}: {self.exit_reason()}"
            ) from None
        except GraderError as exc:
            self.kill()
            raise WorkerLost(
                f"your code sent back something unreadable during {what}: {exc}"
            ) from None

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
        """Stop the worker and everything it started."""
        self.dead = True
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        self.kill()
        deadline = time.monotonic() + 2.0  # the monitor's exit takes its PID namespace with it
        while os.path.exists(f"/proc/{self.pid}") and time.monotonic() < deadline:
            time.sleep(0.005)
        self.sock.close()
        try:
            os.close(self.status_fd)
        except OSError:
            pass


def _read_status(fd: int, wait: float = 2.0) -> str:
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

    def __init__(self) -> None:
        self._ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: it can never fill and block
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        theirs.close()
        self._ready = False
        self._lock = threading.Lock()

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
            if self.process.poll() is not None:
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
        from grader.sandbox import wire

        ours, theirs = socket.socketpair()
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
            reply = json.loads(self._ctl.recv(4096))
        for fd in (theirs.fileno(), out_w, st_w):
            os.close(fd)
        theirs.detach()
        if "pid" not in reply:
            raise GraderError(f"the worker zygote refused a request: {reply}")
        worker = WorkerProcess(reply["pid"], ours, Output(out_r, limits.output_kib * 1024), st_r)
        try:
            hello, _ = wire.recv(ours, time.monotonic() + limits.import_timeout_s)
        except TimeoutError:
            worker.kill()
            hello = {
                "ok": False,
                "lost": f"importing your module did not finish within "
                f"{limits.import_timeout_s:g} s (an endless loop or a very slow computation "
                "at the top level of your file?)",
            }
        except (EOFError, OSError, GraderError):
            hello = {
                "ok": False,
                "lost": f"the worker stopped while importing your module: {worker.exit_reason()}",
            }
        if hello.get("setup_error"):
            worker.close()
            raise SandboxError(
                f"the sandbox could not set up a worker, before any of the "
                f"submission's code ran: {hello['setup_error']}"
            )
        return worker, hello

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the zygote; the workers it forked die with it."""
        try:
            self._ctl.close()
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self._stderr.close()
