"""The reference's answers recorded once and followed: exact replay, live catch-up, the cache."""

import importlib.util
import shutil
import tempfile

import pytest
import torch
from conftest import COURSE, reference_with, without_durations

from grader.course import load_assignment
from grader.judge import answers
from grader.judge.replay import Follow, Recording, Tape
from grader.judge.runner import grade

REFERENCE = """
import torch

class Scaler:
    def __init__(self, k):
        self.k = k
    def __call__(self, x):
        return x * self.k

def noisy(n):
    return torch.randn(n)

def double(x):
    return x * 2
"""


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "ref.py"
    path.write_text(REFERENCE)
    spec = importlib.util.spec_from_file_location("_answers_test_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tape_of(module, check, run):
    recording = Recording(module, live_fallback=True)
    torch.manual_seed(1)
    run(recording.for_check(check))
    return Tape.parse(recording.to_bytes(seed=1, key="k"))


def scale_then(x_then):
    def run(ref):
        scaler = ref.Scaler(3)
        first = scaler(torch.ones(2))
        return first, scaler(x_then), ref.noisy(2)

    return run


def never():
    raise AssertionError("the live reference was loaded")


def test_the_same_requests_are_answered_from_the_tape_without_the_reference(module):
    tape = tape_of(module, "test_a", scale_then(torch.arange(2.0)))
    follow = Follow(tape, never)
    torch.manual_seed(1)
    first, second, noise = scale_then(torch.arange(2.0))(follow.for_check("test_a"))
    after = torch.randn(1)  # the RNG is where the live reference would have left it
    assert torch.equal(first, torch.full((2,), 3.0)) and torch.equal(second, torch.arange(2.0) * 3)
    torch.manual_seed(1)
    assert torch.equal(noise, torch.randn(2)) and torch.equal(after, torch.randn(1))
    assert follow.went_live == set()


def test_a_request_that_differs_catches_up_on_the_live_reference_and_goes_on_live(module):
    tape = tape_of(module, "test_a", scale_then(torch.arange(2.0)))
    follow = Follow(tape, lambda: module)
    torch.manual_seed(1)
    # the second request differs (as when a check hands the reference a student's output):
    # the Scaler made from the tape must exist on the live side too
    first, second, noise = scale_then(torch.tensor([5.0, 7.0]))(follow.for_check("test_a"))
    assert torch.equal(second, torch.tensor([15.0, 21.0])) and follow.went_live == {"test_a"}
    torch.manual_seed(1)
    assert torch.equal(noise, torch.randn(2))


def test_the_same_arguments_from_another_rng_state_are_not_taken_from_the_tape(module):
    tape = tape_of(module, "test_n", lambda ref: ref.noisy(3))
    follow = Follow(tape, lambda: module)
    torch.manual_seed(2)
    got = follow.for_check("test_n").noisy(3)
    torch.manual_seed(2)
    assert torch.equal(got, torch.randn(3)) and follow.went_live == {"test_n"}


def test_a_check_that_hands_the_reference_a_student_object_is_recorded_as_live(module):
    class RemoteObject:
        def __mul__(self, k):
            return k * 10

    tape = tape_of(module, "test_s", lambda ref: ref.double(RemoteObject()))
    assert tape.live == {"test_s"} and "test_s" not in tape.checks
    follow = Follow(tape, lambda: module)
    assert follow.for_check("test_s").double(RemoteObject()) == 20
    assert follow.went_live == {"test_s"}


def test_a_corrupt_or_foreign_recording_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "hw1-x.json"
    path.write_text("{not json")
    with pytest.raises(answers.AnswersError, match="not a recording of the reference's answers"):
        answers.load_tape(path, "k")
    path.write_bytes(Recording(object()).to_bytes(seed=1, key="other"))  # type: ignore[arg-type]
    with pytest.raises(answers.AnswersError, match="recorded for another reference"):
        answers.load_tape(path, "k")


def test_the_key_changes_with_the_reference_the_checks_and_the_seed(tmp_path):
    course = tempfile.mkdtemp(dir=COURSE.parent)
    try:
        for part in ("assignments/hw1", "reference/hw1"):
            shutil.copytree(COURSE / part, f"{course}/{part}")
        spec = load_assignment(type(COURSE)(course), "hw1")
        key = answers.answers_key(spec, seed=1)
        assert answers.answers_key(spec, seed=2) != key
        ref = spec.reference / "tensor_ops.py"
        ref.write_text(ref.read_text() + "\n# changed\n")
        assert answers.answers_key(spec, seed=1) != key
        key = answers.answers_key(spec, seed=1)
        check = next((spec.checks_dir / "public").glob("test_*.py"))
        check.write_text(check.read_text() + "\n# changed\n")
        assert answers.answers_key(spec, seed=1) != key
    finally:
        shutil.rmtree(course)


@pytest.mark.slow
def test_check_records_once_replays_the_same_result_and_rebuilds_a_corrupt_cache(zygote, tmp_path):
    course = tempfile.mkdtemp(dir=COURSE.parent)
    try:
        for part in ("assignments/hw1", "reference/hw1"):
            shutil.copytree(COURSE / part, f"{course}/{part}")
        root = type(COURSE)(course)
        spec = load_assignment(root, "hw1")
        buggy = reference_with("hw1", tmp_path, {".mean(dim=1)": ".sum(dim=1)"})
        live = grade(spec, buggy, course=root, zygote=zygote)
        first = answers.grade_cached(spec, buggy, course=root, zygote=zygote)
        (cached,) = (root / answers.CACHE_DIR / "answers").glob("hw1-*.json")
        assert Tape.parse(cached.read_bytes()).key == answers.answers_key(spec, seed=spec.seed)
        second = answers.grade_cached(spec, buggy, course=root, zygote=zygote)

        def scores(result):
            return {c["id"]: (c["status"], c["score"]) for c in without_durations(result)["checks"]}

        assert scores(first) == scores(second) == scores(live) and live.score < live.max_score
        cached.write_text("{damaged")
        third = answers.grade_cached(spec, buggy, course=root, zygote=zygote)
        assert scores(third) == scores(live)
        assert any("not a recording" in n and "recorded again" in n for n in third.notes)
        assert answers.load_tape(cached, answers.answers_key(spec, seed=spec.seed)).checks
    finally:
        shutil.rmtree(course)
