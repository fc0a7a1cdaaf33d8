"""What check files use: comparisons whose failures teach, and `fail` for everything else.

from grader.checking import assert_close, expect_raises, fail

def test_softmax_matches_reference(student, reference, spec):
    \"\"\"softmax matches the reference on random logits\"\"\"
    x = torch.randn(4, 10, dtype=torch.float64)
    assert_close(student.softmax(x), reference.softmax(x), spec.tolerance(), what="softmax(x)")
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import numpy as np
import pytest
import torch

from grader.data import Split
from grader.judge import hints
from grader.judge.hints import (
    conv_shape_hint,
    error_hint,
    flatten_error_hint,
    flattened_size_hint,
    normal_draw_hint,
    output_size_hint,
    ratio,
    scale_hint,
    shape_hint,
)
from grader.judge.proxy import StudentError, annotate
from grader.judge.replay import reference_seconds
from grader.sandbox.client import WorkerLost
from grader.spec import Tolerance, Training

__all__ = [  # what check files use; nothing else of the engine
    "check",
    "Architecture",
    "CheckFailed",
    "Split",
    "StudentError",
    "Trained",
    "WorkerLost",
    "assert_close",
    "best_time",
    "check_training",
    "conv_shape_hint",
    "error_hint",
    "expect_accuracy",
    "expect_parameters",
    "expect_predictions",
    "expect_raises",
    "expect_tensor",
    "fail",
    "flatten_error_hint",
    "flattened_size_hint",
    "hard_coded_hint",
    "named_parameters",
    "normal_draw_hint",
    "output_size_hint",
    "public_case_first",
    "ratio",
    "scale_hint",
    "shape_hint",
    "time_budget",
    "unpredictable_generator",
    "show_curves",
    "within_budget",
]

Case = TypeVar("Case")


class CheckFailed(AssertionError):
    """A check's verdict: `message` says what was wrong, `hint` names the likely mistake;
    `file` and `line`, the place in the student's code it comes from, when there is one."""

    def __init__(self, message: str, hint: str = "", *, file: str = "", line: int = 0):
        super().__init__(message)
        self.message, self.hint, self.file, self.line = message, hint, file, line


def fail(message: str, hint: str = "", *, at: StudentError | None = None) -> NoReturn:
    """Fail the check. `at`: the error in student code the failure comes from; its file,
    line and traceback stay in the report."""
    if at is None:
        raise CheckFailed(message, hint)
    trace = at.traceback.rstrip()
    raise CheckFailed(message + (f"\n{trace}" if trace else ""), hint, file=at.file, line=at.line)


def check(*, task: str, points: float, needs: Sequence[str] = ()) -> pytest.MarkDecorator:
    """Declare a check: the stub's task it grades, its points, and the tasks it also needs
    (a failure there is the likely cause of one here). Write the values as literals: they
    are read without running the file (`grader.contract`)."""
    return pytest.mark.check(task=task, points=points, needs=tuple(needs))


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
        fail(
            f"{what} has the wrong dtype: got {got.dtype}, expected {dtype}",
            hints.dtype_hint(got.dtype, dtype) or hint,
        )
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
        fail(
            f"{what} has the wrong dtype: got {got.dtype}, expected {expected.dtype}",
            hints.dtype_hint(got.dtype, expected.dtype) or hint,
        )
    g, e = (
        got.detach().to(torch.float64 if not got.is_complex() else torch.complex128),
        expected.detach().to(torch.float64 if not expected.is_complex() else torch.complex128),
    )
    if bool(((g - e).abs() <= tol.atol + tol.rtol * e.abs()).all()):
        return  # isclose's own test, finite values only: the common case, half the time
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
        fail(
            f"{what} should raise {error}, but raised {exc.type_name}: {exc.message}",
            hint,
            at=exc,
        )
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
        raise CheckFailed(
            exc.message,
            f"{why} ({exc.hint})" if exc.hint else why,
            file=exc.file,
            line=exc.line,
        ) from None
    except StudentError as exc:
        if exc.not_implemented or not _passes(public_case_passes):
            raise
        known = error_hint(exc.message)
        fail(str(exc), f"{why}; {known}" if known else why, at=exc)


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


