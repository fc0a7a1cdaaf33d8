"""The wire format between judge and worker: JSON plus raw tensor bytes, never pickle.

A frame is a 16-byte header (JSON length, blob length), the JSON text, then the
blobs back to back. Values are plain data: None, bool, int, float (incl. nan/inf),
str, bytes, list, tuple, named tuple, dict, torch tensors and numpy arrays as
dtype + shape + bytes, and opaque handles for everything else.
"""

from __future__ import annotations

import collections
import itertools
import json
import keyword
import math
import socket
import struct
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from grader.errors import ProtocolError as ProtocolError  # re-exported: wire.ProtocolError

HEADER = struct.Struct("!QQ")
MAX_JSON = 64 << 20
MAX_BLOBS = 2 << 30
MAX_DEPTH = 64
MAX_ITEMS = 100_000  # items of an iterator sent as a list
# iterators and views travel as the list of their items
ITERATORS: tuple[type[Any], ...] = (
    types.GeneratorType,
    type({}.keys()),
    type({}.values()),
    type({}.items()),
    map,
    zip,
    filter,
    range,
    set,
    frozenset,
)

TORCH_DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.bool,
    )
}
NUMPY_KINDS = "biufc"


def tensor_bytes(t: torch.Tensor) -> tuple[str, list[int], bytes]:
    """Raw (dtype, shape, bytes) of any tensor, bypassing subclass overrides."""
    with torch._C.DisableTorchFunctionSubclass(), torch.no_grad():
        plain = torch.Tensor.as_subclass(t, torch.Tensor).detach()
        if plain.layout != torch.strided:
            plain = plain.to_dense()
        plain = plain.cpu().contiguous()
        dtype = str(plain.dtype).removeprefix("torch.")
        if dtype not in TORCH_DTYPES:
            raise ProtocolError(f"tensors of dtype {plain.dtype} cannot be sent")
        raw = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
        return dtype, list(plain.shape), raw


