"""Wall time of `grader check hw1 --submission reference/hw1` against the floor of
`python -c "import torch"`, measured alternately in the same run.

    python benchmarks/check_startup.py [--repeat 5]

Prints the median of each and their ratio (target: within 1.3x). Also, for comparison, the
floor without the interpreter's teardown (`import torch`, then `os._exit`, as `grader` exits):
its final collections and freeing of torch's objects take about 0.3-0.5 s of that floor. The
first, untimed check warms the course's .grader-cache/ (the reference's recorded answers), as
any second check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0,):
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    floor_cmd = [sys.executable, "-c", "import torch"]
    check_cmd = [sys.executable, "-m", "grader", "check", "hw1", "--submission", "reference/hw1"]
    wall(floor_cmd)  # warm the page cache for both
    wall(check_cmd)
    bare_cmd = [sys.executable, "-c", "import os, torch; os._exit(0)"]
    floor, check, bare = [], [], []
    for _ in range(args.repeat):
        floor.append(wall(floor_cmd))
        check.append(wall(check_cmd))
        bare.append(wall(bare_cmd))
    f, c, b = statistics.median(floor), statistics.median(check), statistics.median(bare)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    print(
        f"python -c 'import torch'               median {f:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in floor)})"
    )
    print(
        f"grader check hw1 --submission ref/hw1  median {c:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in check)})"
    )
    print(
        f"import torch, no teardown              median {b:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in bare)})"
    )
    print(
        f"ratio: {c / f:.2f}x the import-torch floor (target <= 1.3x); {c / b:.2f}x without teardown"
    )


if __name__ == "__main__":
    main()
