"""`grader check --watch`: grade again whenever the submission changes, with the judge and
its zygote kept warm between runs (torch, pytest and the checks' imports are paid once)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from grader.errors import GraderError
from grader.intake.files import skipped_dir

POLL_S = 0.2  # how often the submission is looked at


def fingerprint(path: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when the student saves: each graded file's name, size and mtime."""
    if path.is_file():
        st = path.stat()
        return ((path.name, st.st_size, st.st_mtime_ns),)
    seen = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not skipped_dir(d))  # what is not graded
        for name in sorted(files):
            if name.endswith((".py", ".ipynb")):
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                seen.append((os.path.join(folder, name), st.st_size, st.st_mtime_ns))
    return tuple(seen)


def watch(
    path: Path,
    run: Callable[[], object],
    *,
    clear: Callable[[], None],
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> None:
    """Call `run()` now and after every change of `path`, until interrupted (or `rounds` runs).

    A run that fails with a GraderError (say, the file is half-written) prints it and waits
    for the next change; `clear()` wipes the screen before each run.
    """
    done = 0
    while rounds is None or done < rounds:
        seen = fingerprint(path) if path.exists() else ()
        clear()
        try:
            run()
        except GraderError as exc:
            say(f"error: {exc}")
        done += 1
        if rounds is not None and done >= rounds:
            return
        say(f"watching {path} for changes (Ctrl-C to stop)")
        while (fingerprint(path) if path.exists() else ()) == seen:
            sleep(POLL_S)
