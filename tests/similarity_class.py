"""A small hw1 class for the similarity tests: five students who solved it independently, one
who did a third of it and left the rest of the stub, one who handed in the stub, and mallory,
who copied carol and disguised it (renamed everything, reordered the functions, rewrote the
comments and docstrings, reformatted)."""

from __future__ import annotations

import re
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
STUB = (COURSE / "assignments/hw1/tensor_ops.py").read_text()

ALICE = {
    "arange_grid": "return torch.arange(rows * cols, dtype=torch.int64).reshape(rows, cols)",
    "linspace_column": "return torch.linspace(start, end, steps, dtype=torch.float64).unsqueeze(1)",
    "diag_plus_identity": "n = values.shape[0]\n"
    "return torch.diag(values) + torch.eye(n, dtype=values.dtype)",
    "channels_last": "return images.permute(0, 2, 3, 1)",
    "flatten_features": "return images.reshape(images.shape[0], -1)",
    "select_positive": "return x[x > 0]",
    "relu_copy": "out = x.clone()\nout[out < 0] = 0\nreturn out",
    "every_other_row_last_col": "return x[::2, -1]",
    "center_columns": "return x - x.mean(dim=0, keepdim=True)",
    "outer_sum": "return a[:, None] + b[None, :]",
    "batched_matmul": "return a @ b",
    "row_max": "values, indices = x.max(dim=1)\nreturn values, indices",
    "per_sample_mean": "return x.reshape(x.shape[0], -1).mean(dim=1)",
    "share_numpy": "return torch.from_numpy(a)",
    "copy_numpy": "return torch.tensor(a)",
    "one_hot": "out = torch.zeros(labels.shape[0], num_classes, dtype=torch.float32)\n"
    "out[torch.arange(labels.shape[0]), labels] = 1.0\nreturn out",
    "pairwise_distances": "sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T\n"
    "return sq.clamp_min(0).sqrt()",
}

BOB = {
    "arange_grid": "grid = torch.arange(0, rows * cols).view(rows, cols)\nreturn grid.long()",
    "linspace_column": "col = torch.linspace(start, end, steps).double()\nreturn col.view(-1, 1)",
    "diag_plus_identity": "return torch.diag_embed(values) + torch.eye(len(values)).to(values.dtype)",
    "channels_last": "return torch.movedim(images, 1, -1)",
    "flatten_features": "return torch.flatten(images, start_dim=1)",
    "select_positive": "return torch.masked_select(x, x > 0)",
    "relu_copy": "return torch.where(x > 0, x, torch.zeros_like(x))",
    "every_other_row_last_col": "last = x[:, x.shape[1] - 1]\nreturn last[0::2]",
    "center_columns": "means = torch.mean(x, 0)\nreturn x - means",
    "outer_sum": "return torch.add(a.unsqueeze(1), b.unsqueeze(0))",
    "batched_matmul": "return torch.bmm(a, b)",
    "row_max": "result = torch.max(x, 1)\nreturn result.values, result.indices",
    "per_sample_mean": "dims = tuple(range(1, x.dim()))\nreturn torch.mean(x, dim=dims)",
    "share_numpy": "return torch.as_tensor(a)",
    "copy_numpy": "return torch.from_numpy(a.copy())",
    "one_hot": "eye = torch.eye(num_classes, dtype=torch.float32)\nreturn eye[labels]",
    "pairwise_distances": "diff = x[:, None, :] - y[None, :, :]\nreturn diff.pow(2).sum(-1).sqrt()",
}

CAROL_HELPER = """

def _num_features(t):
    # product of all sizes except the first one
    total = 1
    for size in t.shape[1:]:
        total = total * size
    return total
"""

