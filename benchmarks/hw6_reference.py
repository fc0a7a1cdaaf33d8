"""hw6 reference: accuracy calibration, wall time of `grader check`, and score reliability.

    python benchmarks/hw6_reference.py [--calibrate 20] [--same 10] [--seeds 5]

1. Calibration: the accuracy check's reference run (the same seed derivation, data, model and
   hyper-parameters as `test_cnn_reaches_accuracy_on_digits`, on one thread) for N base seeds;
   prints each test accuracy and training time, the worst, and the [training] min_accuracy in assignment.toml.
2. Wall time of `grader check hw6 --submission reference/hw6` (a real subprocess).
3. Reliability: that command `--same` times with the assignment's seed and once each with
   `--seeds` other base seeds; every run must score full marks.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_ID = "test_cnn_reaches_accuracy_on_digits"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calibrate(n: int, base_seed: int) -> None:
    import torch

    from grader import data
    from grader.course import load_assignment
    from grader.judge.plugin import check_seed

    torch.set_num_threads(1)
    spec = load_assignment(ROOT, "hw6")
    reference = _load(ROOT / "reference/hw6/cnn.py", "hw6_reference")
    epochs, lr, batch_size = (
        spec.training().epochs,
        spec.training().lr,
        spec.training().batch_size,
    )
    split = data.load("digits", seed=0)
    x_train, x_test = split.images(split.x_train), split.images(split.x_test)
    print(
        f"calibration: {n} base seeds, epochs={epochs} lr={lr:g} batch_size={batch_size}, "
        f"{len(x_train)} training / {len(x_test)} test images"
    )
    accuracies, times = [], []
    for base in [base_seed] + list(range(n - 1)):
        seed = check_seed(base, CHECK_ID)
        torch.manual_seed(seed)
        start = time.perf_counter()
        model = reference.CNN()
        reference.train_cnn(
            model, x_train, split.y_train, epochs=epochs, lr=lr, batch_size=batch_size
        )
        times.append(time.perf_counter() - start)
        accuracies.append(float((reference.predict(model, x_test) == split.y_test).float().mean()))
        print(
            f"  base seed {base:5d} (check seed {seed:10d}): accuracy {accuracies[-1]:.4f}, "
            f"training {times[-1]:.2f} s"
        )
    print(
        f"accuracy: min {min(accuracies):.4f}  median {statistics.median(accuracies):.4f}  "
        f"max {max(accuracies):.4f};  [training] min_accuracy in assignment.toml: "
        f"{spec.training().min_accuracy:.4f}"
    )
    print(
        f"training time: median {statistics.median(times):.2f} s (first run {times[0]:.2f} s, "
        "includes torch's one-off lazy imports)"
    )


def run_check(seed: int | None) -> tuple[float, float, float, float]:
    """(wall seconds, score, max score, accuracy-check seconds) of one `grader check` run."""
    cmd = [
        sys.executable,
        "-m",
        "grader",
        "check",
        "hw6",
        "--submission",
        "reference/hw6",
        "--format",
        "json",
    ] + ([] if seed is None else ["--seed", str(seed)])
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    result = json.loads(proc.stdout)
    failed = [f"{c['id']}: {c['message']}" for c in result["checks"] if c["status"] != "passed"]
    for line in failed:
        print(f"    FAILED {line}")
    accuracy_check = next(c["duration_s"] for c in result["checks"] if c["id"] == CHECK_ID)
    return wall, result["score"], result["max_score"], accuracy_check


def reliability(same: int, seeds: int) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    runs = [("assignment seed", None)] * same + [(f"--seed {s}", s) for s in range(1, seeds + 1)]
    walls, full = [], 0
    for label, seed in runs:
        wall, score, max_score, accuracy_check = run_check(seed)
        walls.append(wall)
        full += score == max_score
        print(
            f"  {label:16} score {score:g}/{max_score:g}  wall {wall:.1f} s  "
            f"(accuracy check {accuracy_check:.1f} s)"
        )
    print(
        f"full marks in {full} of {len(runs)} runs; wall time median {statistics.median(walls):.1f} s, "
        f"max {max(walls):.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", type=int, default=20, help="base seeds for calibration")
    parser.add_argument("--same", type=int, default=10, help="runs with the assignment's seed")
    parser.add_argument("--seeds", type=int, default=5, help="runs with other base seeds")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from grader.course import load_assignment

    if args.calibrate:
        calibrate(args.calibrate, load_assignment(ROOT, "hw6").seed)
    if args.same or args.seeds:
        reliability(args.same, args.seeds)


if __name__ == "__main__":
    main()
