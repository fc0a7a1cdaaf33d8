"""Datasets for training checks, with no network ever.

The default is scikit-learn's bundled digits (8×8 images, 1797 samples, 10 classes) or iris;
`mnist` / `fashion-mnist` read the standard IDX files (plain or .gz) from a folder an
instructor points at. Every split is deterministic for a given seed. Held-out labels
(`y_test`) stay in the judge: checks send `x_test` to the worker and score predictions.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from grader.errors import ConfigError

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Split:
    """Train / validation / held-out test tensors: x float32, y int64."""

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
    """Read one IDX file (the MNIST format), plain or gzip-compressed."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ConfigError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ConfigError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ConfigError(f"{path}: IDX header is truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ConfigError(f"{path}: IDX data has {len(raw) - header} bytes, its header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(f"{folder}: no {stem}[.gz]; point --data-dir at a folder with the four "
                      "MNIST/Fashion-MNIST IDX files")


def _split(name: str, x: np.ndarray, y: np.ndarray, seed: int, val_fraction: float,
           test_fraction: float, num_classes: int, image_shape) -> Split:
    """A stratified, seeded train/val/test split."""
    rng = np.random.RandomState(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for cls in range(num_classes):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_test, n_val = round(len(idx) * test_fraction), round(len(idx) * val_fraction)
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    order = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}
    xt = lambda k: torch.from_numpy(np.ascontiguousarray(x[order[k]], dtype=np.float32))  # noqa: E731
    yt = lambda k: torch.from_numpy(y[order[k]].astype(np.int64))  # noqa: E731
    return Split(name, xt("train"), yt("train"), xt("val"), yt("val"), xt("test"), yt("test"),
                 num_classes, image_shape)


def load(name: str = "digits", *, seed: int = 0, data_dir: str | Path | None = None,
         val_fraction: float = 0.15, test_fraction: float = 0.2, limit: int | None = None) -> Split:
    """Load a dataset and split it deterministically.

    Args:
        name: "digits" or "iris" (bundled), or "mnist" / "fashion-mnist" (needs `data_dir`).
        seed: the split's seed.
        data_dir: folder with the IDX files, for mnist / fashion-mnist.
        limit: keep at most this many training samples (IDX data is large).
    """
    if name in ("digits", "iris"):
        from sklearn import datasets

        bunch = datasets.load_digits() if name == "digits" else datasets.load_iris()
        x = bunch.data.astype(np.float32)
        if name == "digits":
            x /= 16.0
        else:
            x = (x - x.mean(0)) / x.std(0)
        shape = (1, 8, 8) if name == "digits" else None
        return _split(name, x, bunch.target, seed, val_fraction, test_fraction,
                      int(bunch.target.max()) + 1, shape)
    if name in ("mnist", "fashion-mnist"):
        if data_dir is None:
            raise ConfigError(f"the {name} dataset is read from IDX files: pass --data-dir DIR "
                              "(nothing is downloaded)")
        folder = Path(data_dir)
        arrays = {k: read_idx(_find_idx(folder, stem)) for k, stem in IDX_FILES.items()}
        for part in ("train", "test"):
            if len(arrays[f"{part}_images"]) != len(arrays[f"{part}_labels"]):
                raise ConfigError(f"{folder}: {part} images and labels differ in count")
        images = arrays["train_images"]
        h, w = images.shape[1:3]
        x = images.reshape(len(images), -1).astype(np.float32) / 255.0
        y = arrays["train_labels"].astype(np.int64)
        num_classes = int(max(y.max(), arrays["test_labels"].max())) + 1
        split = _split(name, x, y, seed, val_fraction, 0.0, num_classes, (1, h, w))
        n = limit or len(split.x_train)
        x_test = arrays["test_images"].reshape(len(arrays["test_images"]), -1).astype(np.float32) / 255.0
        return Split(name, split.x_train[:n], split.y_train[:n], split.x_val, split.y_val,
                     torch.from_numpy(x_test), torch.from_numpy(arrays["test_labels"].astype(np.int64)),
                     num_classes, (1, h, w))
    raise ConfigError(f"unknown dataset {name!r} (known: digits, iris, mnist, fashion-mnist)")
