"""A class compared pair by pair: read through `grader.intake`, boilerplate removed, scored.

Every entry of the submissions folder is read the way `grader grade` reads it (no link
followed, within the caps; `grader.intake`); one that cannot be read is skipped with the
reason. Then:

- the stub's code is removed: a token a k-gram of the assignment's own files covers (every
  k-gram of it, not only the winnowed ones) is the stub's, and only k-grams of the student's
  own tokens count (`fingerprints`), so stub code left in place, and the seams between it
  and the student's code, match nothing; import statements never count (`tokens`);
- what most of the class shares is removed too: a fingerprint found in more than
  `common_limit(n)` of the n submissions (at least COMMON_FLOOR, COMMON_SHARE of the class)
  is the course's idiom, not a copy;
- a pair's similarity is the Jaccard index of the fingerprints left, |A ∩ B| / |A ∪ B|, with
  the union counted as at least MIN_UNION: two students who each wrote one common line are
  not a copy. It is in [0, 1], rounded to PRECISION decimals.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from grader.errors import ConfigError, SubmissionError
from grader.intake import entries as intake
from grader.intake.files import printable
from grader.intake.submission import gather
from grader.similarity.fingerprints import Span, every_kgram, fingerprints
from grader.similarity.tokens import SourceFile, read_source
from grader.spec import AssignmentSpec

MAX_TOKENS = 50_000  # of one submission, over all its files (a solution has a few thousand)
COMMON_SHARE = 0.2
COMMON_FLOOR = 3
MIN_UNION = 10  # fingerprints: about two short functions
PRECISION = 4


@dataclass
class Submission:
    """One student's code as compared: its files and its fingerprints left after removal."""

    id: str
    name: str  # the entry in the submissions folder
    files: list[SourceFile]
    prints: dict[int, list[Span]]
    notes: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(len(f.tokens) for f in self.files)


@dataclass(frozen=True)
class Skipped:
    """An entry that could not be compared, and why."""

    id: str
    name: str
    reason: str


@dataclass(frozen=True)
class Pair:
    """Two submissions (indices into `Comparison.submissions`, a before b) and their score."""

    a: int
    b: int
    shared: int  # fingerprints in both
    similarity: float


@dataclass(frozen=True)
class Region:
    """Lines of one side that match lines of the other; regions that match share a number."""

    file: int
    first: int
    last: int
    match: int  # 1, 2, ... in the order of the first side


@dataclass
class Comparison:
    """The whole class: who was compared, who was skipped, every pair, highest first."""

    spec: AssignmentSpec
    submissions: list[Submission]
    skipped: list[Skipped]
    hidden: list[str]
    pairs: list[Pair]
    stub_removed: int  # k-grams left out for touching the stub's code, over the class
    common_removed: int  # distinct fingerprints removed as the class's idiom
    common_limit: int


def common_limit(n: int) -> int:
    """A fingerprint in more than this many of `n` submissions is the class's, not a copy."""
    return max(COMMON_FLOOR, math.ceil(COMMON_SHARE * n))


