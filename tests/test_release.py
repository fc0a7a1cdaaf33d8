"""`grader release`: a student bundle without reference code or hidden checks whose public
checks still run, in a fresh virtual environment, from the reference's recorded answers."""

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COURSE, by_id, reference_with, run_cli

from grader.course import load_assignment
from grader.errors import ConfigError
from grader.judge.runner import grade
from grader.release.bundle import MARKER, WORKFLOW, build, torch_pin

HW1 = load_assignment(COURSE, "hw1")


def check_ids(folder: Path) -> list[str]:
    return [
        n.name
        for p in sorted(folder.rglob("test_*.py"))
        for n in ast.parse(p.read_text()).body
        if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    ]


PUBLIC, HIDDEN = check_ids(HW1.checks_dir / "public"), check_ids(HW1.checks_dir / "hidden")
PUBLIC_POINTS = sum(HW1.points_for(c) for c in PUBLIC)
HIDDEN_POINTS = sum(HW1.points_for(c) for c in HIDDEN)


@pytest.fixture(scope="session")
def bundle(zygote, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "student-repo"
    released = build(COURSE, ["hw1"], out, zygote=zygote)
    assert [r.id for r in released] == ["hw1"] and released[0].recorded > 0
    return out


def bundle_texts(root: Path) -> dict[Path, str]:
    return {p: p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()}


def distinctive_lines(secret: list[Path], public: list[Path]) -> set[str]:
    """Lines of the secret files (long enough to be telling) that no public file contains."""
    shown = "\n".join(p.read_text() for p in public)
    lines = {line.strip() for p in secret for line in p.read_text().splitlines()}
    return {line for line in lines if len(line) >= 20 and line not in shown}


def test_release_holds_no_reference_code_and_no_hidden_check_text(bundle):
    public = [HW1.root / f for f in HW1.files] + sorted((HW1.checks_dir / "public").rglob("*.py"))
    reference = distinctive_lines(sorted(HW1.reference.rglob("*.py")), public)
    hidden = distinctive_lines(sorted((HW1.checks_dir / "hidden").rglob("*.py")), public)
    assert len(reference) >= 15 and len(hidden) >= 15  # enough to find a leak by
    for path, text in bundle_texts(bundle).items():
        leaked = [line for line in reference | hidden if line in text]
        assert not leaked, f"{path} contains {leaked[:3]}"
    assert not (bundle / "reference").exists()
    assert not list(bundle.rglob("hidden"))
    assert not list(bundle.rglob("test_hidden_*.py"))


def test_release_holds_the_stub_public_checks_recorded_answers_and_the_grader(bundle):
    hw1 = bundle / "assignments" / "hw1"
    for name in HW1.files:
        assert (hw1 / name).read_bytes() == (HW1.root / name).read_bytes()
    for path in (HW1.checks_dir / "public").glob("test_*.py"):
        assert (hw1 / "checks" / "public" / path.name).read_bytes() == path.read_bytes()
    tape = json.loads((hw1 / "checks" / "release.json").read_text())
    assert set(tape["checks"]) <= set(PUBLIC) and tape["seed"] == HW1.seed
    assert tape["hidden"] == {"checks": len(HIDDEN), "points": HIDDEN_POINTS} and len(HIDDEN) > 0
    assert (bundle / "grader" / "cli.py").is_file() and (
        bundle / "grader" / "judge" / "replay.py"
    ).is_file()
    assert 'grader = "grader.cli:run"' in (bundle / "pyproject.toml").read_text()
    assert json.loads((bundle / MARKER).read_text())["assignments"] == ["hw1"]


def test_release_workflow_and_readme_pin_torch_and_run_the_released_assignments(bundle):
    workflow = (bundle / WORKFLOW).read_text()
    readme = (bundle / "README.md").read_text()
    assert "assignment: [hw1]" in workflow
    assert f"pip install {torch_pin()} -e ." in workflow
    assert f"pip install {torch_pin()} -e ." in readme
    assert "grader check ${{ matrix.assignment }}" in workflow
    assert re.search(r"Exit status: \*\*0\*\*.*\*\*1\*\*.*\*\*2\*\*", readme, re.S)


def test_release_grades_a_submission_exactly_as_the_instructor_public_checks_do(
    bundle, grade_with, zygote, tmp_path
):
    buggy = reference_with(
        "hw1",
        tmp_path,
        {
            "return x - x.mean(dim=0, keepdim=True)": "return x - x.mean(dim=1, keepdim=True)",
            "return a @ b": "return a * 1.0",
            "return torch.from_numpy(a)": "return torch.tensor(a)",
        },
    )
    instructor = by_id(grade_with("hw1", buggy))
    spec = load_assignment(bundle, "hw1")
    assert not spec.reference.exists()
    student = grade(spec, buggy, course=bundle, zygote=zygote)
    assert student.notes and f"{len(HIDDEN)} hidden checks" in student.notes[0]
    assert {c.tier for c in student.checks} == {"public"}
    for c in student.checks:
        expected = instructor[c.id]
        assert (c.status, c.score, c.message) == (expected.status, expected.score, expected.message)
    assert {c.id for c in student.checks if c.status != "passed"} == {
        "test_center_columns",
        "test_batched_matmul",
        "test_share_numpy_shares_memory",
    }


def test_check_in_a_release_with_another_seed_names_the_recorded_one(bundle):
    proc = run_cli("check", "hw1", "--seed", "5", cwd=bundle)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"for seed {HW1.seed} only" in proc.stderr


def test_release_refuses_a_folder_that_is_not_empty(zygote, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not empty; choose a new or empty folder"):
        build(COURSE, ["hw1"], tmp_path, zygote=zygote, force=True)
    with pytest.raises(ConfigError, match="must not be written inside"):
        build(COURSE, ["hw1"], COURSE / "reference" / "out", zygote=zygote)
    assert run_cli("release", "hw99", "--out", str(tmp_path / "new")).returncode == 2


def test_release_stops_when_the_reference_fails_a_public_check(zygote, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(HW1.root, course / "assignments" / "hw1")
    (course / "reference" / "hw1").mkdir(parents=True)
    reference_with(
        "hw1",
        course / "reference" / "hw1",
        {"return torch.from_numpy(a)": "return torch.tensor(a)"},
    )
    with pytest.raises(ConfigError) as info:
        build(course, ["hw1"], tmp_path / "out", zygote=zygote)
    assert "the reference solution fails public checks" in str(info.value)
    assert "test_share_numpy_shares_memory" in str(info.value)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out-")]  # no staging left


# ----------------------------------------------------------------------------- a fresh venv


def clean_env(venv: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GRADER_COURSE", "PYTHONHOME")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def bundle_venv(bundle, tmp_path_factory) -> Path:
    """A fresh venv with the bundle installed by the command its README gives."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    readme = (bundle / "README.md").read_text()
    command = next(line for line in readme.splitlines() if line.startswith("pip install "))
    # --no-compile: skip byte-compiling torch's files up front (a minute here; Python does it lazily)
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", *shlex.split(command), "-q", "--no-compile"],
        cwd=bundle,
        env=clean_env(venv),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return venv


def run_in(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "grader"), *args],
        cwd=cwd,
        env=clean_env(venv),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_bundle_installs_in_a_fresh_venv_and_checks_stub_and_solution(
    bundle, bundle_venv, tmp_path
):
    where = subprocess.run(
        [str(bundle_venv / "bin" / "python"), "-c", "import grader; print(grader.__file__)"],
        env=clean_env(bundle_venv),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(bundle)  # the bundle's grader, not the instructor's

    stub = run_in(
        bundle_venv,
        bundle,
        "check",
        "hw1",
        "--format",
        "json",
        "--output",
        str(tmp_path / "stub.json"),
    )
    assert stub.returncode == 1, stub.stdout + stub.stderr
    result = json.loads((tmp_path / "stub.json").read_text())
    assert result["score"] == 0 and result["max_score"] == PUBLIC_POINTS
    assert {c["tier"] for c in result["checks"]} == {"public"}
    assert (
        f"{len(HIDDEN)} hidden checks ({HIDDEN_POINTS:g} points) are not in this release"
        in " ".join(stub.stdout.split())
    )

    repo = tmp_path / "student-repo"
    shutil.copytree(bundle, repo)
    shutil.copyfile(HW1.reference / "tensor_ops.py", repo / "assignments" / "hw1" / "tensor_ops.py")
    solved = run_in(bundle_venv, repo, "check", "hw1")
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert f"total: {PUBLIC_POINTS:g}/{PUBLIC_POINTS:g}" in solved.stdout
