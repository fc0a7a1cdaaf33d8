"""`grader grade`: a folder of submissions graded in parallel, streamed to disk, resumable.

The batch process imports torch, pytest and the grader once and grades the reference while
recording its answers to every check (`Answers`; or, when OUT holds a recording with the
same key, the stub), which lists the checks and warms every import; each submission is then
graded by one of the judges forked from it (`grader.batch.pool`: each collects the checks
once and grades one submission after another), replaying those answers, within a wall-clock
budget (`grader.batch.budget`); with `--scheduler`, on a Dask cluster instead (`grader.batch.cluster`). Each
result goes to `OUT/results/<name>.json` (`records.file_stem`: safe for any id)
atomically as soon as it is known; a re-run keeps the results whose submission and
grading set-up are unchanged (content hashes) and grades the rest. The gradebook files
are rebuilt from those results at the end. Reading a hand-in never raises out of the
batch: what cannot be read or parsed is that entry's "unreadable" verdict.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
import sysconfig
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from grader import __version__
from grader.batch.budget import Budget
from grader.batch.records import (
    Record,
    RecordError,
    file_stem,
    load_record,
    not_graded,
    save_record,
    write_atomic,
)
from grader.errors import ConfigError, SubmissionError
from grader.intake import entries as intake
from grader.intake.entries import Entry
from grader.judge.replay import ReferenceSource, Tape
from grader.outputs.gradebook import ClassSummary
from grader.outputs.lms import LmsExport, LmsOutcome, print_export, write_export
from grader.outputs.schema import GradeResult
from grader.sandbox.client import Zygote
from grader.spec import AssignmentSpec


@dataclass(frozen=True)
class Batch:
    """What one `grader grade` run grades, where it writes, and how."""

    spec: AssignmentSpec
    course: Path
    submissions: Path
    out: Path
    jobs: int
    timeout_s: float
    seed: int
    force: bool = False
    allow_unsandboxed: bool = False  # grade even where the sandbox is degraded
    lms: LmsExport | None = None  # also write the gradebook as this LMS imports it
    scheduler: str = ""  # a Dask scheduler (tcp://HOST:PORT, local[:N]); "" grades here

    @classmethod
    def create(
        cls,
        spec: AssignmentSpec,
        submissions: Path,
        *,
        course: Path,
        out: Path | None,
        jobs: int | None,
        timeout_s: float,
        seed: int | None,
        force: bool,
        allow_unsandboxed: bool = False,
        lms: LmsExport | None = None,
        scheduler: str = "",
    ) -> Batch:
        """Resolve and check the folders; defaults: out ./grades/<id>, jobs = cores + 1."""
        submissions = submissions.resolve()
        out = (out or Path("grades") / spec.id).resolve()
        check_folders(submissions, out)
        if timeout_s <= 0:
            raise ConfigError(f"--timeout must be a positive number of seconds, got {timeout_s:g}")
        return cls(
            spec=spec,
            course=course,
            submissions=submissions,
            out=out,
            jobs=jobs or default_jobs(),
            timeout_s=timeout_s,
            seed=spec.seed if seed is None else seed,
            force=force,
            allow_unsandboxed=allow_unsandboxed,
            lms=lms,
            scheduler=scheduler,
        )

    @property
    def results_dir(self) -> Path:
        return self.out / "results"

    def result_path(self, sid: str) -> Path:
        """Where the student `sid`'s record is; the id itself is inside it."""
        return self.results_dir / f"{file_stem(sid)}.json"

    def feedback_path(self, sid: str) -> Path:
        return self.out / "feedback" / f"{file_stem(sid)}.md"

    def load(self, sid: str) -> Record | None:
        """The student `sid`'s record, if there is one (RecordError if it cannot be read)."""
        return load_record(self.result_path(sid), sid)

    @property
    def masks(self) -> list[str]:
        """Folders no worker may see: every student's hand-in and every result."""
        return [str(self.submissions), str(self.out)]