def best_time(call: Callable[[], Any], repeat: int = 5, *, reference: Any = None) -> float:
    """Fastest wall time of `repeat` calls, on the judge's clock. For a call to the reference
    (or to what a check reaches through it, e.g. `reference.torch.cdist`), pass `reference`:
    with recorded answers the time is the one recorded in this grading run, never a sleep."""
    best = math.inf
    for _ in range(repeat):
        start, replayed = time.perf_counter(), reference_seconds(reference)
        call()
        best = min(best, time.perf_counter() - start + reference_seconds(reference) - replayed)
    return best


def unpredictable_generator() -> torch.Generator:
    """A torch.Generator seeded from the OS's randomness, for inputs a submission must not be
    able to compute ahead: a check's own `seed` derives from the base seed, which reports
    print, and the check's code, which students may have."""
    return torch.Generator().manual_seed(int.from_bytes(os.urandom(8), "big") >> 1)


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


def _labels(predictions: Any, n: int, what: str, num_classes: int | None = None) -> torch.Tensor:
    """`predictions` as n integer class labels (below `num_classes`, when given), or a failed check."""
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
    pred = pred.long()
    if num_classes is not None and n and not bool(((pred >= 0) & (pred < num_classes)).all()):
        fail(
            f"{what} should be class labels 0 to {num_classes - 1}, got values from "
            f"{int(pred.min())} to {int(pred.max())}",
            "one label per row: the index of its largest score, scores.argmax(dim=1)",
        )
    return pred


def expect_accuracy(
    predictions: Any,
    targets: torch.Tensor,
    threshold: float,
    *,
    what: str,
    reference: float | None = None,
    hint: str = "",
    note: str = "",
) -> float:
    """The accuracy of predicted class labels against held-out `targets` (kept in the judge).

    Fails below `threshold` with the accuracy reached (and the reference's, when given), then
    `note`.
    """
    n = int(targets.shape[0])
    pred = _labels(predictions, n, what)
    correct = int((pred == targets).sum())
    accuracy = correct / n
    if accuracy < threshold:
        also = f"; the reference reaches {reference:.3f} here" if reference is not None else ""
        fail(
            f"{what}: accuracy {accuracy:.3f} ({correct} of {n} held-out samples right), below "
            f"the required {threshold:.3f}{also}{note}",
            hint,
        )
    return accuracy


def show_curves(student: Any, curves: Mapping[str, Any]) -> None:
    """Put loss curves ({"yours": [...], "reference": [...]}) into this check's report; a
    curve that is not a short list of finite numbers is left out (it is the student's value)."""
    kept = {}
    for name, values in curves.items():
        if (
            isinstance(values, (list, tuple))
            and 1 <= len(values) <= 1000
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        ):
            kept[name] = [float(v) for v in values]
    annotate(student, curves=kept)


# -- trained models: the judge computes what they predict ---------------------------------------

Parameters = dict[str, torch.Tensor]


