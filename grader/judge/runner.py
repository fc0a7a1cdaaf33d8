"""Grading one submission: prepare it, run the checks in the judge, collect a GradeResult."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
import torch

from grader import data
from grader.contract import task_order
from grader.errors import ConfigError
from grader.intake.notebook import CellMap
from grader.intake.submission import prepare
from grader.judge.causes import assign_causes, import_banner, structure
from grader.judge.forbidden import Policy
from grader.judge.plugin import GraderPlugin, TerseReports
from grader.judge.proxy import Session
from grader.judge.replay import ReferenceSource, release_source
from grader.outputs.schema import CheckResult, GradeResult
from grader.sandbox.client import WorkerSource
from grader.spec import AssignmentSpec

Result = TypeVar("Result")

torch.set_num_threads(1)  # deterministic, and the same conditions as the worker's


def secret_paths(course: Path) -> list[str]:
    """Folders student code must not read: reference solutions, checks, the grader's tests,
    the recorded reference answers."""
    return [
        str(course / name)
        for name in ("reference", "assignments", "tests", ".grader-cache")
        if (course / name).exists()
    ]


def grade(
    spec: AssignmentSpec,
    submission: Path | None,
    *,
    course: Path,
    zygote: WorkerSource,
    seed: int | None = None,
    masks: Sequence[str] = (),
    data_dir: str | None = None,
    references: ReferenceSource | None = None,
    on_check: Callable[[CheckResult], None] | None = None,
    tasks: Sequence[str] = (),
    keep_checks: bool = False,
) -> GradeResult:
    """Grade `submission` (default: the assignment's stub) against `spec`'s checks.

    Inside `with_checks(spec, ...)` the checks that session collected run again; otherwise a
    session is started for this one grade. `keep_checks`: leave the check modules imported
    (for the judges a batch forks, which then collect them without importing them again).

    `on_check(check_result)`, if given, is called as each check finishes (e.g. by a batch).

    `references`: where checks' `reference` comes from (a `grader.replay` source); default:
    the reference module, or in a student release the recorded answers.

    `tasks`: run only the checks of these tasks (a partial grade).
    """
    active = _ACTIVE.get(spec.checks_dir)
    if active is None or active.busy:
        return with_checks(
            spec,
            lambda: grade(
                spec,
                submission,
                course=course,
                zygote=zygote,
                seed=seed,
                masks=masks,
                data_dir=data_dir,
                references=references,
                on_check=on_check,
                tasks=tasks,
            ),
            keep_checks=keep_checks,
        )
    start = time.perf_counter()
    submission = submission or spec.root
    base_seed = spec.seed if seed is None else seed
    if references is None:
        references = release_source(
            spec.checks_dir, spec.reference / f"{spec.module}.py", base_seed
        )
    prepared = prepare(submission, spec)
    cells = prepared.cells
    found = structure(spec, prepared.sources, cells)
    plugin = active.plugin
    try:
        # the submission's text, for hints: read here, before any of it runs
        sources = {
            p.relative_to(prepared.work).as_posix(): p.read_text(errors="replace")
            for p in prepared.sources
        }
        session = Session(
            zygote,
            workdir=str(prepared.work),
            module=spec.module,
            limits=spec.limits,
            forbidden=Policy.for_submission(
                spec, prepared.sources, cells.where if cells is not None else None
            ),
            masks=secret_paths(course) + data.source_paths(data_dir or spec.data_dir) + list(masks),
        )
        plugin.begin(
            spec,
            session,
            base_seed,
            data_dir=data_dir,
            references=references,
            on_check=on_check,
            student_files=frozenset(p.name for p in prepared.sources),
            sources=sources,
            cells=cells,
        )
        try:
            active.run(frozenset(tasks))
        finally:
            output = session.close()
    finally:
        shutil.rmtree(prepared.tmp, ignore_errors=True)
    results, frames, config_errors = plugin.results, plugin.frames, plugin.config_errors
    plugin.begin(spec, None)  # nothing of this submission stays bound
    if config_errors:
        raise ConfigError(config_errors[0])
    if not results:
        raise ConfigError(
            f"{spec.checks_dir}: no checks found (test_*.py files with test_ functions)"
        )
    import_failed = session.import_failure is not None
    if import_failed and not found.broken:
        found.findings.insert(0, import_banner(results, prepared.sources))
    assign_causes(results, spec.contract, frames, found, import_failed=import_failed)
    return GradeResult(
        assignment=spec.id,
        title=spec.title,
        submission=str(submission),
        seed=base_seed,
        checks=results,
        sandbox_notes=session.notes,
        output=output,
        duration_s=time.perf_counter() - start,
        notes=prepared.notes
        + list(getattr(references, "notes", []))
        + session.evidence
        + _cell_note(cells, results),
        structure=found.findings,
        only_tasks=sorted(set(tasks), key=task_order),
        tasks={t.id: ", ".join(t.names) for t in spec.contract.tasks.values()},
    )


class CollectedChecks:
    """An assignment's checks as one pytest session collected them, run again for each
    submission; each run ends with every fixture torn down (the last item has no next)."""

    def __init__(self, plugin: GraderPlugin, session: pytest.Session):
        self.plugin, self.session = plugin, session
        self.busy = False

    def run(self, tasks: frozenset[str]) -> None:
        """Run the checks (of `tasks` only, when given) with what `plugin.begin` bound."""
        items = [i for i in self.session.items if not tasks or self.plugin.task_of(i) in tasks]
        self.session.shouldstop = self.session.shouldfail = False
        self.busy = True
        try:
            for k, item in enumerate(items):
                item._report_sections = []  # pytest's captured output of the last run
                nextitem = items[k + 1] if k + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                if self.session.shouldstop:
                    break
        finally:
            self.busy = False


_ACTIVE: dict[Path, CollectedChecks] = {}  # the sessions running in this process, by checks


def with_checks(
    spec: AssignmentSpec, body: Callable[[], Result], *, keep_checks: bool = False
) -> Result:
    """`body()`, inside one pytest session that has collected `spec`'s checks: every `grade`
    of this assignment in it runs them without collecting them again (a judge that grades
    one submission after another)."""
    if not spec.checks_dir.is_dir():
        raise ConfigError(f"{spec.checks_dir}: no checks folder for {spec.id}")
    outcome: list[Result] = []

    def inside(session: pytest.Session) -> None:
        _ACTIVE[spec.checks_dir] = CollectedChecks(plugin, session)
        try:
            outcome.append(body())
        finally:
            del _ACTIVE[spec.checks_dir]

    plugin = GraderPlugin(spec, body=inside)
    _run_pytest(spec, plugin, keep_checks=keep_checks)
    if plugin.error is not None:
        raise plugin.error
    if plugin.collect_errors:
        raise ConfigError(
            f"the checks of {spec.id} could not be loaded:\n" + "\n".join(plugin.collect_errors)
        )
    if plugin.problems:
        raise ConfigError(plugin.problems[0])
    if not outcome:
        raise ConfigError(f"pytest did not run the checks of {spec.id}")
    return outcome[0]


def _cell_note(cells: CellMap | None, checks: list[CheckResult]) -> list[str]:
    """How to find "cell N" in a notebook, when a check points at one."""
    if cells is None or not any(c.cell for c in checks):
        return []
    return [
        f"in {cells.notebook}, cell N is the N-th code cell from the top (markdown cells are "
        "not counted; after Restart & Run All it shows [N] unless an empty cell comes first), "
        "and line M the line within that cell"
    ]


def _run_pytest(spec: AssignmentSpec, plugin: GraderPlugin, *, keep_checks: bool) -> None:
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no third-party plugin reorders or skips
    args = [
        str(spec.checks_dir),
        "-c",
        os.devnull,
        "--rootdir",
        str(spec.checks_dir),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "-p",
        "no:stepwise",
        "-p",  # it runs gc.collect() at the end of each session: 0.1-0.3 s a submission
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        "-p",  # checks log nothing; its handlers cost ~40 ms a submission
        "no:logging",
        "--import-mode=importlib",
    ]
    before = set(sys.modules)
    try:
        code = pytest.main(args, plugins=[plugin, TerseReports()])
        if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            raise ConfigError(
                f"pytest could not run the checks of {spec.id} (exit {int(code)}); "
                "see the messages above"
            )
    finally:
        for name in (
            set(sys.modules) - before if not keep_checks else ()
        ):  # check modules of one run must not leak into the next
            if not name.startswith(
                ("torch", "numpy", "sklearn", "scipy", "grader", "_pytest", "pytest")
            ):
                sys.modules.pop(name, None)
