"""What check files use: comparisons whose failures teach, and `fail` for everything else.

from grader.checking import assert_close, expect_raises, fail

def test_softmax_matches_reference(student, reference, spec):
    \"\"\"softmax matches the reference on random logits\"\"\"
    x = torch.randn(4, 10, dtype=torch.float64)
    assert_close(student.softmax(x), reference.softmax(x), spec.tolerance(), what="softmax(x)")
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

import numpy as np
import torch

from grader.data import Split
from grader.judge import hints
from grader.judge.hints import (
    conv_shape_hint,
    error_hint,
    output_size_hint,
    ratio,
    scale_hint,
    shape_hint,
)
from grader.judge.proxy import StudentError
from grader.sandbox.client import WorkerLost
from grader.spec import Tolerance

__all__ = [  # what check files use; nothing else of the engine
    "CheckFailed",
    "Split",
    "StudentError",
    "WorkerLost",
    "assert_close",
    "best_time",
    "check_training",
    "conv_shape_hint",
    "error_hint",
    "expect_accuracy",
    "expect_raises",
    "expect_tensor",
    "fail",
    "hard_coded_hint",
    "named_parameters",
    "output_size_hint",
    "public_case_first",
    "ratio",
    "scale_hint",
    "shape_hint",
    "time_budget",
    "training_budget",
    "within_budget",
]

Case = TypeVar("Case")


class CheckFailed(AssertionError):
    """A check's verdict: `message` says what was wrong, `hint` names the likely mistake."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def fail(message: str, hint: str = "") -> NoReturn:
    raise CheckFailed(message, hint)


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    name = getattr(value, "type_name", None) or type(value).__name__
    return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name} ({_short(value)})"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect_tensor(
    got: Any,
    what: str,
    *,
    dtype: torch.dtype | None = None,
    shape: tuple | None = None,
    hint: str = "",
) -> torch.Tensor:
    """`got` as a tensor, or a failed check saying what it was instead."""
    if not isinstance(got, torch.Tensor):
        fail(f"{what} should be a tensor, but your code returned {_kind(got)}", hint)
    if shape is not None and tuple(got.shape) != tuple(shape):
        fail(
            f"{what} has the wrong shape: got {tuple(got.shape)}, expected {tuple(shape)}",
            hint or hints.shape_hint(tuple(got.shape), tuple(shape)),
        )
    if dtype is not None and got.dtype != dtype:
        fail(f"{what} has the wrong dtype: got {got.dtype}, expected {dtype}", hint)
    return got