CAROL = {
    "arange_grid": "flat = torch.arange(rows * cols)\nflat = flat.to(torch.int64)\n"
    "grid = flat.reshape((rows, cols))\nreturn grid",
    "linspace_column": "values = torch.linspace(start, end, steps, dtype=torch.float64)\n"
    "column = values.reshape((steps, 1))\nreturn column",
    "diag_plus_identity": "size = values.numel()\n"
    "identity = torch.eye(size, dtype=values.dtype, device=values.device)\n"
    "result = torch.diag(values)\nresult = result + identity\nreturn result",
    "channels_last": "n, c, h, w = images.shape\n"
    "moved = images.transpose(1, 2).transpose(2, 3)\nreturn moved.contiguous()",
    "flatten_features": "count = _num_features(images)\n"
    "return images.contiguous().view(images.shape[0], count)",
    "select_positive": "flat = x.flatten()\nkeep = flat > 0\nreturn flat[keep]",
    "relu_copy": "result = x.detach().clone()\nnegative = result < 0\n"
    "result[negative] = 0\nreturn result",
    "every_other_row_last_col": "rows = torch.arange(0, x.shape[0], 2)\n"
    "return x[rows, x.shape[1] - 1]",
    "center_columns": "column_means = x.sum(dim=0) / x.shape[0]\n"
    "centered = x - column_means.unsqueeze(0)\nreturn centered",
    "outer_sum": "left = a.reshape(-1, 1).expand(a.shape[0], b.shape[0])\n"
    "right = b.reshape(1, -1).expand(a.shape[0], b.shape[0])\nreturn left + right",
    "batched_matmul": 'return torch.einsum("bnk,bkm->bnm", a, b)',
    "row_max": "best = x.argmax(dim=1)\nvalues = x.gather(1, best.unsqueeze(1)).squeeze(1)\n"
    "return values, best",
    "per_sample_mean": "count = _num_features(x)\n"
    "totals = x.reshape(x.shape[0], count).sum(dim=1)\nreturn totals / count",
    "share_numpy": "shared = torch.from_numpy(a)\nreturn shared",
    "copy_numpy": "duplicate = np.array(a, copy=True)\nreturn torch.from_numpy(duplicate)",
    "one_hot": "n = labels.shape[0]\n"
    "encoded = torch.zeros((n, num_classes), dtype=torch.float32)\n"
    "encoded.scatter_(1, labels.view(n, 1), 1.0)\nreturn encoded",
    "pairwise_distances": "x_norms = (x ** 2).sum(dim=1, keepdim=True)\n"
    "y_norms = (y ** 2).sum(dim=1, keepdim=True).t()\ncross = torch.mm(x, y.t())\n"
    "squared = torch.clamp(x_norms + y_norms - 2.0 * cross, min=0.0)\n"
    "return torch.sqrt(squared)",
}

DAN = {
    "arange_grid": "return torch.arange(rows * cols).long().view(rows, -1)",
    "linspace_column": "return torch.linspace(float(start), float(end), int(steps), "
    "dtype=torch.double)[:, None]",
    "diag_plus_identity": "out = torch.eye(values.shape[0], dtype=values.dtype)\n"
    "out.diagonal().add_(values)\nreturn out",
    "channels_last": 'return torch.einsum("nchw->nhwc", images)',
    "flatten_features": "return images.flatten(1)",
    "select_positive": "idx = torch.nonzero(x.reshape(-1) > 0).squeeze(1)\n"
    "return x.reshape(-1)[idx]",
    "relu_copy": "return x.clamp(min=0)",
    "every_other_row_last_col": "return x[:, -1][::2].clone()",
    "center_columns": "return x.sub(x.mean(0))",
    "outer_sum": "return a.view(-1, 1) + b.view(1, -1)",
    "batched_matmul": "return torch.matmul(a, b)",
    "row_max": "v, i = torch.max(x, dim=-1)\nreturn v, i",
    "per_sample_mean": "return x.flatten(1).mean(1)",
    "share_numpy": "t = torch.from_numpy(a)\nreturn t",
    "copy_numpy": "return torch.from_numpy(a).clone()",
    "one_hot": "return (labels[:, None] == torch.arange(num_classes)[None, :]).float()",
    "pairwise_distances": "return torch.sqrt(torch.relu(x.pow(2).sum(1).view(-1, 1) "
    "- 2 * x.matmul(y.T) + y.pow(2).sum(1).view(1, -1)))",
}

