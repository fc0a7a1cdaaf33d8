"""Submissions that do nothing: every function of an assignment's stub answers without doing
the task. A check that gives such a submission points is broken.

    source = do_nothing(stub_source, "zeros")

Families: `none` (returns None), `zeros` (zeros shaped like the first tensor argument),
`constant` (a tensor of ones like it, or 1.0), `identity` (returns its first argument) and
`equal_to_all` (an object equal to everything, truthy, callable, with every attribute).
"""

from __future__ import annotations

import ast

FAMILIES = ("none", "zeros", "constant", "identity", "equal_to_all")

HELPERS = """
import torch as _dn_torch


def _dn_first_tensor(args):
    for a in args:
        if isinstance(a, _dn_torch.Tensor):
            return a
        if isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, _dn_torch.Tensor):
                    return b
    return None


def _dn_zeros(*args, **kwargs):
    t = _dn_first_tensor(list(args) + list(kwargs.values()))
    return _dn_torch.zeros(1) if t is None else _dn_torch.zeros_like(t)


def _dn_constant(*args, **kwargs):
    t = _dn_first_tensor(list(args) + list(kwargs.values()))
    return 1.0 if t is None else _dn_torch.ones_like(t)


class _DnEverything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    def __float__(self):
        return 1.0

    def __int__(self):
        return 1

    def __index__(self):
        return 1

    def __len__(self):
        return 1

    def __iter__(self):
        return iter([self])

    def __getitem__(self, key):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        return self

    __hash__ = object.__hash__
"""


def _answer(family: str, first: str | None) -> ast.expr:
    text = {
        "none": "None",
        "zeros": "_dn_zeros(*_dn_args)",
        "constant": "_dn_constant(*_dn_args)",
        "identity": first or "None",
        "equal_to_all": "_DnEverything()",
    }[family]
    return ast.parse(text, mode="eval").body


def _params(fn: ast.FunctionDef, method: bool) -> list[str]:
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    return names[1:] if method else names


def _hollow(fn: ast.FunctionDef, family: str, *, method: bool, module_class: bool) -> None:
    params = _params(fn, method)
    if method and fn.name == "__init__":
        body = "super().__init__()" if module_class else "pass"
        fn.body = ast.parse(body).body
        return
    collect = ast.parse(f"_dn_args = [{', '.join(params)}]").body
    fn.body = [*collect, ast.Return(value=_answer(family, params[0] if params else None))]


def do_nothing(source: str, family: str) -> str:
    """`source` (a stub) with every function and method answering as `family` does."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            _hollow(node, family, method=False, module_class=False)
        elif isinstance(node, ast.ClassDef):
            module_class = bool(node.bases)
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    _hollow(item, family, method=True, module_class=module_class)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n" + HELPERS
