"""hw6 hidden checks: the same tasks on random shapes, strides and paddings (hard-coded sizes fail)."""

import random

import torch
import torch.nn.functional as F

from grader.checking import (
    assert_close,
    check,
    conv_shape_hint,
    expect_tensor,
    fail,
    flattened_size_hint,
    hard_coded_hint,
    named_parameters,
    output_size_hint,
)

HARD_CODED = (
    "it is right on the public check's shapes but not on these: a size is probably "
    "hard-coded; read every size from x.shape and weight.shape (and image_size)"
)


def conv_public_example(student) -> bool:
    x, w, b = (
        torch.randn(2, 3, 7, 6, dtype=torch.float64),
        torch.randn(4, 3, 3, 2, dtype=torch.float64),
        None,
    )
    got = student.conv2d(x, w, b, 1, 0)
    return (
        isinstance(got, torch.Tensor)
        and got.shape == (2, 4, 5, 5)
        and torch.allclose(got, F.conv2d(x, w, b))
    )


def pool_public_example(student) -> bool:
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    got = student.max_pool2d(x, 2, None, 0)
    return (
        isinstance(got, torch.Tensor)
        and got.shape == (2, 3, 4, 4)
        and torch.equal(got, F.max_pool2d(x, 2))
    )


def random_conv_case(rng: random.Random):
    n, c_in, c_out = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 5)
    h, w = rng.randint(4, 13), rng.randint(4, 13)
    padding, stride = rng.randint(0, 2), rng.randint(1, 3)
    kh, kw = rng.randint(1, min(5, h + 2 * padding)), rng.randint(1, min(5, w + 2 * padding))
    return (n, c_in, h, w), (c_out, c_in, kh, kw), stride, padding


@check(task="1.1", points=1)
def test_conv_output_size_random_cases(student, seed):
    """conv_output_size is right on 30 random sizes, kernels, strides and paddings"""
    rng = random.Random(seed)
    for _ in range(30):
        size, padding, stride = rng.randint(1, 64), rng.randint(0, 3), rng.randint(1, 4)
        kernel = rng.randint(1, size + 2 * padding)
        got = student.conv_output_size(size, kernel, stride, padding)
        expected = (size - kernel + 2 * padding) // stride + 1
        if got != expected or not isinstance(got, int):
            fail(
                f"conv_output_size({size}, kernel_size={kernel}, stride={stride}, padding={padding}) "
                f"returned {got!r}, expected {expected}",
                output_size_hint(got, size=size, kernel=kernel, stride=stride, padding=padding)
                if isinstance(got, int)
                else "return an int: (W - K + 2 * P) // S + 1",
            )


@check(task="2.1", points=2, needs=["1.1"])
def test_conv2d_random_shapes(student, spec, seed):
    """conv2d matches F.conv2d on 8 random shapes, kernels, strides and paddings (float64)"""
    rng = random.Random(seed)
    for _ in range(8):
        xs, ws, stride, padding = random_conv_case(rng)
        x, weight = torch.randn(xs, dtype=torch.float64), torch.randn(ws, dtype=torch.float64)
        bias = torch.randn(ws[0], dtype=torch.float64) if rng.random() < 0.7 else None
        expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
        what = f"conv2d(x {xs}, weight {ws}, stride={stride}, padding={padding})"
        with hard_coded_hint(HARD_CODED, public_case_passes=lambda: conv_public_example(student)):
            got = student.conv2d(x, weight, bias, stride, padding)
            expect_tensor(
                got,
                what,
                shape=tuple(expected.shape),
                hint=conv_shape_hint(
                    (tuple(got.shape) if isinstance(got, torch.Tensor) else None),
                    tuple(expected.shape),
                    input_size=xs[2:],
                    kernel=ws[2:],
                    stride=(stride, stride),
                    padding=(padding, padding),
                ),
            )
        assert_close(got, expected, spec.tolerance(), what=what)


