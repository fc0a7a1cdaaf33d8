"""The `student` proxy: checks call student code as if it were local; it runs in the worker.

    out = student.softmax(x)            # call a function, get plain data back
    layer = student.Linear(20, 10)      # construct an object: a RemoteObject handle
    layer.weight                        # attribute read, by value (a tensor)
    y = layer(x)                        # call it
    r = student.vjp(layer, x, grad_output=g, wrt=[0])   # forward + backward

Nothing the worker sends is unpickled: values arrive through `grader.wire` and are
validated there; everything that is not plain data stays in the worker as a handle.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from grader.judge.forbidden import Policy
from grader.sandbox import wire
from grader.sandbox.client import WorkerLost, WorkerProcess, WorkerSource
from grader.sandbox.limits import Limits


class StudentError(Exception):
    """Student code raised an exception (inside the worker); `info` is the worker's report
    of it, taken as text, whatever the worker sent."""

    def __init__(self, info: Any, what: str):
        info = info if isinstance(info, dict) else {}
        self.type_name = _text(info.get("type"), 200) or "Exception"
        self.message = _text(info.get("message", ""), 4000)
        self.traceback = _text(info.get("traceback", ""), 8000)
        self.file = _text(info.get("file", ""), 500)
        line = info.get("line", 0)
        self.line = line if type(line) is int and line >= 0 else 0
        self.what = what
        super().__init__(f"your code raised {self.type_name} in {what}: {self.message}")

    @property
    def not_implemented(self) -> bool:
        return self.type_name == "NotImplementedError"


def _text(value: Any, limit: int) -> str:
    """A string field of what the worker sent, at most `limit` characters."""
    return value[:limit] if isinstance(value, str) else ""


class Session:
    """One submission's link to its worker; replaces a worker that died, between checks."""

    def __init__(
        self,
        zygote: WorkerSource,
        *,
        workdir: str,
        module: str,
        limits: Limits,
        forbidden: Policy,
        masks: list[str],
    ):
        self.zygote, self.workdir, self.module, self.limits = zygote, workdir, module, limits
        self.forbidden, self.masks = forbidden, masks
        self._origin: str | None = None
        self.worker: WorkerProcess | None = None
        self.generation = 0
        self.released: list[int] = []  # handles of the live worker no RemoteObject refers to
        # how importing the submission failed: a fresh exception for each check that needs
        # it, so that none carries the traceback (and values) of an earlier check
        self.import_failure: Callable[[], Exception] | None = None
        self.annotations: dict[str, Any] = {}  # what the running check adds to its result
        self.notes: list[str] = []
        self.evidence: list[str] = []  # what the worker reported running, for the report
        self.outputs: list[str] = []
        self.timeout = limits.call_timeout_s
        self.seed = 0
        self.seeded = False  # whether the live worker has been seeded for the current check

    # -- lifecycle ------------------------------------------------------------------------

    def begin_check(self, seed: int) -> None:
        """Called before each check: fresh worker if the last one died, then seed it."""
        self.seed = seed
        self.annotations = {}  # what the check adds to its result (curves)
        self.seeded = False  # the worker is re-seeded lazily, at the check's first request
        self.timeout = self.limits.call_timeout_s
        if self.worker is not None and self.worker.dead:
            self._retire()

    def _retire(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.outputs.append(self.worker.output.text())
            self.worker = None

    def _live_worker(self) -> WorkerProcess:
        if self.import_failure is not None:
            raise self.import_failure()
        if self.worker is None:
            worker, hello = self.zygote.spawn(
                workdir=self.workdir,
                module=self.module,
                limits=self.limits,
                forbidden=self.forbidden.apis,
                masks=self.masks,
                seed=self.seed,
            )
            self.worker = worker
            self.generation += 1
            self.released = []
            notes = hello.get("notes")
            for note in notes if isinstance(notes, list) else []:
                if isinstance(note, str) and note not in self.notes:
                    self.notes.append(note[:1000])
            if not hello.get("ok"):
                self.import_failure = _import_failure(hello)
                self._retire()
                raise self.import_failure()
            self.seeded = False
        return self.worker

    def close(self) -> str:
        """Stop the worker; returns everything student code printed."""
        self._retire()
        return "".join(self.outputs)

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Allow the requests inside the block `seconds` each (e.g. a training run)."""
        old, self.timeout = self.timeout, seconds
        try:
            yield
        finally:
            self.timeout = old

    # -- requests -------------------------------------------------------------------------

    def _send(
        self,
        message: dict[str, Any],
        what: str,
        values: dict[str, Any] | None = None,
        origin: str | None = None,
    ) -> Any:
        """One request; `origin` is the student's top-level name it goes through (for
        `[forbidden] only_in`); handles in the reply inherit it."""
        worker = self._live_worker()
        if not self.seeded:  # the worker seeds itself before it serves this request
            message["seed"], self.seeded = self.seed, True
        if self.released:  # the worker frees them before it serves this request
            message["release"], self.released = self.released, []
        blobs: list[bytes] = []
        for key, value in (values or {}).items():
            message[key] = wire.encode(value, blobs, self._encode_handle)
        start = time.perf_counter()
        reply, rblobs = worker.request(message, blobs, self.timeout, what)
        self.last_seconds = time.perf_counter() - start
        ran = reply.get("forbidden", [])  # the worker's word: evidence, never a verdict
        for note in self.forbidden.ran_notes(
            [a for a in ran if isinstance(a, str)] if isinstance(ran, list) else [], origin
        ):
            if note not in self.evidence:
                self.evidence.append(note)
        if not reply.get("ok"):
            error = reply.get("error")
            if not isinstance(error, dict):
                raise worker.malformed("an error report that is not a mapping")
            raise StudentError(error, what)
        self._origin = origin
        return worker.decode(reply.get("value"), rblobs, self._decode_handle)

    def _encode_handle(self, obj: Any) -> dict[str, int]:
        if isinstance(obj, RemoteObject):
            if obj._generation != self.generation:
                raise WorkerLost(
                    "this object was lost when the worker running your code was "
                    "restarted after an earlier failure"
                )
            return {"__handle__": obj._id}
        raise TypeError(f"cannot send a {type(obj).__name__} to the student's code")

    def _decode_handle(self, data: dict[str, Any]) -> RemoteObject:
        type_name = _text(data.get("type"), 100) or "?"
        return RemoteObject(
            self, data["__handle__"], type_name, _text(data.get("repr"), 300), self._origin
        )


def _import_failure(hello: dict[str, Any]) -> Callable[[], Exception]:
    """How to raise, check after check, the failure a worker's hello reports."""
    lost = hello.get("lost")
    if lost:
        reason = _text(lost, 4000) or "the worker was lost while importing your module"
        return lambda: WorkerLost(reason)
    error = hello.get("error")
    return lambda: StudentError(error, "importing your module")