@dataclass
class Plan:
    """The entries found, and which of them this run grades."""

    entries: list[Entry]
    hidden: list[str]  # hidden entries (.DS_Store, .git), never graded
    digests: dict[str, str] = field(default_factory=dict)  # content hash, by student id
    todo: list[Entry] = field(default_factory=list)
    kept: int = 0  # results reused from an earlier run
    problems: list[str] = field(default_factory=list)  # earlier results that could not be read


def default_jobs() -> int:
    """One more than the cores: a slot also waits on the kernel (its workers' namespaces are
    set up and torn down), and a third slot on 2 cores grades ~15% more a minute."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    return max(1, cores) + 1


def config_hash(spec: AssignmentSpec, *, seed: int, timeout_s: float) -> str:
    """sha256 of everything besides the submission that a grade depends on."""
    digest = hashlib.sha256(f"grader {__version__}\0{spec.id}\0{seed}\0{timeout_s:g}\0".encode())
    files = [spec.root / "assignment.toml"]
    for folder in (spec.checks_dir, spec.reference):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        digest.update(f"{os.path.relpath(path, spec.root.parent.parent)}\0".encode())
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_folders(submissions: Path, out: Path) -> None:
    """Refuse folder choices that would mix results with hand-ins or hide Python from workers."""
    if not submissions.is_dir():
        raise ConfigError(f"{submissions}: no such folder (expected one entry per student in it)")
    if _inside(out, submissions):
        raise ConfigError(
            f"--out {out} is inside the submissions folder {submissions}; "
            "choose an output folder outside it"
        )
    if _inside(submissions, out):
        raise ConfigError(
            f"the submissions folder {submissions} is inside --out {out}; "
            "choose an output folder outside it"
        )
    needed = {
        Path(tempfile.gettempdir()).resolve(),
        Path(sys.prefix).resolve(),
        Path(sysconfig.get_paths()["purelib"]).resolve(),
    }
    for folder in (submissions, out):
        for path in needed:
            if _inside(path, folder):
                raise ConfigError(
                    f"{folder} contains {path}, which graded code needs; workers "
                    "cannot be kept out of it: use a folder that does not"
                )


def refuse_unsandboxed(notes: list[str], *, allowed: bool) -> None:
    """A batch grades untrusted code: without full isolation it stops, unless allowed."""
    if notes and not allowed:
        raise ConfigError(
            "the sandbox is degraded on this machine, so submissions could read the reference, "
            "the checks and each other's work: " + "; ".join(notes) + ". Grade as root on "
            "Linux (namespaces), or pass --allow-unsandboxed to grade anyway"
        )


def plan(batch: Batch, config: str) -> Plan:
    """Find the entries; keep earlier results whose content and set-up are unchanged."""
    entries, hidden = intake.scan(batch.submissions)
    if not entries:
        also = f" (only hidden entries: {', '.join(hidden)})" if hidden else ""
        raise ConfigError(
            f"{batch.submissions}: no submissions in it{also}; expected one folder, "
            ".py, .zip or .ipynb per student"
        )
    result = Plan(entries=entries, hidden=hidden)
    for stale in batch.results_dir.glob(".*.tmp") if batch.results_dir.is_dir() else []:
        stale.unlink(missing_ok=True)  # left by a run killed while writing
    for entry in entries:
        digest = result.digests[entry.id] = intake.content_hash(entry, batch.spec)
        try:
            old = None if batch.force else batch.load(entry.id)
        except RecordError as exc:
            result.problems.append(f"{exc}: grading {entry.name} again")
            old = None
        if (
            old is not None
            and old.status != "error"
            and old.config_hash == config
            and old.entry == entry.name
            and old.content_hash == digest
        ):
            result.kept += 1
        else:
            result.todo.append(entry)
    return result


def _clean(text: str, paths: dict[str, str]) -> str:
    """`text` with temporary or absolute paths replaced by what the student knows them as."""
    for path, name in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    return text


def failed(
    entry: Entry,
    template: GradeResult,
    status: str,
    problem: str,
    *,
    digest: str,
    config: str,
    detail: str = "",
) -> Record:
    """The record of an entry that could not be graded: every check failed with `problem`."""
    result = not_graded(template, entry.name, f"not graded: {problem}")
    return Record(
        id=entry.id,
        entry=entry.name,
        kind=entry.kind,
        content_hash=digest,
        config_hash=config,
        status=status,
        error=problem,
        result=result,
        detail=detail,
    )


def grade_entry(
    batch: Batch,
    entry: Entry,
    zygote,
    template: GradeResult,
    *,
    digest: str,
    config: str,
    references: ReferenceSource | None = None,
) -> Record:
    """Grade one entry within its time budget (in a judge process; never raises).

    `references`: the reference's recorded answers (`Answers.source`), or None: live."""
    try:
        files, notes = entry_files(entry, batch.spec)
    except SubmissionError as exc:
        return failed(entry, template, "unreadable", str(exc), digest=digest, config=config)
    with tempfile.TemporaryDirectory(prefix="grader-intake-") as tmp:
        return grade_hand_in(
            batch,
            entry,
            files,
            notes,
            zygote,
            template,
            digest=digest,
            config=config,
            references=references,
            tmp=Path(tmp),
        )


