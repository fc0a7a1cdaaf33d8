"""A bounded wire: nothing allocated from a size the worker claims, caps on a reply's bytes and
objects, decoding under the request's deadline, named tuples of judge-defined types, a total
decoder, and a judge that keeps no student value once a check's verdict is recorded."""

from __future__ import annotations

import collections
import gc
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest
import torch
from conftest import by_id, reference_with

from grader.errors import ProtocolError, ReplyTooLarge
from grader.judge import proxy
from grader.sandbox import wire
from grader.sandbox.client import Output, WorkerLost, WorkerProcess
from grader.sandbox.limits import Limits
from grader.spec import load_spec

MiB = 1 << 20


def frame(message: dict, blob_bytes: int | None = None, lengths: list | None = None) -> bytes:
    """A frame's header and JSON, claiming `lengths` blobs of `blob_bytes` bytes in all."""
    lengths = [] if lengths is None else lengths
    text = json.dumps(dict(message, __blobs__=lengths)).encode()
    claimed = sum(wire._padded(n) for n in lengths) if blob_bytes is None else blob_bytes
    return wire.HEADER.pack(len(text), claimed) + text


def feed(data: bytes, close: bool = True) -> tuple[socket.socket, socket.socket]:
    """A socketpair whose far end sends `data` from a thread, then closes (or stays silent)."""
    ours, theirs = socket.socketpair()

    def send() -> None:
        try:
            theirs.sendall(data)
        except OSError:  # the receiver stopped reading
            pass
        if close:
            theirs.close()

    threading.Thread(target=send, daemon=True).start()
    return ours, theirs


