"""The dataset module: the IDX reader on files the tests write, the bundled digits split,
and `grader check --data-dir` end to end on a small course whose checks train on IDX data."""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import by_id, run_cli

from grader import data
from grader.errors import ConfigError

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of `array`: magic (0, 0, type, ndim), big-endian sizes, big-endian data."""
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    code = IDX_CODES[np.dtype(big.dtype)]
    return (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + big.tobytes()
    )


def write_idx(path: Path, array: np.ndarray, *, compress: bool = False) -> Path:
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def tiny_mnist(folder: Path, *, per_class: int = 6, test_per_class: int = 2) -> Path:
    """Four IDX files of 6×5 images in which class k lights up pixel 3k: easy to classify."""
    rng = np.random.RandomState(0)
    folder.mkdir(parents=True, exist_ok=True)

    def images(labels: np.ndarray) -> np.ndarray:
        x = rng.randint(0, 30, size=(len(labels), 6, 5)).astype(np.uint8)
        x.reshape(len(labels), -1)[np.arange(len(labels)), 3 * labels] = 255
        return x

    y_train = np.repeat(np.arange(10, dtype=np.uint8), per_class)
    y_test = np.repeat(np.arange(10, dtype=np.uint8), test_per_class)
    write_idx(folder / "train-images-idx3-ubyte.gz", images(y_train), compress=True)
    write_idx(folder / "train-labels-idx1-ubyte", y_train)
    write_idx(folder / "t10k-images-idx3-ubyte", images(y_test))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test, compress=True)
    return folder


# ----------------------------------------------------------------------------- the IDX reader


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_every_type_plain_and_gzipped(tmp_path, dtype, compress):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    name = "x-idx3-ubyte" + (".gz" if compress else "")
    got = data.read_idx(write_idx(tmp_path / name, array, compress=compress))
    assert got.shape == (2, 3, 4)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_recognises_gzip_by_content_not_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    got = data.read_idx(write_idx(tmp_path / "labels-idx1-ubyte", labels, compress=True))
    np.testing.assert_array_equal(got, labels)


def test_read_idx_rejects_a_bad_magic_number(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(ConfigError, match="not an IDX file .bad magic number 504b0304"):
        data.read_idx(path)


@pytest.mark.parametrize(
    "cut, message",
    [
        (10, "IDX header is truncated"),  # 3 dimensions need 16 header bytes
        (30, "IDX data is truncated or padded: 14 bytes after the header, its shape"),
    ],
)
def test_read_idx_rejects_truncated_files(tmp_path, cut, message):
    raw = idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(raw[:cut])
    with pytest.raises(ConfigError, match=message):
        data.read_idx(path)


def test_read_idx_rejects_a_truncated_gzip_file(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8).reshape(10, 10, 10)))
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ConfigError, match="x-idx3-ubyte.gz: cannot read IDX file"):
        data.read_idx(path)


# ----------------------------------------------------------------------------- datasets


def test_digits_split_is_deterministic_stratified_and_complete():
    a, b, c = data.load("digits", seed=3), data.load("digits", seed=3), data.load("digits", seed=4)
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, part), getattr(b, part)), part
    assert not torch.equal(a.y_test, c.y_test)
    assert (a.num_classes, a.num_features, a.image_shape) == (10, 64, (1, 8, 8))
    assert a.x_train.dtype == torch.float32 and a.y_train.dtype == torch.int64
    assert 0 <= float(a.x_train.min()) and float(a.x_train.max()) <= 1
    from sklearn.datasets import load_digits

    per_class = np.bincount(load_digits().target)
    counts = {
        part: torch.bincount(getattr(a, f"y_{part}"), minlength=10).numpy()
        for part in ("train", "val", "test")
    }
    np.testing.assert_array_equal(counts["train"] + counts["val"] + counts["test"], per_class)
    np.testing.assert_array_equal(counts["test"], np.round(per_class * 0.2))  # stratified
    np.testing.assert_array_equal(counts["val"], np.round(per_class * 0.15))
    assert a.images(a.x_test).shape == (len(a.x_test), 1, 8, 8)


def test_iris_is_standardised_with_training_statistics_only():
    split = data.load("iris", seed=1)
    assert torch.allclose(split.x_train.mean(0), torch.zeros(4), atol=1e-5)
    assert not torch.allclose(split.x_test.mean(0), torch.zeros(4), atol=1e-3)
    assert split.image_shape is None and split.num_classes == 3


def test_limit_keeps_the_first_training_samples_only():
    full, small = data.load("digits", seed=2), data.load("digits", seed=2, limit=100)
    assert torch.equal(small.x_train, full.x_train[:100])
    assert torch.equal(small.y_test, full.y_test)


def test_mnist_without_a_data_dir_is_a_clear_error():
    with pytest.raises(
        ConfigError, match=r"the mnist dataset is read from IDX files: pass --data-dir"
    ):
        data.load("mnist")
    with pytest.raises(ConfigError, match=r"unknown dataset 'cifar'"):
        data.load("cifar")


def test_idx_dataset_is_read_from_a_folder_and_keeps_labels_with_their_images(tmp_path):
    folder = tiny_mnist(tmp_path / "mnist")
    split = data.load("fashion-mnist", data_dir=folder, seed=0)
    assert split.image_shape == (1, 6, 5) and split.num_classes == 10
    assert len(split.x_train) + len(split.x_val) == 60 and len(split.x_test) == 20
    assert split.x_train.dtype == torch.float32 and float(split.x_train.max()) == 1.0
    for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test)):
        assert torch.equal(x.argmax(1), 3 * y)  # each image still carries its own label
    assert split.y_test.tolist() != sorted(split.y_test.tolist())  # file order is not kept
    assert torch.equal(data.load("mnist", data_dir=folder, seed=0).y_test, split.y_test)


def test_idx_folder_problems_name_the_folder_and_file(tmp_path):
    with pytest.raises(ConfigError, match="no such data folder"):
        data.load("mnist", data_dir=tmp_path / "nowhere")
    folder = tiny_mnist(tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(
        ConfigError, match=r"no t10k-labels-idx1-ubyte\[\.gz\]; the data folder must hold"
    ):
        data.load("mnist", data_dir=folder)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(ConfigError, match="test images must be .N, H, W. and labels .N,."):
        data.load("mnist", data_dir=folder)


# ----------------------------------------------------------------------------- end to end

CHECKS = r'''
import os

import pytest
import torch

from grader.checking import CheckFailed, check, check_training


@check(task="1.1", points=1)
def test_nearest_centroid_classifies_the_idx_test_images(student, reference, spec, load_data, seed):
    """nearest-centroid predictions on the held-out IDX images are all right"""
    split = load_data("mnist", seed=seed)
    assert split.image_shape == (1, 6, 5)
    check_training(student, reference,
                   lambda impl: impl.fit_predict(split.x_train, split.y_train, split.x_test),
                   split.y_test, training=spec.training(), what="fit_predict on the IDX test images")


@check(task="1.1", points=1)
def test_the_worker_is_seeded_for_each_check(student, seed):
    """the worker's random numbers start from this check's own seed"""
    torch.manual_seed(seed)
    assert torch.equal(student.draw(), torch.rand(3))


@check(task="1.1", points=1)
def test_the_data_folder_is_hidden_from_student_code(student, spec):
    """student code cannot read the held-out labels"""
    assert student.peek(os.environ["IDX_LABELS"]) is None


@check(task="1.1", points=1)
def test_training_over_its_time_budget_fails_naming_the_budget(student, reference, spec):
    """a training call that overruns its time budget fails the check and says so"""
    with pytest.raises(CheckFailed, match=r"^slow training did not finish within its time budget "
                       r"of 1 s \(10x the reference's 0.0\d s on the same data, at least 1 s, "
                       r"at most 2 s\)$"):
        check_training(student, reference, lambda impl: impl.slow(5 if impl is student else 0),
                       torch.zeros(3), training=spec.training("slow"), what="slow training")
'''

SOLUTION = """
import time

