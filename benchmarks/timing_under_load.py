"""False failures of hw1's timing check for a correct solution on a loaded machine.

    python benchmarks/timing_under_load.py [--runs 20] [--hogs 2]

Starts `--hogs` busy processes (one per core on this 2-core machine), then runs
`grader check hw1 --submission reference/hw1` `--runs` times and reports how often the
timing check failed, with the median ratios it measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = "test_pairwise_distances_are_vectorised"


def hog() -> None:
    while True:
        pass


def one_run() -> tuple[bool, str]:
    """(passed, message) of the timing check in one `grader check` of the reference."""
    cmd = [
        sys.executable,
        "-m",
        "grader",
        "check",
        "hw1",
        "--submission",
        "reference/hw1",
        "--format",
        "json",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    return checks[CHECK]["status"] == "passed", checks[CHECK]["message"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--hogs", type=int, default=2)
    args = parser.parse_args()
    hogs = [multiprocessing.Process(target=hog, daemon=True) for _ in range(args.hogs)]
    for p in hogs:
        p.start()
    try:
        failures = []
        for i in range(args.runs):
            passed, message = one_run()
            print(
                f"run {i + 1:>2}: {'passed' if passed else 'FAILED: ' + message[:160]}", flush=True
            )
            if not passed:
                failures.append(message)
    finally:
        for p in hogs:
            p.terminate()
    rate = len(failures) / args.runs
    medians = [m.group(1) for m in map(re.compile(r"median (\d+)x").search, failures) if m]
    print(
        f"\n{args.hogs} busy processes: {len(failures)} of {args.runs} runs failed the timing "
        f"check ({rate:.0%}){'; their medians: ' + ', '.join(medians) if medians else ''}"
    )


if __name__ == "__main__":
    main()
