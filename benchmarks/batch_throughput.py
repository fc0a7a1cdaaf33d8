"""Throughput of `grader grade` against a naive baseline, on N generated hw1 submissions.

    python benchmarks/batch_throughput.py [--sizes 50 200 1000] [--naive-sample 20] [-j JOBS]
        [--hw6 K]

For each N, in the same run: `grader grade hw1` on a folder of N submissions (4 in 5 the
reference, 1 in 5 with one of four bugs), and the naive baseline, one fresh process per
submission: `python -m grader check hw1 --submission S --format json` (a new interpreter
that imports torch and pytest and runs the same checks, in the same sandbox), one after
the other. The naive cost per submission does not depend on N, so for N larger than
--naive-sample it is measured on the first --naive-sample submissions and said so; half
of them run just before the batch and half just after, so both see the same machine.

Prints seconds per submission (wall / N, start-up included; and the steady rate between
the first and the last result written, also over the first and the last third of them),
and the speed-up over naive, by wall time and by the steady rate. Targets (issue 13, 2 cores):
at N=200 >= 600 submissions a minute steady (<= 0.1 s each) and >= 25x naive; the cost per
submission flat from N=50 to N=1000.

--hw6 K: also, in the same run, `grader grade hw6` on K copies of the reference against
`grader check hw6 --submission` of the same submission (its .grader-cache warm, as a second
check is): the batch's cost per submission (steady, and wall / K) over the check's wall time.
Target: <= 0.6.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.batch.engine import default_jobs

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "reference/hw1/tensor_ops.py").read_text()
BUGS = [  # (text in the reference, replacement, points lost)
    ("permute(0, 2, 3, 1)", "permute(0, 3, 2, 1)", 2),
    (".mean(dim=1)", ".sum(dim=1)", 1),
    ("x[::2, -1]", "x[1::2, -1]", 1),
    ("return torch.from_numpy(a)", "return torch.tensor(a)", 1),
]
FULL = 27
TIMED = "test_pairwise_distances_are_vectorised"  # 3 points, judged against torch.cdist's time


def verify(result: dict, expected: float, sid: str, who: str) -> bool:
    """Exit on a wrong score; True when only hw1's timing check failed (a loaded machine can
    slow a correct answer's round trip past the allowance: counted and reported)."""
    timed_check = next(c for c in result["checks"] if c["id"] == TIMED)
    if result["score"] == expected:
        return False
    if timed_check["status"] != "passed" and result["score"] + timed_check["max_score"] == expected:
        return True
    failed = [
        f"{c['id']}: {c['message'][:150]}" for c in result["checks"] if c["status"] != "passed"
    ]
    sys.exit(f"{who}: {sid} scored {result['score']}, expected {expected}:\n" + "\n".join(failed))


