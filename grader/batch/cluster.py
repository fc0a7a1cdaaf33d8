"""`grader grade --scheduler`: each entry graded on a Dask distributed cluster.

The client (`run_on_cluster`) reads every entry itself (`engine.entry_files`: regular files,
nothing runs) and sends what is graded of it as a task. The course goes to the workers as a
content-addressed archive: a worker plugin (`CourseJudge`) carries its bytes and sha256,
unpacks it once per Dask worker process into a folder named by that hash, and starts there
a judge process (`python -m grader.batch.cluster`): the same warm judge as a local batch,
with its own zygote, which records the reference's answers once on that machine (its
timings are that machine's baselines) and grades each entry in a fork within its
`--timeout`, exactly as `grader grade` does locally. Student code never runs in the Dask
worker's process, nor in the judge's. The judge checks that its copy of the course gives
the client's configuration hash before it grades anything.

Results stream back as tasks finish and the client writes `results/<id>.json` atomically,
so resuming and the gradebook are those of a local run. A task whose worker is lost is run
again on another by Dask; each entry's record is written once, under its id.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.errors import ConfigError

try:
    from distributed import WorkerPlugin
except ImportError:  # without the `cluster` extra: --scheduler says what to install
    WorkerPlugin = object  # type: ignore[misc,assignment]

PLUGIN = "grader-course-judge"
TASK_RETRIES = 2  # a task that fails (a CI run saw Dask fail a killed worker's task with
# "Event ... is bound to a different event loop" rather than run it again) is submitted again


def course_archive(course: Path, assignment: str) -> bytes:
    """A reproducible tar.gz of what grading `assignment` reads: its folder and reference."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for top in (f"assignments/{assignment}", f"reference/{assignment}"):
            root = course / top
            paths = [root, *sorted(root.rglob("*"))] if root.is_dir() else []
            for path in paths:
                if "__pycache__" in path.parts or path.is_symlink():
                    continue
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(course)))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                info.mode = 0o755 if path.is_dir() else 0o644
                with open(path, "rb") if path.is_file() else io.BytesIO() as fh:
                    tar.addfile(info, fh if path.is_file() else None)
    return buf.getvalue()


def unpack_course(data: bytes, sha: str, base: Path) -> Path:
    """The course of archive `data` under `base`/course-<sha>, unpacked once (verified)."""
    if hashlib.sha256(data).hexdigest() != sha:
        raise ConfigError("the course archive sent to this worker does not match its hash")
    target = base / f"course-{sha[:24]}"
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".course-", dir=base))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(staging, filter="data")
    os.chmod(staging, 0o755)
    try:
        staging.rename(target)
    except OSError:  # another worker process on this machine was first
        shutil.rmtree(staging, ignore_errors=True)
    return target


