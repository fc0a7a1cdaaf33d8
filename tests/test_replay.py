"""Recording a reference's answers and replaying them without it (what a student release does)."""

import importlib.util
import time

import pytest
import torch

from grader.checking import best_time
from grader.errors import ConfigError
from grader.judge.replay import NotRecordable, Recording, Replay, ReplayMiss

REFERENCE = """
import time
import torch

class Scaler:
    def __init__(self, k):
        self.k = k
    def __call__(self, x):
        return x * self.k
    def parameters(self):
        yield torch.full((2,), float(self.k))

def double(x):
    return x * 2

def noisy(n):
    return torch.randn(n)

def positive(x):
    if x < 0:
        raise ValueError("x must not be negative")
    return x

def add_one_in_place(x):
    x.add_(1)
    return x.sum()

def slow():
    time.sleep(0.05)
    return 1
"""


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "ref.py"
    path.write_text(REFERENCE)
    spec = importlib.util.spec_from_file_location("_replay_test_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def record(module, tmp_path, check, run, seed=7):
    """Run `run(reference)` against a recording reference; return the tape's path and the value."""
    recording = Recording(module)
    value = run(recording.for_check(check))
    path = tmp_path / "release.json"
    recording.save(path, seed=seed, hidden_checks=2, hidden_points=3)
    return path, value


def test_replay_gives_back_values_objects_iterators_and_exceptions(module, tmp_path):
    x = torch.arange(4, dtype=torch.float64)

    def run(ref):
        scaler = ref.Scaler(3)
        with pytest.raises(ValueError, match="must not be negative"):
            ref.positive(-1)
        return ref.double(x), scaler(x), [p.tolist() for p in scaler.parameters()]

    path, recorded = record(module, tmp_path, "test_a", run)
    replay = Replay(path, seed=7)
    replayed = run(replay.for_check("test_a"))
    assert torch.equal(replayed[0], x * 2) and torch.equal(recorded[0], replayed[0])
    assert torch.equal(replayed[1], x * 3)
    assert replayed[2] == [[3.0, 3.0]]
    assert replay.stats["exact"] > 0 and replay.stats["close"] == 0
    assert replay.notes == [
        "2 hidden checks (3 points) are not in this release: they run when "
        "your work is graded, so this score is advisory"
    ]


def test_replay_leaves_the_rng_where_the_reference_left_it(module, tmp_path):
    def run(ref):
        torch.manual_seed(0)
        drawn = ref.noisy(3)
        return drawn, torch.randn(2)  # the check draws after the reference did

    path, (drawn, after) = record(module, tmp_path, "test_rng", run)
    replay_drawn, replay_after = run(Replay(path, seed=7).for_check("test_rng"))
    assert torch.equal(replay_drawn, drawn)
    assert torch.equal(replay_after, after)


def test_inputs_differing_in_the_last_bits_still_find_their_answer(module, tmp_path):
    x = torch.randn(50, dtype=torch.float64)
    path, _ = record(module, tmp_path, "test_close", lambda ref: ref.double(x))
    replay = Replay(path, seed=7)
    nudged = x * (1 + 1e-15)
    assert not torch.equal(nudged, x)
    assert torch.equal(replay.for_check("test_close").double(nudged), x * 2)
    assert replay.stats == {"exact": 1, "close": 1, "close_checks": {"test_close"}}


def test_other_inputs_are_a_replay_miss_that_says_the_check_runs_at_grading(module, tmp_path):
    path, _ = record(module, tmp_path, "test_miss", lambda ref: ref.double(torch.ones(3)))
    ref = Replay(path, seed=7).for_check("test_miss")
    with pytest.raises(
        ReplayMiss, match=r"`reference\.double\(\.\.\.\)`.*runs when your work is graded"
    ):
        ref.double(torch.zeros(3))
    with pytest.raises(ReplayMiss):
        Replay(path, seed=7).for_check("test_other_check").double(torch.ones(3))


def test_the_reference_gets_copies_so_recording_and_replay_agree_on_inputs(module, tmp_path):
    x = torch.zeros(3)
    path, total = record(module, tmp_path, "test_copy", lambda ref: ref.add_one_in_place(x))
    assert torch.equal(x, torch.zeros(3)) and float(total) == 3.0
    assert float(Replay(path, seed=7).for_check("test_copy").add_one_in_place(x)) == 3.0


def test_student_objects_cannot_be_recorded(module):
    class RemoteObject:
        pass

    ref = Recording(module).for_check("test_handle")
    with pytest.raises(NotRecordable, match="passes a student object to the reference"):
        ref.double(RemoteObject())


def test_replay_reads_the_recorded_time_on_the_reference_clock_without_sleeping(module, tmp_path):
    path, _ = record(module, tmp_path, "test_slow", lambda ref: ref.slow())
    ref = Replay(path, seed=7).for_check("test_slow")
    start = time.perf_counter()
    assert best_time(ref.slow, repeat=1, reference=ref) >= 0.05
    assert time.perf_counter() - start < 0.04


def test_a_tape_answers_only_for_its_seed_and_says_which(module, tmp_path):
    path, _ = record(module, tmp_path, "test_seed", lambda ref: ref.double(1), seed=1234)
    with pytest.raises(ConfigError, match=r"for seed 1234 only: run without --seed"):
        Replay(path, seed=99)


def test_a_damaged_tape_is_a_clear_error(tmp_path):
    path = tmp_path / "release.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a readable release tape"):
        Replay(path, seed=1)
