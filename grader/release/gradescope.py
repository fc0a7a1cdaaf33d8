"""`grader export gradescope`: the zip Gradescope's autograder accepts, for one assignment.

Gradescope unpacks the zip into /autograder/source, runs `setup.sh` once as root when it
builds the autograder's image, copies `run_autograder` to /autograder and runs it for each
submission. The zip's root:

    setup.sh          Python X.Y (the version the pins were taken with), a virtual environment
                      at VENV with requirements.txt (torch's CPU build) and the grader
    run_autograder    grades /autograder/submission: `python -m grader.release.autograder`
    requirements.txt  every run-time dependency of the grader, pinned to the versions here
    autograder.json   what run_autograder grades (`grader.release.autograder.Settings`)
    package/          the grader's own sources, pip-installable
    course/           assignments/<id>/ (hidden checks included) and reference/<id>/: that
                      assignment only, and its data_dir if it has one

Before it is written the zip proves itself: the reference gets full marks from every check of
the course copy it holds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from rich.console import Console

import grader
from grader.course import load_assignment
from grader.errors import ConfigError
from grader.judge.runner import grade
from grader.release import autograder
from grader.release.bundle import copy_tree, require_full_marks, write_grader_package
from grader.sandbox.client import Zygote
from grader.spec import load_spec

VENV = "/opt/grader-venv"  # outside /autograder, which run_autograder closes to other users
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXECUTABLE = 0o755
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the same zip for the same files


@dataclass
class Exported:
    """What went into the zip."""

    id: str
    title: str
    checks: int
    hidden_checks: int
    points: float
    files: int
    size: int  # bytes of the zip
    torch: str  # the torch requirement setup.sh installs
    python: str  # the Python version setup.sh installs


def python_version() -> str:
    """The Python the pins were taken with, `X.Y`: setup.sh installs the same one."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def torch_cpu_pin() -> str:
    """torch's CPU build at the version installed here, such as `torch==2.13.0+cpu`."""
    return f"torch=={metadata.version('torch').split('+')[0]}+cpu"


def pinned_requirements() -> list[str]:
    """Every distribution the installed grader needs at run time (dependencies of
    dependencies too, markers evaluated here), as `name==version`; torch as its CPU build."""
    pins: dict[str, str] = {}
    todo = ["grader"]
    while todo:
        try:
            requires = metadata.requires(todo.pop()) or []
        except metadata.PackageNotFoundError as exc:
            raise ConfigError(
                f"{exc.name} is not installed, so its version cannot be pinned; "
                "install the grader with `pip install -e .`"
            ) from None
        for text in requires:
            req = Requirement(text)
            name = canonicalize_name(req.name)
            if name in pins or (req.marker and not req.marker.evaluate({"extra": ""})):
                continue
            pins[name] = torch_cpu_pin() if name == "torch" else f"{name}=={_version(name)}"
            todo.append(name)
    return [pins[name] for name in sorted(pins)]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"{name} is required by the grader but not installed here, so its version cannot "
            "be pinned; reinstall the grader (pip install -e .)"
        ) from None


def export(
    course: Path,
    assignment: str,
    out: Path,
    *,
    zygote: Zygote,
    settings: autograder.Settings,
    force: bool = False,
) -> Exported:
    """Write the autograder zip of `assignment` of `course` to `out` (see the module doc)."""
    spec = load_assignment(course, assignment)
    out = out.resolve()
    _check_out(out, force)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.stem}-", dir=out.parent))
    try:
        target = staging / "course"
        copy_tree(spec.root, target / "assignments" / spec.id)
        copy_tree(spec.reference, target / "reference" / spec.id)
        _copy_data(course, spec.root, spec.reference, target)
        staged = load_assignment(target, spec.id)
        result = grade(staged, staged.reference, course=target, zygote=zygote)
        require_full_marks(result, "from the zip's copy", checks="checks", into="an autograder zip")
        write_grader_package(
            staging / "package", f"# grader {grader.__version__}\n\nInstalled by setup.sh.\n"
        )
        torch = torch_cpu_pin()
        texts = {
            "setup.sh": setup_script(python_version(), torch),
            "run_autograder": run_script(spec.id),
            "requirements.txt": "".join(f"{pin}\n" for pin in pinned_requirements()),
            autograder.CONFIG: json.dumps(settings.to_dict(), indent=2) + "\n",
        }
        for name, text in texts.items():
            (staging / name).write_text(text)
        files = _write_zip(staging, out)
    except OSError as exc:
        raise ConfigError(f"{out}: writing the autograder zip failed ({exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    hidden = [c for c in result.checks if c.tier == "hidden"]
    return Exported(
        id=spec.id,
        title=spec.title,
        checks=len(result.checks),
        hidden_checks=len(hidden),
        points=result.max_score,
        files=files,
        size=out.stat().st_size,
        torch=torch,
        python=python_version(),
    )


def print_exported(exported: Exported, out: Path, console: Console) -> None:
    """What `grader export gradescope` wrote, and what to do with it."""
    e = exported
    console.print(
        f"[bold]{e.id}[/] {e.title}: {e.checks} checks ({e.hidden_checks} hidden), "
        f"{e.points:g} points; the reference scored full marks from the zip's copy"
    )
    console.print(
        f"[green]{out}[/] written ({e.files} files, {e.size / 1024:.0f} KiB): upload it as the "
        f"assignment's autograder on Gradescope; its setup.sh installs Python {e.python}, "
        f"{e.torch} and the grader"
    )


def _check_out(out: Path, force: bool) -> None:
    if out.suffix != ".zip":
        raise ConfigError(f"{out}: Gradescope takes a .zip file; name it e.g. autograder.zip")
    if out.is_dir():
        raise ConfigError(f"{out}: is a folder; name the zip file to write")
    if out.exists() and not force:
        raise ConfigError(f"{out}: exists; pass --force to replace it")
    if not out.parent.is_dir():
        raise ConfigError(f"{out.parent}: no such folder")


def _copy_data(course: Path, root: Path, reference: Path, target: Path) -> None:
    """The assignment's `data_dir` into the zip's course, at the same place in it."""
    raw = load_spec(root, reference).data_dir
    if raw is None:
        return
    where = Path(raw).expanduser()
    inside = (course / where).resolve()
    if where.is_absolute() or not inside.is_relative_to(course.resolve()):
        raise ConfigError(
            f"{root / 'assignment.toml'}: data_dir {raw!r} must be a folder inside the course, "
            "given relative to it, for the autograder zip to hold the data"
        )
    if not inside.is_dir():
        raise ConfigError(f"{inside}: no such folder (the assignment's data_dir)")
    copy_tree(inside, target / inside.relative_to(course.resolve()))


def _write_zip(staging: Path, out: Path) -> int:
    """Zip the files under `staging` (sorted, fixed dates; the two scripts executable) to
    `out`, atomically. Returns how many files it holds."""
    paths = sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink())
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in paths:
                name = path.relative_to(staging).as_posix()
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                mode = EXECUTABLE if name in ("setup.sh", "run_autograder") else 0o644
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(paths)