GRACE = {
    "arange_grid": "rows_list = []\nfor r in range(rows):\n"
    "    rows_list.append(list(range(r * cols, (r + 1) * cols)))\n"
    "return torch.tensor(rows_list, dtype=torch.int64).reshape(rows, cols)",
    "linspace_column": "if steps == 1:\n    return torch.tensor([[start]], dtype=torch.float64)\n"
    "step = (end - start) / (steps - 1)\n"
    "pts = start + step * torch.arange(steps, dtype=torch.float64)\nreturn pts.reshape(-1, 1)",
    "diag_plus_identity": "m = torch.zeros(len(values), len(values), dtype=values.dtype)\n"
    "idx = torch.arange(len(values))\nm[idx, idx] = values + 1\nreturn m",
    "channels_last": "return images.permute(0, 2, 3, 1)",
    "flatten_features": "return images.reshape(len(images), -1)",
    "select_positive": "return x.reshape(-1)[x.reshape(-1) > 0]",
    "relu_copy": "return torch.maximum(x, torch.tensor(0, dtype=x.dtype))",
    "every_other_row_last_col": "picked = x[torch.arange(x.shape[0]) % 2 == 0]\nreturn picked[:, -1]",
    "center_columns": "mu = x.mean(axis=0)\nreturn x - mu[None, :]",
    "outer_sum": "return b.unsqueeze(0) + a.unsqueeze(1)",
    "batched_matmul": "return (a.unsqueeze(3) * b.unsqueeze(1)).sum(2)",
    "row_max": "order = x.sort(dim=1, descending=True)\n"
    "return order.values[:, 0], order.indices[:, 0]",
    "per_sample_mean": "return x.reshape(len(x), -1).sum(1) / x[0].numel()",
    "share_numpy": "return torch.from_numpy(a)",
    "copy_numpy": "return torch.tensor(np.copy(a))",
    "one_hot": "return torch.nn.functional.one_hot(labels, num_classes).to(torch.float32)",
    "pairwise_distances": "g = x @ y.T\nxx = (x * x).sum(-1)\nyy = (y * y).sum(-1)\n"
    "return (xx[:, None] - 2 * g + yy[None, :]).clamp(min=0) ** 0.5",
}

ERIN = {  # a third of it; the rest left as the stub wrote it
    "arange_grid": "return torch.arange(rows * cols, dtype=torch.long).view(rows, cols)",
    "linspace_column": "return torch.linspace(start, end, steps, dtype=torch.float64).view(steps, 1)",
    "diag_plus_identity": "return torch.diag(values) + torch.eye(values.size(0), dtype=values.dtype)",
    "channels_last": "return images.permute(0, 2, 3, 1).contiguous()",
    "flatten_features": "return images.view(images.size(0), -1)",
    "select_positive": "mask = x > 0\nreturn x[mask]",
}

