"""Fingerprints of normalised tokens: hashed k-grams, winnowed.

Every K consecutive tokens of a file make a k-gram; of every W consecutive k-gram hashes the
smallest is kept (the rightmost of equal ones, each position once: "robust winnowing",
Schleimer, Wilkerson and Aiken, SIGMOD 2003). So any run of at least W + K - 1 tokens that
two files share leaves a fingerprint in both, and neither file's fingerprints depend on where
the run is: reordering functions keeps every fingerprint but the few spanning a boundary.
Each fingerprint remembers the lines it covers, for highlighting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence, Set
from dataclasses import dataclass

from grader.similarity.tokens import SourceFile, Token

K = 5  # tokens in a k-gram
W = 4  # k-grams in a winnowing window: shared runs of W + K - 1 = 8 tokens are always seen
MAX_PLACES = 20  # places kept of one fingerprint in one submission (for highlighting)


@dataclass(frozen=True)
class Span:
    """Where a k-gram is: a file of the submission (its index) and a range of its lines."""

    file: int
    first: int
    last: int


def _hash(tokens: Sequence[Token]) -> int:
    text = "\0".join(t.text for t in tokens).encode("utf-8", "backslashreplace")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def kgrams(tokens: Sequence[Token], file: int = 0) -> list[tuple[int, Span]]:
    """(hash, span) of every k-gram of `tokens`; a file shorter than K is one k-gram."""
    if not tokens:
        return []
    count = max(len(tokens) - K + 1, 1)
    found = []
    for i in range(count):
        gram = tokens[i : i + K]
        found.append((_hash(gram), Span(file, gram[0].first, gram[-1].last)))
    return found


def winnow(grams: Sequence[tuple[int, Span]]) -> list[tuple[int, Span]]:
    """The k-grams robust winnowing selects: the rightmost minimum of each window of W."""
    if not grams:
        return []
    chosen: list[int] = []
    for start in range(max(len(grams) - W + 1, 1)):
        window = range(start, min(start + W, len(grams)))
        best = min(window, key=lambda i: (grams[i][0], -i))
        if not chosen or chosen[-1] != best:
            chosen.append(best)
    return [grams[i] for i in chosen]


def _own_runs(grams: Sequence[tuple[int, Span]], stub: Set[int]) -> list[list[int]]:
    """Runs of consecutive k-grams (their indices) that touch no token of the stub's code:
    a token is the stub's when a k-gram of the stub covers it here."""
    theirs = [False] * (len(grams) + K)
    for i, (value, _) in enumerate(grams):
        if value in stub:
            theirs[i : i + K] = [True] * K
    runs: list[list[int]] = [[]]
    for i in range(len(grams)):
        if any(theirs[i : i + K]):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(i)
    return [run for run in runs if run]


def fingerprints(
    files: Sequence[SourceFile], stub: Set[int] = frozenset()
) -> tuple[dict[int, list[Span]], int]:
    """A submission's fingerprints, each with the places it occurs (MAX_PLACES), and how many of its
    k-grams were left out for touching the stub's code. Each run of the student's own code
    is winnowed apart, so its fingerprints do not depend on what stands around it."""
    found: dict[int, list[Span]] = {}
    left_out = 0
    for index, source in enumerate(files):
        grams = kgrams(source.tokens, index)
        runs = _own_runs(grams, stub)
        left_out += len(grams) - sum(map(len, runs))
        for run in runs:
            for value, span in winnow([grams[i] for i in run]):
                places = found.setdefault(value, [])
                if len(places) < MAX_PLACES:
                    places.append(span)
    return found, left_out


def every_kgram(files: Sequence[SourceFile]) -> set[int]:
    """The hash of every k-gram of `files` (not winnowed): what is removed as the stub's."""
    return {value for source in files for value, _ in kgrams(source.tokens)}