# ----------------------------------------------------------------------------- the two scripts


def setup_script(python: str, torch: str) -> str:
    """Gradescope's setup.sh: run once, as root, when it builds the autograder's image."""
    py = f"python{python}"
    return f"""#!/usr/bin/env bash
# Generated by `grader export gradescope` (grader {grader.__version__}). Gradescope runs it once,
# as root, when it builds the autograder's image: Python {python} (the version requirements.txt
# was pinned with), a virtual environment at {VENV} holding exactly requirements.txt with
# torch's CPU build, and the grader from package/.
set -euo pipefail
source_dir="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
venv={VENV}
fail() {{ echo "setup.sh: error: $*" >&2; exit 1; }}

if ! command -v {py} >/dev/null || ! {py} -c "import ensurepip, venv" 2>/dev/null; then
    {{ apt-get update && apt-get install -y --no-install-recommends {py} {py}-venv; }} \\
        || fail "cannot install Python {python} with apt-get; choose a Gradescope base image that has it, or export the zip with the image's Python"
fi
{py} -m venv "$venv"
pip=("$venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check)
# torch's CPU build from PyTorch's own index: a +cpu version exists nowhere else, so this
# fails loudly rather than pull the CUDA build (GBs) from PyPI
"${{pip[@]}}" --no-deps --index-url {TORCH_CPU_INDEX} "{torch}" \\
    || fail "cannot install {torch} from {TORCH_CPU_INDEX}"
"${{pip[@]}}" -r "$source_dir/requirements.txt" || fail "cannot install requirements.txt"
"${{pip[@]}}" --no-deps "$source_dir/package" || fail "cannot install the grader from package/"
"$venv/bin/python" -m pip check || fail "the installed packages do not fit together"
# the datasets the judge reads (their labels included) are the judge's alone: workers run as
# other users
"$venv/bin/python" -c "import os; from grader import data; [os.chmod(p, 0o700) for p in data.source_paths()]"
"$venv/bin/python" -c "import torch, grader; print('grader', grader.__version__, 'with torch', torch.__version__)"
"""


def run_script(assignment: str) -> str:
    """Gradescope's run_autograder: grades one submission into results.json. If the grader
    cannot even start, it still writes a results.json that says so."""
    fallback = json.dumps(autograder.failure_results())
    return f"""#!/usr/bin/env bash
# Generated by `grader export gradescope` (grader {grader.__version__}). Gradescope runs it, as
# root, for each submission: it grades ROOT/submission with every check of {assignment} (hidden
# ones included) and writes ROOT/results/results.json (see ROOT/source/{autograder.CONFIG}).
#   ROOT    /autograder, or $GRADER_AUTOGRADER_ROOT (to try the zip in a folder laid out alike)
#   Python  {VENV}/bin/python, or $GRADER_AUTOGRADER_PYTHON
# Exit status: 0 graded (a submission that cannot be read is graded 0, with the reason);
# 1 results.json reports a failure of the grader itself (details above, in its output);
# 2 no results.json could be written. Gradescope itself reads only results.json.
set -u
root="${{GRADER_AUTOGRADER_ROOT:-/autograder}}"
root="$(cd "$root" 2>/dev/null && pwd)" || {{ echo "run_autograder: error: no folder $root" >&2; exit 2; }}
python="${{GRADER_AUTOGRADER_PYTHON:-{VENV}/bin/python}}"
results="$root/results/results.json"
rm -f "$results"
cd /
"$python" -m grader.release.autograder "$root"
status=$?
if [ ! -s "$results" ]; then
    echo "run_autograder: error: the grader ended (status $status) without writing $results" >&2
    mkdir -p "$root/results" && cat > "$results" <<'JSON' || exit 2
{fallback}
JSON
    exit 1
fi
[ "$status" -le 2 ] || status=1
exit "$status"
"""