def _what(path: list[str], kind: str = "") -> str:
    return f"`{'.'.join(path)}`" + (f" ({kind})" if kind else "")


class Student:
    """The `student` fixture: attributes of the student's module, reached through the worker."""

    def __init__(self, session: Session):
        self._session = session

    def __getattr__(self, name: str) -> RemoteRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return RemoteRef(self._session, None, [name])

    def get(self, name: str) -> Any:
        """The value of a module-level name (e.g. a constant), by value."""
        self._session.forbidden.check_static(name)
        return self._session._send(
            {"op": "getattr", "target": {"path": [name]}}, _what([name]), origin=name
        )

    def put(self, value: Any) -> RemoteObject:
        """Store `value` in the worker and return a handle to it (to avoid resending it)."""
        handle = self._session._send({"op": "put"}, "storing an input", {"value": value})
        return cast(RemoteObject, handle)  # what the worker sends for a kept value

    def vjp(
        self,
        fn: RemoteRef | RemoteObject,
        *args: Any,
        grad_output: Any,
        wrt: Sequence[int] = (),
    ) -> dict[str, Any]:
        """Run `fn(*args)` (student code), then backward with `grad_output`.

        Returns {"out": tensor, "grads": [grad of args[i] for i in wrt],
        "params": {name: grad} for a module}.
        """
        if isinstance(fn, RemoteRef) and fn._handle is None:  # as a call would: static check
            self._session.forbidden.check_static(fn._path[0])
        target = fn._target()
        result = self._session._send(
            {"op": "vjp", "target": target, "wrt": list(wrt)},
            f"{fn._describe()} (forward and backward)",
            {"args": list(args), "grad_output": grad_output},
            origin=fn._origin(),
        )
        return cast(dict[str, Any], result)  # what the worker's vjp returns

    def time_limit(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        """Context manager: each request inside may take up to `seconds` (judge's clock)."""
        return self._session.time_limit(seconds)

    @property
    def last_seconds(self) -> float:
        """Judge-measured wall time of the last request (round trip)."""
        return self._session.last_seconds


def annotate(student: Student, **notes: Any) -> None:
    """Add judge-computed extras (e.g. `curves`) to the result of the check running now."""
    student._session.annotations.update(notes)


class RemoteRef:
    """A lazy path to something in the worker, e.g. `student.Linear` or `obj.method`."""

    def __init__(self, session: Session, handle: RemoteObject | None, path: list[str]):
        self._session, self._handle, self._path = session, handle, path

    def _target(self) -> dict[str, Any]:
        if self._handle is None:
            return {"path": self._path}
        return {
            "__handle__": self._session._encode_handle(self._handle)["__handle__"],
            "path": self._path,
        }

    def _describe(self) -> str:
        base = [] if self._handle is None else [self._handle._type]
        return _what(base + self._path)

    def _origin(self) -> str | None:
        return self._path[0] if self._handle is None else self._handle._origin_name

    def __getattr__(self, name: str) -> RemoteRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return RemoteRef(self._session, self._handle, self._path + [name])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(args, kwargs, keep=False)

    def keep(self, *args: Any, **kwargs: Any) -> RemoteObject:
        """Call, but leave the result in the worker and return a handle to it."""
        return cast(RemoteObject, self._call(args, kwargs, keep=True))  # a kept result: a handle

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any], keep: bool) -> Any:
        if self._handle is None:
            self._session.forbidden.check_static(self._path[0])
        return self._session._send(
            {"op": "call", "target": self._target(), "keep": keep},
            self._describe(),
            {"args": list(args), "kwargs": kwargs},
            origin=self._origin(),
        )

    def value(self) -> Any:
        """Read this attribute path by value."""
        if self._handle is None:
            self._session.forbidden.check_static(self._path[0])
        return self._session._send(
            {"op": "getattr", "target": self._target()}, self._describe(), origin=self._origin()
        )

    def __repr__(self) -> str:
        return f"<student {self._describe()}>"


