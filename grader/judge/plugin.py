"""The pytest plugin the judge runs checks with: fixtures, per-check seeds, verdicts.

Fixtures for check files: `student` (the proxy), `reference` (the reference module,
judge side), `spec` (the AssignmentSpec), `seed` (this check's seed). Every check
becomes one `CheckResult`; a check's tier is `hidden` when its file lies under the
assignment's `checks/hidden/` folder, `public` otherwise. A check file may define
`hint_for_error(message) -> str`: the hint for an exception student code raised in its
checks, when it recognises the message ("" otherwise). In a notebook, every location is
its cell and the line within it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import time
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, TypedDict

import pytest

from grader import data
from grader.checking import CheckFailed
from grader.contract import Declared
from grader.errors import ConfigError, SandboxError
from grader.intake.notebook import CellMap
from grader.judge import hints
from grader.judge.forbidden import ForbiddenAPIUsed
from grader.judge.proxy import Session, Student, StudentError
from grader.judge.replay import ReferenceObject, ReferenceSource, ReplayMiss
from grader.outputs.schema import CheckResult
from grader.sandbox.client import WorkerLost
from grader.sandbox.worker import seed_everything
from grader.spec import AssignmentSpec

Verdict = tuple[str, str, str, str, int]  # (status, message, hint, file, line) of a check
FRAME = re.compile(r'File "([^"]*)", line \d+, in (\w+)')


def student_frames(traceback: str, files: frozenset[str]) -> list[str]:
    """The functions a student traceback passes through, in `files` (base names) only."""
    return [name for path, name in FRAME.findall(traceback) if Path(path).name in files]


def check_seed(base: int, check_id: str) -> int:
    """A check's seed: derived from the base seed and its id, stable across runs and machines."""
    digest = hashlib.sha256(f"{base}:{check_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def load_reference(spec: AssignmentSpec) -> ModuleType:
    """Import the reference solution (judge side only) under a private module name."""
    path = spec.reference / f"{spec.module}.py"
    if not path.is_file():
        raise ConfigError(f"no reference solution at {path}")
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[
        :12
    ]  # two courses, two modules
    name = f"_grader_reference_{spec.id}_{where}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    # a .py file always gets a spec with a source loader
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _student_error_hint(
    exc: StudentError, sources: Mapping[str, str], error_hint: Callable[[str], str] | None
) -> str:
    """The check file's `hint_for_error(message)`, else a hint from the student's source at
    the error's line, else one for a well-known error message."""
    if error_hint is not None:
        try:
            found = error_hint(exc.message)
        except Exception:  # noqa: BLE001 - a hint never changes a verdict, even a broken one
            found = ""
        if found:
            return found
    source = sources.get(exc.file, "")
    return hints.source_hint(exc.type_name, exc.message, source, exc.line) or hints.error_hint(
        exc.message
    )


def verdict(
    exc: BaseException | None,
    *,
    sources: Mapping[str, str] | None = None,
    error_hint: Callable[[str], str] | None = None,
) -> Verdict:
    """(status, message, hint, file, line) for the exception a check ended with.

    For an exception in student code, `sources` (the submission's files by name, read before
    it ran) and the check file's `error_hint` may name the mistake.
    """
    if exc is None:
        return "passed", "", "", "", 0
    if isinstance(exc, CheckFailed):
        return "failed", exc.message, exc.hint, exc.file, exc.line
    if isinstance(exc, StudentError):
        if exc.not_implemented:
            text = f"not implemented: {exc.message}" if exc.message else "not implemented"
            return "failed", text, "", exc.file, exc.line
        message = str(exc) + (f"\n{exc.traceback.rstrip()}" if exc.traceback else "")
        hint = _student_error_hint(exc, sources or {}, error_hint)
        return "failed", message, hint, exc.file, exc.line
    if isinstance(exc, (WorkerLost, ForbiddenAPIUsed)):
        return "failed", str(exc), "", "", 0
    if isinstance(exc, SandboxError):  # the machine failed, not the student's code
        return "error", str(exc), "", "", 0
    if isinstance(exc, ReplayMiss):  # a student release cannot run this check
        return "error", str(exc), "", "", 0
    if isinstance(exc, AssertionError):
        return "failed", str(exc).strip() or "assertion failed", "", "", 0
    return (
        "error",
        f"the check itself failed ({type(exc).__name__}: {exc}); tell your instructor",
        "",
        "",
        0,
    )


class _Run(TypedDict):
    """One check's run, kept on its pytest item from the protocol hook to the report hook."""

    start: float  # time.perf_counter() when it started
    verdict: Verdict | None  # of the first exception it ended with: text, never the exception
    seed: int


def forget(exc: BaseException) -> None:
    """Let go of what a recorded exception holds: the local variables of every frame of its
    traceback and of the exceptions chained to it (student values, reply buffers). The frames
    themselves may live on in a cycle with pytest's record of the call, until collected."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        tb = e.__traceback__
        while tb is not None:
            _clear(tb.tb_frame)
            tb = tb.tb_next
        todo += [e.__cause__, e.__context__]


def _clear(frame: FrameType) -> None:
    try:
        frame.clear()
    except RuntimeError:  # still running: its locals are its caller's business
        return
    # before Python 3.13, a frame whose locals were read (pytest's traceback does) keeps a
    # dict of them, which clear() leaves alone; reading it again updates it: empty
    frame.f_locals  # noqa: B018


def forget_last_failure() -> None:
    """Drop the failure pytest keeps for post-mortem debugging (`sys.last_value`, ...)."""
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)


_RUN = pytest.StashKey[_Run]()


class GraderPlugin:
    """Runs in the judge; never imports student code.

    One plugin serves one pytest session, which collects the checks once; `begin` binds the
    next submission's run (its worker session, seed, reference source) and resets what a run
    collects, so a judge can grade one submission after another without collecting again.
    `body(session)`, when set, runs in place of pytest's own test loop (`runner.with_checks`).
    """

    def __init__(self, spec: AssignmentSpec, body: Callable[[pytest.Session], None] | None = None):
        self._spec = spec
        self.body = body
        self.error: BaseException | None = None  # what `body` raised, raised again by the caller
        self.collect_errors: list[str] = []
        self.problems: list[str] = []  # the checks break the check contract (found at collection)
        self._reference: ModuleType | None = None
        self.begin(spec, None)

    def begin(
        self,
        spec: AssignmentSpec,
        session: Session | None,
        base_seed: int = 0,
        *,
        data_dir: str | None = None,
        references: ReferenceSource | None = None,
        on_check: Callable[[CheckResult], None] | None = None,
        student_files: frozenset[str] = frozenset(),
        sources: Mapping[str, str] | None = None,
        cells: CellMap | None = None,
    ) -> None:
        """Bind the next run: `spec` (the collected checks' assignment, e.g. with other limits),
        the submission's worker `session`, and what its results need; forget the last run's."""
        if spec.checks_dir != self._spec.checks_dir:
            raise ConfigError(f"these checks are {self._spec.checks_dir}, not {spec.checks_dir}")
        self._spec, self.session, self.base_seed = spec, session, base_seed
        self.sources = sources or {}  # the submission's files by name, for hints
        self.cells = cells  # a notebook's: locations become its cells and lines
        self.on_check = on_check  # called with each CheckResult as its check finishes
        self.data_dir = data_dir or spec.data_dir
        self._datasets: dict[tuple[str, tuple[tuple[str, Any], ...]], data.Split] = {}
        self.results: list[CheckResult] = []
        self.config_errors: list[str] = []  # a check found the course misconfigured
        self.references = references  # a grader.replay source (recording or replaying), or None
        self.student_files = student_files  # base names of the submission's .py files
        self.frames: dict[str, list[str]] = {}  # check id -> student functions its error crossed

    # -- fixtures -------------------------------------------------------------------------

    @pytest.fixture
    def student(self) -> Student:
        assert self.session is not None, "begin() binds a run before any check runs"
        return Student(self.session)

    @pytest.fixture
    def reference(self, request: pytest.FixtureRequest) -> ModuleType | ReferenceObject:
        if self.references is not None:
            return self.references.for_check(request.node.name)
        if self._reference is None:
            self._reference = load_reference(self._spec)
        return self._reference

    @pytest.fixture
    def spec(self) -> AssignmentSpec:
        return self._spec

    @pytest.fixture
    def load_data(self) -> Callable[..., data.Split]:
        """`load_data(name="digits", seed=0, ...)`: a cached `grader.data.Split`."""

        def load(name: str = "digits", **kwargs: Any) -> data.Split:
            key = (name, tuple(sorted(kwargs.items())))
            if key not in self._datasets:
                self._datasets[key] = data.load(name, data_dir=self.data_dir, **kwargs)
            return self._datasets[key]

        return load

    @pytest.fixture
    def seed(self, request: pytest.FixtureRequest) -> int:
        return check_seed(self.base_seed, request.node.name)

    # -- hooks ----------------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "check(task, points, needs): see grader.contract")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        problems = self._contract_problems(items)
        if problems:
            self.problems.append("the checks break the check contract:\n  " + "\n  ".join(problems))
            items[:] = []
            return
        items.sort(key=lambda item: (self._tier(item) == "hidden", item.path.name))

    def task_of(self, item: pytest.Item) -> str:
        return self._declared(item).task

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """Run `body(session)` in place of pytest's loop, once the checks are collected."""
        if self.body is None:
            return None
        if not (self.collect_errors or self.problems):
            try:
                self.body(session)
            except BaseException as exc:  # noqa: BLE001 - raised again once pytest has ended
                self.error = exc
        return True

    def _declared(self, item: pytest.Item) -> Declared:
        return self._spec.contract.checks[getattr(item, "originalname", item.name)]

    def _contract_problems(self, items: list[pytest.Item]) -> list[str]:
        """What runs must be what `grader.contract` read: every check declared, as read."""
        contract = self._spec.contract
        problems = list(contract.problems)
        cases: dict[str, int] = {}
        for item in items:
            base = getattr(item, "originalname", item.name)
            cases[base] = cases.get(base, 0) + 1
            mark = item.get_closest_marker("check")
            declared = contract.checks.get(base)
            if declared is None or mark is None:
                if not problems:
                    problems.append(f"{item.nodeid}: no @check(task=..., points=...) on it")
                continue
            kwargs = dict(mark.kwargs)
            if (kwargs.get("task"), float(kwargs.get("points", -1)), kwargs.get("needs")) != (
                declared.task,
                declared.points,
                declared.needs,
            ):
                problems.append(f"{item.nodeid}: its @check() is not the one written in the file")
        for base, n in cases.items():
            declared = contract.checks.get(base)
            if declared is not None and n != declared.cases:
                problems.append(
                    f"{declared.where}: {n} cases run but {declared.cases} were read; write "
                    "@pytest.mark.parametrize with a literal list"
                )
        return problems

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    def _tier(self, item: pytest.Item) -> str:
        """`hidden` for a check under the assignment's checks/hidden/, wherever the course is."""
        hidden = (self._spec.checks_dir / "hidden").resolve()
        return "hidden" if Path(item.path).resolve().is_relative_to(hidden) else "public"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, None]:
        seed = check_seed(self.base_seed, item.name)
        seed_everything(seed)
        assert self.session is not None, "begin() binds a run before any check runs"
        self.session.begin_check(seed)
        item.stash[_RUN] = _Run(start=time.perf_counter(), verdict=None, seed=seed)
        yield
        forget_last_failure()
        info = item.stash[_RUN]
        status, message, hint, file, line = info["verdict"] or verdict(None)
        declared = self._declared(item)
        cell = 0
        if self.cells is not None:
            message, hint = self.cells.translate(message), self.cells.translate(hint)
            if file == self.cells.module and self.cells.locate(line)[0]:
                file, (cell, line) = self.cells.notebook, self.cells.locate(line)
        points = self._spec.points_for(item.name)
        self.results.append(
            CheckResult(
                id=item.name,
                task=declared.task,
                name=declared.name,
                tier=self._tier(item),
                status=status,
                score=points if status == "passed" else 0.0,
                max_score=points,
                message=message,
                hint=hint,
                duration_s=round(time.perf_counter() - info["start"], 4),
                seed=seed,
                file=file,
                line=line,
                cell=cell,
                curves=dict(self.session.annotations.get("curves", {})),
            )
        )
        if self.on_check is not None:
            self.on_check(self.results[-1])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, object, None]:
        yield  # pytest's report of this phase is made: only text from here on
        if call.excinfo is None:
            return
        exc = call.excinfo.value
        if item.stash[_RUN]["verdict"] is None:
            hook = getattr(getattr(item, "module", None), "hint_for_error", None)
            item.stash[_RUN]["verdict"] = verdict(
                exc, sources=self.sources, error_hint=hook if callable(hook) else None
            )
            if isinstance(exc, StudentError):
                self.frames[item.name] = student_frames(exc.traceback, self.student_files)
            if isinstance(exc, ConfigError):  # e.g. no data_dir: stop the run
                self.config_errors.append(f"{item.name}: {exc}")
                item.session.shouldstop = "configuration error"
        forget(exc)


class TerseReports:
    """pytest's report of each phase of a check without the formatted traceback and keywords,
    which take ~15 ms a failure to make and nothing reads: the verdict comes from the
    exception itself (`GraderPlugin`), and no terminal or report file shows pytest's."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        excinfo = call.excinfo
        if call.when == "collect" or (
            excinfo is not None and excinfo.errisinstance(pytest.skip.Exception)
        ):
            return None  # pytest's own report, which skips need
        return pytest.TestReport(
            item.nodeid,
            item.location,
            {},
            "passed" if excinfo is None else "failed",
            None if excinfo is None else excinfo.exconly()[:2000],
            call.when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
        )
