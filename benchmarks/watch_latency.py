"""`grader check --watch`: how long after a save the new report is on screen.

Runs `grader check hw1 --watch` on a copy of the reference, saves a changed file N times, and
times each save until the report's `total:` line appears. The overhead is that latency minus
what the checks themselves took (their `duration_s`: the student's calls and the judge's
reference work) — what the re-grade costs beyond the code being graded. The watcher polls
every 0.2 s, so half of that (0.1 s) is the expected wait for a change to be seen.

    python benchmarks/watch_latency.py [--rounds 6] [--task 1.1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--task", action="append", default=[])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix=".grader-watch-", dir=COURSE.parent))
    os.chmod(root, 0o755)
    try:
        target = root / "tensor_ops.py"
        source = (COURSE / "reference/hw1/tensor_ops.py").read_text()
        target.write_text(source)
        out = root / "result.json"
        command = [sys.executable, "-m", "grader", "check", "hw1", "--submission", str(target)]
        command += ["--watch", "--format", "json", "--output", str(out)]
        command += [f"--task={t}" for t in args.task]
        env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
        proc = subprocess.Popen(
            command, cwd=COURSE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1
        )
        assert proc.stdout is not None
        wait_for_total(proc)
        latencies, overheads = [], []
        for k in range(args.rounds):
            time.sleep(0.5)
            target.write_text(source + f"\n# save {k}\n")
            start = time.perf_counter()
            wait_for_total(proc)
            latency = time.perf_counter() - start
            checks = sum(c["duration_s"] for c in written_after(out, start)["checks"])
            latencies.append(latency)
            overheads.append(latency - checks)
        proc.terminate()
        proc.wait(timeout=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    what = f"hw1 --task {' '.join(args.task)}" if args.task else "hw1 (all checks)"
    print(f"{what}: {args.rounds} saves, load {os.getloadavg()[0]:.2f}")
    print(f"  latency save -> report   median {statistics.median(latencies):.3f} s")
    print(f"  beyond the checks' time  median {statistics.median(overheads):.3f} s")
    print("  (includes up to 0.2 s of polling; goal < 0.5 s beyond the student's compute)")


def written_after(path: Path, start: float) -> dict:
    """The JSON result the watcher writes just after printing the report (retried briefly)."""
    for _ in range(200):
        try:
            if path.stat().st_mtime >= time.time() - (time.perf_counter() - start):
                return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    raise SystemExit(f"{path} was not written")


def wait_for_total(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("total:"):
            return
    raise SystemExit("grader check --watch ended early")


if __name__ == "__main__":
    main()
