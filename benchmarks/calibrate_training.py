"""Calibrate the thresholds of training checks from the reference over many seeds.

For each training check listed below, this trains the reference exactly as the check does
(the `fit` of the check file, the same dataset split and torch seed, both derived from the
base seed and the check's name as `grader.judge.plugin.check_seed` does) for base seeds
0..N-1 and the assignment's own seed, and scores it as the check does: the judge's own
predictions from the trained parameters (the check's `Architecture`). It prints the accuracy,
the held-out cross-entropy and the number of classes predicted, the same for the untrained
model (what a training that does nothing leaves), and the training times. Thresholds are set
with a margin below the worst trained accuracy (and above the untrained ones) and written
into the assignment.toml comments.

    python benchmarks/calibrate_training.py hw4 hw5 --seeds 20
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from grader import data
from grader.course import load_assignment
from grader.judge.plugin import check_seed, load_reference

COURSE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Training:
    """One training check: where it is, what it trains on, and how the judge scores it."""

    file: str  # under checks/
    check: str
    dataset: str
    run: str | None  # the [training] run whose min_accuracy it needs ("": [training]), or None
    architecture: Any  # (check module, split, spec) -> the check's Architecture
    split_seed: int | None = None  # None: the check's seed (load_data(name, seed=seed))
    agreement: bool = False  # trains for the run's agreement_epochs, not its epochs
    images: bool = False  # the model takes split.images(x)


def softmax_regression(m, split, spec):
    return m.softmax_regression(split.num_features, split.num_classes)


TRAINING_CHECKS = {
    "hw3": [
        Training(
            "public/test_training.py",
            "test_digits_classifier_trains",
            "digits",
            "",
            lambda m, split, spec: m.LINEAR,
            split_seed=0,
        ),
        Training(
            "public/test_training.py",
            "test_trained_layer_computes_its_own_parameters",
            "digits",
            None,
            lambda m, split, spec: m.LINEAR,
            split_seed=0,
            agreement=True,
        ),
    ],
    "hw4": [
        Training(
            "public/test_training.py",
            "test_training_reaches_accuracy_on_digits",
            "digits",
            "",
            softmax_regression,
        ),
        Training(
            "public/test_training.py",
            "test_predict_gives_the_trained_models_classes",
            "digits",
            None,
            softmax_regression,
            agreement=True,
        ),
        Training(
            "public/test_training.py",
            "test_training_works_for_other_sizes_on_iris",
            "iris",
            "iris",
            softmax_regression,
        ),
    ],
    "hw5": [
        Training(
            "public/test_mlp.py",
            "test_training_reaches_accuracy_on_digits",
            "digits",
            "",
            lambda m, split, spec: m.mlp(split, spec),
        ),
        Training(
            "public/test_mlp.py",
            "test_predict_gives_the_trained_models_classes",
            "digits",
            None,
            lambda m, split, spec: m.mlp(split, spec),
            agreement=True,
        ),
    ],
    "hw6": [
        Training(
            "public/test_lenet.py",
            "test_cnn_reaches_accuracy_on_digits",
            "digits",
            "",
            lambda m, split, spec: m.LENET,
            split_seed=0,
            images=True,
        ),
        Training(
            "public/test_lenet.py",
            "test_predict_gives_the_trained_models_classes",
            "digits",
            None,
            lambda m, split, spec: m.LENET,
            split_seed=0,
            agreement=True,
            images=True,
        ),
    ],
}


def _check_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_calibrate_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _score(architecture, model, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, int]:
    """Accuracy, mean cross-entropy and number of classes of the judge's predictions."""
    params, _ = architecture.parameters(model, "the reference's model")
    logits = architecture.logits(params, x)
    predicted = logits.argmax(dim=1)
    return (
        float((predicted == y).double().mean()),
        float(F.cross_entropy(logits, y)),
        int(predicted.unique().numel()),
    )


def calibrate(assignment: str, seeds: int) -> None:
    spec = load_assignment(COURSE, assignment)
    reference = load_reference(spec)
    for training in TRAINING_CHECKS[assignment]:
        module = _check_module(spec.checks_dir / training.file)
        takes_seed = "seed" in inspect.signature(module.fit).parameters
        run = spec.training(training.run or "")
        epochs = run.agreement_epochs if training.agreement else None
        trained, untrained, times = [], [], []
        for base in [*range(seeds), spec.seed]:
            seed = check_seed(base, training.check)
            split = data.load(
                training.dataset, seed=seed if training.split_seed is None else training.split_seed
            )
            x = split.images(split.x_test) if training.images else split.x_test
            architecture = training.architecture(module, split, spec)
            for result, n_epochs in ((untrained, 0), (trained, epochs)):
                torch.manual_seed(seed)
                np.random.seed(seed)
                random.seed(seed)
                args = (seed,) if takes_seed else ()
                start = time.perf_counter()
                model = module.fit(reference, split, spec, *args, epochs=n_epochs)
                if result is trained:
                    times.append(time.perf_counter() - start)
                result.append(_score(architecture, model, x, split.y_test))
        accuracies = [a for a, _, _ in trained]
        print(
            f"{assignment} {training.check} ({training.dataset}, {len(split.y_test)} test samples, "
            f"{len(accuracies)} seeds{f', {epochs} epochs' if epochs else ''})"
        )
        print(
            f"  accuracy: min {min(accuracies):.4f}  mean {statistics.mean(accuracies):.4f}  "
            f"max {max(accuracies):.4f}  (seed {spec.seed}: {accuracies[-1]:.4f}); lowest: "
            + " ".join(f"{a:.3f}" for a in sorted(accuracies)[:5])
        )
        print(
            f"  held-out cross-entropy: max {max(c for _, c, _ in trained):.3f}  "
            f"mean {statistics.mean(c for _, c, _ in trained):.3f};  classes predicted: min "
            f"{min(k for _, _, k in trained)}"
        )
        print(
            f"  untrained: accuracy max {max(a for a, _, _ in untrained):.4f}  mean "
            f"{statistics.mean(a for a, _, _ in untrained):.4f};  cross-entropy min "
            f"{min(c for _, c, _ in untrained):.3f}"
        )
        print(f"  reference training time: min {min(times):.2f} s  max {max(times):.2f} s")
        if training.run is not None:
            table = f"[training.{training.run}]" if training.run else "[training]"
            print(f"  current {table} min_accuracy = {run.min_accuracy}")
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
