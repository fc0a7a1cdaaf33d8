"""`assignment.toml`, parsed into a typed spec and rejected with a clear message when wrong.

Example (every table but [assignment] is optional)::

    [assignment]
    title = "Tensor operations"
    module = "tensor_ops"          # the module students write; checks call into it
    files = ["tensor_ops.py"]      # the stub file(s) students edit
    seed = 1234                    # base seed; each check derives its own

    [tasks]                        # the stub's tasks: id = the function(s) or class(es) it asks for
    "1.1" = "arange_grid"
    "2.1" = ["Linear.forward"]     # a method: Class.method

    [tolerances]                   # named rtol/atol pairs; checks ask for them by name
    default = { rtol = 1e-5, atol = 1e-8 }

    [thresholds]                   # named numbers: accuracy thresholds, timing ratios, ...
    speedup = 10.0

    [limits]                       # see grader.sandbox.limits.Limits
    call_timeout_s = 10

    [forbidden]                    # API -> what to write instead
    "torch.nn.functional.linear" = "compute x @ weight.T + bias yourself"
    # forbidden only in some of the student's top-level functions/classes (and what they call):
    "torch.nn.functional.conv2d" = { instead = "unfold, then a matrix product", only_in = ["conv2d"] }
    # constructs the scan rejects where an API is forbidden, allowed here (see CONSTRUCTS):
    allow = ["threading"]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from grader.contract import Contract, read_contract, task_order
from grader.errors import ConfigError
from grader.judge.forbidden import CONSTRUCTS
from grader.sandbox.limits import Limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Tolerance:
    """A relative and absolute tolerance, as in `torch.allclose`."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Training:
    """One training run that checks grade: `[training]` in assignment.toml, or a named run
    `[training.<name>]` (which starts from `[training]`'s values)."""

    epochs: int
    lr: float
    batch_size: int
    weight_decay: float = 0.0
    min_accuracy: float = 0.0  # held-out accuracy the trained model must reach
    max_loss: float | None = None  # ... and the held-out (or training) loss it must not exceed
    agreement_epochs: int = 2  # shorter runs of checks that only need some trained model
    # the student's training may take time_factor x the reference's, within [floor, cap] s
    time_factor: float = 10.0
    time_floor_s: float = 1.0
    time_cap_s: float = 120.0


TRAINING_TYPES: dict[str, type | tuple[type, ...]] = {
    "epochs": int,
    "batch_size": int,
    "agreement_epochs": int,
    "lr": (int, float),
    "weight_decay": (int, float),
    "min_accuracy": (int, float),
    "max_loss": (int, float),
    "time_factor": (int, float),
    "time_floor_s": (int, float),
    "time_cap_s": (int, float),
}


@dataclass(frozen=True)
class AssignmentSpec:
    """One assignment: its folder, its module, and everything `assignment.toml` says."""

    id: str
    root: Path  # assignments/<id>
    reference: Path  # reference/<id>
    title: str
    module: str
    files: tuple[str, ...]
    seed: int = 1234
    tasks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # [tasks], in task order
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    trainings: dict[str, Training] = field(default_factory=dict)  # "" is [training] itself
    limits: Limits = field(default_factory=Limits)
    forbidden: dict[str, str] = field(default_factory=dict)  # API -> what to write instead
    # API -> the student's top-level names it is forbidden in; an API not listed: everywhere
    forbidden_only_in: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # constructs (grader.judge.forbidden.CONSTRUCTS) the scan lets through, e.g. ("threading",)
    forbidden_allow: tuple[str, ...] = ()
    data_dir: str | None = None

    @property
    def checks_dir(self) -> Path:
        return self.root / "checks"

    @cached_property
    def contract(self) -> Contract:
        """The stub's tasks and what each check declares (`grader.contract`), read statically."""
        return read_contract(self.checks_dir, self.tasks)

    def points_for(self, check: str) -> float:
        """A check's points; a parametrized case (`test_x[3]`) gets its share of test_x's."""
        declared = self.contract.checks.get(check.split("[", 1)[0])
        return declared.points / declared.cases if declared else 0.0

    def check_ids(self) -> list[str]:
        """Names of the check functions under checks/, in file order."""
        return list(self.contract.checks)

    def total_points(self) -> float:
        return self.contract.total_points

    def tolerance(self, name: str = "default") -> Tolerance:
        try:
            return self.tolerances[name]
        except KeyError:
            raise ConfigError(
                f"{self.root / 'assignment.toml'}: no tolerance named {name!r} in "
                f"[tolerances] (have: {', '.join(self.tolerances) or 'none'})"
            ) from None

    def training(self, name: str = "") -> Training:
        """`[training]`, or the named run `[training.<name>]`."""
        try:
            return self.trainings[name]
        except KeyError:
            what = f"[training.{name}]" if name else "[training]"
            raise ConfigError(
                f"{self.root / 'assignment.toml'}: no {what} table (have: "
                f"{', '.join(f'[training.{n}]' if n else '[training]' for n in self.trainings) or 'none'})"
            ) from None

    def threshold(self, name: str) -> float:
        try:
            return self.thresholds[name]
        except KeyError:
            raise ConfigError(
                f"{self.root / 'assignment.toml'}: no threshold named {name!r} in "
                f"[thresholds] (have: {', '.join(self.thresholds) or 'none'})"
            ) from None


