"""The wire format: plain data round-trips; anything malformed is rejected, nothing unpickled."""

import collections
import math
import socket

import numpy as np
import pytest
import torch

from grader.errors import ProtocolError
from grader.sandbox import wire


def roundtrip(value):
    blobs = []
    data = wire.encode(
        value, blobs, lambda obj: {"__handle__": 7, "type": type(obj).__name__, "repr": ""}
    )
    a, b = socket.socketpair()
    wire.send(a, {"value": data}, blobs)
    message, received = wire.recv(b)
    return wire.decode(message["value"], received, lambda d: ("handle", d["__handle__"], d["type"]))


def test_tensors_keep_dtype_shape_and_values():
    for t in (
        torch.randn(3, 4, dtype=torch.float64),
        torch.arange(6).reshape(2, 3).T,
        torch.tensor(True),
        torch.zeros(0, 5),
        torch.randn(2, 2).to(torch.bfloat16),
    ):
        got = roundtrip(t)
        assert got.dtype == t.dtype and got.shape == t.shape and torch.equal(got, t)


def test_plain_values_and_containers_round_trip():
    Point = collections.namedtuple("Point", "lr batch_size")
    value = {
        "a": [1, 2.5, None, True, "s", b"raw"],
        "b": (math.inf, -math.inf),
        "p": Point(0.1, 32),
        "arr": np.arange(4, dtype=np.int16),
        3: torch.Size([2, 3]),
    }
    got = roundtrip(value)
    assert got["a"] == [1, 2.5, None, True, "s", b"raw"]
    assert got["b"] == (math.inf, -math.inf)
    assert got["p"] == (0.1, 32) and got["p"].lr == 0.1 and type(got["p"]).__name__ == "Point"
    assert got["arr"].dtype == np.int16 and got["arr"].tolist() == [0, 1, 2, 3]
    assert got[3] == (2, 3)
    assert math.isnan(roundtrip(float("nan")))


def test_objects_that_are_not_data_become_handles():
    class Model:
        pass

    assert roundtrip([Model()]) == [("handle", 7, "Model")]


def test_a_tensor_subclass_is_sent_as_its_raw_data():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return "lies"

    got = roundtrip(torch.ones(3).as_subclass(Liar))
    assert type(got) is torch.Tensor and torch.equal(got, torch.ones(3))


@pytest.mark.parametrize(
    "data, blobs, message",
    [
        ({"__tensor__": 0, "dtype": "float32", "shape": [3]}, [b"\0" * 8], "byte count"),
        ({"__tensor__": 0, "dtype": "object", "shape": [1]}, [b"\0" * 8], "unknown tensor dtype"),
        ({"__tensor__": 5, "dtype": "float32", "shape": [1]}, [], "bad blob"),
        ({"__tensor__": 0, "dtype": "float32", "shape": [-1]}, [b""], "bad shape"),
        ({"__ndarray__": 0, "dtype": "|O", "shape": [1]}, [b"\0" * 8], "cannot be received"),
        ({"__float__": "1e999"}, [], "bad float"),
        ({"__pickle__": "gASV"}, [], "unknown value kind"),
        ({"__handle__": "x"}, [], "bad handle"),
    ],
)
def test_malformed_values_are_rejected(data, blobs, message):
    with pytest.raises(ProtocolError, match=message):
        wire.decode(data, blobs, lambda d: d)


def test_a_frame_that_lies_about_its_blobs_is_rejected():
    a, b = socket.socketpair()
    text = b'{"__blobs__": [100]}'
    a.sendall(wire.HEADER.pack(len(text), 4) + text + b"abcd")
    with pytest.raises(ProtocolError, match="malformed frame"):
        wire.recv(b)


def test_receiving_times_out_at_the_deadline():
    import time

    a, b = socket.socketpair()
    with pytest.raises(TimeoutError):
        wire.recv(b, time.monotonic() + 0.05)
