"""A wall-clock budget for one submission, kept by the judge process that grades it.

`Budget` stands in for the zygote while the submission is graded: it hands out workers
until the time is up, then kills the live ones and refuses new ones, so every check
still to come fails at once. Afterwards, `settle` marks the checks that finished after
the deadline as not run, and tells a normal run from a crash and from a timeout.
"""

from __future__ import annotations

import dataclasses
import threading
import time

from grader.outputs.schema import CheckResult, GradeResult
from grader.sandbox.client import WorkerLost, WorkerProcess, Zygote

STOPPED = (
    "not finished: grading your submission took longer than its time limit of {s:g} s, "
    "which ran out during this check"
)
NOT_RUN = (
    "not run: grading your submission took longer than its time limit of {s:g} s, "
    "which ran out before this check"
)


class Budget:
    """`seconds` of wall-clock time for one submission, from now."""

    def __init__(self, zygote: Zygote, seconds: float):
        self._zygote = zygote
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self._expired = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[WorkerProcess] = []
        self._dead_seen: set[int] = set()
        self.late: list[str] = []  # ids of the checks that finished after the deadline
        self.crash = ""  # why the first check a lost worker failed, in one line
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._expired.is_set()

    def expire(self) -> None:
        """The time is up: stop every live worker; later requests for one fail."""
        self._expired.set()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.kill()

    def _lost(self) -> WorkerLost:
        return WorkerLost(STOPPED.format(s=self.seconds), timed_out=True)

    def spawn(self, *, limits, **kwargs) -> tuple[WorkerProcess, dict]:
        """`Zygote.spawn`, within the budget: the import may take at most the time left."""
        if self.expired:
            raise self._lost()
        left = self.deadline - time.monotonic()
        trimmed = left < limits.import_timeout_s
        if trimmed:
            limits = dataclasses.replace(limits, import_timeout_s=max(left, 0.01))
        worker, hello = self._zygote.spawn(limits=limits, **kwargs)
        with self._lock:
            self._workers.append(worker)
        out_of_time = trimmed and not hello.get("ok") and time.monotonic() >= self.deadline - 0.05
        if self.expired or out_of_time:
            self.expire()
            worker.close()
            raise self._lost()
        return worker, hello

    def on_check(self, check: CheckResult) -> None:
        """Called as each check finishes: notes late checks and workers lost in a check."""
        if self.expired:
            self.late.append(check.id)
            return
        with self._lock:
            dead = [w for w in self._workers if w.dead and id(w) not in self._dead_seen]
            self._dead_seen.update(id(w) for w in dead)
        if dead and not self.crash and check.status != "passed":
            lines = check.message.strip().splitlines()
            self.crash = lines[0] if lines else f"the worker was lost in: {check.name}"

    def settle(self, result: GradeResult) -> tuple[str, str]:
        """Stop the clock; rewrite late checks as not run. Returns (status, error)."""
        self._timer.cancel()
        if not self.late:
            return ("crashed", self.crash) if self.crash else ("graded", "")
        late = set(self.late)
        first = True
        for check in result.checks:
            if check.id not in late:
                continue
            check.status, check.score, check.hint, check.file, check.line = "failed", 0.0, "", "", 0
            check.message = (STOPPED if first else NOT_RUN).format(s=self.seconds)
            first = False
        ran = len(result.checks) - len(late)
        return "timeout", (
            f"the time limit of {self.seconds:g} s ran out after {ran} of "
            f"{len(result.checks)} checks; {len(late)} could not run"
        )

    def cancel(self) -> None:
        self._timer.cancel()
