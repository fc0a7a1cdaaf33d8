"""Every forbidden-API rule, in one place: what counts as a use, where an API is forbidden,
and the verdict.

`[forbidden]` in assignment.toml names the APIs (`AssignmentSpec.forbidden`, with what to
write instead) and, optionally, the student's top-level names each is forbidden in
(`forbidden_only_in`; an API not listed is forbidden everywhere). `Policy.for_submission`
reads the submission's source (AST; nothing is imported): each top-level function or class
maps to the forbidden APIs it uses, directly or through the module's other top-level
names; code at module level taints every name. Import aliases are followed
(`import torch.nn.functional as F`, `from torch.nn import Linear`); a method such as
`torch.Tensor.backward` matches any `.backward` attribute, since types are unknown
statically. The worker reports the APIs that ran during a request (`grader.sandbox.worker`);
`Policy.check_ran` turns those into a verdict too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.spec import AssignmentSpec

MODULE_LEVEL = "<module>"


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        # rooted in a call or subscript, e.g. f(x).backward: only a method name can match
        return ".".join(["<expression>", *reversed(parts)]) if parts else None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _aliases(tree: ast.Module) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _is_module_path(name: str) -> bool:
    """`torch.nn.functional.softmax` names a function in a module, not a tensor's method."""
    return name.startswith("torch.") and not name.startswith("torch.Tensor.")


def _matches(name: str, apis: list[str]) -> list[str]:
    found = []
    for api in apis:
        if name == api or name.startswith(api + "."):
            found.append(api)
        elif (
            api.startswith("torch.Tensor.")
            and name.endswith("." + api.rsplit(".", 1)[1])
            and not _is_module_path(name)
        ):
            found.append(api)
    return found


def _uses(node: ast.AST, aliases: dict[str, str], apis: list[str]) -> tuple[set[str], set[str]]:
    """(forbidden APIs used, plain names referenced) inside `node`."""
    used, names = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Attribute, ast.Name)):
            dotted = _dotted(sub, aliases)
            if dotted:
                used.update(_matches(dotted, apis))
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return used, names


def find_violations(sources: list[Path], apis: list[str]) -> dict[str, list[str]]:
    """Top-level name -> sorted forbidden APIs it reaches; MODULE_LEVEL for top-level code."""
    if not apis:
        return {}
    direct: dict[str, set[str]] = {}
    refs: dict[str, set[str]] = {}
    for path in sources:
        try:
            tree = ast.parse(path.read_text(errors="replace"), filename=str(path))
        except SyntaxError:
            continue  # the worker reports the syntax error when it imports the module
        aliases = _aliases(tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                used, names = _uses(node, aliases, apis)
                direct.setdefault(node.name, set()).update(used)
                refs.setdefault(node.name, set()).update(names)
            elif not isinstance(node, (ast.Import, ast.ImportFrom)):
                used, names = _uses(node, aliases, apis)
                direct.setdefault(MODULE_LEVEL, set()).update(used)
                for target in getattr(node, "targets", []):  # x = forbidden_thing
                    if isinstance(target, ast.Name):
                        direct.setdefault(target.id, set()).update(used)
    closed: dict[str, list[str]] = {}
    for name in direct:
        seen, stack, found = {name}, [name], set()
        while stack:
            current = stack.pop()
            found |= direct.get(current, set())
            for ref in refs.get(current, ()):
                if ref in direct and ref not in seen:
                    seen.add(ref)
                    stack.append(ref)
        if found:
            closed[name] = sorted(found)
    return closed


class ForbiddenAPIUsed(Exception):
    """Student code used an API this assignment forbids."""

    def __init__(self, apis: list[str], advice: dict[str, str], how: str):
        self.apis = apis
        lines = [
            f"your code {how} {api}, which this assignment forbids"
            + (f": {advice[api]}" if advice.get(api) else "")
            for api in apis
        ]
        super().__init__("; ".join(lines))


@dataclass(frozen=True)
class Policy:
    """The forbidden APIs of one assignment, and what one submission's source uses of them."""

    instead: dict[str, str]  # API -> what to write instead
    only_in: dict[str, tuple[str, ...]]  # API -> the top-level names it is forbidden in
    static: dict[str, list[str]]  # top-level name -> forbidden APIs its source reaches

    @classmethod
    def for_submission(cls, spec: AssignmentSpec, sources: list[Path]) -> Policy:
        """Scan `sources`; a forbidden API used at module level taints every name."""
        static = find_violations(sources, list(spec.forbidden))
        if MODULE_LEVEL in static:
            for name in [*static, MODULE_LEVEL]:
                static[name] = sorted(set(static.get(name, [])) | set(static[MODULE_LEVEL]))
        return cls(dict(spec.forbidden), dict(spec.forbidden_only_in), static)

    @property
    def apis(self) -> list[str]:
        """What the worker should watch for at run time."""
        return list(self.instead)

    def applies(self, api: str, origin: str | None) -> bool:
        """Whether `api` is forbidden in code reached through the top-level name `origin`."""
        if api not in self.instead:
            return False
        scope = self.only_in.get(api)
        return scope is None or origin in scope

    def check_static(self, name: str) -> None:
        """Raise if the source of the top-level `name` reaches an API forbidden there."""
        self._raise([a for a in self.static.get(name, []) if self.applies(a, name)], "uses")

    def check_ran(self, apis: Iterable[str], origin: str | None) -> None:
        """Raise if any of `apis`, seen running during a request through `origin`, is forbidden."""
        self._raise([a for a in apis if self.applies(a, origin)], "called")

    def _raise(self, apis: list[str], how: str) -> None:
        if apis:
            raise ForbiddenAPIUsed(apis, self.instead, how)
