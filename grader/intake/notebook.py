"""Jupyter notebooks as Python modules: the code cells, in order, without IPython syntax.

The notebook is read like any student file (no link followed, at most MAX_BYTES) and parsed
as JSON; nothing in it runs here. Lines that only IPython understands (`%magic`, `!shell`,
`%%cell magic`, `help?`) are replaced by `pass` so blocks stay valid, and each replacement
becomes a note for the student's feedback. A notebook the grader cannot parse (bad JSON,
nested too deeply, a cell too deeply nested to analyse, text that is not valid Unicode) is a
SubmissionError that says so.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from grader.errors import SubmissionError
from grader.intake.files import MAX_BYTES, printable, read_file, untrusted

# Cell magics whose body is ordinary Python: the magic line goes, the body stays.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
HELP = re.compile(r"^(\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?{1,2})$")  # `?obj`, `obj??`


def _is_ipython_line(stripped: str) -> bool:
    return stripped.startswith(("%", "!")) or bool(HELP.match(stripped))


def _parses(source: str, number: int, where: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    except (RecursionError, MemoryError):
        raise SubmissionError(
            f"{printable(where)}: code cell {number} is too deeply nested for the grader to "
            "analyse (a very long expression, or brackets nested very deep); split it into "
            "smaller statements"
        ) from None
    return True


def _cell_source(cell: dict, index: int, where: str) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise SubmissionError(
            f"{printable(where)}: code cell {index} has no readable source; "
            "save the notebook again from Jupyter"
        )
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise SubmissionError(
            f"{printable(where)}: code cell {index} holds text that is not valid Unicode; "
            "save the notebook again from Jupyter"
        ) from None
    return source


def _convert_cell(source: str, number: int, notes: list[str], where: str) -> str:
    if _parses(source, number, where):  # plain Python: a line starting `%` in a string stays
        return source
    lines = source.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            notes.append(f"cell {number}: dropped a `%%{magic}` cell (not Python)")
            return ""
        notes.append(f"cell {number}: dropped the `%%{magic}` line, kept the code under it")
        lines = lines[1:]
    out = []
    for line in lines:
        stripped = line.strip()
        if _is_ipython_line(stripped):
            indent = line[: len(line) - len(line.lstrip())]
            notes.append(f"cell {number}: dropped `{stripped[:60]}` (IPython syntax, not Python)")
            out.append(f"{indent}pass  # dropped by the grader: {stripped[:60]}")
        else:
            out.append(line)
    return "\n".join(out)


def notebook_to_source(path: Path, where: str | None = None) -> tuple[str, list[str]]:
    """The Python source of a notebook's code cells, and notes on what was dropped (`where`:
    the notebook's name for the student, by default its file name)."""
    where = where or path.name
    raw = read_file(
        path,
        where,
        limit=MAX_BYTES,
        advice="clear its outputs (Cell > All Output > Clear) and hand it in again",
    )
    with untrusted(f"{printable(where)}: not a readable Jupyter notebook"):
        data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        version = data.get("nbformat") if isinstance(data, dict) else None
        if not isinstance(version, (int, float, str, type(None))):
            version = type(version).__name__
        raise SubmissionError(
            f"{printable(where)}: not a Jupyter notebook in format 4 (nbformat "
            f"{version!r:.40}); open it in Jupyter and save it again"
        )
    notes: list[str] = []
    parts = []
    number = 0
    for index, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        code = _convert_cell(_cell_source(cell, index, where), number, notes, where)
        if code.strip():
            parts.append(f"# --- code cell {number} ---\n{code}\n")
    if not parts:
        raise SubmissionError(f"{printable(where)}: the notebook has no code cells")
    return "\n".join(parts), notes