def make_class(folder: Path, n: int) -> dict[str, float]:
    """N submissions as .py files; returns the score each should get."""
    folder.mkdir(parents=True)
    expected = {}
    for i in range(n):
        sid = f"student{i:04d}"
        source, lost = REFERENCE, 0
        if i % 5 == 4:
            old, new, lost = BUGS[(i // 5) % len(BUGS)]
            assert old in source, old
            source = source.replace(old, new)
        (folder / f"{sid}.py").write_text(source)
        expected[sid] = FULL - lost
    return expected


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return elapsed


def rate(stamps: list[float]) -> float:
    """Seconds per submission between the first and the last of `stamps` (sorted)."""
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1) if len(stamps) > 1 else float("nan")


def batch(
    folder: Path, out: Path, expected: dict[str, float], jobs: int
) -> tuple[float, tuple[float, float, float], int]:
    """(wall seconds, steady s/sub overall / first third / last third, timing flakes)."""
    wall = timed(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            "hw1",
            str(folder),
            "--out",
            str(out),
            "-j",
            str(jobs),
            "--force",
        ]
    )
    rows = [r["id"] for r in csv.DictReader((out / "grades.csv").open())]
    if rows != sorted(expected):
        sys.exit(f"grader grade: the gradebook has {len(rows)} rows, expected {len(expected)}")
    flakes = sum(
        verify(
            json.loads((out / "results" / f"{sid}.json").read_text())["result"],
            expected[sid],
            sid,
            "grader grade",
        )
        for sid in rows
    )
    stamps = sorted(p.stat().st_mtime for p in (out / "results").glob("*.json"))
    third = max(2, len(stamps) // 3)
    return wall, (rate(stamps), rate(stamps[:third]), rate(stamps[-third:])), flakes


def naive(
    folder: Path, sample: list[str], expected: dict[str, float], tmp: Path
) -> tuple[float, int]:
    """(seconds, timing flakes) of one fresh `grader check` per submission in `sample`, in turn."""
    total, flakes = 0.0, 0
    for sid in sample:
        result = tmp / f"{sid}.json"
        total += timed(
            [
                sys.executable,
                "-m",
                "grader",
                "check",
                "hw1",
                "--submission",
                str(folder / f"{sid}.py"),
                "--format",
                "json",
                "--output",
                str(result),
            ]
        )
        flakes += verify(json.loads(result.read_text()), expected[sid], sid, "naive baseline")
    return total, flakes


def hw6_ratio(k: int, jobs: int) -> None:
    """`grader grade hw6` on k reference copies against `grader check hw6` of one, same run."""
    work = Path(tempfile.mkdtemp(prefix="grader-bench-hw6-"))
    try:
        folder = work / "class"
        for i in range(k):
            shutil.copytree(ROOT / "reference/hw6", folder / f"student{i:02d}")
        check = [sys.executable, "-m", "grader", "check", "hw6", "--submission", "reference/hw6"]
        timed(check)  # warms .grader-cache/ (a first check records the reference's answers)
        load = os.getloadavg()[0]
        before = timed(check)
        out = work / "out"
        wall = timed(
            [sys.executable, "-m", "grader", "grade", "hw6", str(folder), "--out", str(out)]
            + ["-j", str(jobs), "--force"]
        )
        after = timed(check)
        stamps = sorted(p.stat().st_mtime for p in (out / "results").glob("*.json"))
        check_s = (before + after) / 2
        steady = rate(stamps)
        print(
            f"\nhw6, {k} submissions, -j {jobs}, load {load:.1f}: grader check {check_s:.2f} s "
            f"({before:.2f}, {after:.2f}); grader grade wall {wall:.1f} s = {wall / k:.2f} s/sub, "
            f"steady {steady:.2f} s/sub; ratio steady {steady / check_s:.2f}, "
            f"wall/K {wall / k / check_s:.2f} (target <= 0.6)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--hw6", type=int, default=0, metavar="K")
    parser.add_argument("--naive-sample", type=int, default=20)
    parser.add_argument("-j", "--jobs", type=int, default=default_jobs())  # grade's default
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    rows = []
    try:
        for n in args.sizes:
            folder = work / f"class-{n}"
            expected = make_class(folder, n)
            load = os.getloadavg()[0]
            sample = sorted(expected)[: min(n, args.naive_sample)]
            half = len(sample) // 2
            before, before_flakes = naive(folder, sample[:half], expected, work)
            wall, steady, flakes = batch(folder, work / f"out-{n}", expected, args.jobs)
            after, after_flakes = naive(folder, sample[half:], expected, work)
            naive_s, naive_flakes = (before + after) / len(sample), before_flakes + after_flakes
            rows.append(
                (
                    n,
                    wall,
                    wall / n,
                    steady,
                    len(sample),
                    naive_s,
                    load,
                    f"{flakes}/{n} {naive_flakes}/{len(sample)}",
                )
            )
            print(f"N={n}: grader grade {wall:.1f} s, naive {naive_s:.2f} s/sub", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nmachine: {os.cpu_count()} cores, grader grade -j {args.jobs}; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'N':>5} | {'grade wall':>10} | {'s/sub':>6} | {'steady s/sub (1st/last third)':>29} | "
        f"{'subs/min':>8} | {'naive sample':>12} | {'naive s/sub':>11} | "
        f"{'speed-up wall/steady':>20} | {'load':>4} | timing flakes (grade, naive)"
    )
    for n, wall, per, steady, k, naive_s, load, flakes in rows:
        sample = f"{k} of {n}" if k < n else f"all {n}"
        steady_text = f"{steady[0]:.3f} ({steady[1]:.3f}/{steady[2]:.3f})"
        speed = f"{naive_s / per:.1f}x / {naive_s / steady[0]:.1f}x"
        print(
            f"{n:>5} | {wall:>8.1f} s | {per:>6.3f} | {steady_text:>29} | {60 / steady[0]:>8.0f} | "
            f"{sample:>12} | {naive_s:>11.2f} | {speed:>20} | {load:>4.1f} | {flakes}"
        )
    if args.hw6:
        hw6_ratio(args.hw6, args.jobs)
    print(
        "speed-up = naive s/sub / grader grade s/sub (wall / N, start-up included; or steady); "
        "subs/min from the steady rate; naive = one fresh process per submission, run one after "
        "the other.\n"
        f"timing flakes: correct answers that failed only {TIMED} because the machine was "
        "busy (load = 1-minute load average when the size started)"
    )


if __name__ == "__main__":
    main()