class RemoteObject:
    """An object that lives in the worker (a module, a model, ...)."""

    # set in __init__ with object.__setattr__ (this class's __setattr__ sets the worker's)
    _session: Session
    _origin_name: str | None
    _id: int
    _type: str
    _repr: str
    _generation: int

    def __init__(
        self, session: Session, hid: int, type_name: str, text: str, origin: str | None = None
    ):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_origin_name", origin)  # the top-level name it came from
        object.__setattr__(self, "_id", hid)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_repr", text)
        object.__setattr__(self, "_generation", session.generation)

    def __del__(self) -> None:
        session = self._session
        if session.generation == self._generation:
            session.released.append(self._id)

    @property
    def type_name(self) -> str:
        return self._type

    @property
    def text(self) -> str:
        """`repr()` of the object, as computed in the worker when it was returned."""
        return self._repr

    def _target(self) -> dict[str, Any]:
        return {"__handle__": self._session._encode_handle(self)["__handle__"], "path": []}

    def _describe(self) -> str:
        return f"`{self._type}`"

    def _origin(self) -> str | None:
        return self._origin_name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return RemoteRef(self._session, self, [name]).value()

    def attr(self, dotted: str) -> Any:
        """Read a dotted attribute path by value, e.g. `layer.attr("weight.grad")`."""
        return RemoteRef(self._session, self, dotted.split(".")).value()

    def method(self, name: str) -> RemoteRef:
        """A method reference, callable in one round trip: `obj.method("forward")(x)`."""
        return RemoteRef(self._session, self, name.split("."))

    def __setattr__(self, name: str, value: Any) -> None:
        self._session._send(
            {"op": "setattr", "target": dict(self._target(), path=[name])},
            f"setting `{self._type}.{name}`",
            {"value": value},
            origin=self._origin_name,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return RemoteRef(self._session, self, [])(*args, **kwargs)

    def keep(self, *args: Any, **kwargs: Any) -> RemoteObject:
        return RemoteRef(self._session, self, []).keep(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<student object {self._type}: {self._repr}>"