class CourseJudge(WorkerPlugin):
    """The Dask worker plugin: the course, and one warm judge process per worker process."""

    name = PLUGIN

    def __init__(self, archive: bytes, setup: dict[str, Any]):
        self.archive, self.sha = archive, hashlib.sha256(archive).hexdigest()
        self.setup_args = setup
        self.proc: subprocess.Popen[str] | None = None
        self.template: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:  # what is sent to the workers
        return {"archive": self.archive, "sha": self.sha, "setup_args": self.setup_args}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, proc=None, template={})

    def setup(self, worker: Any = None) -> None:
        self.lock = threading.Lock()
        base = Path(tempfile.gettempdir()) / "grader-cluster"
        base.mkdir(exist_ok=True)
        course = unpack_course(self.archive, self.sha, base)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.batch.cluster"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = self._ask({**self.setup_args, "course": str(course)})
        if "error" in ready:
            raise ConfigError(ready["error"])
        self.template = ready["template"]

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the judge process ended (exit {self.proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def grade(self, task: dict[str, Any]) -> dict[str, Any]:
        with self.lock:  # one entry at a time per judge (run workers with --nthreads 1)
            return self._ask(task)

    def teardown(self, worker: Any = None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _plugin() -> CourseJudge:
    from distributed import get_worker

    plugin = get_worker().plugins[PLUGIN]
    assert isinstance(plugin, CourseJudge)
    return plugin


def grade_task(task: dict[str, Any]) -> dict[str, Any]:
    """A Dask task: one entry's record (as a dict), graded by this worker's judge."""
    return _plugin().grade(task)


def template_task() -> dict[str, Any]:
    return _plugin().template


def _client(scheduler: str) -> tuple[Any, Any]:
    """(client, cluster or None) for `tcp://HOST:PORT` or `local[:N]`."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "--scheduler needs Dask distributed: pip install 'grader[cluster]'"
        ) from None
    if scheduler == "local" or scheduler.startswith("local:"):
        n = scheduler.partition(":")[2] or str(os.cpu_count() or 1)
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"--scheduler {scheduler}: expected local or local:N workers")
        cluster = LocalCluster(
            n_workers=int(n),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        return Client(cluster), cluster
    if not scheduler.startswith("tcp://"):
        raise ConfigError(f"--scheduler {scheduler}: expected tcp://HOST:PORT, local or local:N")
    try:
        return Client(scheduler, timeout=30), None
    except OSError as exc:
        raise ConfigError(f"--scheduler {scheduler}: cannot reach the scheduler ({exc})") from None


def run_on_cluster(
    batch: Any,
    todo: list[Any],
    digests: dict[str, str],
    config: str,
    *,
    finish: Callable[[Any], None],
    failed: Callable[..., Any],
    tick: Callable[[], None],
) -> None:
    """Grade `todo` (engine Entries) on the cluster named by `batch.scheduler`; `finish(record)`
    as each arrives. Entries that cannot be read get their record here, as locally."""
    from distributed import as_completed

    from grader.batch.engine import entry_files
    from grader.batch.records import Record
    from grader.errors import SubmissionError
    from grader.outputs.schema import GradeResult

    client, cluster = _client(batch.scheduler)
    try:
        setup = {
            "assignment": batch.spec.id,
            "seed": batch.seed,
            "timeout_s": batch.timeout_s,
            "allow_unsandboxed": batch.allow_unsandboxed,
        }
        plugin = CourseJudge(
            course_archive(batch.course, batch.spec.id), {**setup, "config": config}
        )
        client.register_plugin(plugin, name=PLUGIN)
        template = GradeResult.from_dict(client.submit(template_task, pure=False).result())
        futures = {}
        for entry in todo:
            digest = digests[entry.id]
            try:
                if entry.kind == "unreadable":
                    raise SubmissionError(entry.problem)
                files, notes = entry_files(entry, batch.spec)
            except SubmissionError as exc:
                finish(
                    failed(entry, template, "unreadable", str(exc), digest=digest, config=config)
                )
                continue
            task = {
                "entry": [entry.id, entry.name, str(entry.path), entry.kind],
                "files": {k: base64.b64encode(v).decode() for k, v in files.items()},
                "notes": notes,
                "digest": digest,
                "config": config,
            }
            future = client.submit(grade_task, task, key=f"grade-{digest[:16]}-{entry.id}")
            futures[future.key] = (future, entry, task, 0)
        pending = as_completed([f for f, *_ in futures.values()])
        for future in pending:
            _, entry, task, tries = futures.pop(future.key)
            try:
                record = Record.from_dict(future.result())
            except Exception as exc:  # noqa: BLE001 - a task that failed on the cluster
                if tries < TASK_RETRIES:  # e.g. as its worker was lost: submitted again
                    again = client.submit(
                        grade_task, task, key=f"{future.key.split('~')[0]}~{tries + 1}"
                    )
                    futures[again.key] = (again, entry, task, tries + 1)
                    pending.add(again)
                    continue
                record = failed(
                    entry,
                    template,
                    "error",
                    f"the grader failed on this submission on the cluster ({type(exc).__name__}: "
                    f"{exc})",
                    digest=digests[entry.id],
                    config=config,
                )
            finish(record)
            tick()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def serve_judge() -> None:
    """The judge process a `CourseJudge` starts: JSON lines on stdin, one reply each."""
    from grader.batch.engine import Answers, Batch, config_hash, refuse_unsandboxed
    from grader.batch.pool import JudgePool
    from grader.course import load_assignment

    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the pipe
    setup = json.loads(sys.stdin.readline())
    work = Path(tempfile.mkdtemp(prefix="grader-judge-"))
    (work / "in").mkdir()
    scratch = work / "scratch"  # the forks' temp folders: workers pass through, cannot list
    scratch.mkdir(mode=0o711)
    os.chmod(work, 0o711)
    try:
        course = Path(setup["course"])
        spec = load_assignment(course, setup["assignment"])
        batch = Batch(
            spec=spec,
            course=course,
            submissions=work / "in",
            out=work / "out",
            jobs=1,
            timeout_s=float(setup["timeout_s"]),
            seed=int(setup["seed"]),
            force=True,
        )
        if config_hash(spec, seed=batch.seed, timeout_s=batch.timeout_s) != setup["config"]:
            out.write(json.dumps({"error": "this worker's copy of the course differs"}) + "\n")
            return
        with JudgePool(1) as pool:
            answers = Answers.find(batch)
            template = answers.template(pool.mother)
            references = answers.source
            try:
                refuse_unsandboxed(template.sandbox_notes, allowed=setup["allow_unsandboxed"])
            except ConfigError as exc:
                out.write(json.dumps({"error": f"on a worker: {exc}"}) + "\n")
                return
            out.write(json.dumps({"template": template.to_dict()}) + "\n")
            out.flush()
            for line in sys.stdin:
                record = _grade_one(batch, pool, template, references, scratch, json.loads(line))
                try:
                    out.write(json.dumps(record.to_dict()) + "\n")
                    out.flush()
                except BrokenPipeError:  # the Dask worker is gone; Dask runs the task elsewhere
                    return
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _grade_one(
    batch: Any, pool: Any, template: Any, references: Any, scratch: Path, task: dict[str, Any]
) -> Any:
    """One task's record, graded in a fork of this judge exactly as a local batch does."""
    from grader.batch.engine import failed, grade_hand_in
    from grader.batch.pool import ForkExit
    from grader.batch.records import RecordError, save_record
    from grader.intake.entries import Entry

    sid, name, path, kind = task["entry"]
    entry = Entry(sid, name, Path(path), kind)
    files = {k: base64.b64decode(v) for k, v in task["files"].items()}
    digest, config = task["digest"], task["config"]
    got = []

    def judge(item: Entry, zygote: Any) -> None:  # in a fork
        tempfile.tempdir = str(scratch)
        with tempfile.TemporaryDirectory(prefix="grader-intake-") as tmp:
            record = grade_hand_in(
                batch,
                item,
                files,
                task["notes"],
                zygote,
                template,
                digest=digest,
                config=config,
                references=references,
                tmp=Path(tmp),
            )
        save_record(batch.result_path(item.id), record)

    def done(item: Entry, ended: ForkExit) -> None:
        reason = ended.reason or "the judge process ended without a result"
        try:
            record = batch.load(item.id) if ended.ok else None
        except RecordError as exc:
            record, reason = None, str(exc)
        if record is None or record.content_hash != digest:
            record = failed(
                item,
                template,
                "error",
                f"the grader failed on this submission: {reason}",
                digest=digest,
                config=config,
            )
        got.append(record)

    batch.result_path(sid).unlink(missing_ok=True)
    pool.run([entry], judge, limit_s=batch.timeout_s, done=done)
    return got[0]


if __name__ == "__main__":
    serve_judge()
