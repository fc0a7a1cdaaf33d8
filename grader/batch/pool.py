"""A pool of judge processes forked from the warm batch process, one fork per submission.

The batch process has imported torch, pytest and the grader once; each submission is
graded in a fork of it (~10 ms), so it pays only for its checks. Every slot of the pool
owns a zygote that one fork at a time uses: the zygote's control socket carries one
request and its reply at a time. A fork that dies, or outlives its time limit plus a
grace period, is killed; its slot gets a fresh zygote (closing the old one ends the
workers it forked), and the caller is told why.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from grader.sandbox.client import Zygote

Item = TypeVar("Item")
GRACE_S = 30.0  # beyond the submission's own budget, which the fork enforces itself


@dataclass
class ForkExit:
    """How a fork ended: `ok` when it exited normally after doing its work."""

    ok: bool
    reason: str = ""


@dataclass
class _Running(Generic[Item]):
    item: Item
    pid: int
    slot: int
    kill_at: float


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"killed by signal {sig} ({signal.Signals(sig).name})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


class JudgePool:
    """`size` slots, each with its own zygote; start it early, zygotes take ~2 s."""

    def __init__(self, size: int):
        self.size = size
        self.zygotes = [Zygote() for _ in range(size)]

    def wait_ready(self) -> None:
        for zygote in self.zygotes:
            zygote.wait_ready()

    def _replace(self, slot: int) -> None:
        self.zygotes[slot].close()
        self.zygotes[slot] = Zygote()
        self.zygotes[slot].wait_ready()

    def __enter__(self) -> JudgePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for zygote in self.zygotes:
            zygote.close()

    def run(
        self,
        items: Sequence[Item],
        work: Callable[[Item, Zygote], None],
        *,
        limit_s: float,
        done: Callable[[Item, ForkExit], None],
        tick: Callable[[], None] = lambda: None,
        log_path: str = os.devnull,
    ) -> None:
        """Call `work(item, zygote)` in a fork for each item, `size` at a time.

        `done(item, outcome)` runs in this process as each fork ends; `tick()` about ten
        times a second (e.g. to redraw a progress bar).
        """
        self.wait_ready()
        gc.freeze()  # forks then neither copy nor scan the objects that exist now
        queue = deque(items)
        free = list(range(self.size))
        running: dict[int, _Running] = {}  # by the read end of the fork's pipe
        try:
            while queue or running:
                while queue and free:
                    item = queue.popleft()
                    slot = free.pop(0)
                    fd, pid = self._fork(item, work, self.zygotes[slot], log_path)
                    running[fd] = _Running(item, pid, slot, time.monotonic() + limit_s + GRACE_S)
                now = time.monotonic()
                wait = min([0.1] + [max(0.0, r.kill_at - now) for r in running.values()])
                readable, _, _ = select.select(list(running), [], [], wait)
                for fd in readable:
                    if os.read(fd, 512):
                        continue
                    job = running.pop(fd)
                    os.close(fd)
                    _, status = os.waitpid(job.pid, 0)
                    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                        outcome = ForkExit(True)
                    else:
                        outcome = ForkExit(
                            False, f"the judge process grading it {_status_text(status)}"
                        )
                        self._replace(job.slot)
                    free.append(job.slot)
                    done(job.item, outcome)
                now = time.monotonic()
                for fd, job in list(running.items()):
                    if now < job.kill_at:
                        continue
                    del running[fd]
                    os.close(fd)
                    os.kill(job.pid, signal.SIGKILL)
                    os.waitpid(job.pid, 0)
                    self._replace(job.slot)
                    free.append(job.slot)
                    done(
                        job.item,
                        ForkExit(
                            False,
                            f"the judge process grading it did not finish "
                            f"within {limit_s + GRACE_S:g} s",
                        ),
                    )
                tick()
        finally:
            for fd, job in running.items():
                os.close(fd)
                try:
                    os.kill(job.pid, signal.SIGKILL)
                    os.waitpid(job.pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
            gc.unfreeze()

    @staticmethod
    def _fork(
        item: Item, work: Callable[[Item, Zygote], None], zygote: Zygote, log_path: str
    ) -> tuple[int, int]:
        """Start one fork; returns (read end of a pipe that closes when it ends, its pid)."""
        sys.stdout.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(w)
            return r, pid
        code = 70
        try:  # the fork: never returns into the caller's stack
            os.close(r)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)
            work(item, zygote)
            code = 0
        except BaseException:  # noqa: BLE001 - reported through the exit status and the log
            try:
                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