def as_list(value: Any) -> list[Any] | None:
    """The items of an iterator or view (as `encode` should send it), else None."""
    if not isinstance(value, ITERATORS):
        return None
    items = list(itertools.islice(value, MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise ProtocolError(
            f"an iterator with more than {MAX_ITEMS} items (one that never ends?) cannot be sent"
        )
    return items


def encode(value: Any, blobs: list[bytes], handle: Callable[[Any], Any], depth: int = 0) -> Any:
    """Turn `value` into JSON-able data, appending raw bytes to `blobs`.

    `handle(obj)` is called for anything that is not plain data.
    """
    if depth > MAX_DEPTH:
        raise ProtocolError("value is nested too deeply to send")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else {"__float__": repr(v)}
    if isinstance(value, torch.Tensor):
        dtype, shape, raw = tensor_bytes(value)
        blobs.append(raw)
        # the getset descriptor's own __get__, which bypasses a subclass's override; torch's
        # stub declares the descriptor as a plain bool attribute, hence the ignore
        requires_grad = torch.Tensor.requires_grad.__get__(value)  # type: ignore[attr-defined]
        return {
            "__tensor__": len(blobs) - 1,
            "dtype": dtype,
            "shape": shape,
            "requires_grad": bool(requires_grad),
        }
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMPY_KINDS:
        arr = np.ascontiguousarray(value)
        blobs.append(arr.tobytes())
        return {"__ndarray__": len(blobs) - 1, "dtype": arr.dtype.str, "shape": list(arr.shape)}
    if isinstance(value, (bytes, bytearray)):
        blobs.append(bytes(value))
        return {"__bytes__": len(blobs) - 1}
    if isinstance(value, torch.Size):
        return {"__tuple__": [int(v) for v in value]}
    if isinstance(value, torch.dtype):
        return {"__dtype__": str(value).removeprefix("torch.")}
    if isinstance(value, tuple):
        items = [encode(v, blobs, handle, depth + 1) for v in value]
        fields = getattr(type(value), "_fields", None)
        if isinstance(fields, tuple) and all(isinstance(f, str) for f in fields):
            return {"__namedtuple__": type(value).__name__, "fields": list(fields), "items": items}
        return {"__tuple__": items}
    if isinstance(value, list):
        return [encode(v, blobs, handle, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {"__dict__": [[k, encode(v, blobs, handle, depth + 1)] for k, v in value.items()]}
    return handle(value)


def decode(
    data: Any, blobs: list[bytes], handle: Callable[[dict[str, Any]], Any], depth: int = 0
) -> Any:
    """Inverse of `encode`, validating every dtype, shape and size on the way."""
    if depth > MAX_DEPTH:
        raise ProtocolError("value is nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, blobs, handle, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise ProtocolError(f"unexpected JSON value of type {type(data).__name__}")
    if "__float__" in data:
        if data["__float__"] not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad float")
        return float(data["__float__"])
    if "__tensor__" in data:
        return _decode_tensor(data, blobs)
    if "__ndarray__" in data:
        return _decode_ndarray(data, blobs)
    if "__bytes__" in data:
        return _blob(blobs, data["__bytes__"])
    if "__dtype__" in data:
        if data["__dtype__"] not in TORCH_DTYPES:
            raise ProtocolError(f"unknown dtype {data['__dtype__']!r}")
        return TORCH_DTYPES[data["__dtype__"]]
    if "__tuple__" in data:
        return tuple(decode(v, blobs, handle, depth + 1) for v in _list(data["__tuple__"]))
    if "__namedtuple__" in data:
        return _decode_namedtuple(data, blobs, handle, depth)
    if "__dict__" in data:
        out = {}
        for pair in _list(data["__dict__"]):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))):
                raise ProtocolError("bad dict entry")
            out[pair[0]] = decode(pair[1], blobs, handle, depth + 1)
        return out
    if "__handle__" in data:
        if not isinstance(data["__handle__"], int):
            raise ProtocolError("bad handle")
        return handle(data)
    raise ProtocolError("unknown value kind")


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise ProtocolError("expected a list")
    return v


def _blob(blobs: list[bytes], index: Any) -> bytes:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise ProtocolError("bad blob reference")
    return blobs[index]


def _shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ProtocolError("bad shape")
    return tuple(shape)


def _decode_tensor(data: dict[str, Any], blobs: list[bytes]) -> torch.Tensor:
    dtype = TORCH_DTYPES.get(data.get("dtype", ""))  # a missing dtype: "", no dtype's name
    if dtype is None:
        raise ProtocolError(f"unknown tensor dtype {data.get('dtype')!r}")
    shape = _shape(data.get("shape"))
    raw = _blob(blobs, data["__tensor__"])
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != math.prod(shape) * itemsize:
        raise ProtocolError("tensor byte count does not match its shape and dtype")
    if not raw:
        t = torch.empty(shape, dtype=dtype)
    else:
        t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape)
    if data.get("requires_grad") is True and (t.is_floating_point() or t.is_complex()):
        t.requires_grad_(True)
    return t


def _decode_ndarray(data: dict[str, Any], blobs: list[bytes]) -> np.ndarray[Any, Any]:
    try:
        dtype: np.dtype[Any] = np.dtype(data.get("dtype"))
    except TypeError as exc:
        raise ProtocolError("bad array dtype") from exc
    if dtype.kind not in NUMPY_KINDS:
        raise ProtocolError(f"arrays of dtype {dtype} cannot be received")
    shape = _shape(data.get("shape"))
    raw = _blob(blobs, data["__ndarray__"])
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ProtocolError("array byte count does not match its shape and dtype")
    array: np.ndarray[Any, Any] = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return array  # named and annotated: numpy's stub types this .copy() as Any


def _decode_namedtuple(
    data: dict[str, Any], blobs: list[bytes], handle: Callable[[dict[str, Any]], Any], depth: int
) -> tuple[Any, ...]:
    name, fields = data["__namedtuple__"], _list(data.get("fields"))
    items = [decode(v, blobs, handle, depth + 1) for v in _list(data.get("items"))]

    def ok_name(s: Any) -> bool:
        return isinstance(s, str) and s.isidentifier() and not keyword.iskeyword(s)

    if not ok_name(name) or not all(ok_name(f) and not f.startswith("_") for f in fields):
        return tuple(items)
    if len(fields) != len(items) or len(set(fields)) != len(fields):
        raise ProtocolError("bad named tuple")
    return collections.namedtuple(name, fields)(*items)


# ----------------------------------------------------------------------------- framing


def send(sock: socket.socket, message: dict[str, Any], blobs: list[bytes]) -> None:
    """Send one frame: the message (with blob lengths) and its blobs."""
    message = dict(message, __blobs__=[len(b) for b in blobs])
    text = json.dumps(message, allow_nan=False).encode()
    sock.sendall(HEADER.pack(len(text), sum(len(b) for b in blobs)) + text)
    for blob in blobs:
        sock.sendall(blob)


def recv(sock: socket.socket, deadline: float | None = None) -> tuple[dict[str, Any], list[bytes]]:
    """Receive one frame; raises TimeoutError after `deadline` (time.monotonic) and EOFError on close."""
    n_json, n_blobs = HEADER.unpack(_recv_exact(sock, HEADER.size, deadline))
    if n_json > MAX_JSON or n_blobs > MAX_BLOBS:
        raise ProtocolError("the worker sent a message larger than allowed")
    try:
        message = json.loads(_recv_exact(sock, n_json, deadline))
    except ValueError as exc:
        raise ProtocolError("the worker sent a message that is not JSON") from exc
    lengths = message.pop("__blobs__", None) if isinstance(message, dict) else None
    if (
        not isinstance(lengths, list)
        or sum(lengths) != n_blobs
        or any(not isinstance(n, int) or n < 0 for n in lengths)
    ):
        raise ProtocolError("the worker sent a malformed frame")
    data = _recv_exact(sock, n_blobs, deadline)
    blobs, at = [], 0
    for n in lengths:
        blobs.append(data[at : at + n])
        at += n
    return message, blobs


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
        else:
            sock.settimeout(None)
        try:
            k = sock.recv_into(view[got:], min(n - got, 1 << 20))
        except TimeoutError as exc:
            raise TimeoutError from exc
        if k == 0:
            raise EOFError
        got += k
    return bytes(buf)