def traced_peak(fn) -> tuple[int, BaseException | None]:
    """Peak bytes of Python allocations while `fn()` runs, and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - returned to the test
        raised = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, raised


# ----------------------------------------------------------------------------- bounded receive


def test_a_huge_claim_then_a_close_allocates_only_what_arrived():
    arrived = 3 * MiB
    ours, _ = feed(frame({}, 1 << 30, [1 << 30]) + bytes(arrived))
    peak, raised = traced_peak(lambda: wire.recv(ours))  # default caps: 2 GiB of blobs
    assert isinstance(raised, EOFError)
    assert peak < arrived + 3 * wire.CHUNK  # not the 1 GiB claimed


def test_a_huge_claim_then_silence_times_out_at_the_deadline_having_allocated_little():
    ours, theirs = feed(frame({}, 1 << 30, [1 << 30]) + bytes(100_000), close=False)
    start = time.monotonic()
    peak, raised = traced_peak(lambda: wire.recv(ours, time.monotonic() + 0.3))
    assert isinstance(raised, TimeoutError) and time.monotonic() - start < 2
    assert peak < 2 * wire.CHUNK
    theirs.close()


def test_a_huge_json_claim_allocates_only_what_arrived():
    ours, _ = feed(wire.HEADER.pack(60 * MiB, 0) + b'{"a": 1')
    peak, raised = traced_peak(lambda: wire.recv(ours))
    assert isinstance(raised, EOFError) and peak < 2 * wire.CHUNK


def test_a_claim_over_the_cap_is_refused_at_once_without_waiting_for_it():
    ours, theirs = feed(frame({}, 2 << 30, [2 << 30]), close=False)
    with pytest.raises(ReplyTooLarge, match=r"^more than 512 MiB$"):
        wire.recv(ours, max_bytes=512 * MiB)  # no deadline: it must not wait for the bytes
    theirs.close()


def test_blobs_are_views_of_one_buffer_and_tensors_share_it():
    blobs: list[bytes] = []
    value = [torch.arange(5, dtype=torch.int8), torch.arange(3, dtype=torch.float64)]
    data = wire.encode(value, blobs, lambda o: None)
    a, b = socket.socketpair()
    wire.send(a, {"value": data}, blobs)
    message, received = wire.recv(b)
    assert received[0].obj is received[1].obj  # one receive buffer
    small, big = wire.decode(message["value"], received, lambda d: d)
    assert big.data_ptr() % 8 == 0  # blobs start aligned, whatever came before them
    received[1].cast("d")[2] = 42.0  # the tensor is the buffer, not a copy of it
    assert big.tolist() == [0.0, 1.0, 42.0] and small.tolist() == [0, 1, 2, 3, 4]


def test_receiving_and_decoding_a_large_tensor_makes_no_copy():
    t = torch.ones(16 * MiB, dtype=torch.uint8)
    blobs: list[bytes] = []
    data = wire.encode(t, blobs, lambda o: None)
    a, b = socket.socketpair()
    send_quietly(a, {"value": data}, blobs)

    def receive() -> None:
        message, received = wire.recv(b, time.monotonic() + 20)
        got = wire.decode(message["value"], received, lambda d: d)
        assert got.shape == t.shape and bool(got.all())

    peak, raised = traced_peak(receive)
    assert raised is None
    assert peak < 16 * MiB * 1.3  # the receive buffer, and nothing the size of a second one


def test_sending_stops_at_the_deadline_when_the_peer_does_not_read():
    a, b = socket.socketpair()
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        wire.send(a, {}, [bytes(64 * MiB)], time.monotonic() + 0.3)
    assert time.monotonic() - start < 3
    b.close()


# ----------------------------------------------------------------------------- caps


def send_quietly(sock: socket.socket, message: dict, blobs: list[bytes]) -> None:
    """`wire.send` from a thread, for a receiver that may stop reading."""

    def run() -> None:
        try:
            wire.send(sock, message, blobs)
        except OSError:
            pass

    threading.Thread(target=run, daemon=True).start()


def roundtrip(value, **caps):
    blobs: list[bytes] = []
    data = wire.encode(value, blobs, lambda o: None)
    a, b = socket.socketpair()
    send_quietly(a, {"value": data}, blobs)
    recv_caps = {k: v for k, v in caps.items() if k in ("max_bytes", "max_objects")}
    message, received = wire.recv(b, time.monotonic() + 20, **recv_caps)
    return wire.decode(message["value"], received, lambda d: d, **caps)


def test_a_reply_over_the_byte_cap_is_refused():
    with pytest.raises(ReplyTooLarge, match=r"^more than 1 MiB$"):
        roundtrip(torch.zeros(MiB + 1, dtype=torch.uint8), max_bytes=MiB)
    assert roundtrip(torch.zeros(MiB // 2, dtype=torch.uint8), max_bytes=MiB).numel() == MiB // 2


def test_bytes_values_count_twice_against_the_byte_cap_as_decoding_copies_them():
    with pytest.raises(ReplyTooLarge, match="more than 1 MiB"):
        roundtrip(bytes(600_000), max_bytes=MiB)
    assert roundtrip(bytes(400_000), max_bytes=MiB) == bytes(400_000)


def test_a_reply_over_the_object_cap_is_refused_while_decoding():
    with pytest.raises(ReplyTooLarge, match=r"^more than 1,000 objects$"):
        roundtrip(list(range(1000)), max_objects=1000)  # the list and its 1000 items
    assert roundtrip(list(range(999)), max_objects=1000) == list(range(999))


def test_a_reply_too_large_to_parse_within_the_object_cap_is_refused_before_parsing():
    text = json.dumps({"value": [[]] * 5000, "__blobs__": []}).encode()
    ours, _ = feed(wire.HEADER.pack(len(text), 0) + text)
    with pytest.raises(ReplyTooLarge, match="more than 1,000 objects"):
        wire.recv(ours, max_objects=1000)


def test_what_parsing_would_take_counts_against_the_byte_cap():
    value = (torch.zeros(MiB // 2, dtype=torch.uint8), ["ab"] * 10_000)  # 10,000 x 64 bytes
    with pytest.raises(ReplyTooLarge, match=r"^more than 1 MiB$"):
        roundtrip(value, max_bytes=MiB)
    assert len(roundtrip(value, max_bytes=2 * MiB)[1]) == 10_000


def test_the_quick_count_of_parts_never_undercounts_and_ignores_separators_in_strings():
    for value in (
        {"a,b": [1, 2], 'c\\"': "x,\\\\:y", "": [{}, []]},
        ["", ",", '"', "\\", "[{", [[["deep"]]]],
        {"k": {"k": {"k": None}}},
    ):
        text = json.dumps(value, separators=(",", ":")).encode()
        exact = _count_parts(value)
        assert wire._parts(bytearray(text), 0) >= exact
        assert wire._parts(bytearray(text), 0) <= exact + text.count(b"[]") + text.count(b"{}")


def _count_parts(value) -> int:
    if isinstance(value, list):
        return 1 + sum(_count_parts(v) for v in value)
    if isinstance(value, dict):
        return 1 + sum(1 + _count_parts(v) for v in value.values())
    return 1


def test_decoding_stops_at_the_deadline():
    data = list(range(50_000))
    with pytest.raises(TimeoutError):
        wire.decode(data, [], lambda d: d, deadline=time.monotonic() - 1)


def test_the_caps_are_set_in_the_limits_table(tmp_path):
    root = tmp_path / "hwX"
    root.mkdir()
    (root / "assignment.toml").write_text(
        '[assignment]\ntitle = "T"\nmodule = "m"\n[limits]\nreply_mib = 64\nreply_objects = 5000\n'
    )
    limits = load_spec(root, tmp_path / "ref").limits
    assert (limits.reply_mib, limits.reply_objects) == (64, 5000)
    assert (Limits().reply_mib, Limits().reply_objects) == (512, 1_000_000)


# ----------------------------------------------------------------------------- named tuples


def test_named_tuples_decode_into_one_judge_defined_type_per_kind():
    Point = collections.namedtuple("Point", "x y")
    got = roundtrip([Point(i, -i) for i in range(10_000)])
    assert len({type(p) for p in got}) == 1
    assert got[3].x == 3 and got[3].y == -3 and type(got[0]).__name__ == "Point"
    assert type(roundtrip(Point(1, 2))) is type(got[0])  # the same class in the next reply
    assert type(got[0]) is not Point  # the judge's own, not the sender's


def test_past_the_bound_named_tuples_become_plain_tuples(monkeypatch):
    monkeypatch.setattr(wire, "_NAMED_TUPLES", {})
    monkeypatch.setattr(wire, "NAMED_TUPLE_TYPES", 3)
    kinds = [collections.namedtuple(f"K{i}", "a") for i in range(5)]
    got = roundtrip([k(i) for i, k in enumerate(kinds)])
    assert [type(v).__name__ for v in got] == ["K0", "K1", "K2", "tuple", "tuple"]
    assert got[4] == (4,) and len(wire._NAMED_TUPLES) == 3


@pytest.mark.parametrize(
    "name, fields",
    [("not an identifier", ["a"]), ("class", ["a"]), ("T", ["_private"]), ("T" * 101, ["a"])],
)
def test_named_tuples_with_unusable_names_become_plain_tuples(name, fields):
    data = {"__namedtuple__": name, "fields": fields, "items": [1]}
    assert type(wire.decode(data, [], lambda d: d)) is tuple


# ----------------------------------------------------------------------------- a total decoder

DEEP: list = [1]
for _ in range(wire.MAX_DEPTH + 5):
    DEEP = [DEEP]

MALFORMED_FRAMES = [
    frame({}, 8, ["8"]),  # a blob length that is not an int (used to be a TypeError)
    frame({}, 64, [True]),
    frame({}, 64, [-64, 128]),
    frame({}, 64, [[64]]),
    wire.HEADER.pack(4, 0) + b"\xff\xfe\x00\x01",  # not UTF-8 JSON
    wire.HEADER.pack(9, 0) + b"[1, 2, 3]",  # JSON, not an object
    wire.HEADER.pack(200_000, 0) + b"[" * 200_000,  # deeper than the JSON parser's recursion
    wire.HEADER.pack(7, 0) + b'{"a": 1' + b"",
]


@pytest.mark.parametrize("data", MALFORMED_FRAMES)
def test_malformed_frames_are_protocol_errors(data):
    ours, _ = feed(data)
    with pytest.raises((ProtocolError, EOFError)):  # EOF: a frame cut short
        wire.recv(ours, max_objects=1_000_000)


@pytest.mark.parametrize(
    "data, blobs",
    [
        ({"__tensor__": 0, "dtype": ["float32"], "shape": [1]}, [b"\0" * 4]),  # TypeError before
        ({"__dtype__": ["float32"]}, []),
        ({"__dtype__": {"a": 1}}, []),
        (
            {  # np.dtype raises ValueError for this one
                "__ndarray__": 0,
                "dtype": {"names": ["a"], "formats": ["i4"], "offsets": [-1]},
                "shape": [1],
            },
            [b"\0" * 4],
        ),
        ({"__ndarray__": 0, "dtype": "(2,)f4", "shape": [1]}, [b"\0" * 8]),
        ({"__ndarray__": 0, "dtype": "i4,i4", "shape": [1]}, [b"\0" * 8]),
        ({"__ndarray__": 0, "dtype": "not a dtype", "shape": [1]}, [b"\0" * 8]),
        ({"__tensor__": 0, "dtype": "float32", "shape": [1] * 40}, [b"\0" * 4]),
        ({"__tensor__": 0, "dtype": "float32", "shape": [0, 1 << 60]}, [b""]),
        ({"__tensor__": 0, "dtype": "float32", "shape": [True]}, [b"\0" * 4]),
        ([{"__bytes__": 0}, {"__bytes__": 0}], [b"abc"]),  # one blob, used twice
        ({"__namedtuple__": "T", "fields": ["a", "a"], "items": [1, 2]}, []),
        ({"__namedtuple__": "T", "fields": "a", "items": [1]}, []),
        ({"__dict__": [[["k"], 1]]}, []),
        ({"__float__": ["nan"]}, []),
        ({"__handle__": True}, []),
        (DEEP, []),  # nested deeper than MAX_DEPTH
    ],
)
def test_malformed_values_are_protocol_errors(data, blobs):
    with pytest.raises(ProtocolError):
        wire.decode(data, [memoryview(bytearray(b)) for b in blobs], lambda d: d)


def test_bools_are_sanitised_to_zero_or_one():
    t = wire.decode(
        {"__tensor__": 0, "dtype": "bool", "shape": [3]}, [memoryview(bytearray(b"\0\2\1"))], dict
    )
    a = wire.decode(
        {"__ndarray__": 0, "dtype": "|b1", "shape": [2]}, [memoryview(bytearray(b"\7\0"))], dict
    )
    assert t.view(torch.uint8).tolist() == [0, 1, 1] and a.view(np.uint8).tolist() == [1, 0]


KEYS = [
    "__tensor__", "__ndarray__", "__bytes__", "__dtype__", "__tuple__", "__namedtuple__",
    "__dict__", "__handle__", "__float__", "dtype", "shape", "fields", "items", "requires_grad",
    "type", "repr", "x",
]  # fmt: skip
WORDS = ["float32", "bool", "int64", "<f8", "|b1", "O", "nan", "inf", "T", "a", "", "i4,i4"]


def junk(rng: random.Random, depth: int = 0):
    """A random JSON value, leaning towards the shapes the decoder looks for."""
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        return rng.choice(
            [None, True, False, 0, 1, -1, 3, 2**40, -(2**70), 0.5, float("nan"), rng.choice(WORDS)]
        )
    if roll < 0.6:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): junk(rng, depth + 1) for _ in range(rng.randrange(1, 4))}


def mutate(rng: random.Random, data):
    """`data` with one random part replaced by junk."""
    if isinstance(data, list) and data and rng.random() < 0.7:
        i = rng.randrange(len(data))
        return data[:i] + [mutate(rng, data[i])] + data[i + 1 :]
    if isinstance(data, dict) and data and rng.random() < 0.7:
        key = rng.choice(list(data))
        return dict(data, **{key: mutate(rng, data[key])})
    return junk(rng)


def test_random_values_only_ever_raise_protocol_errors():
    rng = random.Random(1234)
    Point = collections.namedtuple("Point", "x y")
    sample = {
        "t": torch.arange(6.0).reshape(2, 3),
        "a": np.arange(4, dtype=np.int16),
        "n": Point(1, (2.0, b"xy")),
        "d": torch.float64,
        "f": [float("inf"), float("-inf")],
    }
    sample_blobs: list[bytes] = []
    encoded = wire.encode(sample, sample_blobs, lambda o: None)
    for _ in range(3000):
        data = mutate(rng, encoded) if rng.random() < 0.6 else junk(rng)
        blobs = [memoryview(bytearray(b)) for b in sample_blobs]
        blobs += [memoryview(bytearray(rng.randbytes(rng.choice([0, 1, 4, 8, 24]))))]
        try:
            wire.decode(data, blobs, lambda d: d, max_objects=10_000, max_bytes=MiB)
        except ProtocolError:
            pass


def test_random_frames_only_ever_raise_protocol_errors_or_end_of_file():
    rng = random.Random(99)
    for _ in range(300):
        message = junk(rng) if rng.random() < 0.3 else {"value": junk(rng)}
        if isinstance(message, dict) and rng.random() < 0.8:
            message["__blobs__"] = junk(rng) if rng.random() < 0.5 else [rng.randrange(100)]
        text = json.dumps(message).encode()
        if rng.random() < 0.2:
            text = text[: rng.randrange(len(text) + 1)]
        body = rng.randbytes(rng.randrange(200))
        n_blobs = rng.choice([0, len(body), 64, rng.randrange(1 << 40)])
        ours, _ = feed(wire.HEADER.pack(len(text), n_blobs) + text + body)
        try:
            wire.recv(ours, time.monotonic() + 5, max_bytes=MiB, max_objects=1000)
        except (ProtocolError, EOFError):
            pass
        ours.close()


# ----------------------------------------------------------------------------- the client


@pytest.fixture
def fake_worker():
    """A WorkerProcess whose worker is a sleeping process, and the socket it would answer on."""
    made = []

    def make(limits: Limits) -> tuple[WorkerProcess, socket.socket, subprocess.Popen]:
        sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
        proc = subprocess.Popen(sleeper, start_new_session=True)
        ours, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        os.close(out_w)
        st_r, st_w = os.pipe()
        os.close(st_w)
        worker = WorkerProcess(proc.pid, ours, Output(out_r, 1024), st_r, limits)
        made.append((worker, theirs, proc))
        return worker, theirs, proc

    yield make
    for worker, theirs, proc in made:
        worker.kill()
        proc.wait()
        theirs.close()


def answer(peer: socket.socket, reply: bytes) -> None:
    """Read the judge's request on `peer` (in a thread), then send `reply`."""

    def run() -> None:
        wire.recv(peer)
        peer.sendall(reply)

    threading.Thread(target=run, daemon=True).start()