def entry_files(entry: Entry, spec: AssignmentSpec) -> tuple[dict[str, bytes], list[str]]:
    """What is graded of `entry`: its files by relative path (a notebook: just itself), and
    notes for the student (SubmissionError when it cannot be read). Nothing runs."""
    with tempfile.TemporaryDirectory(prefix="grader-intake-") as tmp:
        try:
            path, notes = intake.unpack(entry, spec, Path(tmp))
        except SubmissionError as exc:
            where = {str(Path(tmp) / "submission"): entry.name, str(entry.path): entry.name}
            raise SubmissionError(_clean(str(exc), {**where, tmp: entry.name})) from None
        if path.is_file():  # a notebook, graded as it is (its cells give the locations)
            return {path.name: path.read_bytes()}, notes
        files = {
            str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
        }
    return files, notes


def grade_hand_in(
    batch: Batch,
    entry: Entry,
    files: dict[str, bytes],
    notes: list[str],
    zygote,
    template: GradeResult,
    *,
    digest: str,
    config: str,
    references: ReferenceSource | None,
    tmp: Path,
) -> Record:
    """Grade what `entry_files` found of `entry`, written under the empty folder `tmp`, within
    its time budget (in a judge process, here or on a cluster's worker; never raises)."""
    from grader.judge.runner import grade

    budget = Budget(zygote, batch.timeout_s)
    try:
        path = tmp / "submission"
        for rel, data in files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_bytes(data)
        path.mkdir(exist_ok=True)
        if len(files) == 1 and next(iter(files)).endswith(".ipynb"):
            path = path / next(iter(files))  # a notebook: graded as the file it is
        try:
            result = grade(
                batch.spec,
                path,
                course=batch.course,
                zygote=budget,
                seed=batch.seed,
                masks=batch.masks,
                on_check=budget.on_check,
                references=references,
            )
        except SubmissionError as exc:
            budget.cancel()
            problem = _clean(
                str(exc), {str(path): entry.name, str(entry.path): entry.name, str(tmp): entry.name}
            )
            return failed(entry, template, "unreadable", problem, digest=digest, config=config)
        status, error = budget.settle(result)
        result.submission = entry.name
        return Record(
            id=entry.id,
            entry=entry.name,
            kind=entry.kind,
            content_hash=digest,
            config_hash=config,
            status=status,
            error=error,
            notes=notes,
            result=result,
        )
    except Exception as exc:  # noqa: BLE001 - a grader bug must cost one submission, not the batch
        budget.cancel()
        problem = f"the grader failed on this submission ({type(exc).__name__}: {exc})"
        return failed(
            entry,
            template,
            "error",
            problem,
            digest=digest,
            config=config,
            detail=traceback.format_exc(),
        )


ANSWERS_NAME = "reference-answers.json"  # in OUT, which no worker sees