class _Table:
    """Reads one TOML table, naming the file and key in every error."""

    def __init__(self, path: Path, name: str, data: Any):
        self.path, self.name = path, name
        if not isinstance(data, dict):
            self.fail(f"[{name}] must be a table")
        self.data = data

    def fail(self, message: str):
        raise ConfigError(f"{self.path}: {message}")

    def get(self, key: str, kind: type | tuple, default: Any = ..., *, what: str = "") -> Any:
        if key not in self.data:
            if default is ...:
                self.fail(f"missing key {key!r} in [{self.name}]{what}")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(f"[{self.name}] {key} must be {names}, got {value!r}")
        return value

    def only(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            self.fail(
                f"unknown key {unknown[0]!r} in [{self.name}] (allowed: {', '.join(sorted(allowed))})"
            )


def load_spec(root: Path, reference: Path) -> AssignmentSpec:
    """Parse `root/assignment.toml`."""
    path = root / "assignment.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: missing; every assignment folder needs an assignment.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    top = _Table(path, "top level", raw)
    if "points" in raw:
        top.fail(
            "[points] is gone: each check declares its points and task on its function, "
            '@check(task="1.1", points=2) from grader.checking (see docs/writing-checks.md)'
        )
    top.only({"assignment", "tasks", "tolerances", "thresholds", "training", "limits", "forbidden"})

    a = _Table(path, "assignment", top.get("assignment", dict))
    a.only({"title", "module", "files", "seed", "data_dir"})
    module = a.get("module", str)
    if not module.isidentifier():
        a.fail(f"[assignment] module must be a Python module name, got {module!r}")
    files = a.get("files", list, [f"{module}.py"])
    if not files or not all(isinstance(f, str) and f.endswith(".py") for f in files):
        a.fail("[assignment] files must be a non-empty list of .py file names")

    tasks = _tasks(_Table(path, "tasks", top.get("tasks", dict, {})))

    t = _Table(path, "tolerances", top.get("tolerances", dict, {}))
    tolerances = {}
    for name in t.data:
        entry = _Table(path, f"tolerances.{name}", t.data[name])
        entry.only({"rtol", "atol"})
        tolerances[name] = Tolerance(
            float(entry.get("rtol", (int, float))), float(entry.get("atol", (int, float)))
        )
    tolerances.setdefault("default", Tolerance(1e-5, 1e-8))

    th = _Table(path, "thresholds", top.get("thresholds", dict, {}))
    thresholds = {k: float(th.get(k, (int, float))) for k in th.data}

    trainings = _trainings(path, top.get("training", dict, {}))

    lim = _Table(path, "limits", top.get("limits", dict, {}))
    lim.only({f.name for f in fields(Limits)})
    for f in fields(Limits):
        lim.get(f.name, (int, float), None)
    limits = Limits.from_dict(lim.data)

    fb = _Table(path, "forbidden", top.get("forbidden", dict, {}))
    forbidden, only_in = {}, {}
    allow = fb.data.get("allow", [])
    if not isinstance(allow, list) or not all(a in CONSTRUCTS for a in allow):
        fb.fail(
            f"[forbidden] allow must be a list of constructs the scan may let through, from "
            f"{', '.join(sorted(CONSTRUCTS))}; got {allow!r}"
        )
    for api in fb.data:
        if api == "allow":
            continue
        if not isinstance(fb.data[api], dict):
            forbidden[api] = fb.get(api, str)
            continue
        entry = _Table(path, f"forbidden.{api!r}", fb.data[api])
        entry.only({"instead", "only_in"})
        forbidden[api] = entry.get("instead", str, "")
        names = entry.get("only_in", list)
        if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            entry.fail(
                f"[forbidden] {api!r}: only_in must be a non-empty list of names of the "
                "student's top-level functions or classes"
            )
        only_in[api] = tuple(names)

    return AssignmentSpec(
        id=root.name,
        root=root,
        reference=reference,
        title=a.get("title", str),
        module=module,
        files=tuple(files),
        seed=a.get("seed", int, 1234),
        tasks=tasks,
        tolerances=tolerances,
        thresholds=thresholds,
        trainings=trainings,
        limits=limits,
        forbidden=forbidden,
        forbidden_only_in=only_in,
        forbidden_allow=tuple(allow),
        data_dir=a.get("data_dir", str, None),
    )


def _trainings(path: Path, raw: dict) -> dict[str, Training]:
    """`[training]` and its named runs `[training.<name>]`, typed; a run needs epochs, lr and
    batch_size, from its own table or `[training]`."""
    base = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    tables = {"": base} if base else {}
    tables |= {k: base | v for k, v in raw.items() if isinstance(v, dict)}
    runs = {}
    for name, values in tables.items():
        where = f"training.{name}" if name else "training"
        table = _Table(path, where, values)
        table.only(set(TRAINING_TYPES))
        typed = {key: table.get(key, kind, None) for key, kind in TRAINING_TYPES.items()}
        for key in ("epochs", "lr", "batch_size"):
            table.get(key, TRAINING_TYPES[key], what="" if not name else " (or in [training])")
        runs[name] = Training(**{k: v for k, v in typed.items() if v is not None})
    return runs


def _tasks(table: _Table) -> dict[str, tuple[str, ...]]:
    """`[tasks]`: "N.M" = a name or a list of names (`func`, `Class`, `Class.method`)."""
    tasks = {}
    for task, value in table.data.items():
        names = [value] if isinstance(value, str) else value
        if not re.fullmatch(r"[1-9]\d*(\.[1-9]\d*)+", task):
            table.fail(f'[tasks] ids look like "2.1" (section.item), got {task!r}')
        if not (
            isinstance(names, list)
            and names
            and all(
                isinstance(n, str) and all(p.isidentifier() for p in n.split(".")) for n in names
            )
        ):
            table.fail(
                f'[tasks] "{task}" must name what it asks for: "func", "Class", "Class.method" '
                "or a list of them"
            )
        tasks[task] = tuple(names)
    return dict(sorted(tasks.items(), key=lambda kv: task_order(kv[0])))