def test_a_reply_over_the_cap_fails_the_request_naming_it_and_kills_the_worker(fake_worker):
    worker, peer, proc = fake_worker(Limits(reply_mib=1))
    answer(peer, frame({"ok": True}, 2 << 30, [2 << 30]))
    with pytest.raises(WorkerLost, match=r"^your code returned more than 1 MiB from `f`$"):
        worker.request({"op": "call"}, [], 5, "`f`")
    assert worker.dead and proc.wait(5) == -signal.SIGKILL


def test_a_malformed_reply_fails_the_request_blaming_the_code_and_kills_the_worker(fake_worker):
    worker, peer, proc = fake_worker(Limits())
    answer(peer, frame({"ok": True}, 8, ["8"]))
    with pytest.raises(WorkerLost, match="your code sent back something unreadable during `f`"):
        worker.request({"op": "call"}, [], 5, "`f`")
    assert worker.dead and proc.wait(5) == -signal.SIGKILL


def test_decoding_a_reply_over_the_object_cap_fails_and_kills_the_worker(fake_worker):
    worker, peer, proc = fake_worker(Limits(reply_objects=100))
    answer(peer, frame({"ok": True, "value": list(range(200))}))
    reply, blobs = worker.request({"op": "call"}, [], 5, "`f`")
    with pytest.raises(WorkerLost, match=r"^your code returned more than 100 objects from `f`$"):
        worker.decode(reply["value"], blobs, dict)
    assert worker.dead and proc.wait(5) == -signal.SIGKILL


