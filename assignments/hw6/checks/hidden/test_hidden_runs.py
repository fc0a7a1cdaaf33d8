"""hw6 hidden checks: the run builder on other dictionaries and edge cases."""

from grader.checking import check, fail


def compare(student, reference, params: dict) -> None:
    got, expected = student.get_runs(params), reference.get_runs(params)
    what = f"get_runs({params!r})"
    if not isinstance(got, list) or any(not hasattr(r, "_fields") for r in got):
        fail(
            f"{what} should return a list of named tuples, got {got!r:.200}",
            "Run = collections.namedtuple('Run', params.keys()); [Run(*v) for v in product(...)]",
        )
    if [list(r._fields) for r in got] != [list(r._fields) for r in expected] or got != expected:
        shown = got if len(got) <= 6 else got[:6] + ["..."]
        fail(
            f"{what} returned {shown!r:.300} ({len(got)} runs); expected {len(expected)} runs "
            f"starting {expected[:3]!r:.200}",
            "fields in the dictionary's key order, runs in itertools.product order (last key "
            "fastest); read the keys from params, never assume 'lr' and 'batch_size'",
        )


@check(task="4.1", points=1)
def test_get_runs_three_keys_in_dictionary_order(student, reference):
    """get_runs keeps unsorted key order and mixed value types with three keys"""
    compare(
        student,
        reference,
        {
            "shuffle": [True, False],
            "lr": [0.1, 0.01, 0.001],
            "device": ["cpu"],
            "batch_size": [10, 100],
        },
    )


@check(task="4.1", points=1)
def test_get_runs_edge_cases(student, reference):
    """get_runs handles one key, a key with no values, and None values"""
    compare(student, reference, {"epochs": [1, 2, 3]})
    compare(student, reference, {"lr": [0.1], "batch_size": []})
    compare(student, reference, {"momentum": [None, 0.9], "nesterov": [False]})
