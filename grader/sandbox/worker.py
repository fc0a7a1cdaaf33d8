"""The worker: the only process that runs student code. Untrusted; holds no answers.

It imports the submission, then answers the judge's requests (call a function,
construct an object, read an attribute, forward/backward a module) with plain
data. It never sees reference code, check code or expected values.
"""

from __future__ import annotations

import importlib
import os
import random
import socket
import sys
import traceback
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from grader.sandbox import confine, wire
from grader.sandbox.limits import Limits


def resolve_api(name: str) -> Any:
    """The object a dotted name such as `torch.nn.functional.linear` refers to, or None."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


class Recorder(TorchFunctionMode):
    """Records which forbidden torch functions run while student code runs."""

    def __init__(self, forbidden: dict[int, str]):
        super().__init__()
        self.forbidden = forbidden
        self.seen: set[str] = set()

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Iterable[type],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        name = self.forbidden.get(id(func))
        if name is not None:
            self.seen.add(name)
        return func(*args, **(kwargs or {}))


class Kept:
    """Marks a result the judge asked to keep in the worker: it is sent as a handle."""

    def __init__(self, value: Any):
        self.value = value


class Worker:
    """Serves the judge's requests over one socket."""

    def __init__(self, sock: socket.socket, module: types.ModuleType | None, forbidden: list[str]):
        self.sock = sock
        self.module = module
        self.handles: dict[int, Any] = {}
        self.next_handle = 1
        self.workdir = os.getcwd()
        apis = {name: resolve_api(name) for name in forbidden}
        self.recorder = Recorder({id(obj): name for name, obj in apis.items() if obj is not None})
        self.active = bool(self.recorder.forbidden)
        for name, obj in apis.items():
            if isinstance(obj, type):  # classes are not torch functions: watch their constructor
                cls: type[Any] = obj  # a class: its own __init__, not that of `type`
                cls.__init__ = self._watch(cls.__init__, name)

    def _watch(self, init: Callable[..., None], name: str) -> Callable[..., None]:
        recorder = self.recorder

        def watched(*args: Any, **kwargs: Any) -> None:
            recorder.seen.add(name)
            return init(*args, **kwargs)

        return watched

    # -- values ---------------------------------------------------------------------------

    def _handle(self, obj: Any) -> Any:
        if isinstance(obj, Kept):
            obj = obj.value
        elif (items := wire.as_list(obj)) is not None:
            return wire.encode(items, self._blobs, self._handle)
        hid = self.next_handle
        self.next_handle += 1
        self.handles[hid] = obj
        try:
            text = repr(obj)[:300]
        except BaseException:  # noqa: BLE001 - student __repr__ may do anything
            text = f"<{type(obj).__name__}>"
        return {"__handle__": hid, "type": type(obj).__name__, "repr": text}

    def _lookup(self, data: dict[str, Any]) -> Any:
        try:
            return self.handles[data["__handle__"]]
        except KeyError:
            raise wire.ProtocolError("unknown handle") from None

    def _target(self, target: dict[str, Any]) -> Any:
        obj = self._lookup(target) if "__handle__" in target else self.module
        for name in target.get("path", []):
            obj = getattr(obj, name)
        return obj

    # -- requests ---------------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            try:
                message, blobs = wire.recv(self.sock)
            except EOFError:
                os._exit(0)
            self._blobs: list[bytes] = []
            self.recorder.seen = set()
            for hid in message.get("release", []):  # handles the judge no longer refers to
                self.handles.pop(hid, None)
            try:
                if "seed" in message:  # the check's seed, sent with its first request
                    seed_everything(int(message["seed"]))
                value = self.dispatch(message, blobs)
                reply = {"ok": True, "value": wire.encode(value, self._blobs, self._handle)}
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                self._blobs = []
                reply = {"ok": False, "error": describe(exc, self.workdir)}
            reply["forbidden"] = sorted(self.recorder.seen)
            _flush()
            wire.send(self.sock, reply, self._blobs)

    def dispatch(self, msg: dict[str, Any], blobs: list[memoryview]) -> Any:
        op = msg.get("op")

        def data(key: str, default: Any = None) -> Any:
            return wire.decode(msg.get(key, default), blobs, self._lookup)

        if op == "call":
            fn = self._target(msg["target"])
            result = self._student(fn, *data("args", []), **data("kwargs", {"__dict__": []}))
            return self._keep(result) if msg.get("keep") else result
        if op == "getattr":
            return self._student(self._target, msg["target"])
        if op == "setattr":
            *path, name = msg["target"]["path"]
            obj = self._target(dict(msg["target"], path=path))
            return self._student(setattr, obj, name, data("value"))
        if op == "put":
            return self._keep(data("value"))
        if op == "vjp":
            return self.vjp(
                self._target(msg["target"]),
                data("args", []),
                data("grad_output"),
                msg.get("wrt", []),
            )
        raise wire.ProtocolError(f"unknown request {op!r}")

    @staticmethod
    def _keep(obj: Any) -> Kept:
        return Kept(obj)

    def _student(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.active:
            return fn(*args, **kwargs)
        with self.recorder:
            return fn(*args, **kwargs)

    def vjp(
        self, fn: Callable[..., Any], args: list[Any], grad_output: Any, wrt: list[int]
    ) -> dict[str, Any]:
        """Forward `fn(*args)` (student code), then backward with `grad_output` (ours)."""
        args = list(args)
        for i in wrt:
            args[i] = args[i].detach().clone().requires_grad_(True)
        params = dict(fn.named_parameters()) if isinstance(fn, torch.nn.Module) else {}
        for p in params.values():
            p.grad = None
        out = self._student(fn, *args)
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"expected the forward pass to return a tensor, got {type(out).__name__}"
            )
        if out.grad_fn is None and not out.requires_grad:
            raise RuntimeError(
                "the output is not connected to the autograd graph "
                "(no grad_fn): gradients cannot flow back through it"
            )
        torch.autograd.backward(out, grad_output)
        return {
            "out": out,
            "grads": [args[i].grad for i in wrt],
            "params": {name: p.grad for name, p in params.items()},
        }