def test_a_student_error_report_of_any_shape_is_read_as_text():
    err = proxy.StudentError({"type": ["x"], "message": 5, "line": "12", "file": None}, "`f`")
    assert (err.type_name, err.message, err.line, err.file) == ("Exception", "", 0, "")
    assert proxy.StudentError([1, 2], "`f`").message == ""
    make = proxy._import_failure({"ok": False, "error": {"type": "ValueError", "message": "m"}})
    assert make() is not make()  # a fresh exception, and traceback, for each check


# ----------------------------------------------------------------------------- end to end

FORGE = """
import json, os, stat, struct, time, torch

def _forge(message, blob_bytes=0, lengths=()):
    fd = next(fd for fd in range(3, 1024) if _is_socket(fd))
    text = json.dumps(dict(message, __blobs__=list(lengths))).encode()
    os.write(fd, struct.pack("!QQ", len(text), blob_bytes) + text)
    time.sleep(3600)

def _is_socket(fd):
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False

def arange_grid(rows, cols):
    return torch.zeros(2 << 20, dtype=torch.uint8)  # over a 1 MiB cap

def channels_last(images):
    _forge({"ok": True, "value": None}, 8, ["8"])  # a blob length that is not a number

def diag_plus_identity(values):
    _forge({"ok": False, "error": [1]})  # an error report that is not a mapping

def flatten_features(images):
    _forge({"ok": True, "value": {"__dtype__": ["float32"]}})

def batched_matmul(a, b):
    _forge({"ok": True, "value": None}, 2 << 30, [2 << 30])  # 2 GiB claimed, then silence

def outer_sum(a, b):
    return list(range(5000))  # over a 1000-object cap
"""


