"""The reference's answers, recorded at release time and replayed where reference/ is absent.

A student release holds no reference code, yet its public checks call `reference.fn(x)`.
`grader release` runs the public checks once with a `Recording` reference: it wraps the live
reference module and logs, per check, every attribute read and call (the wire-encoded
arguments' digest, a small summary of them, the wire-encoded result, the RNG state the call
left behind, and how long it took). In the release, a `Replay` reference answers the same
requests from that log, the tape (`checks/release.json`), and takes as long as the reference
took when recorded, so a check that times the reference keeps a meaningful baseline.

Both give the check copies that went through `grader.wire` (never pickle): arguments are
copied before the live reference sees them and results are copied back, so a check behaves
the same recording as replaying. Objects the reference returns (a model, a bound method)
stay behind handles that support attribute reads, calls and attribute writes.

A batch (`grader grade`) and `grader check` in the instructor's course record the same way,
once, from the reference graded as the submission (`grader.judge.answers` keys and stores
the tape), and replay it with `Follow`: a request is answered from the tape only while the
check's requests so far are exactly the recorded ones (same target, arguments and RNG state
before the call), since a deterministic reference then gives exactly the recorded answers.
At the first request that differs (inputs drawn from the student's outputs, say), the check
catches up: the live reference redoes the check's earlier requests and answers the rest.

A replayed request takes no time; `reference_seconds()` reads, for a check that times the
reference (a training budget), the time the recorded requests took when recorded.
"""

from __future__ import annotations

import array
import base64
import binascii
import builtins
import hashlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypedDict

import numpy as np
import torch

from grader import __version__
from grader.errors import ConfigError
from grader.sandbox import wire

TAPE_NAME = "release.json"  # in assignments/<id>/checks/ of a release
TAPE_FORMAT = 1
BINARY_MAGIC = b"grader-tape 1\n"  # a kept recording: a JSON line, then the blobs
SKETCH_SAMPLES = 32
SKETCH_RTOL = 1e-6
BLOB_KEYS = ("__tensor__", "__ndarray__", "__bytes__")  # encoded values that point at a blob


class ReplayMiss(Exception):
    """A release has no recorded answer for what a check asked the reference."""


class NotRecordable(Exception):
    """A check handed the reference something a release cannot record."""


def reference_seconds(reference: object) -> float:
    """The reference clock's offset from the wall clock for the check holding `reference`:
    the recorded seconds of the requests answered from a tape, less the time answering them
    took (0 for the live module). Add its change across a call to the call's wall time."""
    driver = getattr(reference, "_driver", None) if isinstance(reference, ReferenceObject) else None
    return driver.replayed_s if driver is not None else 0.0


def tape_path(checks_dir: Path) -> Path:
    return checks_dir / TAPE_NAME


# ----------------------------------------------------------------------------- values


def _encode(value: Any, blobs: list[bytes], handle: Callable[[Any], Any]) -> Any:
    return wire.encode(value, blobs, handle)


def _digest(data: Any, blobs: list[bytes]) -> str:
    h = hashlib.sha256(json.dumps(data, sort_keys=True, allow_nan=False).encode())
    for blob in blobs:
        h.update(len(blob).to_bytes(8, "big"))
        h.update(blob)
    return h.hexdigest()


def _renumber(data: Any, index: dict[int, int]) -> Any:
    """Encoded `data` with its blob indices mapped through `index`."""
    if isinstance(data, list):
        return [_renumber(v, index) for v in data]
    if not isinstance(data, dict):
        return data
    out = {k: _renumber(v, index) for k, v in data.items()}
    for k in BLOB_KEYS:
        if isinstance(data.get(k), int):
            out[k] = index.get(data[k], data[k])
    return out


def _number(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)


