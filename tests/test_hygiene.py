"""Developer hygiene runs the same way locally and in CI (README, "Development"): ruff's lint,
ruff's formatter and mypy must all be clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COURSE

HYGIENE = (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy", "grader"])


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


@pytest.mark.parametrize("command", HYGIENE, ids=" ".join)
def test_hygiene_command_is_clean(command):
    proc = subprocess.run(
        [_tool(command[0]), *command[1:]], cwd=COURSE, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
