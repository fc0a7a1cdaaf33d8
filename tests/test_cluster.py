"""`grader grade --scheduler`: a class graded on a Dask cluster gives the local gradebook."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from conftest import COURSE, run_cli
from test_batch import make_course

distributed = pytest.importorskip("distributed")  # the `cluster` extra, in `test` too

REFERENCE = (COURSE / "reference/hw1/tensor_ops.py").read_text()
BUGS = [(".mean(dim=1)", ".sum(dim=1)")]
GRADEBOOK = ("grades.csv", "grades.json")


@pytest.fixture(scope="module")
def room():
    """A course (looser timing), a class of 5 (one buggy, one unreadable) and its local run."""
    root = Path(tempfile.mkdtemp(prefix=".grader-cluster-", dir=COURSE.parent))
    try:
        course = make_course(root)
        subs = root / "submissions"
        subs.mkdir()
        for i in range(4):
            source = REFERENCE.replace(*BUGS[0]) if i == 2 else REFERENCE
            (subs / f"s{i}.py").write_text(source)
        (subs / "s4.txt").write_text("not a submission")
        local = grade(course, subs, root / "local")
        assert local.returncode == 0, local.stdout + local.stderr
        yield root, course, subs
    finally:
        shutil.rmtree(root, ignore_errors=True)


def grade(course: Path, subs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(
        "grade", "hw1", str(subs), "--out", str(out), "--course", str(course), *extra, timeout=240
    )


def assert_same_gradebook(root: Path, out: Path) -> None:
    for name in GRADEBOOK:
        assert (out / name).read_bytes() == (root / "local" / name).read_bytes(), name
    local = sorted(p.name for p in (root / "local/feedback").iterdir())
    assert sorted(p.name for p in (out / "feedback").iterdir()) == local
    for name in local:
        assert (out / "feedback" / name).read_bytes() == (
            root / "local/feedback" / name
        ).read_bytes()


@pytest.mark.slow
def test_dask_scheduler_and_two_dask_workers_started_as_commands(room):
    root, course, subs = room
    bin_dir = Path(sys.executable).parent
    file = root / "scheduler.json"
    procs = [
        subprocess.Popen(
            [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0"]
            + ["--no-dashboard", "--scheduler-file", str(file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [bin_dir / "dask", "worker", address, "--nworkers", "1", "--nthreads", "1"]
                    + ["--host", "127.0.0.1", "--no-dashboard"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with distributed.Client(address) as client:
            client.wait_for_workers(2, timeout=90)
        proc = grade(course, subs, root / "cli", "--scheduler", address)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert_same_gradebook(root, root / "cli")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_a_local_cluster_with_a_worker_killed_mid_batch_loses_and_repeats_nothing(room):
    from grader.batch.engine import Batch, publish, run_batch
    from grader.course import load_assignment

    root, course, subs = room
    out = root / "killed"
    killed = []
    seen = Counter()
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        batch = Batch.create(
            load_assignment(course, "hw1"),
            subs,
            course=course,
            out=out,
            jobs=None,
            timeout_s=300,
            seed=None,
            force=True,
            scheduler=cluster.scheduler_address,
        )

        def on_record(record):
            seen[record.id] += 1
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:  # a worker with an entry in hand
                pids = client.run(os.getpid)
                judges = client.run(lambda: [c.pid for c in psutil.Process().children()])
                # each Dask worker grades through a judge process of its own, never itself
                assert all(judges[w] and pids[w] not in judges[w] for w in pids)
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])

        outcome = run_batch(batch, on_record=on_record)
        publish(batch, outcome)
    assert killed, "no worker was busy after the first result"
    ids = ["s0", "s1", "s2", "s3", "s4.txt"]
    assert sorted(seen) == ids and set(seen.values()) == {1}
    assert sorted(p.name for p in (out / "results").glob("*.json")) == [f"{i}.json" for i in ids]
    assert_same_gradebook(root, out)  # as the local run's, bit for bit
