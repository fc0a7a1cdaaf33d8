"""What hw1's vectorisation check measures for typical answers, to set `max_slowdown_vs_cdist`.

    python benchmarks/vectorise_calibration.py [--runs 3]

Grades five versions of `pairwise_distances` (the reference's expansion, a loop over the rows
of x, a loop over the rows of y, a loop over rows with the expansion, and broadcasting
x[:, None] - y[None]) with task 8.2's timed check, with the allowance set to nothing so that
every run reports its ratios (the time of each round over torch.cdist's), and prints each
version's best ratio per run (what the check judges). The allowance in assignments/hw1/assignment.toml must sit well above the
reference and well below the loops, on the machines that grade.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import tempfile
from pathlib import Path

from grader.course import load_assignment
from grader.judge.runner import grade
from grader.sandbox.client import Zygote

ROOT = Path(__file__).resolve().parents[1]
TIMED = "test_pairwise_distances_are_vectorised"
VERSIONS = {
    "reference (expansion)": "",
    "loop over rows of x": (
        "def pairwise_distances(x, y):\n"
        "    out = torch.empty(x.shape[0], y.shape[0])\n"
        "    for i in range(x.shape[0]):\n"
        "        out[i] = ((y - x[i]) ** 2).sum(1).sqrt()\n"
        "    return out\n"
    ),
    "loop over rows of y": (
        "def pairwise_distances(x, y):\n"
        "    out = torch.empty(x.shape[0], y.shape[0])\n"
        "    for j in range(y.shape[0]):\n"
        "        out[:, j] = ((x - y[j]) ** 2).sum(1).sqrt()\n"
        "    return out\n"
    ),
    "loop over rows, expanded": (
        "def pairwise_distances(x, y):\n"
        "    out, yy = torch.empty(x.shape[0], y.shape[0]), (y * y).sum(1)\n"
        "    for i in range(x.shape[0]):\n"
        "        out[i] = ((x[i] * x[i]).sum() + yy - 2 * y @ x[i]).clamp_min(0).sqrt()\n"
        "    return out\n"
    ),
    "broadcasting": (
        "def pairwise_distances(x, y):\n"
        "    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1).sqrt()\n"
    ),
}
RATIOS = re.compile(r"each round's ratio: ([0-9., ]+);")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    spec = load_assignment(ROOT, "hw1")
    limit = spec.threshold("max_slowdown_vs_cdist")
    spec = dataclasses.replace(spec, thresholds={**spec.thresholds, "max_slowdown_vs_cdist": 1e-9})
    reference = (spec.reference / "tensor_ops.py").read_text()
    print(f"allowed now: {limit:g}x; load average {os.getloadavg()[0]:.1f}")
    with Zygote() as zygote, tempfile.TemporaryDirectory() as tmp:
        for name, code in VERSIONS.items():
            path = Path(tmp) / name.replace(" ", "_") / "tensor_ops.py"
            path.parent.mkdir()
            path.write_text(reference + "\n" + code)
            medians = []
            for _ in range(args.runs):
                result = grade(spec, path, course=ROOT, zygote=zygote, tasks=["8.2"])
                check = next(c for c in result.checks if c.id == TIMED)
                found = RATIOS.search(check.message)
                if found is None:
                    raise SystemExit(f"{name}: no ratios in {check.message[:300]!r}")
                medians.append(min(float(r) for r in found.group(1).split(",")))
            shown = ", ".join(f"{m:.1f}" for m in medians)
            print(
                f"{name:>26}: best ratio, median of runs {statistics.median(medians):6.1f}x  (runs: {shown})"
            )


if __name__ == "__main__":
    main()
