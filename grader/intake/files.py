"""Which files of a hand-in count, and how much of them: the rules every intake path follows.

A folder, an unpacked archive and the worker's copy of a submission all take the same
files (`python_files`), so the content hash a batch keys its results by covers exactly
what is graded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

# folders that are never part of a hand-in (plus every folder whose name starts with ".")
SKIP_DIRS = frozenset(
    {
        "__MACOSX",
        "__pycache__",
        ".git",
        ".ipynb_checkpoints",
        ".venv",
        "venv",
        "node_modules",
        "checks",
    }
)
MAX_FILES = 200  # Python files in one hand-in
MAX_BYTES = 20 << 20  # bytes of a hand-in's Python files (or of a notebook), in total


def skipped_dir(name: str) -> bool:
    """Whether a folder of this name is left out of a hand-in."""
    return name in SKIP_DIRS or name.startswith(".")


def python_files(root: Path) -> Iterator[Path]:
    """The Python files of the folder `root` that a hand-in consists of, in a stable order:
    no symbolic links, nothing under a skipped folder (walked without recursion, so a
    deeply nested folder cannot exhaust the stack)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        subfolders = []
        for path in sorted(folder.iterdir()):
            if path.is_symlink():
                continue
            if path.is_dir():
                if not skipped_dir(path.name):
                    subfolders.append(path)
            elif path.suffix == ".py" and path.is_file():
                yield path
        stack.extend(reversed(subfolders))
