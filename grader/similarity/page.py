"""The similarity report as one self-contained HTML page: the pairs, highest first, and the
first of them side by side with their matched regions highlighted.

Everything a student controls (ids, file names, code, the reasons an entry was skipped) is
escaped, and the page has no script at all; its Content-Security-Policy forbids scripts and
every outside resource, so even a mistake here could not run anything or fetch anything.
"""

from __future__ import annotations

import html

from grader.intake.files import printable
from grader.similarity.compare import Comparison, Pair, Region, Submission, regions
from grader.similarity.fingerprints import K, W

MAX_ROWS = 200  # pairs in the page's table; pairs.csv has them all
PALETTE = ("#ffd84d", "#9fd8ff", "#b6eeaa", "#ffb8d4", "#d9c6ff", "#ffc98f")
CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.15em .5em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.7em;background:#c0392b;vertical-align:middle}
.pair{margin-top:2em;border-top:2px solid #888}
.sbs{display:grid;grid-template-columns:1fr 1fr;gap:1em;align-items:start}
.side{min-width:0}.fname{font-weight:bold;background:#eee;padding:.2em .4em;margin-top:.6em}
.code{font:12px/1.35 ui-monospace,monospace;white-space:pre;overflow-x:auto;border:1px solid #ddd}
.l{padding-right:.5em}.no{display:inline-block;width:3.5em;color:#999;text-align:right;
margin-right:.6em;user-select:none}.tag{font-weight:bold;color:#000;margin-left:.3em}
.note{color:#8a5a00}
""" + "".join(f".m{i}{{background:{c}}}" for i, c in enumerate(PALETTE))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _who(sub: Submission) -> str:
    return _e(printable(sub.id))


def _table(c: Comparison, shown: dict[int, Pair]) -> str:
    rows = []
    for rank, p in enumerate(c.pairs[:MAX_ROWS], 1):
        a, b = c.submissions[p.a], c.submissions[p.b]
        link = f'<a href="#pair-{rank}">side by side</a>' if rank in shown else ""
        rows.append(
            f"<tr><td class=num>{rank}</td><td>{_who(a)}</td><td>{_who(b)}</td>"
            f"<td class=num>{p.similarity:.4f} <span class=bar "
            f'style="width:{round(80 * p.similarity)}px"></span></td>'
            f"<td class=num>{p.shared}</td><td>{link}</td></tr>"
        )
    more = len(c.pairs) - MAX_ROWS
    tail = f"<p>{more} more pairs are in pairs.csv.</p>" if more > 0 else ""
    return (
        "<table><tr><th>#</th><th>a</th><th>b</th><th>similarity</th>"
        f"<th>shared fingerprints</th><th></th></tr>{''.join(rows)}</table>{tail}"
    )


def _spots(sub: Submission, regions: list[Region]) -> dict[int, str]:
    """For each match number, where it is in `sub`: "tensor_ops.py 12-15, ..."."""
    found: dict[int, list[str]] = {}
    for r in regions:
        found.setdefault(r.match, []).append(
            f"{printable(sub.files[r.file].path)} {r.first}-{r.last}"
        )
    return {match: ", ".join(spots) for match, spots in found.items()}


def _side(
    rank: int,
    side: str,
    sub: Submission,
    other: Submission,
    mine: list[Region],
    theirs: list[Region],
) -> str:
    """One submission's files, with the lines that match `other` highlighted; each region's
    tag links to where the same match starts on the other side."""
    at = {(r.file, line): r for r in mine for line in range(r.first, r.last + 1)}
    firsts: dict[int, Region] = {}
    for r in mine:
        firsts.setdefault(r.match, r)
    spots = _spots(other, theirs)
    there = "b" if side == "a" else "a"
    parts = [f"<div class=side><h3>{_who(sub)}</h3>"]
    for index, source in enumerate(sub.files):
        parts.append(f"<div class=fname>{_e(printable(source.path))}</div>")
        if source.note:
            parts.append(f"<div class=note>{_e(source.note)}</div>")
        lines = []
        for number, text in enumerate(source.lines, 1):
            hit = at.get((index, number))
            if hit is None:
                lines.append(f"<div class=l><span class=no>{number}</span>{_e(text)}</div>")
                continue
            head = number == hit.first
            anchor = f' id="p{rank}{side}{hit.match}"' if head and firsts[hit.match] is hit else ""
            tag = (
                f'<a class=tag href="#p{rank}{there}{hit.match}">[{hit.match}]</a>' if head else ""
            )
            title = _e(f"match {hit.match}: {printable(other.id)} {spots.get(hit.match, '')}")
            lines.append(
                f'<div class="l m{(hit.match - 1) % len(PALETTE)}"{anchor} title="{title}">'
                f"<span class=no>{number}</span>{_e(text)}{tag}</div>"
            )
        parts.append(f"<div class=code>{''.join(lines)}</div>")
    parts.append("</div>")
    return "".join(parts)


def _view(c: Comparison, rank: int, pair: Pair) -> str:
    a, b = c.submissions[pair.a], c.submissions[pair.b]
    left, right = regions(a, b)

    def share(sub: Submission) -> str:
        return f"{pair.shared / len(sub.prints):.0%}" if sub.prints else "0%"

    return (
        f'<section class=pair id="pair-{rank}"><h2>{rank}. {_who(a)} and {_who(b)}: '
        f"{pair.similarity:.4f}</h2><p>{pair.shared} shared fingerprints: {share(a)} of "
        f"{_who(a)}'s {len(a.prints)}, {share(b)} of {_who(b)}'s {len(b.prints)}; "
        f"{max((r.match for r in left), default=0)} matched regions, numbered alike on both "
        f"sides.</p><div class=sbs>{_side(rank, 'a', a, b, left, right)}"
        f"{_side(rank, 'b', b, a, right, left)}</div></section>"
    )


def _entries(c: Comparison) -> str:
    rows = [(printable(s.id), "skipped", s.reason) for s in c.skipped]
    for sub in c.submissions:
        notes = list(sub.notes)
        if not sub.prints:
            notes.insert(0, "no code of its own beyond the stub: similar to no one")
        if notes:
            rows.append((printable(sub.id), "compared", "; ".join(notes)))
    if not rows:
        return "<p>Every entry was compared in full.</p>"
    cells = "".join(
        f"<tr><td>{_e(a)}</td><td>{_e(b)}</td><td>{_e(c)}</td></tr>" for a, b, c in rows
    )
    return f"<table><tr><th>student</th><th></th><th>why</th></tr>{cells}</table>"


def similarity_page(c: Comparison, *, views: int) -> str:
    """The report; the first `views` pairs with shared code are shown side by side."""
    shown = {rank: p for rank, p in enumerate(c.pairs[:views], 1) if p.shared}
    spec = c.spec
    hidden = (
        f" Hidden entries left out: {_e(', '.join(printable(h) for h in c.hidden))}."
        if c.hidden
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{_e(spec.id)}: code similarity</title><style>{STYLE}</style></head><body>
<h1>{_e(spec.id)}: {_e(spec.title)} — code similarity</h1>
<p>{len(c.submissions)} submissions compared, {len(c.skipped)} skipped, {len(c.pairs)} pairs.{hidden}
Similarity is the share of fingerprints two submissions have in common (Jaccard index of
winnowed {K}-token fingerprints, window {W}), after removing the stub's code
({c.stub_removed} k-grams touched it), import statements, and what more than {c.common_limit}
submissions share ({c.common_removed} fingerprints). Names the code binds, literals,
comments, docstrings and layout do not count, nor does the order of functions.</p>
<h2>Pairs, highest first</h2>
<p>The first {min(views, len(c.pairs))} pairs with shared code are shown side by side below
(<code>--top</code>){f"; this table lists the first {MAX_ROWS}" if len(c.pairs) > MAX_ROWS else ""};
pairs.csv lists every pair.</p>
{_table(c, shown)}
<h2>Entries skipped, read in part, or with nothing of their own</h2>
{_entries(c)}
{"".join(_view(c, rank, p) for rank, p in shown.items())}
</body></html>
"""
