"""The architecture holds in the tree: the trust-boundary import contract, one name per thing,
and check files that reach the engine only through `grader.checking`."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from conftest import COURSE

GRADER = COURSE / "grader"
# what code on the worker's side of the boundary may import from the grader
SANDBOX_MAY_IMPORT = ("grader.sandbox", "grader.errors")


def _imported(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, module) of every grader module `path` imports, at any depth, with relative
    imports resolved and string literals naming grader modules (e.g. `-m grader.x`) included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}" if base else a.name) for a in node.names]
            found.append((node.lineno, base))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [
                (node.lineno, word) for word in node.value.split() if word.startswith("grader.")
            ]
    return [(line, name) for line, name in found if name == "grader" or name.startswith("grader.")]


def boundary_violations(sandbox: Path, package: str = "grader.sandbox") -> list[str]:
    """Imports of a module under `sandbox` that reach the judge's side."""
    problems = []
    for path in sorted(sandbox.rglob("*.py")):
        for line, name in _imported(path, package):
            allowed = name.startswith(SANDBOX_MAY_IMPORT) or name in (
                "grader",
                "grader.__version__",
            )
            if not allowed:
                problems.append(f"{path.name}:{line} imports {name}")
    return problems


def test_no_sandbox_module_imports_the_judge_side():
    assert boundary_violations(GRADER / "sandbox") == []


def test_the_contract_test_catches_a_worker_module_that_imports_the_judge(tmp_path):
    copy = tmp_path / "sandbox"
    shutil.copytree(GRADER / "sandbox", copy)
    worker = copy / "worker.py"
    worker.write_text(worker.read_text() + "\n\ndef _leak():\n    from ..judge import plugin\n")
    (copy / "client.py").write_text(
        (copy / "client.py").read_text() + "\nimport grader.outputs.schema\n"
    )
    problems = boundary_violations(copy)
    assert any("worker.py" in p and "grader.judge.plugin" in p for p in problems), problems
    assert any("client.py" in p and "grader.outputs.schema" in p for p in problems), problems


def test_a_worker_process_loads_no_judge_module():
    """What the zygote imports (and so every worker it forks inherits) is sandbox code only."""
    code = (
        "import json, sys\n"
        "import grader.sandbox.zygote, grader.sandbox.worker, grader.sandbox.client\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('grader'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert "grader.sandbox.worker" in loaded
    assert [m for m in loaded if m != "grader" and not m.startswith(SANDBOX_MAY_IMPORT)] == []


def _public_definitions(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names += [e.id for e in elements if isinstance(e, ast.Name)]
    return [n for n in names if not n.startswith("_")]


def test_no_two_modules_define_a_public_name_alike():
    where = defaultdict(list)
    for path in sorted(GRADER.rglob("*.py")):
        for name in _public_definitions(path):
            where[name].append(str(path.relative_to(COURSE)))
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}


def test_check_files_reach_the_engine_only_through_grader_checking():
    found = {}
    for path in sorted((COURSE / "assignments").glob("*/checks/**/*.py")):
        names = {name for _, name in _imported(path, "checks")}
        outside = sorted(
            n for n in names if n != "grader.checking" and not n.startswith("grader.checking.")
        )
        if outside:
            found[str(path.relative_to(COURSE))] = outside
    assert found == {}