def seed_everything(seed: int) -> None:
    """Seed torch's CPU generator, numpy's and Python's (torch.manual_seed would also queue
    seeds for accelerators, formatting a stack each time: ~0.2 ms a check)."""
    torch.default_generator.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def describe(exc: BaseException, workdir: str) -> dict[str, Any]:
    """Type, message and the student's own frames of an exception."""
    if isinstance(exc, SystemExit):
        message = f"sys.exit({exc.code!r}) was called"
    else:
        try:
            message = str(exc)[:2000]
        except BaseException:  # noqa: BLE001
            message = "<unprintable message>"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(workdir)]
    where: dict[str, Any] = {}
    if frames:
        where = {"file": os.path.relpath(frames[-1].filename, workdir), "line": frames[-1].lineno}
    text = "".join(traceback.format_list(frames))
    if isinstance(exc, SyntaxError) and str(exc.filename or "").startswith(workdir):
        # the student's file did not compile: the place is the error's own, not a frame's
        line = exc.lineno if type(exc.lineno) is int else 0
        where = {"file": os.path.relpath(str(exc.filename), workdir), "line": line}
        try:
            text += "".join(traceback.format_exception_only(type(exc), exc)[:-1])
        except BaseException:  # noqa: BLE001 - a student subclass may break formatting
            pass
    text = text.replace(workdir + os.sep, "")
    return {"type": type(exc).__name__, "message": message, "traceback": text[-4000:], **where}


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the student may have replaced the stream
            pass


def refuse(sock: socket.socket, exc: BaseException) -> NoReturn:
    """Tell the judge the worker could not be set up (before any student code ran), and exit."""
    try:
        wire.send(sock, {"ok": False, "setup_error": f"{type(exc).__name__}: {exc}"}, [])
    finally:
        os._exit(70)


def start(
    chan_fd: int, out_fd: int, request: dict[str, Any], notes: list[str], pid_namespace: bool
) -> NoReturn:
    """Entry point of a freshly forked worker; never returns."""
    sock = socket.socket(fileno=chan_fd)
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        os.close(devnull)
        os.closerange(3, sock.fileno())  # nothing the zygote had open reaches student code
        os.closerange(sock.fileno() + 1, 1 << 16)
        limits = Limits.from_dict(request["limits"])
        workdir = request["workdir"]
        notes = notes + confine.confine_worker(workdir, limits, pid_namespace, int(request["uid"]))
        sys.path[:] = [workdir] + [p for p in sys.path if p not in ("", "/") and os.path.isdir(p)]
        torch.default_generator.manual_seed(int(request.get("seed", 0)))
    except BaseException as exc:  # noqa: BLE001 - before any student code: the sandbox's fault
        refuse(sock, exc)
    wire.send(sock, {"setup": "ok", "notes": notes}, [])  # before any student code runs
    module, error = None, None
    try:
        module = importlib.import_module(request["module"])
    except BaseException as exc:  # noqa: BLE001 - import runs arbitrary student code
        error = describe(exc, workdir)
    worker = Worker(sock, module, request.get("forbidden", []))
    _flush()
    wire.send(sock, {"ok": error is None, "error": error}, [])
    worker.serve()
    os._exit(0)
