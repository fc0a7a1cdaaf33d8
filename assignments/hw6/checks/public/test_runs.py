"""hw6 public checks: the hyper-parameter run builder."""

from grader.checking import check, fail

PARAMS = {"lr": [0.01, 0.001], "batch_size": [100, 1000]}


def check_runs(got, expected: list, what: str) -> None:
    """`got` must equal `expected`: a list of named tuples `Run`, fields and order included."""
    fields = list(expected[0]._fields) if expected else []
    if not isinstance(got, list):
        fail(
            f"{what} should return a list of named tuples, got {type(got).__name__}: {got!r:.200}",
            "return [Run(*values) for values in itertools.product(*params.values())]",
        )
    if any(not isinstance(r, tuple) or not hasattr(r, "_fields") for r in got):
        fail(
            f"{what} should return named tuples, got {got!r:.200}",
            "Run = collections.namedtuple('Run', params.keys()), then Run(*values)",
        )
    names = sorted({type(r).__name__ for r in got})
    if got and names != ["Run"]:
        fail(
            f"{what} returned named tuples of type {', '.join(names)}; expected the type name Run",
            "collections.namedtuple('Run', params.keys())",
        )
    if got and any(list(r._fields) != fields for r in got):
        hint = (
            "keep the dictionary's key order: params.keys() as it is, not sorted"
            if sorted(got[0]._fields) == sorted(fields)
            else "the fields are the keys of params"
        )
        fail(f"{what} returned runs with fields {list(got[0]._fields)}; expected {fields}", hint)
    if len(got) != len(expected):
        fail(
            f"{what} returned {len(got)} runs; expected {len(expected)} (the product of the list "
            "lengths)",
            "itertools.product(*params.values()) yields every combination once",
        )
    if got != expected:
        hint = (
            "the runs are right but in the wrong order: keep itertools.product's order, in which "
            "the last key varies fastest"
            if sorted(map(repr, got)) == sorted(map(repr, expected))
            else "each run holds one value from each list, in the order of the keys"
        )
        first = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
        fail(f"{what}: run {first} is {got[first]}, expected {expected[first]}", hint)


@check(task="4.1", points=2)
def test_get_runs_example(student, reference):
    """get_runs turns {lr: [...], batch_size: [...]} into the 4 runs, in order, as named tuples"""
    check_runs(
        student.get_runs(PARAMS), reference.get_runs(PARAMS), "get_runs(" + repr(PARAMS) + ")"
    )
