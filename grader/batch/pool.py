"""A pool of judge processes forked from the warm batch process, each grading one entry after
another.

The batch process has imported torch, pytest and the grader once; each slot of the pool is a
judge forked from it (~10 ms), which grades up to JUDGE_ENTRIES entries in turn, so that an
entry pays only for its checks: no fork, no copy-on-write of the parent's memory and no
pytest collection of its own (`around`, e.g. `runner.with_checks`, wraps a judge's whole
loop). Everything a grade depends on is built afresh for each entry (its worker, its
proxy session, its pytest run); a judge that has graded its share exits and is forked again.
Every slot owns a zygote its judge alone uses, a clone of one warm zygote. A judge that dies,
or outlives an entry's time limit plus a grace period, is killed; its slot gets a fresh zygote
(closing the old one ends the workers it forked) and a fresh judge, and the caller is told why
for that entry.
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


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"killed by signal {sig} ({signal.Signals(sig).name})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


class JudgePool:
    """`size` slots, each with its own zygote; start it early, the first zygote takes ~2 s.

    `mother`, the zygote started first, serves this process alone (e.g. to grade the
    template); each slot's zygote is a clone of it (`wait_ready`), which its judge alone uses.
    """

    def __init__(self, size: int, *, mother: Zygote | None = None):
        self.size = size
        self.mother = mother if mother is not None else Zygote(warm_first=True)
        self.zygotes: list[Zygote] = []

    def wait_ready(self) -> None:
        while len(self.zygotes) < self.size:
            self.zygotes.append(self._clone())
        for zygote in self.zygotes:
            zygote.wait_ready()

    def _clone(self) -> Zygote:
        """A clone of the mother (a fork), or a new zygote where it cannot be cloned."""
        return self.mother.clone() or Zygote(warm_first=True)

    def _replace(self, slot: int) -> None:
        self.zygotes[slot].close()
        self.zygotes[slot] = self._clone()
        self.zygotes[slot].wait_ready()

    def __enter__(self) -> JudgePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for zygote in [*self.zygotes, self.mother]:
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
        around: Callable[[Callable[[], None]], None] = lambda serve: serve(),
    ) -> None:
        """Call `work(item, zygote)` in a judge process for each item, `size` at a time.

        `done(item, outcome)` runs in this process as each item ends; `tick()` about ten
        times a second (e.g. to redraw a progress bar); `around(serve)` runs each judge's
        loop, in the judge.
        """
        self.wait_ready()
        gc.freeze()  # judges then neither copy nor scan the objects that exist now
        queue = deque(range(len(items)))
        judges: dict[int, _Judge] = {}  # by slot
        try:
            while queue or any(j.current is not None for j in judges.values()):
                for slot in range(self.size):
                    if not queue:
                        break
                    judge = judges.get(slot)
                    if judge is None:
                        others = [fd for j in judges.values() for fd in (j.to_judge, j.fd)]
                        judge = judges[slot] = _Judge.start(
                            items, work, self.zygotes[slot], log_path, around, others
                        )
                    if judge.current is None:
                        judge.give(queue.popleft(), time.monotonic() + limit_s + GRACE_S)
                busy = {j.fd: (slot, j) for slot, j in judges.items() if j.current is not None}
                now = time.monotonic()
                wait = min([0.1] + [max(0.0, j.kill_at - now) for _, j in busy.values()])
                readable, _, _ = select.select(list(busy), [], [], wait)
                for fd in readable:
                    slot, judge = busy[fd]
                    index = judge.current
                    assert index is not None
                    if judge.finished():
                        done(items[index], ForkExit(True))
                        if judge.graded >= JUDGE_ENTRIES:
                            judge.stop()
                            del judges[slot]
                        continue
                    reason = f"the judge process grading it {judge.stop()}"
                    del judges[slot]
                    self._replace(slot)
                    done(items[index], ForkExit(False, reason))
                now = time.monotonic()
                for slot, judge in list(judges.items()):
                    if judge.current is None or now < judge.kill_at:
                        continue
                    index = judge.current
                    judge.stop(kill=True)
                    del judges[slot]
                    self._replace(slot)
                    done(
                        items[index],
                        ForkExit(
                            False,
                            f"the judge process grading it did not finish "
                            f"within {limit_s + GRACE_S:g} s",
                        ),
                    )
                tick()
        finally:
            for judge in judges.values():
                judge.stop(kill=judge.current is not None)
            gc.unfreeze()


JUDGE_ENTRIES = 100  # entries a judge grades before it exits and is forked again


class _Judge(Generic[Item]):
    """One judge process: it reads an item's index from a pipe, calls `work` on it, and
    answers with a byte once it is done; it ends when the pipe closes."""

    def __init__(self, pid: int, to_judge: int, from_judge: int):
        self.pid, self.to_judge, self.fd = pid, to_judge, from_judge
        self.current: int | None = None  # the index of the item it is grading
        self.kill_at = 0.0
        self.graded = 0

    @classmethod
    def start(
        cls,
        items: Sequence[Item],
        work: Callable[[Item, Zygote], None],
        zygote: Zygote,
        log_path: str,
        around: Callable[[Callable[[], None]], None],
        others: list[int],
    ) -> _Judge[Item]:
        """Fork a judge; `others`: the other judges' pipes, which it must not hold open."""
        sys.stdout.flush()
        sys.stderr.flush()
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(down_r)
            os.close(up_w)
            return cls(pid, down_w, up_r)
        code = 70
        try:  # the judge: never returns into the caller's stack
            for fd in (down_w, up_r, *others):
                os.close(fd)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)

            def serve() -> None:
                with os.fdopen(down_r, "rb", buffering=0) as orders:
                    while line := orders.readline():
                        work(items[int(line)], zygote)
                        os.write(up_w, b".")

            around(serve)
            code = 0
        except BaseException:  # noqa: BLE001 - reported through the exit status and the log
            try:
                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)

    def give(self, index: int, kill_at: float) -> None:
        self.current, self.kill_at = index, kill_at
        os.write(self.to_judge, f"{index}\n".encode())

    def finished(self) -> bool:
        """After its pipe became readable: True when it finished its item (False: it ended)."""
        if os.read(self.fd, 1):
            self.current = None
            self.graded += 1
            return True
        return False

    def stop(self, kill: bool = False) -> str:
        """End the judge (at once with `kill`); how it ended, in words."""
        os.close(self.to_judge)
        os.close(self.fd)
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(self.pid, 0)
        return _status_text(status)
