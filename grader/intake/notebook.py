"""Jupyter notebooks as Python modules: the code cells, in order, without IPython syntax.

The notebook is read like any student file (no link followed, at most MAX_BYTES) and parsed
as JSON; nothing in it runs here. Lines that only IPython understands (`%magic`, `!shell`,
`%%cell magic`, `help?`) are replaced by `pass` (or a comment) so blocks stay valid and no
line moves, and each replacement becomes a note for the student's feedback. A
`from __future__` import in any cell (in IPython it holds from its cell on) moves to the first
line of the module, which Python requires; its own lines become `pass`.

Every line of the module keeps where it came from (`CellMap`): a location in the module is
reported as "cell N, line M", N counting the notebook's code cells from the top (markdown and
raw cells are not counted; execution counts are not used: they change with every run), M the
line within that cell. A notebook the grader cannot parse (bad JSON, nested too deeply, a cell
too deeply nested to analyse, text that is not valid Unicode) is a SubmissionError that says so.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
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


def _cell_source(cell: dict, number: int, where: str) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise SubmissionError(
            f"{printable(where)}: code cell {number} has no readable source; "
            "save the notebook again from Jupyter"
        )
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise SubmissionError(
            f"{printable(where)}: code cell {number} holds text that is not valid Unicode; "
            "save the notebook again from Jupyter"
        ) from None
    return source


def _convert_cell(source: str, number: int, notes: list[str], where: str) -> str:
    if _parses(source, number, where):  # plain Python: a line starting `%` in a string stays
        return source
    lines = source.split("\n")
    first = lines[0].strip()
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            notes.append(f"cell {number}: dropped a `%%{magic}` cell (not Python)")
            return ""
        notes.append(f"cell {number}: dropped the `%%{magic}` line, kept the code under it")
        out = [f"# dropped by the grader: {first[:60]}"]
        lines = lines[1:]
    else:
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


@dataclass(frozen=True)
class CellMap:
    """Where each line of a notebook's module came from, to report locations as the student
    sees them: "cell N, line M" of the notebook."""

    notebook: str  # the notebook's file name, as the student knows it
    module: str  # the module's file name in the worker's folder, e.g. "linear_layer.py"
    origins: tuple[tuple[int, int], ...]  # line i + 1 -> (code cell, line in it); 0: grader's

    def locate(self, line: int) -> tuple[int, int]:
        """(code cell, line in the cell) of the module's `line`; (0, 0) for a line the
        grader wrote (a cell's header)."""
        return self.origins[line - 1] if 0 < line <= len(self.origins) else (0, 0)

    def where(self, line: int) -> str:
        """`line` of the module as the student finds it: "cell 3, line 2"."""
        cell, at = self.locate(line)
        return f"cell {cell}, line {at}" if cell else f"line {line} of the grader's copy"

    def translate(self, text: str) -> str:
        """`text` (a traceback, an error message) with every `"module.py", line L` and
        `(module.py, line L)` turned into the notebook's name, cell and line."""

        def cell_of(match: re.Match[str]) -> str:
            cell, at = self.locate(int(match[2]))
            if not cell:
                return match[0]
            quote = match[1] or ""
            return f"{quote}{self.notebook}{quote}, cell {cell}, line {at}"

        pattern = rf'(?<![\w./])(")?{re.escape(self.module)}(?(1)"), line (\d+)'
        return re.sub(pattern, cell_of, text)


@dataclass(frozen=True)
class Notebook:
    """A notebook made into a module."""

    source: str
    notes: list[str]  # for the student: what was dropped
    cells: CellMap


def _lines(text: str) -> list[str]:
    """The lines of `text` as Python numbers them (\n, \r\n and \r end a line)."""
    return re.sub(r"\r\n?", "\n", text).split("\n")


def _without_futures(code: str) -> tuple[str, list[tuple[str, int]]]:
    """`code` (a cell) with each top-level `from __future__` import replaced by `pass`, its
    lines kept (joined with backslashes), and each import's text with its line in the cell."""
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):  # the import reports it, at its cell and line
        return code, []
    found = [n for n in body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    lines = code.split("\n")
    for node in reversed(found):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        head = lines[first].encode()[: node.col_offset].decode()
        tail = lines[last].encode()[node.end_col_offset or 0 :].decode()
        if first == last:
            lines[first] = f"{head}pass{tail}"
        else:
            lines[first : last + 1] = [f"{head}pass\\"] + ["\\"] * (last - first - 1) + [tail]
    return "\n".join(lines), [(ast.unparse(n), n.lineno) for n in found]


def read_notebook(path: Path, where: str | None = None, module: str = "notebook.py") -> Notebook:
    """The notebook at `path` as the module `module` (`where`: the notebook's name for the
    student, by default its file name)."""
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
    lines, origins = [""], [(0, 0)]  # line 1: the __future__ imports, if any
    futures: dict[str, tuple[int, int]] = {}
    number = 0
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        source = "\n".join(_lines(_cell_source(cell, number, where)))
        code, moved = _without_futures(_convert_cell(source, number, notes, where))
        for text, at in moved:
            futures.setdefault(text, (number, at))
        if code.strip():
            cell_lines = code.split("\n")
            lines += [f"# --- code cell {number} ---", *cell_lines, ""]
            origins += [(0, 0), *((number, i) for i in range(1, len(cell_lines) + 1)), (0, 0)]
    if len(lines) == 1:
        raise SubmissionError(f"{printable(where)}: the notebook has no code cells")
    if futures:
        lines[0] = "; ".join(futures) + "  # moved here by the grader"
        origins[0] = next(iter(futures.values()))
    cells = CellMap(printable(Path(where).name), module, tuple(origins))
    return Notebook("\n".join(lines) + "\n", notes, cells)


def notebook_to_source(path: Path, where: str | None = None) -> tuple[str, list[str]]:
    """The Python source of a notebook's code cells, and notes on what was dropped."""
    notebook = read_notebook(path, where)
    return notebook.source, notebook.notes
