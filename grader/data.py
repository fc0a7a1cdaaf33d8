"""Datasets for training checks, with no network ever.

The default is scikit-learn's bundled digits (8×8 images, 1797 samples, 10 classes) or iris;
`mnist` / `fashion-mnist` read the standard IDX files (plain or gzip) from a folder an
instructor points at. Every split is stratified and deterministic for a given seed. Held-out
labels (`y_test`) stay in the judge: checks send `x_test` to the worker and score predictions.
"""

from __future__ import annotations

import gzip
import importlib.util
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from grader.errors import ConfigError

BUNDLED = ("digits", "iris")
IDX_DATASETS = ("mnist", "fashion-mnist")
IDX_DTYPES: dict[int, npt.DTypeLike] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Split:
    """Train / validation / held-out test tensors: x float32 (N, features), y int64 (N,)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    image_shape: tuple[int, ...] | None  # (C, H, W) for image data; x is flat (N, C*H*W)

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """`x` reshaped to (N, C, H, W)."""
        if self.image_shape is None:
            raise ConfigError(f"the {self.name} dataset has no image shape")
        return x.reshape(x.shape[0], *self.image_shape)


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (the MNIST format), plain or gzip-compressed (by content, not name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ConfigError(
            f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'none'}; "
            "expected 00 00 <type> <dimensions>)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ConfigError(
            f"{path}: IDX header is truncated ({len(raw)} bytes, {ndim} dimensions need {header})"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ConfigError(
            f"{path}: IDX data is truncated or padded: {len(raw) - header} bytes "
            f"after the header, its shape {shape} needs {expected}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def _find_idx(folder: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")  # the spelling some mirrors use
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(
        f"{folder}: no {stem}[.gz]; the data folder must hold the four "
        "MNIST/Fashion-MNIST IDX files (train-images, train-labels, t10k-images, "
        "t10k-labels)"
    )


def _split_indices(
    y: np.ndarray,
    rng: np.random.RandomState,
    num_classes: int,
    val_fraction: float,
    test_fraction: float,
) -> dict[str, np.ndarray]:
    """Stratified, shuffled indices: of each class, `test_fraction` (rounded) goes to "test",
    `val_fraction` to "val", the rest to "train"."""
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for cls in range(num_classes):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_test, n_val = round(len(idx) * test_fraction), round(len(idx) * val_fraction)
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {k: rng.permutation(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}


def _tensor(x: np.ndarray, dtype) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=dtype))


def _bundled(name: str, seed: int, val_fraction: float, test_fraction: float) -> Split:
    from sklearn import datasets

    bunch = datasets.load_digits() if name == "digits" else datasets.load_iris()
    x, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    num_classes = int(y.max()) + 1
    parts = _split_indices(y, np.random.RandomState(seed), num_classes, val_fraction, test_fraction)
    if name == "digits":
        x, shape = x / 16.0, (1, 8, 8)  # pixel values are 0..16
    else:  # standardise with the training part's statistics only
        train = x[parts["train"]]
        x, shape = (x - train.mean(0)) / train.std(0), None
    xs = {k: _tensor(x[v], np.float32) for k, v in parts.items()}
    ys = {k: _tensor(y[v], np.int64) for k, v in parts.items()}
    return Split(
        name,
        xs["train"],
        ys["train"],
        xs["val"],
        ys["val"],
        xs["test"],
        ys["test"],
        num_classes,
        shape,
    )


def _idx(name: str, folder: Path, seed: int, val_fraction: float) -> Split:
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such data folder (for the {name} IDX files)")
    arrays = {k: read_idx(_find_idx(folder, stem)) for k, stem in IDX_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1:
            raise ConfigError(
                f"{folder}: {part} images must be (N, H, W) and labels (N,), got "
                f"{images.shape} and {labels.shape} (files swapped?)"
            )
        if len(images) != len(labels):
            raise ConfigError(f"{folder}: {len(images)} {part} images but {len(labels)} labels")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise ConfigError(f"{folder}: train and test images differ in size")
    h, w = arrays["train_images"].shape[1:]
    y = arrays["train_labels"].astype(np.int64)
    y_test = arrays["test_labels"].astype(np.int64)
    if min(y.min(), y_test.min()) < 0:
        raise ConfigError(f"{folder}: labels must not be negative")
    num_classes = int(max(y.max(), y_test.max())) + 1
    rng = np.random.RandomState(seed)
    parts = _split_indices(y, rng, num_classes, val_fraction, 0.0)
    parts["test"] = rng.permutation(len(y_test))  # file order must not give labels away
    flat = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255.0  # noqa: E731
    x, x_test = flat(arrays["train_images"]), flat(arrays["test_images"])
    return Split(
        name,
        _tensor(x[parts["train"]], np.float32),
        _tensor(y[parts["train"]], np.int64),
        _tensor(x[parts["val"]], np.float32),
        _tensor(y[parts["val"]], np.int64),
        _tensor(x_test[parts["test"]], np.float32),
        _tensor(y_test[parts["test"]], np.int64),
        num_classes,
        (1, h, w),
    )


def load(
    name: str = "digits",
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    limit: int | None = None,
) -> Split:
    """Load a dataset and split it deterministically (stratified by class).

    Args:
        name: "digits" or "iris" (bundled with scikit-learn), or "mnist" / "fashion-mnist"
            (read from the IDX files in `data_dir`; their t10k files are the test part, and
            `test_fraction` does not apply).
        seed: the split's seed: the same seed gives the same split on every machine.
        data_dir: the folder with the IDX files, for mnist / fashion-mnist.
        limit: keep at most this many training samples (IDX data is large).
    """
    if name in BUNDLED:
        split = _bundled(name, seed, val_fraction, test_fraction)
    elif name in IDX_DATASETS:
        if data_dir is None:
            raise ConfigError(
                f"the {name} dataset is read from IDX files: pass --data-dir DIR "
                "or set data_dir in [assignment] of assignment.toml (nothing is "
                "downloaded)"
            )
        split = _idx(name, Path(data_dir).expanduser(), seed, val_fraction)
    else:
        raise ConfigError(f"unknown dataset {name!r} (known: {', '.join(BUNDLED + IDX_DATASETS)})")
    if limit is not None:
        split = replace(split, x_train=split.x_train[:limit], y_train=split.y_train[:limit])
    return split


def source_paths(data_dir: str | Path | None = None) -> list[str]:
    """Where datasets are read from, so the sandbox can hide them (and their labels) from workers."""
    paths = [str(Path(data_dir).expanduser().resolve())] if data_dir else []
    found = importlib.util.find_spec("sklearn")
    if found is not None and found.origin:
        bundled = Path(found.origin).parent / "datasets" / "data"
        if bundled.is_dir():
            paths.append(str(bundled))
    return paths
