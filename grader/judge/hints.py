"""Hint detectors: turn a wrong answer into a sentence that names the likely mistake.

Each detector looks at the student's actual output against the expected one (or at the
error their code raised, and the source line it names) and returns a hint, or "" when the
mistake is not recognised. A hint never changes a verdict.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from statistics import NormalDist

import torch


def ratio(got: torch.Tensor, expected: torch.Tensor) -> float | None:
    """The scalar `r` with got ≈ r · expected, when there is one (least squares, checked)."""
    g, e = got.detach().double().flatten(), expected.detach().double().flatten()
    denom = float(e @ e)
    if g.shape != e.shape or denom == 0 or not torch.isfinite(g).all():
        return None
    r = float(g @ e) / denom
    if r == 0 or not torch.allclose(g, r * e, rtol=1e-3, atol=1e-6 * max(1.0, abs(r))):
        return None
    return r


def scale_hint(got: torch.Tensor, expected: torch.Tensor, batch_size: int | None = None) -> str:
    """Gradient off by the batch size, or sign flipped, or a plain constant factor."""
    r = ratio(got, expected)
    if r is None or math.isclose(r, 1.0, rel_tol=1e-3):
        return ""
    if math.isclose(r, -1.0, rel_tol=1e-3):
        return (
            "your result is exactly -1 × the expected one: a sign is flipped "
            "(the gradient of the loss, not of -loss; or a + where a - belongs)"
        )
    if batch_size and batch_size > 1:
        if math.isclose(r, batch_size, rel_tol=1e-3):
            return (
                f"your result is {batch_size}× the expected one, and {batch_size} is the batch "
                "size: did you forget to average over the batch (divide by the batch size)?"
            )
        if math.isclose(r, 1 / batch_size, rel_tol=1e-3):
            return (
                f"your result is 1/{batch_size} of the expected one, and {batch_size} is the "
                "batch size: you divided by the batch size once too often"
            )
    if math.isclose(r, 2.0, rel_tol=1e-3):
        return (
            "your result is exactly 2× the expected one: gradients accumulated twice "
            "(forgot to zero them?) or a factor 2 from d(x²)/dx counted twice"
        )
    if math.isclose(r, 0.5, rel_tol=1e-3):
        return "your result is exactly half the expected one: a missing factor 2 (d(x²)/dx = 2x)?"
    return f"your result is the expected one scaled by {r:.4g}: a constant factor is off"


def shape_hint(got_shape: tuple[int, ...], expected_shape: tuple[int, ...]) -> str:
    """Transposed results, sizes that look hard-coded, one value per sample for a scalar."""
    per_sample = len(got_shape) in (1, 2) and got_shape[0] > 1 and got_shape[1:] in ((), (1,))
    if tuple(expected_shape) == () and per_sample:
        return (
            f"your result holds one value per sample (shape {tuple(got_shape)}) where a single "
            "number is expected: average over the batch (.mean()), so that the loss of a batch "
            "is one scalar"
        )
    if len(got_shape) == len(expected_shape) >= 2 and tuple(got_shape) == tuple(
        expected_shape[:-2]
    ) + (expected_shape[-1], expected_shape[-2]):
        return (
            "your result has the last two dimensions swapped: check for a transpose; PyTorch "
            "stores a Linear weight as (out_features, in_features)"
        )
    if sorted(got_shape) == sorted(expected_shape):
        return "your result has the right sizes in the wrong order: check permute/transpose"
    return ""


def dtype_hint(got: torch.dtype, expected: torch.dtype) -> str:
    """A float64 input that came back float32: a cast somewhere on the way."""
    if expected == torch.float64 and got in (torch.float32, torch.float16, torch.bfloat16):
        return (
            f"your result is {str(got).removeprefix('torch.')} but the input was float64: "
            "something casts it on the way (.float(), dtype=torch.float32, or a tensor made "
            "without a dtype, torch.zeros(n) / torch.tensor([...]), which is float32): keep "
            "the input's dtype (dtype=x.dtype, torch.zeros_like(x), x.new_zeros(n))"
        )
    return ""


def output_size_hint(
    got: int,
    *,
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    what: str = "the output size",
) -> str:
    """Name the mistake in a convolution or pooling output size: ⌊(W − K + 2P) / S⌋ + 1."""
    expected = (size - kernel + 2 * padding) // stride + 1
    formula = (
        f"out = ⌊(W − K + 2P) / S⌋ + 1 = ⌊({size} − {kernel} + 2·{padding}) / {stride}⌋ + 1 "
        f"= {expected}"
    )
    if got == expected:
        return ""
    guesses = (
        ((size - kernel + 2 * padding) // stride, "you forgot the + 1"),
        ((size - kernel) // stride + 1, "you left out the padding"),
        ((size - kernel + padding) // stride + 1, "the padding is added on both sides (2P)"),
        (size - kernel + 2 * padding + 1, "you left out the stride"),
        (-(-(size - kernel + 2 * padding) // stride) + 1, "round down (floor division //), not up"),
        ((size + kernel + 2 * padding) // stride + 1, "the kernel size is subtracted, not added"),
    )
    mistake = " or ".join(text for value, text in guesses if value == got) or "a term is off"
    return f"{what} is {got}, expected {expected}: {mistake}; {formula}"


def conv_shape_hint(
    got_shape: tuple[int, ...] | None,
    expected_shape: tuple[int, ...],
    *,
    input_size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
) -> str:
    """`output_size_hint` for the first trailing (spatial) dimension that differs.

    `input_size`, `kernel`, `stride`, `padding` give one value per spatial dimension
    (e.g. (H, W)); the spatial dimensions are the last len(input_size) of each shape.
    """
    k = len(input_size)
    if got_shape is None or len(got_shape) != len(expected_shape) or k == 0:
        return ""
    names = ("height", "width") if k == 2 else tuple(f"size {i}" for i in range(k))
    for i in range(k):
        got = got_shape[len(got_shape) - k + i]
        if got != expected_shape[len(expected_shape) - k + i]:
            return output_size_hint(
                got,
                size=input_size[i],
                kernel=kernel[i],
                stride=stride[i],
                padding=padding[i],
                what=f"the output {names[i]}",
            )
    return ""


def normal_draw_hint(rates: Mapping[float, float], near: Callable[[float, float], bool]) -> str:
    """A random mask drawn with randn where a uniform draw belongs, from what it did.

    `rates` gives, for each probability p an element should be dropped (zeroed, masked) with,
    the fraction that was; `near(measured, target)` says whether they agree. `randn() > t`
    drops a fraction Φ(t), `randn() < t` a fraction 1 − Φ(t): the hint names the comparison
    whose rates match at every p."""
    cdf = NormalDist().cdf
    shapes: tuple[tuple[str, str, Callable[[float], float]], ...] = (
        ("torch.randn(...) < 1 - p", "Φ(1 − p)", lambda p: 1 - cdf(1 - p)),
        ("torch.randn(...) > p", "1 − Φ(p)", lambda p: cdf(p)),
        ("torch.randn(...) < p", "Φ(p)", lambda p: 1 - cdf(p)),
        ("torch.randn(...) > 1 - p", "1 − Φ(1 − p)", lambda p: cdf(1 - p)),
    )
    for written, kept, rate in shapes:
        if rates and all(near(f, rate(p)) for p, f in rates.items()):
            shown = ", ".join(f"{f:.3f} at p = {p:g}" for p, f in rates.items())
            return (
                f"the fractions dropped ({shown}) are exactly those of a mask drawn from a "
                f"normal distribution: {written} keeps a fraction {kept} (Φ: the normal "
                "distribution function), not 1 − p. torch.randn draws normal numbers (any "
                "real value, about half of them negative), not probabilities: draw the mask "
                "uniformly in [0, 1), keep = torch.rand_like(x) > p"
            )
    return ""


_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")


def _attributes(cls: ast.ClassDef) -> set[str]:
    """Names a class's objects have as attributes: class-level names, `self.X = ...` in any
    method, and what its methods register (register_parameter/_buffer, add_module)."""
    names = {
        t.id
        for node in cls.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) or not method.args.args:
            continue
        me = method.args.args[0].arg
        for node in ast.walk(method):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == me
            ):
                names.add(node.attr)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("register_parameter", "register_buffer", "add_module")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names


def source_hint(type_name: str, message: str, source: str, line: int) -> str:
    """A hint from the student's source at the line their error points at: a NameError in a
    method on a name its class has as an attribute (`weight` for `self.weight`)."""
    match = _NAME_ERROR.match(message)
    if type_name != "NameError" or not match or not source or line <= 0:
        return ""
    name = match[1]
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for method in cls.body:
            if (
                isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef))
                and method.lineno <= line <= (method.end_lineno or method.lineno)
                and method.args.args
                and name in _attributes(cls)
            ):
                me = method.args.args[0].arg
                return (
                    f"did you mean {me}.{name}? In {method.name}, `{name}` on its own is a "
                    f"local or global variable, and there is none; {name} is an attribute of "
                    f"the {cls.name} object, which its methods reach through {me}: "
                    f"write {me}.{name}"
                )
    return ""


_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def _mat_shapes(message: str) -> tuple[int, int, int, int] | None:
    """The sizes (a, b, c, d) of a "mat1 and mat2" error, (a×b) @ (c×d), when b ≠ c: a layer
    built for c input features that got b per row."""
    found = _MATMUL.search(message)
    if not found or found[2] == found[3]:
        return None
    return int(found[1]), int(found[2]), int(found[3]), int(found[4])


def flattened_size_hint(
    expects: int,
    got: int | None = None,
    *,
    image_size: int,
    channels: int,
    side: Callable[[int], int],
) -> str:
    """A CNN whose first Linear layer takes `expects` inputs per image where images of
    `image_size` leave channels × s × s of them (s = side(image_size), the feature maps'
    side after the conv and pool layers): the sizes, and the image size the layer fits.

    `got`: what the layer was given per image, when known (from the error)."""
    s = side(image_size)
    implied = channels * s * s
    if expects == implied:
        return ""
    fits = next((n for n in range(1, 1025) if channels * side(n) ** 2 == expects), None)
    given = f", but it got {got}" if got is not None else ""
    other = (
        f"; {expects} = {channels}×{side(fits)}×{side(fits)} is what {fits}×{fits} images leave"
        if fits is not None
        else ""
    )
    return (
        f"your first Linear layer takes {expects} inputs per image{given}: {image_size}×"
        f"{image_size} images leave {channels}×{s}×{s} = {implied} values after the conv and "
        f"pool layers{other}. The layer sizes must follow image_size: compute s from "
        f"image_size with conv_output_size (s = {s} for {image_size}×{image_size}), then "
        "Linear(channels[1] * s * s, hidden)"
    )


def flatten_error_hint(
    message: str, *, image_size: int, channels: int, side: Callable[[int], int]
) -> str:
    """`flattened_size_hint` for an error a CNN raised: a Linear layer that does not fit what
    it was given ("mat1 and mat2"), or a view/reshape to a size the feature maps do not have;
    else the generic hint for the message."""
    shapes = _mat_shapes(message)
    if shapes is not None:
        _, got, expects, _ = shapes
        found = flattened_size_hint(
            expects, got, image_size=image_size, channels=channels, side=side
        )
    else:
        view = re.search(r"shape '\[-1, (\d+)\]' is invalid for input of size \d+", message)
        found = (
            flattened_size_hint(int(view[1]), image_size=image_size, channels=channels, side=side)
            if view
            else ""
        )
    return found or error_hint(message)


def _matmul_hint(message: str) -> str:
    shapes = _mat_shapes(message)
    if shapes is None:
        return ""
    a, b, c, d = shapes
    return (
        f"the shapes in a matrix product do not fit: ({a}×{b}) @ ({c}×{d}), inner sizes {b} "
        f"and {c}. If the second is a layer's weight, the layer was built for {c} input "
        f"features and got {b} per sample; check which dimension is which (a transposed "
        "weight?), and whether a size is hard-coded instead of read from the input's shape"
    )


def _register_hint(message: str) -> str:
    found = re.search(r"attribute '(\w+)' already exists", message)
    if not found:
        return ""
    name = found[1]
    return (
        f"register_parameter('{name}', ...) failed because self.{name} already exists: an "
        f"earlier self.{name} = ... took the name (often self.{name} = {name}, the "
        f"constructor's True/False flag). Don't assign the flag to self.{name}: create "
        f"self.{name} = nn.Parameter(...) when it is wanted, else call "
        f"self.register_parameter('{name}', None)"
    )


def _per_sample_hint(message: str) -> str:
    """A loss of one value per sample, met where autograd wants a scalar."""
    found = re.search(
        r"grad_output\[0\] has a shape of torch\.Size\(\[\]\) and output\[0\] has a shape of "
        r"torch\.Size\(\[(\d+(?:, 1)?)\]\)",
        message,
    )
    if found:
        return shape_hint(tuple(int(n) for n in found[1].split(", ")), ())
    if "grad can be implicitly created only for scalar outputs" in message:
        return (
            "backward() was called on a tensor of many values: a loss is one number for the "
            "whole batch, so average the per-sample losses (.mean()) before loss.backward()"
        )
    return ""


def _kernel_hint(message: str) -> str:
    found = re.search(
        r"Calculated padded input size per channel: \((\d+) x (\d+)\)\. "
        r"Kernel size: \((\d+) x (\d+)\)",
        message,
    )
    if not found:
        return ""
    return (
        f"a {found[3]}×{found[4]} kernel met a feature map of only {found[1]}×{found[2]}: the "
        "layers shrink the image more than it can take, as when the sizes were worked out for "
        "larger images: compute each layer's size from the input's"
    )


def _dtype_mix_hint(message: str) -> str:
    if not re.search(
        r"float != double|double != float|scalar type (Double but found Float|Float but found "
        r"Double)|Found dtype (Double but expected Float|Float but expected Double)",
        message,
    ):
        return ""
    return (
        "a float32 tensor met a float64 one: something was cast on the way (.float(), "
        "dtype=torch.float32, or a tensor made without a dtype, torch.zeros(n) / "
        "torch.tensor([...]), which is float32): keep the input's dtype (dtype=x.dtype, "
        "torch.zeros_like(x), x.new_zeros(n))"
    )


PATTERN_HINTS: tuple[Callable[[str], str], ...] = (
    _matmul_hint,
    _register_hint,
    _per_sample_hint,
    _kernel_hint,
    _dtype_mix_hint,
)

ERROR_HINTS = (
    (
        "can't allocate memory",
        "your code asked for more memory than the worker may use: look for a tensor far larger "
        "than the task needs (an outer product of the wrong sizes, a loop that keeps allocating)",
    ),
    (
        "modified by an inplace operation",
        "an in-place operation (x += ..., x.relu_(), x[...] = ...) changed a tensor autograd still "
        "needed: use the out-of-place form (x = x + ...)",
    ),
    (
        "a leaf Variable that requires grad is being used in an in-place operation",
        "a tensor that requires grad (a parameter, or an input being differentiated) was changed "
        "in place: update parameters inside `with torch.no_grad():` (p -= lr * p.grad); anywhere "
        "else build a new tensor (x = x * mask, not x[...] = 0 or x *= ...)",
    ),
    (
        "mat1 and mat2 shapes cannot be multiplied",
        "the shapes in a matrix product do not fit: check which dimension is which (and whether "
        "a size is hard-coded instead of read from the input's shape)",
    ),
    (
        "does not require grad and does not have a grad_fn",
        "the tensor is detached from the autograd graph (.data, .detach(), .numpy() or a new "
        "tensor built from values): keep the computation in torch operations",
    ),
    (
        "can't convert np.ndarray of type numpy.object_",
        "a numpy array of Python objects: build the array from numbers, not from tensors",
    ),
    (
        "only one element tensors can be converted to Python scalars",
        "a tensor of many values was turned into one number (float(t), t.item()): if it is a "
        "loss, average it over the batch first (.mean())",
    ),
)


def error_hint(message: str) -> str:
    """A hint for a well-known PyTorch error message."""
    for detector in PATTERN_HINTS:
        if found := detector(message):
            return found
    for needle, hint in ERROR_HINTS:
        if needle in message:
            return hint
    return ""