def _named_parameters_of(model: Any) -> Any:
    method = model.named_parameters
    if not callable(method):
        fail(
            f"the model's named_parameters should be nn.Module's method, got {_kind(method)}",
            "subclass nn.Module and do not assign to named_parameters",
        )
    return method()


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A model as an assignment prescribes it, computed by the judge from its parameters.

    `shapes` names its parameters and gives their shapes. `forward(params, x)` computes the
    logits in evaluation mode (no dropout) from `params` under those names, all float64.
    `read(model)` takes the parameters out of a trained model (the student's, behind a handle,
    or the reference's): {name: tensor} or (name, tensor) pairs, each name the tensor's
    attribute path in the model; by default `model.named_parameters()`. `classes` gives, for
    each parameter holding one slice per class (the last layer's weight and bias), the
    dimension of those slices: `shifted` moves every class's slice to the next class.
    """

    name: str
    shapes: Mapping[str, tuple[int, ...]]
    forward: Callable[[Parameters, torch.Tensor], torch.Tensor]
    read: Callable[[Any], Any] = _named_parameters_of
    classes: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def parameters(self, model: Any, what: str) -> tuple[Parameters, dict[str, str]]:
        """The model's parameters under the prescribed names (validated, float64), and the
        attribute path of each in the model."""
        return expect_parameters(self.read(model), self.shapes, what)

    def logits(self, params: Parameters, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.forward(params, x.detach().double())

    def shifted(self, params: Parameters) -> Parameters:
        """`params` of a model whose class c scores what class c - 1 scores with `params`."""
        return {
            name: t.roll(1, dims=self.classes[name]) if name in self.classes else t
            for name, t in params.items()
        }


def _shapes(pairs: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(
        f"{name} {tuple(t.shape) if isinstance(t, torch.Tensor) else _kind(t)}" for name, t in pairs
    )


def _pairs(got: Any, what: str) -> list[tuple[str, Any]]:
    if isinstance(got, Mapping):
        items = list(got.items())
    elif isinstance(got, (list, tuple, types.GeneratorType)):
        items = list(got)
    else:
        items = None
    if items is None or not all(
        isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], str) for p in items
    ):
        fail(
            f"the parameters of {what} should be (name, tensor) pairs, got {_short(got, 200)}",
            "subclass nn.Module, call super().__init__() first, and assign the layers "
            "and parameters as attributes",
        )
    return [(name, value) for name, value in items]


def expect_parameters(
    got: Any, shapes: Mapping[str, tuple[int, ...]], what: str, *, hint: str = ""
) -> tuple[Parameters, dict[str, str]]:
    """A model's parameters as the judge uses them, matched to the prescribed `shapes`.

    `got` is {name: tensor} or (name, tensor) pairs (`named_parameters()`, `state_dict()`).
    When the model uses the prescribed names, each parameter is taken by name; otherwise by
    shape (where shapes repeat, in the model's order). Every one must be a finite floating
    tensor; none may be missing or left over. Returns them under the prescribed names as
    float64, and each one's name in the model.
    """
    pairs = _pairs(got, what)
    names = [name for name, _ in pairs]
    chosen: dict[str, tuple[str, Any]] = {}
    if sorted(names) == sorted(shapes):
        chosen = {name: (name, value) for name, value in pairs}
        for name, shape in shapes.items():
            expect_tensor(chosen[name][1], f"{name} of {what}", shape=shape, hint=hint)
    else:
        left = list(pairs)
        for name, shape in shapes.items():
            i = next(
                (
                    k
                    for k, (_, t) in enumerate(left)
                    if isinstance(t, torch.Tensor) and tuple(t.shape) == tuple(shape)
                ),
                None,
            )
            if i is not None:
                chosen[name] = left.pop(i)
        missing = [(name, shape) for name, shape in shapes.items() if name not in chosen]
        if missing or left:
            fail(
                f"the parameters of {what} do not have the prescribed shapes: expected "
                f"{_shapes(list(shapes.items()))[:600]}; got {_shapes(pairs)[:600]}"
                + (f"; no parameter of shape {', '.join(f'{s} ({n})' for n, s in missing)}")
                * bool(missing)
                + (f"; not expected: {_shapes(left)[:300]}") * bool(left),
                hint or "build exactly the layers the README lists, with the sizes it gives",
            )
    params, paths = {}, {}
    for name, (path, value) in chosen.items():
        t = expect_tensor(value, f"{name} of {what}", hint=hint)
        if not t.is_floating_point():
            fail(f"{name} of {what} should be a floating-point tensor, got dtype {t.dtype}", hint)
        t = t.detach().double()
        if not bool(torch.isfinite(t).all()):
            fail(
                f"{name} of {what} holds inf or NaN: the training diverged",
                hint
                or "look for a learning rate that is too large or used twice, a gradient "
                "summed instead of averaged, or the log of 0",
            )
        params[name], paths[name] = t, path
    return params, paths


@dataclasses.dataclass(frozen=True)
class Trained:
    """What `check_training` found, for further checks: the student's trained model (a handle)
    and, computed by the judge for the held-out inputs, its logits and predictions (from its
    `parameters`, each at `paths[name]` in the model), their accuracy; the reference's logits
    and accuracy; and a probe, parameters of the judge's choosing (the reference's, classes
    shifted by one) with their logits. Without an architecture only predictions, accuracies."""

    model: Any
    predictions: torch.Tensor
    accuracy: float
    reference_accuracy: float
    parameters: Parameters = dataclasses.field(default_factory=dict)
    paths: dict[str, str] = dataclasses.field(default_factory=dict)
    logits: torch.Tensor | None = None
    reference_logits: torch.Tensor | None = None
    probe_parameters: Parameters = dataclasses.field(default_factory=dict)
    probe_logits: torch.Tensor | None = None


def check_training(
    student: Any,
    reference: Any,
    fit: Callable[[Any], Any],
    targets: torch.Tensor,
    *,
    training: Training,
    what: str,
    architecture: Architecture | None = None,
    inputs: torch.Tensor | None = None,
    threshold: float | None = None,
    hint: str = "",
    hint_fn: Callable[[Parameters], str] | None = None,
    losses: Mapping[Any, Any] | None = None,
) -> Trained:
    """Train with the reference, then with the student's code; score what the trained model predicts.

    `fit(impl)` trains a fresh model with `impl` (the `reference` module or the `student` proxy:
    the same calls work on both) and returns it; `training` (an assignment's `[training]`
    run) gives the accuracy to reach (`threshold` overrides it), the loss not to exceed and
    the time budget: the student's requests may each take `time_budget(reference time,
    factor=time_factor, floor_s=time_floor_s, cap_s=time_cap_s)` seconds, the reference time
    being measured on the judge's clock in this same check. `losses`, filled by `fit` with
    each impl's per-epoch losses, become the report's sparklines. Then the judge reads each
    trained model's parameters (`architecture.parameters`: validated, prescribed shapes) and
    computes its predictions for the held-out `inputs` itself (`architecture.forward`), so
    the student's own predict plays no part (`expect_predictions` checks it); `targets`, their
    labels, never leave the judge. Fails below `threshold` or, given `max_loss`, when the mean
    held-out cross-entropy of those logits is above it (a model that learned nothing scores
    log(classes) however lucky its argmax), with `hint`, or `hint_fn(the student's
    parameters)` when that names a mistake.

    Without an `architecture`, `fit` returns predictions and those are scored: only for a model
    the judge cannot compute (never an assignment's: a memorised answer would pass).
    """
    threshold = training.min_accuracy if threshold is None else threshold
    max_loss = training.max_loss
    factor, floor_s, cap_s = training.time_factor, training.time_floor_s, training.time_cap_s
    start, replayed = time.perf_counter(), reference_seconds(reference)
    expected = fit(reference)
    # with recorded answers, the time the reference took when recorded: never a sleep
    reference_s = time.perf_counter() - start + reference_seconds(reference) - replayed
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
        model = fit(student)
    if losses is not None:
        show_curves(student, {"yours": losses.get(student), "reference": losses.get(reference)})
    if architecture is None:
        ref_accuracy = float((torch.as_tensor(expected).long() == targets).double().mean())
        accuracy = expect_accuracy(
            model, targets, threshold, what=what, reference=ref_accuracy, hint=hint
        )
        return Trained(None, _labels(model, len(targets), what), accuracy, ref_accuracy)
    if inputs is None:
        raise TypeError("check_training: an architecture needs the held-out inputs")
    try:
        ref_params, _ = architecture.parameters(expected, f"the reference's {architecture.name}")
    except CheckFailed as exc:  # the check's architecture is not the reference's: a course bug
        raise RuntimeError(f"the check's architecture does not fit: {exc.message}") from None
    ref_logits = architecture.logits(ref_params, inputs)
    ref_accuracy = float((ref_logits.argmax(dim=1) == targets).double().mean())
    params, paths = architecture.parameters(model, f"the trained {architecture.name}")
    logits = architecture.logits(params, inputs)
    predictions = logits.argmax(dim=1)
    accuracy = float((predictions == targets).double().mean())
    how = f" (the grader computes both itself, from the trained parameters of {architecture.name})"
    if accuracy < threshold:
        expect_accuracy(
            predictions,
            targets,
            threshold,
            what=what,
            reference=ref_accuracy,
            hint=(hint_fn(params) if hint_fn else "") or hint,
            note=how,
        )
    loss = float(torch.nn.functional.cross_entropy(logits, targets))
    if max_loss is not None and not loss <= max_loss:
        ref_loss = float(torch.nn.functional.cross_entropy(ref_logits, targets))
        fail(
            f"{what}: the held-out cross-entropy is {loss:.3f}, above the allowed {max_loss:.3f}; "
            f"the reference's is {ref_loss:.3f} here, and a model that learned nothing scores "
            f"about log({logits.shape[1]}) = {math.log(logits.shape[1]):.3f}{how}",
            (hint_fn(params) if hint_fn else "") or hint,
        )
    probe = architecture.shifted(ref_params)
    return Trained(
        model,
        predictions,
        accuracy,
        ref_accuracy,
        params,
        paths,
        logits,
        ref_logits,
        probe,
        architecture.logits(probe, inputs),
    )


def _acceptable(logits: torch.Tensor, tol: Tolerance) -> torch.Tensor:
    """Which classes count as each row's top class: within `tol` of the largest logit."""
    top = logits.max(dim=1, keepdim=True).values
    slack = tol.atol + tol.rtol * logits.abs().amax(dim=1, keepdim=True)
    return logits >= top - slack


def _agree(
    got: Any,
    logits: torch.Tensor,
    tol: Tolerance,
    *,
    what: str,
    hint: str,
    scores: bool,
    answers: torch.Tensor | None = None,
) -> None:
    """`got` must be the classes (or, `scores`, the logits) of `logits`; `answers`, when given,
    are classes a predict that ignores the model would more likely give (the right ones)."""
    n, classes = logits.shape
    if scores:
        got = expect_tensor(got, what, shape=(n, classes), hint=hint)
        assert_close(got, logits, tol, what=what, hint=hint, check_dtype=False)
        return
    labels = _labels(got, n, what, classes)
    wrong = ~_acceptable(logits, tol).gather(1, labels.unsqueeze(1)).squeeze(1)
    if not bool(wrong.any()):
        return
    i = int(wrong.nonzero()[0])
    if bool((labels == labels[0]).all()):
        hint = (
            f"predict gives class {int(labels[0])} for every input: it must compute the classes "
            "of the model it is given"
        )
    elif answers is not None and int((labels == answers).sum()) > n // 2:
        hint = (
            "predict gives the right classes (those a trained model gives), not those of the "
            "model it was given: it must compute them from that model's current parameters, "
            "never from something remembered"
        )
    fail(
        f"{what} differs from the model's own classes on {int(wrong.sum())} of {n} inputs; first "
        f"at input {i}: got {int(labels[i])}, the model's top class is {int(logits[i].argmax())}",
        hint,
    )


def expect_predictions(
    predict: Callable[[], Any],
    trained: Trained,
    tol: Tolerance,
    *,
    what: str,
    hint: str = "",
    scores: bool = False,
) -> None:
    """The student's own predictions for the held-out inputs are the trained model's.

    `predict()` asks the student's code about `trained.model` (e.g. `student.predict(model, x)`
    for class labels, or the model's forward with `scores=True` for logits). Its answer must
    be what the judge computed from the model's parameters, twice: as the student's training
    left them, then after the judge has written parameters of its own choosing into the same
    model (the reference's trained ones with every class's scores moved to the next class: a
    model that learned nothing may give every input one class, as a constant answer would,
    and a good one agrees with any good classifier on easy inputs; this one disagrees with
    the right answers). A class counts as a row's when its logit is within `tol` of the row's
    largest (a tie in float32); logits (`scores=True`) are compared within `tol`.
    """
    if trained.logits is None or trained.probe_logits is None:
        raise TypeError("expect_predictions needs a Trained from check_training(architecture=...)")
    _agree(predict(), trained.logits, tol, what=what, hint=hint, scores=scores)
    if bool(_acceptable(trained.probe_logits, tol).all(dim=0).any()):
        raise RuntimeError(
            "the reference's trained model gives every held-out input the same class: "
            "train it longer, or the check cannot tell a constant predict from a right one"
        )
    for name, path in trained.paths.items():
        trained.model.method(f"{path}.data.copy_")(trained.probe_parameters[name])
    _agree(
        predict(),
        trained.probe_logits,
        tol,
        what=f"{what}, once the grader had set the model's parameters to values of its own,",
        hint=hint,
        scores=scores,
        answers=None if trained.reference_logits is None else trained.reference_logits.argmax(1),
    )