def assert_close(
    got: Any,
    expected: Any,
    tol: Tolerance,
    *,
    what: str,
    hint: str = "",
    batch_size: int | None = None,
    check_dtype: bool = True,
    hint_fn: Callable[[torch.Tensor, torch.Tensor], str] | None = None,
) -> None:
    """Compare `got` (the student's) to `expected` (the reference's) within `tol`.

    Shapes and dtypes are checked first; values as `|got - expected| <= atol + rtol·|expected|`.
    On failure the message gives the max abs/rel error, the first offending index and both
    values there; the hint is `hint`, else `hint_fn(got, expected)`, else a recognised
    scale or shape mistake.
    """
    expected = torch.as_tensor(expected) if not isinstance(expected, torch.Tensor) else expected
    if isinstance(got, np.ndarray) and got.dtype.kind in "biufc":
        fail(f"{what} should be a torch tensor, but your code returned a numpy array", hint)
    if isinstance(got, (int, float)) and not isinstance(got, bool) and expected.dim() == 0:
        got = torch.tensor(got, dtype=expected.dtype)
    got = expect_tensor(got, what, shape=tuple(expected.shape), hint=hint)
    if check_dtype and got.dtype != expected.dtype:
        fail(f"{what} has the wrong dtype: got {got.dtype}, expected {expected.dtype}", hint)
    g, e = (
        got.detach().to(torch.float64 if not got.is_complex() else torch.complex128),
        expected.detach().to(torch.float64 if not expected.is_complex() else torch.complex128),
    )
    bad = ~torch.isclose(g, e, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
    if not bool(bad.any()):
        return
    diff = (g - e).abs()
    finite = torch.isfinite(diff)
    max_abs = float(diff[finite].max()) if finite.any() else math.inf
    rel = diff / e.abs().clamp_min(1e-300)
    max_rel = float(rel[finite].max()) if finite.any() else math.inf
    index = tuple(int(i) for i in bad.nonzero()[0]) if bad.dim() else ()
    n_bad, n = int(bad.sum()), bad.numel()
    message = (
        f"{what} does not match the expected values within rtol={tol.rtol:g}, atol={tol.atol:g}: "
        f"{n_bad} of {n} elements differ; max abs error {max_abs:.3g}, max rel error {max_rel:.3g}; "
        f"first at index {list(index)}: got {g[index].item():.8g}, expected {e[index].item():.8g}"
    )
    if not torch.isfinite(g).all() and torch.isfinite(e).all():
        message += " (your result contains inf or NaN)"
    found = (
        hint or (hint_fn(got, expected) if hint_fn else "") or hints.scale_hint(g, e, batch_size)
    )
    fail(message, found)


def expect_raises(
    call: Callable[[], Any], error: str, *, what: str, hint: str = ""
) -> StudentError:
    """Student code must raise `error` (a type name such as "ValueError")."""
    try:
        result = call()
    except StudentError as exc:
        if exc.type_name == error or exc.not_implemented:
            if exc.not_implemented:
                raise
            return exc
        fail(f"{what} should raise {error}, but raised {exc.type_name}: {exc.message}", hint)
    fail(f"{what} should raise {error}, but returned {_kind(result)}", hint)


def named_parameters(model: Any, what: str, hint: str = "") -> dict[str, torch.Tensor]:
    """`model.named_parameters()` of a student module, validated: {name: tensor}."""
    pairs = model.method("named_parameters")()
    if not (
        isinstance(pairs, list)
        and all(
            isinstance(p, tuple)
            and len(p) == 2
            and isinstance(p[0], str)
            and isinstance(p[1], torch.Tensor)
            for p in pairs
        )
    ):
        fail(
            f"{what}.named_parameters() should give (name, tensor) pairs, got {_short(pairs, 200)}",
            hint
            or "subclass nn.Module, call super().__init__() first, and assign the layers "
            "and parameters as attributes",
        )
    return dict(pairs)


def _passes(call: Callable[[], object]) -> bool:
    try:
        return bool(call())
    except (CheckFailed, StudentError):
        return False


@contextlib.contextmanager
def hard_coded_hint(
    why: str,
    *,
    public_case_passes: Callable[[], object] = lambda: True,
    error_hint: Callable[[str], str] = hints.error_hint,
) -> Iterator[None]:
    """A failure inside, when the public check's case passes, gets the hint `why` (a size
    looks hard-coded), followed by the failure's own hint or, for an exception in the
    student's code, `error_hint(message)`.

    `public_case_passes` runs only after a failure (default: the caller knows it passes).
    """
    try:
        yield
    except CheckFailed as exc:
        if not _passes(public_case_passes):
            raise
        raise CheckFailed(exc.message, f"{why} ({exc.hint})" if exc.hint else why) from None
    except StudentError as exc:
        if exc.not_implemented or not _passes(public_case_passes):
            raise
        known = error_hint(exc.message)
        fail(str(exc), f"{why}; {known}" if known else why)


def public_case_first(
    cases: Sequence[Case],
    check: Callable[[Case], object],
    why: Callable[[Case], str],
    *,
    error_hint: Callable[[str], str] = hints.error_hint,
) -> None:
    """`check(case)` for each case; the first is the case a public check uses. When it passes
    and a later case fails, that failure's hint starts with `why(case)`."""
    check(cases[0])
    for case in cases[1:]:
        with hard_coded_hint(why(case), error_hint=error_hint):
            check(case)


def best_time(call: Callable[[], Any], repeat: int = 5) -> float:
    """Fastest wall time of `repeat` calls, on the judge's clock."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def time_budget(baseline_s: float, *, factor: float, floor_s: float, cap_s: float) -> float:
    """Seconds student code may take: `factor` x a baseline measured in the same run (e.g. the
    reference training on the same data), at least `floor_s`, at most `cap_s`."""
    return min(cap_s, max(floor_s, factor * baseline_s))


@contextlib.contextmanager
def within_budget(student: Any, seconds: float, *, what: str, why: str = "", hint: str = ""):
    """Each request inside may take `seconds`; running out fails the check, naming the budget."""
    with student.time_limit(seconds):
        try:
            yield
        except WorkerLost as exc:
            if not exc.timed_out:
                raise
            fail(
                f"{what} did not finish within its time budget of {seconds:.3g} s"
                + (f" ({why})" if why else ""),
                hint,
            )


def expect_accuracy(
    predictions: Any,
    targets: torch.Tensor,
    threshold: float,
    *,
    what: str,
    reference: float | None = None,
    hint: str = "",
) -> float:
    """The accuracy of predicted class labels against held-out `targets` (kept in the judge).

    Fails below `threshold` with the accuracy reached (and the reference's, when given).
    """
    n = int(targets.shape[0])
    if isinstance(predictions, torch.Tensor) and predictions.dim() == 2 and len(predictions) == n:
        fail(
            f"{what} should be one class label per sample, shape ({n},), but has shape "
            f"{tuple(predictions.shape)}",
            "return the predicted classes, scores.argmax(dim=1)",
        )
    pred = expect_tensor(predictions, what, shape=(n,))
    if pred.is_floating_point() or pred.is_complex() or pred.dtype == torch.bool:
        fail(
            f"{what} should hold integer class labels, but has dtype {pred.dtype}",
            "argmax(dim=1) gives int64 class labels",
        )
    correct = int((pred.long() == targets).sum())
    accuracy = correct / n
    if accuracy < threshold:
        also = f"; the reference reaches {reference:.3f} here" if reference is not None else ""
        fail(
            f"{what}: accuracy {accuracy:.3f} ({correct} of {n} held-out samples right), below "
            f"the required {threshold:.3f}{also}",
            hint,
        )
    return accuracy


def training_budget(spec: Any) -> dict[str, float]:
    """`check_training`'s factor, floor_s and cap_s, read from an assignment's `[thresholds]`
    keys `train_time_factor`, `train_time_floor_s` and `train_time_cap_s`."""
    return {
        "factor": spec.threshold("train_time_factor"),
        "floor_s": spec.threshold("train_time_floor_s"),
        "cap_s": spec.threshold("train_time_cap_s"),
    }


def check_training(
    student: Any,
    reference: Any,
    fit: Callable[[Any], Any],
    targets: torch.Tensor,
    *,
    threshold: float,
    factor: float,
    floor_s: float,
    cap_s: float,
    what: str,
    hint: str = "",
) -> float:
    """Train with the reference, then with the student's code, and score the student's predictions.

    `fit(impl)` trains a fresh model with `impl` (the `reference` module or the `student` proxy:
    the same calls work on both) and returns its predictions for held-out inputs whose labels,
    `targets`, never leave the judge. The student's requests may each take
    `time_budget(reference time, factor=..., floor_s=..., cap_s=...)` seconds, the reference
    time being measured on the judge's clock in this same check. Returns the accuracy.
    """
    start = time.perf_counter()
    expected = fit(reference)
    reference_s = time.perf_counter() - start
    ref_accuracy = float((torch.as_tensor(expected).long() == targets).double().mean())
    budget = time_budget(reference_s, factor=factor, floor_s=floor_s, cap_s=cap_s)
    why = (
        f"{factor:g}x the reference's {reference_s:.2f} s on the same data, at least "
        f"{floor_s:g} s, at most {cap_s:g} s"
    )
    with within_budget(
        student,
        budget,
        what=what,
        why=why,
        hint="look for Python loops over single samples or features, or for "
        "more epochs than asked for",
    ):
        predictions = fit(student)
    return expect_accuracy(
        predictions, targets, threshold, what=what, reference=ref_accuracy, hint=hint
    )
