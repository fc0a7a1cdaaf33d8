"""Static detection of forbidden APIs in a submission's source (AST; nothing is imported).

`find_violations` maps each top-level name of the student's module (function or
class) to the forbidden APIs it uses, directly or through the module's other
top-level functions. Import aliases are followed (`import torch.nn.functional as F`,
`from torch.nn import Linear`); a method such as `torch.Tensor.backward` matches
any `.backward` attribute, since types are unknown statically.
"""

from __future__ import annotations

import ast
from pathlib import Path

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
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
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
        elif api.startswith("torch.Tensor.") and name.endswith("." + api.rsplit(".", 1)[1]) \
                and not _is_module_path(name):
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