def _ordered(spec: AssignmentSpec, names: Iterable[str]) -> list[str]:
    """The assignment's files first, in their order, then the others by name."""
    rank = {name: i for i, name in enumerate(spec.files)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def read_files(spec: AssignmentSpec, files: dict[str, bytes]) -> list[SourceFile]:
    """The hand-in's Python files, tokenized within MAX_TOKENS in all."""
    found, budget = [], MAX_TOKENS
    for name in _ordered(spec, files):
        if budget <= 0:
            found.append(SourceFile(name, [], [], f"not compared: over {MAX_TOKENS} tokens"))
            continue
        source = read_source(name, files[name], budget=budget)
        budget -= len(source.tokens)
        found.append(source)
    return found


def _read(entry: intake.Entry, spec: AssignmentSpec) -> list[SourceFile]:
    hand_in = intake.read_entry(entry, spec)
    if not hand_in.files:
        raise SubmissionError(f"{printable(entry.name)}: holds no Python file")
    return read_files(spec, hand_in.files)


def read_class(
    spec: AssignmentSpec, folder: Path
) -> tuple[list[tuple[intake.Entry, list[SourceFile]]], list[Skipped], list[str]]:
    """Every entry's files, the entries skipped (with the reason), the hidden names."""
    entries, hidden = intake.scan(folder)
    read, skipped = [], []
    for entry in entries:
        try:
            read.append((entry, _read(entry, spec)))
        except SubmissionError as exc:
            skipped.append(Skipped(entry.id, entry.name, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a grader bug costs one entry, not the report
            reason = f"the grader failed on this entry ({type(exc).__name__}: {exc})"
            skipped.append(Skipped(entry.id, entry.name, reason))
    return read, skipped, hidden


def stub_kgrams(spec: AssignmentSpec) -> set[int]:
    """Every k-gram of the assignment's own files (its stub), read through the intake."""
    return every_kgram(read_files(spec, gather(spec.root, spec, spec.id).files))


def score(a: Submission, b: Submission, shared: int) -> float:
    union = len(a.prints) + len(b.prints) - shared
    return round(shared / max(union, MIN_UNION), PRECISION)


def compare_class(spec: AssignmentSpec, folder: Path) -> Comparison:
    """Read, fingerprint and compare every submission in `folder` (ConfigError when fewer
    than two can be compared)."""
    read, skipped, hidden = read_class(spec, folder)
    if len(read) < 2:
        why = "; ".join(f"{printable(s.name)}: {s.reason}" for s in skipped[:3])
        raise ConfigError(
            f"{folder}: {len(read)} submission{'s' if len(read) != 1 else ''} to compare "
            f"(need at least 2){f'; skipped {why}' if why else ''}; expected one folder, "
            ".py, .zip or .ipynb per student"
        )
    stub = stub_kgrams(spec)
    subs, stub_removed = [], 0
    for entry, files in read:
        prints, left_out = fingerprints(files, stub)
        stub_removed += left_out
        notes = [f"{printable(f.path)}: {f.note}" for f in files if f.note]
        subs.append(Submission(entry.id, entry.name, files, prints, notes))
    limit = common_limit(len(subs))
    counts = Counter(h for s in subs for h in s.prints)
    common = {h for h, n in counts.items() if n > limit}
    for s in subs:
        s.prints = {h: spans for h, spans in s.prints.items() if h not in common}
    shared: Counter[tuple[int, int]] = Counter()
    holders: dict[int, list[int]] = {}
    for i, s in enumerate(subs):
        for h in s.prints:
            holders.setdefault(h, []).append(i)
    for group in holders.values():
        shared.update(combinations(group, 2))
    pairs = [
        Pair(i, j, shared[i, j], score(subs[i], subs[j], shared[i, j]))
        for i, j in combinations(range(len(subs)), 2)
    ]
    pairs.sort(key=lambda p: (-p.similarity, p.a, p.b))
    return Comparison(spec, subs, skipped, hidden, pairs, stub_removed, len(common), limit)


def _blocks(spans: list[Span]) -> list[tuple[int, int, int]]:
    """Spans merged into (file, first, last) blocks of touching or overlapping lines."""
    blocks: list[tuple[int, int, int]] = []
    for s in sorted(spans, key=lambda s: (s.file, s.first, s.last)):
        if blocks and blocks[-1][0] == s.file and s.first <= blocks[-1][2] + 1:
            f, first, last = blocks[-1]
            blocks[-1] = (f, first, max(last, s.last))
        else:
            blocks.append((s.file, s.first, s.last))
    return blocks


def regions(a: Submission, b: Submission) -> tuple[list[Region], list[Region]]:
    """The lines of `a` and of `b` their shared fingerprints cover, as regions numbered so
    that a region of `a` and one of `b` with the same number match (in `a`'s order).

    Regions are linked by the fingerprints found once on each side; a region left without
    a partner that way is linked through the fingerprints it repeats."""
    both = [h for h in a.prints if h in b.prints]
    sides = (a, b)
    blocks = [_blocks([s for h in both for s in side.prints[h]]) for side in sides]
    starts = [[(f, first) for f, first, _ in side] for side in blocks]
    parent = {(side, i): (side, i) for side in (0, 1) for i in range(len(blocks[side]))}

    def root(node: tuple[int, int]) -> tuple[int, int]:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def nodes(h: int) -> list[tuple[int, int]]:
        return [
            (side, bisect_right(starts[side], (s.file, s.first)) - 1)
            for side in (0, 1)
            for s in sides[side].prints[h]
        ]

    for h in both:
        if len(a.prints[h]) == len(b.prints[h]) == 1:
            first, second = nodes(h)
            parent[root(second)] = root(first)
    paired = {root(n) for n in parent if n[0] == 0} & {root(n) for n in parent if n[0] == 1}
    for h in both:
        found = nodes(h)
        for n in found:
            if root(n) not in paired:  # to the first place on the other side
                parent[root(n)] = root(found[0] if n[0] else found[-1])
    numbers: dict[tuple[int, int], int] = {}
    for node in sorted(parent):
        numbers.setdefault(root(node), len(numbers) + 1)
    left, right = (
        [
            Region(f, first, last, numbers[root((side, i))])
            for i, (f, first, last) in enumerate(blocks[side])
        ]
        for side in (0, 1)
    )
    return left, right