def test_hostile_replies_fail_their_checks_clearly_and_the_next_checks_pass(grade_with, tmp_path):
    limits = {"reply_mib": 1, "reply_objects": 1000, "call_timeout_s": 5}
    path = reference_with("hw1", tmp_path, extra=FORGE)
    start = time.monotonic()
    checks = by_id(grade_with("hw1", path, limits=limits))
    assert time.monotonic() - start < 60  # none of them waited for a deadline
    assert checks["test_arange_grid"].message == (
        "your code returned more than 1 MiB from `arange_grid`"
    )
    assert checks["test_batched_matmul"].message == (
        "your code returned more than 1 MiB from `batched_matmul`"
    )
    assert checks["test_outer_sum"].message == (
        "your code returned more than 1,000 objects from `outer_sum`"
    )
    for check, what in [
        ("test_channels_last", "`channels_last`"),
        ("test_diag_plus_identity", "`diag_plus_identity`"),
        ("test_flatten_features", "`flatten_features`"),
    ]:
        assert checks[check].status == "failed"
        assert checks[check].message.startswith(
            f"your code sent back something unreadable during {what}: "
        )
    for check in ("test_linspace_column", "test_select_positive", "test_row_max"):
        assert checks[check].status == "passed", checks[check].message  # fresh workers