# carol's work, disguised: every name changed, the functions in another order, new comments
# and docstrings, other line breaks and spacing; what it computes is carol's, step for step
MALLORY = '''"""My tensor_ops solutions for homework 1 (Mallory)."""

import numpy as np
import torch


def _feature_count(tensor):
    """Number of features per sample."""
    acc = 1
    for dim_size in tensor.shape[1:]:  # skip batch
        acc = acc * dim_size
    return acc


def pairwise_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Distances between all rows."""
    a_sq = (x**2).sum(dim=1, keepdim=True)
    b_sq = (y**2).sum(dim=1,
                      keepdim=True).t()
    dot = torch.mm(x, y.t())
    d2 = torch.clamp(a_sq + b_sq - 2.0 * dot,
                     min=0.0)
    return torch.sqrt(d2)


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """One-hot encode the labels."""
    m = labels.shape[0]
    onehot = torch.zeros((m, num_classes), dtype=torch.float32)
    onehot.scatter_(1, labels.view(m, 1), 1.0)  # put a one at each label
    return onehot


def copy_numpy(a: np.ndarray) -> torch.Tensor:
    """Copy, not share."""
    arr2 = np.array(a, copy=True)
    return torch.from_numpy(arr2)


def share_numpy(a: np.ndarray) -> torch.Tensor:
    """Share memory."""
    t = torch.from_numpy(a)
    return t


def row_max(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max per row."""
    idx = x.argmax(dim=1)
    vals = x.gather(1, idx.unsqueeze(1)).squeeze(1)
    return vals, idx


def per_sample_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of each sample."""
    k = _feature_count(x)
    sums = x.reshape(x.shape[0], k).sum(dim=1)
    return sums / k


def batched_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batch matrix multiply."""
    return torch.einsum("bij,bjk->bik", a, b)


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All sums a[i] + b[j]."""
    lhs = a.reshape(-1, 1).expand(a.shape[0], b.shape[0])
    rhs = b.reshape(1, -1).expand(a.shape[0], b.shape[0])
    return lhs + rhs


def center_columns(x: torch.Tensor) -> torch.Tensor:
    """Subtract column means."""
    mu = x.sum(dim=0) / x.shape[0]
    out = x - mu.unsqueeze(0)
    return out


def relu_copy(x: torch.Tensor) -> torch.Tensor:
    """ReLU without touching x."""
    y = x.detach().clone()
    neg = y < 0
    y[neg] = 0
    return y


def every_other_row_last_col(x: torch.Tensor) -> torch.Tensor:
    """Even rows, last column."""
    r = torch.arange(0, x.shape[0], 2)
    return x[r, x.shape[1] - 1]


def select_positive(x: torch.Tensor) -> torch.Tensor:
    """Positive entries only."""
    v = x.flatten(); m = v > 0
    return v[m]


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """NCHW to NHWC."""
    N, C, H, W = images.shape
    out = images.transpose(1, 2).transpose(2, 3)
    return out.contiguous()


def flatten_features(images: torch.Tensor) -> torch.Tensor:
    """Flatten all but the batch dimension."""
    d = _feature_count(images)
    return images.contiguous().view(images.shape[0], d)


def diag_plus_identity(values: torch.Tensor) -> torch.Tensor:
    """diag + I"""
    n = values.numel()
    eye = torch.eye(n, dtype=values.dtype, device=values.device)
    res = torch.diag(values)
    res = res + eye
    return res


def linspace_column(start: float, end: float, steps: int) -> torch.Tensor:
    """Column of evenly spaced points."""
    pts = torch.linspace(start, end, steps, dtype=torch.float64)
    col = pts.reshape((steps, 1))
    return col


def arange_grid(rows: int, cols: int) -> torch.Tensor:
    """Grid of consecutive integers."""
    seq = torch.arange(rows * cols)
    seq = seq.to(torch.int64)
    mat = seq.reshape((rows, cols))
    return mat
'''

INDEPENDENT = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dan": DAN, "grace": GRACE}


def solved(bodies: dict[str, str], extra: str = "") -> str:
    """The stub with the bodies in `bodies` in place of its `raise NotImplementedError`."""

    def body(match: re.Match) -> str:
        name = match.group(2)
        if name not in bodies:
            return match.group(0)
        return "\n".join(match.group(1) + line for line in bodies[name].splitlines())

    source = re.sub(
        r'^( +)raise NotImplementedError\("Task [\d.]+: (\w+)"\)$', body, STUB, flags=re.M
    )
    return source + extra


def write_class(folder: Path) -> dict[str, Path]:
    """The class as one `<id>.py` per student in `folder`; returns the paths by id."""
    sources = {sid: solved(bodies) for sid, bodies in INDEPENDENT.items()}
    sources["carol"] = solved(CAROL, CAROL_HELPER)
    sources["erin"] = solved(ERIN)
    sources["frank"] = STUB
    sources["mallory"] = MALLORY
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for sid, source in sources.items():
        paths[sid] = folder / f"{sid}.py"
        paths[sid].write_text(source)
    return paths
