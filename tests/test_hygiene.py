"""Developer hygiene runs the same way locally and in CI: `ruff check .` must be clean."""

import shutil
import subprocess
import sys

from conftest import COURSE


def test_ruff_finds_nothing_to_fix():
    ruff = shutil.which("ruff") or str(__import__("pathlib").Path(sys.executable).parent / "ruff")
    proc = subprocess.run([ruff, "check", "."], cwd=COURSE, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