@dataclass
class Answers:
    """The reference's answers to every check for this batch: recorded once, before any
    submission is graded, from the reference alone, and kept in OUT for the next run."""

    batch: Batch
    key: str = ""
    tape: Tape | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def find(cls, batch: Batch) -> Answers:
        """The kept recording when it is still valid (else a note on why it is not)."""
        from grader.judge import answers

        if not answers.has_reference(batch.spec):  # a release: its own tape, or none
            return cls(batch)
        found = cls(batch, key=answers.answers_key(batch.spec, seed=batch.seed))
        try:
            found.tape = answers.load_tape(found.path, found.key)
        except answers.AnswersError as exc:
            if found.path.exists():
                found.notes.append(f"{exc}: recording the reference's answers again")
        return found

    @property
    def path(self) -> Path:
        return self.batch.out / ANSWERS_NAME

    def template(self, zygote) -> GradeResult:
        """Grade the stub (or, to record the answers, the reference): the list of checks,
        a warm judge, and what the sandbox could do."""
        from grader.judge import answers
        from grader.judge.runner import grade

        b = self.batch
        if self.key and self.tape is None:
            self.tape, data, result = answers.record(
                b.spec,
                course=b.course,
                zygote=zygote,
                seed=b.seed,
                key=self.key,
                masks=b.masks,
                keep_checks=True,
            )
            write_atomic(self.path, data)
            return result
        return grade(
            b.spec,
            None,
            course=b.course,
            zygote=zygote,
            seed=b.seed,
            masks=b.masks,
            references=self.source,
            keep_checks=True,  # the forks that grade the submissions collect them as they are
        )

    @property
    def source(self) -> ReferenceSource | None:
        from grader.judge import answers

        return None if self.tape is None else answers.follow(self.batch.spec, self.tape)


@dataclass
class BatchOutcome:
    """What a run did: every entry's record (sorted by id) and what was reused."""

    plan: Plan
    records: list[Record]
    graded_now: int


def run_batch(
    batch: Batch,
    *,
    on_start: Callable[[Plan], None] = lambda plan: None,
    on_record: Callable[[Record], None] = lambda record: None,
    tick: Callable[[], None] = lambda: None,
    mother: Zygote | None = None,
) -> BatchOutcome:
    """Grade what needs grading, streaming each record to disk; returns every record.

    `mother`: a zygote started before this process imported torch, for the pool to clone
    (the pool starts one otherwise); the pool closes it."""
    from grader.batch.pool import ForkExit, JudgePool
    from grader.judge.runner import with_checks

    config = config_hash(batch.spec, seed=batch.seed, timeout_s=batch.timeout_s)
    work = plan(batch, config)
    answers = Answers.find(batch) if work.todo else Answers(batch)
    work.problems += answers.notes
    batch.results_dir.mkdir(parents=True, exist_ok=True)
    on_start(work)
    if work.todo and batch.scheduler:  # each entry a task on a Dask cluster: grader.cluster
        from grader.batch.cluster import run_on_cluster

        def save(record: Record) -> None:
            save_record(batch.result_path(record.id), record)
            on_record(record)

        run_on_cluster(
            batch, work.todo, work.digests, config, finish=save, failed=failed, tick=tick
        )
    elif work.todo:
        slots = min(batch.jobs, len(work.todo))
        with JudgePool(slots, mother=mother) as pool:  # zygotes import torch meanwhile
            scratch = tempfile.mkdtemp(
                prefix="grader-batch-"
            )  # judges' temp folders, even killed ones
            os.chmod(scratch, 0o711)  # workers' users pass through to their own folder, cannot list
            try:
                template = answers.template(pool.mother)
                refuse_unsandboxed(template.sandbox_notes, allowed=batch.allow_unsandboxed)

                def finish(record: Record) -> None:
                    save_record(batch.result_path(record.id), record)
                    on_record(record)

                gradable = []
                for entry in work.todo:
                    if entry.kind == "unreadable":
                        finish(
                            failed(
                                entry,
                                template,
                                "unreadable",
                                entry.problem,
                                digest=work.digests[entry.id],
                                config=config,
                            )
                        )
                    else:
                        gradable.append(entry)

                def judge(entry: Entry, zygote) -> None:  # in a judge process
                    tempfile.tempdir = scratch
                    record = grade_entry(
                        batch,
                        entry,
                        zygote,
                        template,
                        digest=work.digests[entry.id],
                        config=config,
                        references=answers.source,  # a fresh one: what a run notes is its own
                    )
                    save_record(batch.result_path(entry.id), record)

                def done(entry: Entry, ended: ForkExit) -> None:
                    digest = work.digests[entry.id]
                    reason = ended.reason or "the judge process ended without a result"
                    try:
                        record = batch.load(entry.id) if ended.ok else None
                    except RecordError as exc:
                        record, reason = None, str(exc)
                    if record is None or (record.content_hash, record.config_hash) != (
                        digest,
                        config,
                    ):
                        finish(
                            failed(
                                entry,
                                template,
                                "error",
                                f"the grader failed on this submission: {reason} "
                                f"(details in {batch.out / 'judge.log'})",
                                digest=digest,
                                config=config,
                            )
                        )
                    else:
                        on_record(record)

                pool.run(
                    gradable,
                    judge,
                    limit_s=batch.timeout_s,
                    done=done,
                    tick=tick,
                    log_path=str(batch.out / "judge.log"),
                    around=lambda serve: with_checks(batch.spec, serve),
                )
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    found = []
    for entry in work.entries:
        record = batch.load(entry.id)
        if record is None:
            raise ConfigError(
                f"{batch.result_path(entry.id)}: missing or unreadable after "
                "grading; run the command again"
            )
        found.append(record)
    return BatchOutcome(plan=work, records=found, graded_now=len(work.todo))


