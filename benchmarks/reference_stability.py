"""Grade the reference solutions again and again: same seed, then different seeds.

Evidence that no threshold is flaky: every run must score full marks. Prints, per assignment,
the scores of N runs with the assignment's seed and of M runs with other seeds, and the wall
time of each run.

    python benchmarks/reference_stability.py hw4 hw5 --same 10 --seeds 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.course import load_assignment
from grader.judge.runner import grade
from grader.sandbox.client import Zygote

COURSE = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+")
    parser.add_argument("--same", type=int, default=10, help="runs with the assignment's seed")
    parser.add_argument("--seeds", type=int, default=5, help="runs with seeds 1..N")
    args = parser.parse_args()
    failures = 0
    with Zygote() as zygote:
        for aid in args.assignments:
            spec = load_assignment(COURSE, aid)
            runs = [None] * args.same + list(range(1, args.seeds + 1))
            for seed in runs:
                start = time.perf_counter()
                result = grade(spec, spec.reference, course=COURSE, zygote=zygote, seed=seed)
                bad = [c.id for c in result.checks if c.status != "passed"]
                failures += bool(bad)
                print(
                    f"{aid} seed {result.seed:>5}: {result.score:g}/{result.max_score:g} "
                    f"in {time.perf_counter() - start:.1f} s" + (f"  FAILED {bad}" if bad else ""),
                    flush=True,
                )
    print("all full marks" if not failures else f"{failures} runs below full marks")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