@check(task="2.1", points=1, needs=["1.1"])
def test_conv2d_float32(student, spec, seed):
    """conv2d keeps float32 inputs float32 and matches F.conv2d"""
    rng = random.Random(seed)
    xs, ws, stride, padding = random_conv_case(rng)
    x, weight, bias = torch.randn(xs), torch.randn(ws), torch.randn(ws[0])
    assert_close(
        student.conv2d(x, weight, bias, stride, padding),
        F.conv2d(x, weight, bias, stride=stride, padding=padding),
        spec.tolerance("float32"),
        what=f"conv2d on float32 x {xs}, weight {ws}, stride={stride}, padding={padding}",
    )


@check(task="2.2", points=2, needs=["1.1"])
def test_max_pool2d_random_shapes(student, spec, seed):
    """max_pool2d matches F.max_pool2d on 8 random shapes, kernels, strides and paddings"""
    rng = random.Random(seed)
    for _ in range(8):
        shape = (rng.randint(1, 3), rng.randint(1, 4), rng.randint(4, 13), rng.randint(4, 13))
        kernel = rng.randint(1, 4)
        stride = rng.choice([None, 1, 2, 3])
        padding = rng.randint(0, kernel // 2)
        x = torch.randn(shape, dtype=torch.float64) - 1.0
        expected = F.max_pool2d(x, kernel, stride, padding)
        step = kernel if stride is None else stride
        what = f"max_pool2d(x {shape}, kernel_size={kernel}, stride={stride}, padding={padding})"
        with hard_coded_hint(HARD_CODED, public_case_passes=lambda: pool_public_example(student)):
            got = student.max_pool2d(x, kernel, stride, padding)
            expect_tensor(
                got,
                what,
                shape=tuple(expected.shape),
                hint=conv_shape_hint(
                    (tuple(got.shape) if isinstance(got, torch.Tensor) else None),
                    tuple(expected.shape),
                    input_size=shape[2:],
                    kernel=(kernel, kernel),
                    stride=(step, step),
                    padding=(padding, padding),
                ),
            )
        assert_close(
            got,
            expected,
            spec.tolerance(),
            what=what,
            hint="pad with -inf, and take the max over each kernel × kernel window",
        )


@check(task="3.1", points=2, needs=["1.1"])
def test_cnn_other_sizes(student, reference):
    """CNN works for 3-channel 28×28 and 1-channel 10×10 images, other widths and classes"""

    def public_example() -> bool:
        out = student.CNN()(torch.rand(2, 1, 8, 8))
        return isinstance(out, torch.Tensor) and out.shape == (2, 10)

    for kwargs, shape in (
        (
            dict(in_channels=3, num_classes=5, image_size=28, channels=(4, 6), hidden=32),
            (3, 3, 28, 28),
        ),
        (
            dict(in_channels=1, num_classes=7, image_size=10, channels=(5, 3), hidden=16),
            (2, 1, 10, 10),
        ),
    ):
        what = f"CNN({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        with hard_coded_hint(HARD_CODED, public_case_passes=public_example):
            model = student.CNN(**kwargs)
            got = sorted(tuple(t.shape) for t in named_parameters(model, what).values())
            expected = sorted(tuple(p.shape) for p in reference.CNN(**kwargs).parameters())
            if got != expected:
                fc1 = [s[1] for s in got if len(s) == 2 and s[0] == kwargs["hidden"]]
                sizes = {"channels": kwargs["channels"][1], "side": lambda n: n // 2 // 2}
                fail(
                    f"the parameters of {what} have shapes {got}; expected {expected}",
                    (
                        flattened_size_hint(fc1[0], image_size=kwargs["image_size"], **sizes)
                        if len(fc1) == 1
                        else ""
                    )
                    or "use every constructor argument; the first Linear layer takes "
                    "channels[1] × s × s inputs with s from conv_output_size",
                )
            expect_tensor(
                model(torch.rand(shape)),
                f"{what}(x) for x of shape {shape}",
                shape=(shape[0], kwargs["num_classes"]),
            )