def publish(batch: Batch, outcome: BatchOutcome) -> tuple[ClassSummary, LmsOutcome | None]:
    """Write grades.csv, grades.json, feedback/<name>.md and summary.html from the records,
    and with --lms the LMS's CSV and its report (`outputs/lms.py`)."""
    from grader.outputs import feedback, gradebook, summary

    rows = outcome.records
    stats = gradebook.summarise(rows)
    write_atomic(batch.out / "grades.csv", gradebook.grades_csv(rows))
    write_atomic(batch.out / "grades.json", gradebook.grades_json(rows, stats, outcome.plan.hidden))
    for record in rows:
        write_atomic(batch.feedback_path(record.id), feedback.feedback_markdown(record))
    write_atomic(batch.out / "summary.html", summary.page(stats, rows))
    exported = write_export(batch.lms, batch.out, rows) if batch.lms else None
    return stats, exported


EXIT_GRADED, EXIT_GRADER_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def grade_folder(batch: Batch, console: Console, *, mother: Zygote | None = None) -> int:
    """`grader grade`: run the batch with a progress bar, publish, print the summary.
    `mother`: the pool's first zygote, if already started (see `run_batch`).

    Returns the exit status: 0 every entry has a result, 1 the grader failed on some
    (graded again on the next run), 130 interrupted (what was graded is kept).
    """
    from grader.batch.progress import BatchProgress
    from grader.outputs.summary import print_failures, print_summary

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with BatchProgress(console) as progress:
            outcome = run_batch(
                batch,
                on_start=progress.start,
                on_record=progress.record,
                tick=progress.tick,
                mother=mother,
            )
    except KeyboardInterrupt:
        Console(stderr=True).print(
            f"interrupted: the results so far are in {batch.results_dir}; "
            "run the same command again to grade the rest"
        )
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    stats, exported = publish(batch, outcome)
    print_summary(stats, console)
    print_failures(outcome.records, console)
    console.print(
        f"gradebook: {batch.out / 'grades.csv'} · feedback: {batch.out / 'feedback'} "
        f"· summary: {batch.out / 'summary.html'} ({outcome.graded_now} graded now, "
        f"{outcome.plan.kept} kept)"
    )
    if exported is not None:
        print_export(exported, batch.out, console)
    errors = sum(r.status == "error" for r in outcome.records)
    return EXIT_GRADER_FAILED if errors else EXIT_GRADED
