"""The wire format between judge and worker: JSON plus raw tensor bytes, never pickle.

A frame is a 16-byte header (JSON length, blob length), the JSON text, then the blobs,
each starting at a multiple of ALIGN bytes into the blob section. Values are plain data:
None, bool, int, float (incl. nan/inf), str, bytes, list, tuple, named tuple, dict, torch
tensors and numpy arrays as dtype + shape + bytes, and opaque handles for everything else.

Receiving is bounded: nothing is allocated from a size the sender claims (buffers grow as
bytes arrive), a reply may be capped in bytes and in objects, and both receiving and
decoding stop at the request's deadline. Whatever is malformed raises ProtocolError.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import json
import keyword
import math
import re
import socket
import struct
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from grader.errors import ProtocolError as ProtocolError  # re-exported: wire.ProtocolError
from grader.errors import ReplyTooLarge

HEADER = struct.Struct("!QQ")
MAX_JSON = 64 << 20
MAX_BLOBS = 2 << 30
MAX_DEPTH = 64
MAX_DIMS = 32
MAX_ITEMS = 100_000  # items of an iterator sent as a list
ALIGN = 64  # blobs start at multiples of this, so that every tensor built on one is aligned
CHUNK = 1 << 20  # a receive buffer grows by at most this beyond the bytes that arrived
# JSON values and keys a reply may hold per object it may decode (a tensor takes ~12), and
# what parsing one costs the judge at most (an empty list: 56 bytes and a pointer to it)
PARTS_PER_OBJECT = 4
PART_BYTES = 64
NAMED_TUPLE_TYPES = 256  # named-tuple classes the judge defines; past them, plain tuples
FLOATS = ("nan", "inf", "-inf")  # the floats JSON cannot hold, sent as {"__float__": name}
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

Blob = bytes | memoryview  # a received blob is a view of the frame's one receive buffer

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
    if depth == 0 and gc.isenabled():  # a long list: many containers, none in a cycle
        with _gc_paused():
            return encode(value, blobs, handle, depth)
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
    data: Any,
    blobs: Sequence[Blob],
    handle: Callable[[dict[str, Any]], Any],
    *,
    max_objects: int | None = None,
    max_bytes: int | None = None,
    deadline: float | None = None,
) -> Any:
    """Inverse of `encode`, validating every dtype, shape and size on the way.

    At most `max_objects` objects; `max_bytes` caps the blobs plus the copies decoding
    makes of them (`bytes` values); past `deadline` (time.monotonic) raises TimeoutError.
    Each blob is used at most once; tensors and arrays share a writable blob's memory.
    """
    decoder = _Decoder(blobs, handle, max_objects, max_bytes, deadline)
    try:
        with _gc_paused():
            return decoder.value(data, 0)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, RuntimeError) as exc:
        problem = f"a malformed value ({type(exc).__name__})"  # raised below, without `exc`
    raise ProtocolError(problem)


class _Decoder:
    """One `decode`: the blobs (each usable once) and what is left of the caps."""

    def __init__(
        self,
        blobs: Sequence[Blob],
        handle: Callable[[dict[str, Any]], Any],
        max_objects: int | None,
        max_bytes: int | None,
        deadline: float | None,
    ):
        self.blobs, self.handle, self.deadline = blobs, handle, deadline
        self.max_objects = sys.maxsize if max_objects is None else max_objects
        self.max_bytes = max_bytes
        self.copy_left = sys.maxsize
        if max_bytes is not None:
            self.copy_left = max_bytes - sum(len(b) for b in blobs)
        self.objects = 0
        self.used: set[int] = set()

    def value(self, data: Any, depth: int) -> Any:
        self._count()
        if depth > MAX_DEPTH:
            raise ProtocolError("value is nested too deeply")
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.value(v, depth + 1) for v in data]
        if not isinstance(data, dict):
            raise ProtocolError(f"unexpected JSON value of type {type(data).__name__}")
        for key, kind in _KINDS:
            if key in data:
                return kind(self, data, depth)
        raise ProtocolError("unknown value kind")

    def _count(self) -> None:
        self.objects += 1
        if self.objects > self.max_objects:
            raise ReplyTooLarge(f"more than {self.max_objects:,} objects")
        if self.deadline is not None and self.objects % 4096 == 0:
            if time.monotonic() > self.deadline:
                raise TimeoutError

    def _copied(self, n: int) -> None:
        self.copy_left -= n
        if self.copy_left < 0 and self.max_bytes is not None:
            raise ReplyTooLarge(f"more than {_mib(self.max_bytes)}")

    def blob(self, index: Any) -> Blob:
        if type(index) is not int or not 0 <= index < len(self.blobs) or index in self.used:
            raise ProtocolError("bad blob reference")
        self.used.add(index)
        return self.blobs[index]

    def writable(self, raw: Blob) -> memoryview | bytearray:
        """`raw` itself when it is writable memory (a received blob), else a copy."""
        if isinstance(raw, memoryview) and not raw.readonly:
            return raw
        self._copied(len(raw))
        return bytearray(raw)

    def tensor(self, data: dict[str, Any], depth: int) -> torch.Tensor:
        name = data.get("dtype")
        dtype = TORCH_DTYPES.get(name) if isinstance(name, str) else None
        if dtype is None:
            raise ProtocolError(f"unknown tensor dtype {_shown(name)}")
        shape = _shape(data.get("shape"))
        raw = self.blob(data["__tensor__"])
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise ProtocolError("tensor byte count does not match its shape and dtype")
        if not raw:
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bool:  # any byte but 0 and 1 would be an invalid bool
            flat = torch.frombuffer(self.writable(raw), dtype=torch.uint8).clamp_(max=1)
            t = flat.view(torch.bool).reshape(shape)
        else:
            t = torch.frombuffer(self.writable(raw), dtype=dtype).reshape(shape)
        if data.get("requires_grad") is True and (t.is_floating_point() or t.is_complex()):
            t.requires_grad_(True)
        return t

    def ndarray(self, data: dict[str, Any], depth: int) -> np.ndarray[Any, Any]:
        dtype = _numpy_dtype(data.get("dtype"))
        shape = _shape(data.get("shape"))
        raw = self.blob(data["__ndarray__"])
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise ProtocolError("array byte count does not match its shape and dtype")
        if not raw:
            return np.empty(shape, dtype=dtype)
        buf = self.writable(raw)
        if dtype.kind == "b":  # any byte but 0 and 1 would be an invalid bool
            flat = np.frombuffer(buf, dtype=np.uint8)
            np.minimum(flat, 1, out=flat)
        return np.frombuffer(buf, dtype=dtype).reshape(shape)

    def float_(self, data: dict[str, Any], depth: int) -> float:
        if not isinstance(data["__float__"], str) or data["__float__"] not in FLOATS:
            raise ProtocolError("bad float")
        return float(data["__float__"])

    def bytes_(self, data: dict[str, Any], depth: int) -> bytes:
        raw = self.blob(data["__bytes__"])
        self._copied(len(raw))
        return bytes(raw)

    def dtype(self, data: dict[str, Any], depth: int) -> torch.dtype:
        return _torch_dtype(data["__dtype__"])

    def tuple_(self, data: dict[str, Any], depth: int) -> tuple[Any, ...]:
        return tuple(self.value(v, depth + 1) for v in _list(data["__tuple__"]))

    def named_tuple(self, data: dict[str, Any], depth: int) -> tuple[Any, ...]:
        name, fields = data["__namedtuple__"], _list(data.get("fields"))
        items = [self.value(v, depth + 1) for v in _list(data.get("items"))]
        cls = _named_tuple_type(name, fields, len(items))
        return tuple(items) if cls is None else cls(*items)

    def mapping(self, data: dict[str, Any], depth: int) -> dict[Any, Any]:
        out = {}
        for pair in _list(data["__dict__"]):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))):
                raise ProtocolError("bad dict entry")
            out[pair[0]] = self.value(pair[1], depth + 1)
        return out

    def handle_(self, data: dict[str, Any], depth: int) -> Any:
        if type(data["__handle__"]) is not int:
            raise ProtocolError("bad handle")
        return self.handle(data)


# what a JSON object is, by the first of these keys it has
_KINDS: list[tuple[str, Callable[[_Decoder, dict[str, Any], int], Any]]] = [
    ("__float__", _Decoder.float_),
    ("__tensor__", _Decoder.tensor),
    ("__ndarray__", _Decoder.ndarray),
    ("__bytes__", _Decoder.bytes_),
    ("__dtype__", _Decoder.dtype),
    ("__tuple__", _Decoder.tuple_),
    ("__namedtuple__", _Decoder.named_tuple),
    ("__dict__", _Decoder.mapping),
    ("__handle__", _Decoder.handle_),
]
_NAMED_TUPLES: dict[tuple[str, tuple[str, ...]], type[tuple[Any, ...]]] = {}


def _named_tuple_type(name: Any, fields: list[Any], n: int) -> type[tuple[Any, ...]] | None:
    """The judge's class for named tuples called `name` with `fields` (one per kind, from a
    bounded cache), or None: a plain tuple (names that are not identifiers, cache full)."""
    if not (
        _identifier(name)
        and len(fields) <= 255
        and all(_identifier(f) and not f.startswith("_") for f in fields)
    ):
        return None
    if len(fields) != n or len(set(fields)) != len(fields):
        raise ProtocolError("bad named tuple")
    key = (name, tuple(fields))
    cls = _NAMED_TUPLES.get(key)
    if cls is None and len(_NAMED_TUPLES) < NAMED_TUPLE_TYPES:
        cls = _NAMED_TUPLES[key] = collections.namedtuple(name, fields)
    return cls


def _identifier(s: Any) -> bool:
    return isinstance(s, str) and len(s) <= 100 and s.isidentifier() and not keyword.iskeyword(s)


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise ProtocolError("expected a list")
    return v


def _shown(v: Any) -> str:
    """A short description of a value the worker sent, for a message."""
    return repr(v[:40]) if isinstance(v, str) else f"of type {type(v).__name__}"


def _shape(shape: Any) -> tuple[int, ...]:
    if not (
        isinstance(shape, list)
        and len(shape) <= MAX_DIMS
        and all(type(s) is int and 0 <= s < 1 << 48 for s in shape)
    ):
        raise ProtocolError("bad shape")
    return tuple(shape)


def _torch_dtype(name: Any) -> torch.dtype:
    dtype = TORCH_DTYPES.get(name) if isinstance(name, str) else None
    if dtype is None:
        raise ProtocolError(f"unknown dtype {_shown(name)}")
    return dtype


def _numpy_dtype(spec: Any) -> np.dtype[Any]:
    dtype: np.dtype[Any] | None = None
    if isinstance(spec, str) and len(spec) <= 16:
        try:
            dtype = np.dtype(spec)
        except (TypeError, ValueError, SyntaxError):
            pass  # raised below, outside this handler
    if dtype is None:
        raise ProtocolError(f"bad array dtype {_shown(spec)}")
    if dtype.kind not in NUMPY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"arrays of dtype {dtype} cannot be received")
    return dtype


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Without the cyclic collector, which would run again and again over the many
    containers a large reply creates (and none of them can form a cycle)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


# ----------------------------------------------------------------------------- framing


def _padded(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def send(
    sock: socket.socket,
    message: dict[str, Any],
    blobs: Sequence[Blob],
    deadline: float | None = None,
) -> None:
    """Send one frame: the message (with blob lengths) and its blobs, each padded to ALIGN;
    raises TimeoutError after `deadline` (time.monotonic)."""
    message = dict(message, __blobs__=[len(b) for b in blobs])
    text = json.dumps(message, allow_nan=False).encode()
    _send_all(sock, HEADER.pack(len(text), sum(_padded(len(b)) for b in blobs)) + text, deadline)
    for blob in blobs:
        _send_all(sock, blob, deadline)
        if pad := _padded(len(blob)) - len(blob):
            _send_all(sock, bytes(pad), deadline)


def recv(
    sock: socket.socket,
    deadline: float | None = None,
    *,
    max_bytes: int | None = None,
    max_objects: int | None = None,
) -> tuple[dict[str, Any], list[memoryview]]:
    """Receive one frame; raises TimeoutError after `deadline` (time.monotonic), EOFError on
    close, ReplyTooLarge over `max_bytes` (the JSON, what parsing it takes, and the blobs) or
    over what decoding `max_objects` objects may need, and ProtocolError for anything
    malformed.

    The blobs are views of one receive buffer, which grows only as bytes arrive.
    """
    n_json, n_blobs = HEADER.unpack(_recv_exact(sock, HEADER.size, deadline))
    if n_json > MAX_JSON:
        raise ReplyTooLarge(f"more than {_mib(MAX_JSON)} of values other than tensors and arrays")
    limit = MAX_JSON + MAX_BLOBS if max_bytes is None else max_bytes
    if n_json + n_blobs > limit:
        raise ReplyTooLarge(f"more than {_mib(limit)}")
    text = _recv_exact(sock, n_json, deadline)
    _check_parts(text, n_blobs, max_bytes, max_objects)
    message = _parse(text)
    del text  # before the blobs arrive
    lengths = _blob_lengths(message, n_blobs)
    buffer = memoryview(_recv_exact(sock, n_blobs, deadline))
    blobs, at = [], 0
    for n in lengths:
        blobs.append(buffer[at : at + n])
        at += _padded(n)
    return message, blobs


def _check_parts(
    text: bytearray, n_blobs: int, max_bytes: int | None, max_objects: int | None
) -> None:
    """Refuse a JSON text that parsing would make more of than a reply may be: more than
    PARTS_PER_OBJECT values and keys per object it may decode, or, at PART_BYTES each, more
    than `max_bytes` leaves beside the text and the blobs."""
    limits = {}
    if max_objects is not None:
        limits[f"more than {max_objects:,} objects"] = PARTS_PER_OBJECT * max_objects
    if max_bytes is not None:
        limits[f"more than {_mib(max_bytes)}"] = (max_bytes - len(text) - n_blobs) // PART_BYTES
    if not limits:
        return
    parts = _parts(text, min(limits.values()))
    for what, limit in limits.items():
        if parts > limit:
            raise ReplyTooLarge(what)


def _parse(text: bytearray) -> dict[str, Any]:
    try:
        with _gc_paused():
            message = json.loads(text)
    except (ValueError, RecursionError):
        message = None  # raised below: the JSON error would keep the whole text alive
    if not isinstance(message, dict):
        raise ProtocolError("the worker sent a message that is not a JSON object")
    return message


_SEPARATORS = (b"[", b"{", b",", b":")
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"[{,:')
_STRING = re.compile(rb'"[^"]*"')


def _parts(text: bytearray, limit: int) -> int:
    """How many values and keys the JSON `text` holds: never fewer, exact for compact JSON.
    Separators inside strings are only left out when the quick count is over `limit`."""

    def count(t: bytes | bytearray) -> int:
        return 1 + sum(t.count(s) for s in _SEPARATORS)

    n = count(text)
    if n <= limit or b'"' not in text:
        return n
    if b"\\" in text:  # without escaped backslashes and quotes, a quote opens or closes
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    # quotes and separators only; then the strings with no separator in them, all at once
    structure = text.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    return count(_STRING.sub(b"", structure))


def _blob_lengths(message: dict[str, Any], n_blobs: int) -> list[int]:
    lengths = message.pop("__blobs__", None)
    if not (
        isinstance(lengths, list)
        and all(type(n) is int and n >= 0 for n in lengths)
        and sum(_padded(n) for n in lengths) == n_blobs
    ):
        raise ProtocolError("the worker sent a malformed frame")
    return lengths


_ZEROS = memoryview(bytes(CHUNK))  # what a receive buffer grows by, with no allocation


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytearray:
    """`n` bytes in one buffer that grows by CHUNK as they arrive, never from `n` alone."""
    buf = bytearray()
    got = 0
    while got < n:
        if got == len(buf):
            buf += _ZEROS[: min(CHUNK, n - got)]
        _set_timeout(sock, deadline)
        with memoryview(buf) as view:
            k = sock.recv_into(view[got:])
        if k == 0:
            raise EOFError
        got += k
    return buf


def _send_all(sock: socket.socket, data: Blob, deadline: float | None) -> None:
    _set_timeout(sock, deadline)
    sock.sendall(data)


def _set_timeout(sock: socket.socket, deadline: float | None) -> None:
    """The socket's timeout: the time left until `deadline`; TimeoutError once it passed."""
    if deadline is None:
        sock.settimeout(None)
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    sock.settimeout(remaining)
