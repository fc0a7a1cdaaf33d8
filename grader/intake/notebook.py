"""Jupyter notebooks as Python modules: the code cells, in order, without IPython syntax.

The notebook is read as JSON and nothing in it runs here. Lines that only IPython
understands (`%magic`, `!shell`, `%%cell magic`, `help?`) are replaced by `pass` so
blocks stay valid, and each replacement becomes a note for the student's feedback.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from grader.errors import SubmissionError
from grader.intake.files import MAX_BYTES

# Cell magics whose body is ordinary Python: the magic line goes, the body stays.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
HELP = re.compile(r"^(\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?{1,2})$")  # `?obj`, `obj??`


def _is_ipython_line(stripped: str) -> bool:
    return stripped.startswith(("%", "!")) or bool(HELP.match(stripped))


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def _cell_source(cell: dict, index: int, path: Path) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise SubmissionError(
        f"{path.name}: code cell {index} has no readable source; "
        "save the notebook again from Jupyter"
    )


def _convert_cell(source: str, number: int, notes: list[str]) -> str:
    if _parses(source):  # plain Python: a `%` starting a line inside a string stays
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


def notebook_to_source(path: Path) -> tuple[str, list[str]]:
    """The Python source of a notebook's code cells, and notes on what was dropped."""
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(
            f"{path.name}: the notebook is larger than {MAX_BYTES >> 20} MiB; "
            "clear its outputs (Cell > All Output > Clear) and hand it in again"
        )
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path.name}: not a readable Jupyter notebook ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        version = data.get("nbformat") if isinstance(data, dict) else None
        raise SubmissionError(
            f"{path.name}: not a Jupyter notebook in format 4 (nbformat "
            f"{version!r}); open it in Jupyter and save it again"
        )
    notes: list[str] = []
    parts = []
    number = 0
    for index, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        code = _convert_cell(_cell_source(cell, index, path), number, notes)
        if code.strip():
            parts.append(f"# --- code cell {number} ---\n{code}\n")
    if not parts:
        raise SubmissionError(f"{path.name}: the notebook has no code cells")
    return "\n".join(parts), notes