def sketch(value: Any) -> Any:
    """A small JSON summary of `value` that survives last-bit differences in float inputs."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        t = torch.as_tensor(value).detach()
        flat = (torch.view_as_real(t) if t.is_complex() else t).reshape(-1).double()
        idx = torch.linspace(0, max(flat.numel() - 1, 0), min(flat.numel(), SKETCH_SAMPLES)).long()
        stats = (
            [flat.sum(), flat.abs().sum(), (flat * flat).sum(), *flat[idx]] if flat.numel() else []
        )
        return {
            "array": str(t.dtype),
            "shape": list(t.shape),
            "stats": [_number(float(s)) for s in stats],
        }
    if isinstance(value, ReferenceObject):
        return {"ref": value._oid}
    if isinstance(value, float):
        return {"float": _number(value)}
    if isinstance(value, (list, tuple)):
        return [sketch(v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[k, sketch(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return {"type": type(value).__name__}


def sketches_close(a: object, b: object) -> bool:
    """Same structure, same exact parts, float parts within SKETCH_RTOL."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        if "stats" in a:
            return (
                (a["array"], a["shape"]) == (b["array"], b["shape"])
                and len(a["stats"]) == len(b["stats"])
                and all(
                    _close(x, y, scale=a["stats"][1])
                    for x, y in zip(a["stats"], b["stats"], strict=True)
                )
            )
        if "float" in a:
            return _close(a["float"], b["float"])
        return all(sketches_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(sketches_close(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _close(x: float | str, y: float | str, scale: float | str = 0.0) -> bool:
    if isinstance(x, str) or isinstance(y, str):
        return x == y
    scale = abs(scale) if isinstance(scale, (int, float)) else 0.0
    return abs(x - y) <= SKETCH_RTOL * max(abs(x), abs(y), 1e-3 * scale) + 1e-12


def _rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "random": random.getstate(),
    }


def _rng_changes(before: dict[str, Any]) -> dict[str, Any]:
    after = _rng_state()
    changed: dict[str, Any] = {}
    if not torch.equal(before["torch"], after["torch"]):
        changed["torch"] = after["torch"]
    b, a = before["numpy"], after["numpy"]
    if not (np.array_equal(b[1], a[1]) and b[0] == a[0] and tuple(b[2:]) == tuple(a[2:])):
        changed["numpy"] = after["numpy"]
    if before["random"] != after["random"]:
        changed["random"] = after["random"]
    return changed


def _apply_rng(state: dict[str, Any]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "numpy" in state:
        np.random.set_state(tuple(state["numpy"]))
    if "random" in state:
        version, internal, gauss = state["random"]
        random.setstate((version, tuple(internal), gauss))


def _rng_digest(state: dict[str, Any]) -> str:
    """sha256 of the torch, numpy and random generators' states."""
    h = hashlib.sha256(state["torch"].numpy().tobytes())
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    h.update(f"{kind}:{pos}:{has_gauss}:{gauss!r}:".encode() + np.asarray(keys).tobytes())
    version, internal, gauss = state["random"]
    h.update(f"{version}:{gauss!r}:".encode() + array.array("Q", internal).tobytes())
    return h.hexdigest()


def _exception(raised: dict[str, Any]) -> Exception:
    kind = getattr(builtins, raised.get("type", ""), None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(raised.get("message", ""))
    return RuntimeError(f"{raised.get('type')}: {raised.get('message', '')}")


# ----------------------------------------------------------------------------- the proxy


class ReferenceObject:
    """What a check's `reference` is in a release or while recording: the module or an object
    it returned. Attribute reads, calls and attribute writes go through the tape."""

    # set in __init__ with object.__setattr__ (this class's __setattr__ goes to the tape)
    _driver: _Driver
    _oid: int
    _label: str

    def __init__(self, driver: _Driver, oid: int, label: str):
        object.__setattr__(self, "_driver", driver)
        object.__setattr__(self, "_oid", oid)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._driver.request(self._oid, "get", name, (), {})

    def __setattr__(self, name: str, value: Any) -> None:
        self._driver.request(self._oid, "set", name, (value,), {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._driver.request(self._oid, "call", "", args, kwargs)

    def __repr__(self) -> str:
        return f"<reference {self._label}>"


class _Driver:
    """One check's side of the tape: object ids, the requests, and value copies."""

    def __init__(self, check: str, blobs: list[bytes]):
        self.check, self.blobs = check, blobs
        self.labels: dict[int, str] = {0: "reference"}
        self.front: _Driver = self  # the driver the check's ReferenceObjects talk to
        self.replayed_s = 0.0  # recorded seconds of the requests answered from a tape

    def _label(self, oid: int, op: str, name: str) -> str:
        """`reference.Linear(...).forward`: how a check reached what this request returns."""
        base = self.labels.get(oid, f"reference object {oid}")
        return f"{base}(...)" if op == "call" else f"{base}.{name}"

    def _describe(self, oid: int, op: str, name: str) -> str:
        return ("setting " if op == "set" else "") + f"`{self._label(oid, op, name)}`"

    def _proxy(self, data: dict[str, Any]) -> ReferenceObject:
        oid = data["__handle__"]
        label = self.labels.get(oid, str(data.get("type", "object")))
        return ReferenceObject(self.front, oid, label)

    def _arg_handle(self, obj: Any) -> dict[str, int]:
        if isinstance(obj, ReferenceObject) and obj._driver is self.front:
            return {"__handle__": obj._oid}
        what = (
            "a student object"
            if type(obj).__name__ == "RemoteObject"
            else f"a {type(obj).__name__}"
        )
        raise NotRecordable(
            f"check {self.check} passes {what} to the reference; a release can only "
            "record plain values (tensors, arrays, numbers, strings, containers) "
            "and objects the reference itself returned"
        )

    def encode_args(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, list[bytes], str]:
        blobs: list[bytes] = []
        data = _encode([list(args), kwargs], blobs, self._arg_handle)
        return data, blobs, _digest(data, blobs)

    def request(
        self, oid: int, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        raise NotImplementedError


class _RecordingDriver(_Driver):
    """Answers from the live reference, logging each request in `events`. With `unrecordable`
    (a set), a check whose requests cannot be recorded is added to it and runs on, live."""

    def __init__(
        self,
        check: str,
        module: ModuleType,
        blobs: list[bytes],
        events: list[dict[str, Any]],
        unrecordable: set[str] | None = None,
        stored: dict[bytes, int] | None = None,
    ):
        super().__init__(check, blobs)
        self.stored = {} if stored is None else stored  # blob index by sha256: each kept once
        self.live: dict[int, Any] = {0: module}
        self.oids: dict[int, int] = {id(module): 0}  # the same live object keeps its id
        self.events = events
        self.label = ""
        self.unrecordable = unrecordable
        self._passed: list[Any] = []  # objects handed to the live reference as they are

    def _arg_handle(self, obj: Any) -> dict[str, int]:
        try:
            return super()._arg_handle(obj)
        except NotRecordable:
            if self.unrecordable is None:
                raise
            self.unrecordable.add(self.check)
            self._passed.append(obj)
            return {"__handle__": -len(self._passed)}

    def _intern(self, event: dict[str, Any], first: int) -> None:
        """Keep a blob appended since `first` that an earlier event holds once on the tape (a
        check that asks the same twice gets the same tensor twice), pointing `event` at the
        kept copy. (Within one event each value keeps its own blob: a decode reads each once.)"""
        new, index, kept = self.blobs[first:], {}, {}
        del self.blobs[first:]
        for i, blob in enumerate(new, start=first):
            key = hashlib.sha256(blob).digest()
            if key in self.stored and key not in kept:
                index[i] = kept[key] = self.stored[key]
            else:
                index[i] = len(self.blobs)
                self.blobs.append(blob)
                self.stored.setdefault(key, index[i])
        if index != {i: i for i in index}:
            for field in ("rng", "result"):
                if field in event:
                    event[field] = _renumber(event[field], index)

    def _live_handle(self, data: dict[str, Any]) -> Any:
        oid = data["__handle__"]
        return self._passed[-oid - 1] if oid < 0 else self.live[oid]

    def _register(self, obj: Any) -> Any:
        try:
            items = wire.as_list(obj)
        except wire.ProtocolError as exc:
            raise NotRecordable(f"check {self.check}: the reference returned {exc}") from None
        if items is not None:
            return _encode(items, self.blobs, self._register)
        oid = self.oids.get(id(obj))
        if oid is None:
            oid = self.oids[id(obj)] = len(self.live)
            self.live[oid] = obj  # kept alive, so id(obj) is not reused
            self.labels[oid] = self.label or type(obj).__name__
        return {"__handle__": oid, "type": self.labels[oid]}

    def request(
        self, oid: int, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        data, blobs, digest = self.encode_args(args, kwargs)
        live_args, live_kwargs = wire.decode(data, blobs, self._live_handle)
        first_blob = len(self.blobs)
        target = self.live[oid]
        before = _rng_state()
        rng_before = _rng_digest(before)
        value, raised = None, None
        start = time.perf_counter()
        try:
            if op == "get":
                value = getattr(target, name)
            elif op == "set":
                setattr(target, name, live_args[0])
            else:
                value = target(*live_args, **live_kwargs)
        except Exception as exc:  # the reference raised: replay raises the same
            raised = {"type": type(exc).__name__, "message": str(exc)}
        seconds = time.perf_counter() - start
        event: dict[str, Any] = {
            "target": oid,
            "op": op,
            "name": name,
            "digest": digest,
            "seconds": seconds,
            "sketch": sketch([list(args), kwargs]) if op != "get" else None,
            "rng_before": rng_before,
        }
        rng = _rng_changes(before)
        self.label = self._label(oid, op, name)
        if rng:
            event["rng"] = _encode(rng, self.blobs, self._register)
        if raised:
            event["raised"] = raised
        else:
            try:
                event["result"] = _encode(value, self.blobs, self._register)
            except wire.ProtocolError as exc:
                if self.unrecordable is not None:  # answered live, as the module would
                    self.unrecordable.add(self.check)
                    return value
                raise NotRecordable(
                    f"check {self.check}: {self._describe(oid, op, name)} returned a "
                    f"value a release cannot record ({exc})"
                ) from None
        self._intern(event, first_blob)
        self.events.append(event)
        if raised:
            raise _exception(raised)
        return wire.decode(event["result"], self.blobs, self._proxy)


class _ReplayDriver(_Driver):
    def __init__(
        self, check: str, events: list[dict[str, Any]], blobs: list[bytes], stats: ReplayStats
    ):
        super().__init__(check, blobs)
        self.events, self.used, self.stats = events, [False] * len(events), stats

    def _proxy(self, data: dict[str, Any]) -> ReferenceObject:
        self.labels.setdefault(data["__handle__"], str(data.get("type", "reference object")))
        return super()._proxy(data)

    def request(
        self, oid: int, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        _, _, digest = self.encode_args(args, kwargs)
        same = [
            i
            for i, e in enumerate(self.events)
            if not self.used[i] and (e["target"], e["op"], e["name"]) == (oid, op, name)
        ]
        found = next((i for i in same if self.events[i]["digest"] == digest), None)
        if found is None and op != "get":
            mine = sketch([list(args), kwargs])
            found = next((i for i in same if sketches_close(self.events[i]["sketch"], mine)), None)
            if found is not None:
                self.stats["close"] += 1
                self.stats["close_checks"].add(self.check)
        elif found is not None:
            self.stats["exact"] += 1
        if found is None:
            raise ReplayMiss(
                f"this release has no recorded reference answer for {self._describe(oid, op, name)} "
                f"with these inputs, so check {self.check} cannot run here (it asks the reference "
                "about values that differ from those recorded when the release was built, e.g. "
                "your code's output); it runs when your work is graded"
            )
        self.used[found] = True
        event = self.events[found]
        self.replayed_s += event.get("seconds", 0.0)  # a check timing the reference sees it
        if "rng" in event:
            _apply_rng(wire.decode(event["rng"], self.blobs, self._proxy))
        if "raised" in event:
            raise _exception(event["raised"])
        return wire.decode(event["result"], self.blobs, self._proxy)


# ----------------------------------------------------------------------------- sources


class ReplayStats(TypedDict):
    """How a `Replay` matched the requests: exactly, or close (last-bit different inputs)."""

    exact: int
    close: int
    close_checks: set[str]  # the checks with a close match


class ReferenceSource(Protocol):
    """Where checks' `reference` comes from: a `Recording` or a `Replay`."""

    def for_check(self, check: str) -> ReferenceObject: ...


class Recording:
    """A `reference` source for the judge that records every answer of the live reference.

    With `live_fallback`, a check whose requests cannot be recorded (it hands the reference a
    student object, say) runs on against the live reference and is listed as `live` on the
    tape; without it (a release) that check fails with NotRecordable."""

    def __init__(self, module: ModuleType, *, live_fallback: bool = False):
        self.module = module
        self.blobs: list[bytes] = []
        self.checks: dict[str, list[dict[str, Any]]] = {}
        self.notes: list[str] = []
        self.unrecordable: set[str] | None = set() if live_fallback else None
        self._stored: dict[bytes, int] = {}

    def for_check(self, check: str) -> ReferenceObject:
        events = self.checks.setdefault(check, [])
        return ReferenceObject(
            _RecordingDriver(
                check, self.module, self.blobs, events, self.unrecordable, self._stored
            ),
            0,
            "reference",
        )

    def _tape(self, *, seed: int, hidden_checks: int, hidden_points: float, key: str) -> Any:
        live = sorted(self.unrecordable or ())
        return {
            "format": TAPE_FORMAT,
            "grader_version": __version__,
            "torch_version": torch.__version__,
            "seed": seed,
            "key": key,
            "hidden": {"checks": hidden_checks, "points": hidden_points},
            "checks": {k: v for k, v in self.checks.items() if v and k not in live},
            "live": live,
        }

    def to_text(self, *, seed: int, hidden_checks: int = 0, hidden_points: float = 0.0) -> str:
        """The tape for `seed` as JSON, blobs base64 (a release's `checks/release.json`)."""
        tape = self._tape(
            seed=seed, hidden_checks=hidden_checks, hidden_points=hidden_points, key=""
        )
        tape["blobs"] = [base64.b64encode(b).decode() for b in self.blobs]
        return json.dumps(tape, allow_nan=False, separators=(",", ":")) + "\n"

    def to_bytes(self, *, seed: int, key: str) -> bytes:
        """The tape for `seed`, recorded for `key`, as a JSON line then the raw blobs: a
        recording kept by a batch or `grader check`, read back at a fraction of the JSON's cost."""
        tape = self._tape(seed=seed, hidden_checks=0, hidden_points=0.0, key=key)
        tape["blob_sizes"] = [len(b) for b in self.blobs]
        head = json.dumps(tape, allow_nan=False, separators=(",", ":")).encode()
        return BINARY_MAGIC + head + b"\n" + b"".join(self.blobs)

    def save(self, path: Path, *, seed: int, hidden_checks: int, hidden_points: float) -> None:
        """Write the tape for `seed` to `path`."""
        path.write_text(
            self.to_text(seed=seed, hidden_checks=hidden_checks, hidden_points=hidden_points)
        )

    @property
    def calls(self) -> int:
        return sum(len(v) for v in self.checks.values())


@dataclass(frozen=True)
class Tape:
    """A recording read back: per check its events, the blobs they point into, the checks
    that ran live (`live`), and what it was recorded for."""

    seed: int
    key: str
    checks: dict[str, list[dict[str, Any]]]
    blobs: list[bytes]
    live: frozenset[str]
    hidden: dict[str, Any]

    @classmethod
    def parse(cls, data: str | bytes) -> Tape:
        """The tape in `data` (`Recording.to_text` or `to_bytes`); ValueError naming what is
        wrong."""
        try:
            raw = b""
            if isinstance(data, bytes):
                if not data.startswith(BINARY_MAGIC):
                    raise ValueError("not a recording")
                head, _, raw = data[len(BINARY_MAGIC) :].partition(b"\n")
                data = head.decode()
            tape = json.loads(data)
            if not isinstance(tape, dict) or tape.get("format") != TAPE_FORMAT:
                found = tape.get("format") if isinstance(tape, dict) else None
                raise ValueError(f"format {found!r}, expected {TAPE_FORMAT}")
            checks = tape["checks"]
            if not isinstance(checks, dict) or not all(
                isinstance(v, list) for v in checks.values()
            ):
                raise ValueError("its checks are not lists of events")
            return cls(
                seed=int(tape["seed"]),
                key=str(tape.get("key", "")),
                checks=checks,
                blobs=_split(raw, tape["blob_sizes"])
                if "blob_sizes" in tape
                else [base64.b64decode(b, validate=True) for b in tape["blobs"]],
                live=frozenset(str(c) for c in tape.get("live", [])),
                hidden=dict(tape["hidden"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(str(exc) or type(exc).__name__) from None


def _split(raw: bytes, sizes: list[int]) -> list[bytes]:
    if not all(type(n) is int and n >= 0 for n in sizes) or sum(sizes) != len(raw):
        raise ValueError("its blobs do not add up to their sizes")
    blobs, at = [], 0
    for n in sizes:
        blobs.append(raw[at : at + n])
        at += n
    return blobs


class Replay:
    """A `reference` source that answers from a release's tape; `stats` counts exact and
    close (last-bit different inputs) matches."""

    def __init__(self, path: Path, seed: int):
        try:
            tape = Tape.parse(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: not a readable release tape ({exc}); rebuild the release "
                "with `grader release`"
            ) from None
        self.blobs, self.checks = tape.blobs, tape.checks
        if seed != tape.seed:
            raise ConfigError(
                f"this release recorded the reference's answers for seed "
                f"{tape.seed} only: run without --seed (or with --seed {tape.seed})"
            )
        self.stats: ReplayStats = {"exact": 0, "close": 0, "close_checks": set()}
        self.notes: list[str] = []
        hidden = tape.hidden
        if hidden.get("checks"):
            self.notes.append(
                f"{hidden['checks']} hidden checks ({hidden['points']:g} points) are not in this "
                "release: they run when your work is graded, so this score is advisory"
            )

    def for_check(self, check: str) -> ReferenceObject:
        driver = _ReplayDriver(check, self.checks.get(check, []), self.blobs, self.stats)
        return ReferenceObject(driver, 0, "reference")


class _FollowDriver(_Driver):
    """Answers from `events` while the check asks exactly what was recorded, in order; from
    the first request that differs, from the live reference, after redoing the earlier ones."""

    def __init__(
        self,
        check: str,
        events: list[dict[str, Any]],
        blobs: list[bytes],
        module: Callable[[], ModuleType],
        *,
        live: bool,
        went_live: set[str],
    ):
        super().__init__(check, blobs)
        self.events, self.module, self.went_live = events, module, went_live
        # each request answered from the tape: (target, op, name, args, their blobs, RNG state)
        self.asked: list[tuple[int, str, str, Any, list[bytes], dict[str, Any]]] = []
        self.live: _RecordingDriver | None = None
        if live:
            self._go_live()

    def request(
        self, oid: int, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if self.live is None:
            k = len(self.asked)
            event = self.events[k] if k < len(self.events) else None
            try:
                data, blobs, digest = self.encode_args(args, kwargs)
            except NotRecordable:
                event = None
            if event is not None:
                rng = _rng_state()
                asked = (oid, op, name, digest, _rng_digest(rng))
                if asked == tuple(event.get(f) for f in EXACT_FIELDS):
                    self.asked.append((oid, op, name, data, blobs, rng))
                    return self._answer(event)
            self._go_live()
        assert self.live is not None
        return self.live.request(oid, op, name, args, kwargs)

    def _answer(self, event: dict[str, Any]) -> Any:
        start = time.perf_counter()
        try:
            if "rng" in event:
                _apply_rng(wire.decode(event["rng"], self.blobs, self._proxy))
            if "raised" in event:
                raise _exception(event["raised"])
            return wire.decode(event["result"], self.blobs, self._proxy)
        finally:  # the reference clock reads the recorded time, not the time spent decoding
            self.replayed_s += float(event.get("seconds", 0.0)) - (time.perf_counter() - start)

    def _go_live(self) -> None:
        """Redo the requests answered so far on the live reference (each from the RNG state
        it was asked in), so its objects are where the check left them; then go on live."""
        live = _RecordingDriver(self.check, self.module(), [], [], unrecordable=set())
        live.front, live.labels = self, self.labels
        now = _rng_state()
        for oid, op, name, data, blobs, rng in self.asked:
            args, kwargs = wire.decode(data, blobs, self._proxy)
            _apply_rng(rng)
            try:
                live.request(oid, op, name, tuple(args), kwargs)
            except Exception:  # noqa: BLE001 - raised as recorded; the check has seen it
                pass
        _apply_rng(now)
        self.live = live
        self.went_live.add(self.check)


EXACT_FIELDS = ("target", "op", "name", "digest", "rng_before")


class Follow:
    """A `reference` source for a batch and a cached `grader check`: a recorded `tape` while
    each check asks exactly what was recorded, the live reference (`module()`, loaded only
    then) from its first request that differs. `went_live`: the checks that needed it."""

    def __init__(self, tape: Tape, module: Callable[[], ModuleType]):
        self.tape, self.module = tape, module
        self.went_live: set[str] = set()
        self.notes: list[str] = []

    def for_check(self, check: str) -> ReferenceObject:
        driver = _FollowDriver(
            check,
            self.tape.checks.get(check, []),
            self.tape.blobs,
            self.module,
            live=check in self.tape.live,
            went_live=self.went_live,
        )
        return ReferenceObject(driver, 0, "reference")


def release_source(checks_dir: Path, reference_module: Path, seed: int) -> Replay | None:
    """The replaying source when this is a student release (a tape and no reference), else None."""
    path = tape_path(checks_dir)
    if reference_module.is_file() or not path.is_file():
        return None
    return Replay(path, seed)