import torch


def fit_predict(x, y, x_test):
    centroids = torch.stack([x[y == c].mean(0) for c in range(int(y.max()) + 1)])
    return torch.cdist(x_test, centroids).argmin(1)


def draw():
    return torch.rand(3)


def peek(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def slow(seconds):
    time.sleep(seconds)
    return torch.zeros(3, dtype=torch.int64)
"""


def idx_course(root: Path, data_dir: str | None = None) -> Path:
    """A course with one assignment, `idx`, whose checks read MNIST-format data."""
    (root / "assignments/idx/checks/public").mkdir(parents=True)
    (root / "reference/idx").mkdir(parents=True)
    toml = '[assignment]\ntitle = "IDX data"\nmodule = "centroid"\n'
    if data_dir:
        toml += f'data_dir = "{data_dir}"\n'
    toml += '[tasks]\n"1.1" = "fit_predict"\n'
    toml += (
        "[training]\nepochs = 1\nlr = 0.1\nbatch_size = 1\nmin_accuracy = 1.0\n"
        "time_factor = 10\ntime_floor_s = 10\ntime_cap_s = 30\n"
        "[training.slow]\ntime_floor_s = 1\ntime_cap_s = 2\n"
    )
    (root / "assignments/idx/assignment.toml").write_text(toml)
    (root / "assignments/idx/centroid.py").write_text(
        'def fit_predict(x, y, x_test):\n    """Task 1.1: nearest centroids."""\n'
        '    raise NotImplementedError("Task 1.1")\n'
    )
    (root / "assignments/idx/checks/public/test_idx.py").write_text(CHECKS)
    (root / "reference/idx/centroid.py").write_text(SOLUTION)
    return root


def test_grader_check_trains_on_idx_files_given_with_data_dir(tmp_path):
    course = idx_course(tmp_path / "course")
    folder = tiny_mnist(tmp_path / "idx-files")
    solution = tmp_path / "solution.py"
    solution.write_text(SOLUTION)
    env = {"IDX_LABELS": str(folder / "t10k-labels-idx1-ubyte.gz")}
    proc = run_cli(
        "check",
        "idx",
        "--course",
        str(course),
        "--submission",
        str(solution),
        "--data-dir",
        str(folder),
        env=env,
    )
    assert proc.returncode == (0 if os.geteuid() == 0 else 1), proc.stdout + proc.stderr
    assert ("total: 4/4" if os.geteuid() == 0 else "total: 3/4") in proc.stdout


def test_data_dir_in_assignment_toml_is_relative_to_the_course(tmp_path, grade_with, monkeypatch):
    course = idx_course(tmp_path / "course", data_dir="data/mnist")
    folder = tiny_mnist(course / "data/mnist")
    monkeypatch.setenv("IDX_LABELS", str(folder / "t10k-labels-idx1-ubyte.gz"))
    monkeypatch.chdir(tmp_path)  # not the course folder: the path must not depend on it
    result = grade_with("idx", course / "reference/idx", course=course)
    checks = by_id(result)
    assert checks["test_nearest_centroid_classifies_the_idx_test_images"].status == "passed"
    assert checks["test_the_worker_is_seeded_for_each_check"].status == "passed"
    assert checks["test_training_over_its_time_budget_fails_naming_the_budget"].status == "passed"


def test_a_check_that_needs_a_missing_data_dir_stops_the_run(tmp_path, grade_with):
    course = idx_course(tmp_path / "course")
    with pytest.raises(
        ConfigError,
        match="^test_nearest_centroid_classifies_the_idx_test_images: "
        "the mnist dataset is read from IDX files: pass --data-dir DIR",
    ):
        grade_with("idx", course / "reference/idx", course=course)