def test_a_malformed_hello_fails_every_check_blaming_the_module(grade_with, tmp_path):
    code = FORGE + '\n_forge({"ok": True, "notes": 5}, 8, ["8"])\n'
    result = grade_with(
        "hw1", reference_with("hw1", tmp_path, extra=code), limits={"call_timeout_s": 5}
    )
    assert all(
        c.message.startswith("your module sent back something unreadable while it was imported")
        for c in result.checks
    )


SENTINEL = 3_333_331  # elements of a tensor nothing else in the judge has


def test_no_student_value_outlives_its_checks_verdict(grade_with, tmp_path):
    code = (
        "import torch\n"
        "def arange_grid(rows, cols):\n"
        f"    return torch.zeros({SENTINEL}, dtype=torch.uint8)\n"
    )
    alive_after: dict[str, int] = {}

    def on_check(result) -> None:
        alive_after[result.id] = sum(
            isinstance(o, torch.Tensor) and o.numel() == SENTINEL for o in gc.get_objects()
        )
        assert not hasattr(sys, "last_value") and not hasattr(sys, "last_traceback")

    path = reference_with("hw1", tmp_path, extra=code)
    result = grade_with("hw1", path, on_check=on_check)
    assert "wrong shape" in by_id(result)["test_arange_grid"].message
    assert alive_after["test_arange_grid"] == 0
    assert alive_after["test_arange_grid_other_shapes"] == 0
