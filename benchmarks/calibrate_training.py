"""Calibrate the accuracy thresholds of training checks from the reference over many seeds.

For each training check listed below, this trains the reference exactly as the check does
(same `fit` from the check file, same dataset split and torch seed, both derived from the base
seed and the check's name as `grader.plugin.check_seed` does) for base seeds 0..N-1 and the
assignment's own seed, and prints the accuracies and training times. Thresholds are then set
with a margin below the worst accuracy and written into the assignment.toml comments.

    python benchmarks/calibrate_training.py hw4 hw5 --seeds 20
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from grader import data
from grader.course import load_assignment
from grader.judge.plugin import check_seed, load_reference

COURSE = Path(__file__).resolve().parents[1]
# assignment -> (check file under checks/, check name, dataset, threshold name)
TRAINING_CHECKS = {
    "hw4": [
        (
            "public/test_training.py",
            "test_training_reaches_accuracy_on_digits",
            "digits",
            "digits_accuracy",
        )
    ],
    "hw5": [
        (
            "public/test_training.py",
            "test_training_reaches_accuracy_on_digits",
            "digits",
            "digits_accuracy",
        )
    ],
}


def _check_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_calibrate_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calibrate(assignment: str, seeds: int) -> None:
    spec = load_assignment(COURSE, assignment)
    reference = load_reference(spec)
    for file, check, dataset, threshold in TRAINING_CHECKS[assignment]:
        fit = _check_module(spec.checks_dir / file).fit
        accuracies, times = [], []
        for base in [*range(seeds), spec.seed]:
            seed = check_seed(base, check)
            torch.manual_seed(seed)
            np.random.seed(seed)
            random.seed(seed)
            split = data.load(dataset, seed=seed)
            start = time.perf_counter()
            predictions = fit(reference, split, spec)
            times.append(time.perf_counter() - start)
            accuracies.append(float((predictions == split.y_test).double().mean()))
        print(
            f"{assignment} {check} ({dataset}, {len(split.y_test)} test samples, "
            f"{len(accuracies)} seeds)"
        )
        print(
            f"  accuracy: min {min(accuracies):.4f}  mean {statistics.mean(accuracies):.4f}  "
            f"max {max(accuracies):.4f}  (seed {spec.seed}: {accuracies[-1]:.4f})"
        )
        print(f"  all: {' '.join(f'{a:.3f}' for a in accuracies)}")
        print(f"  reference training time: min {min(times):.2f} s  max {max(times):.2f} s")
        print(f"  current threshold {threshold} = {spec.thresholds.get(threshold)}")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+", choices=sorted(TRAINING_CHECKS))
    parser.add_argument("--seeds", type=int, default=20, help="base seeds 0..N-1 (default 20)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in the judge and the worker
    for assignment in args.assignments:
        calibrate(assignment, args.seeds)


if __name__ == "__main__":
    main()
