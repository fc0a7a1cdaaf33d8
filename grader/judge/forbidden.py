"""Every forbidden-API rule, in one place: what counts as a use, where an API is forbidden,
and the verdict, all decided in the judge from the submission's source (AST; nothing of
it is imported or run).

`[forbidden]` in assignment.toml names the APIs (`AssignmentSpec.forbidden`, with what to
write instead), optionally the student's top-level names each is forbidden in
(`forbidden_only_in`; else everywhere), and the constructs the instructor allows
(`forbidden_allow`, e.g. `allow = ["threading"]`).

The scan is an allow-list of what can be resolved statically:

- a name or attribute chain is resolved through imports and plain assignments
  (`import torch.nn.functional as F`, `lin = F.linear`, `self.f = F`), and through
  `getattr(obj, "literal")`; it is a use of an API when it names the API, anything under
  it, another member of the API's family (`FAMILIES`: `F.conv3d` for `F.conv2d`), or the
  same object under another path (`torch.nn.modules.linear.Linear` is `torch.nn.Linear`);
- a chain the scan cannot resolve (`f(x).linear`, `mods[0].dropout`) that ends in the name
  of a forbidden API is a use of it, and any unresolved `.backward`-like method name is a
  use of the Tensor method;
- every construct that could reach an API by a computed name or another thread of control
  (`CONSTRUCTS`: getattr with a computed name, `__import__`/importlib, exec/eval/compile,
  `globals()`/`vars()`/`__dict__`/`sys.modules`, `operator.attrgetter`, torch.ops / torch._C
  and torch's private names, ctypes, threads and processes, introspection of internals,
  pickles, `import *`) is a violation wherever an API is forbidden, unless allowed.

Each top-level function or class maps to what it uses, directly or through the module's
other top-level names; code at module level taints every name. The worker's own report of
the APIs that ran is evidence for the report only (`Policy.ran_notes`): student code shares
the worker's process and can switch it off, so no verdict rests on it.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import SubmissionError

if TYPE_CHECKING:
    from grader.spec import AssignmentSpec

MODULE_LEVEL = "<module>"
EXPRESSION = "<expression>"  # the root of a chain the scan cannot resolve, e.g. f(x).backward

# An API listed in [forbidden] forbids its whole family: the patterns (fnmatch, on dotted
# names) of the family it belongs to, minus the exceptions.
FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "autograd": (
        (
            "torch.autograd",
            "torch.autograd.*",
            "torch.Tensor.backward",
            "torch.func",
            "torch.func.*",
            "functorch",
            "functorch.*",
            "torch._make_dual",
            "torch._C._functions*",
        ),
        (
            "torch.autograd.grad_mode*",
            "torch.autograd.no_grad",
            "torch.autograd.enable_grad",
            "torch.autograd.set_grad_enabled",
            "torch.autograd.inference_mode",
        ),
    ),
    "softmax": (
        (
            "torch.nn.functional.softmax",
            "torch.softmax",
            "torch.Tensor.softmax",
            "torch.special.softmax",
            "torch._softmax",
            "torch.nn.Softmax",
            "torch.nn.Softmax2d",
            "torch.nn.modules.activation.Softmax*",
            "torch.nn.functional.softmin",
            "torch.nn.Softmin",
        ),
        (),
    ),
    "log_softmax": (
        (
            "torch.nn.functional.log_softmax",
            "torch.log_softmax",
            "torch.Tensor.log_softmax",
            "torch.special.log_softmax",
            "torch._log_softmax",
            "torch.nn.LogSoftmax",
            "torch.nn.modules.activation.LogSoftmax",
        ),
        (),
    ),
    "cross_entropy": (
        (
            "torch.nn.functional.cross_entropy",
            "torch.nn.CrossEntropyLoss",
            "torch.nn.functional.nll_loss",
            "torch.nn.NLLLoss",
            "torch.nn.NLLLoss2d",
            "torch.nn.modules.loss.CrossEntropyLoss",
            "torch.nn.modules.loss.NLLLoss*",
            "torch._C._nn.cross_entropy_loss",
            "torch._C._nn.nll_loss*",
            "torch.nll_loss*",
        ),
        (),
    ),
    "conv": (
        (
            "torch.nn.functional.conv*",
            "torch.conv*",
            "torch.convolution",
            "torch._convolution",
            "torch.nn.Conv*",
            "torch.nn.LazyConv*",
            "torch.nn.modules.conv*",
        ),
        (),
    ),
    "pool": (
        (
            "torch.nn.functional.*pool*",
            "torch.*pool*",
            "torch.nn.*Pool*",
            "torch.nn.modules.pooling*",
        ),
        (),
    ),
    "dropout": (
        (
            "torch.dropout",
            "torch.dropout_",
            "torch.nn.functional.*dropout*",
            "torch.native_dropout",
            "torch.*_dropout",
            "torch.*_dropout_",
            "torch.nn.*Dropout*",
            "torch.nn.modules.dropout*",
        ),
        (),
    ),
    "linear": (
        (
            "torch.nn.Linear",
            "torch.nn.LazyLinear",
            "torch.nn.functional.linear",
            "torch.nn.modules.linear*",
            "torch._C._nn.linear",
        ),
        (),
    ),
    "optim": (("torch.optim", "torch.optim.*"), ()),
}

# construct -> (what the scan saw, what to write instead)
CONSTRUCTS = {
    "getattr": (
        "getattr, setattr or delattr with a computed name",
        "write the attribute out (obj.name) so that the grader can check it",
    ),
    "import": (
        "an import by a computed name (__import__, importlib)",
        "import modules with import statements",
    ),
    "exec": ("exec, eval or compile", "write the code itself"),
    "namespace": (
        "a namespace looked up by name (globals, vars, locals, __dict__, "
        "__builtins__, sys.modules)",
        "use the names themselves",
    ),
    "attrgetter": (
        "operator.attrgetter or operator.methodcaller",
        "write the attribute or method out",
    ),
    "torch-internals": ("torch.ops, torch._C or a private name of torch", "use torch's public API"),
    "ctypes": ("ctypes or a compiled extension", "write Python"),
    "threading": ("a thread or a signal handler", "run everything in the calling thread"),
    "processes": (
        "another process (fork, subprocess, multiprocessing, os.system)",
        "compute in this process",
    ),
    "introspection": (
        "introspection of Python's internals (gc, inspect, __class__, "
        "__subclasses__, __globals__, ...)",
        "use the objects themselves",
    ),
    "pickle": ("unpickling (pickle, marshal, torch.load)", "build the objects in code"),
    "star-import": ("import *", "import the names you use"),
}
CONSTRUCT_MODULES = {
    "importlib": "import",
    "pydoc": "import",
    "string.Formatter": "getattr",
    "unittest.mock": "import",
    "typing.get_type_hints": "exec",
    "imp": "import",
    "pkgutil": "import",
    "runpy": "import",
    "zipimport": "import",
    "code": "exec",
    "codeop": "exec",
    "ctypes": "ctypes",
    "cffi": "ctypes",
    "threading": "threading",
    "_thread": "threading",
    "concurrent": "threading",
    "signal": "threading",
    "asyncio": "threading",
    "sched": "threading",
    "multiprocessing": "processes",
    "subprocess": "processes",
    "pty": "processes",
    "gc": "introspection",
    "inspect": "introspection",
    "builtins": "namespace",
    "pickle": "pickle",
    "_pickle": "pickle",
    "marshal": "pickle",
    "copyreg": "pickle",
    "shelve": "pickle",
    "dill": "pickle",
    "cloudpickle": "pickle",
    "joblib": "pickle",
    "torch.utils.cpp_extension": "ctypes",
    "torch.ops": "torch-internals",
    "torch._C": "torch-internals",
    "torch.load": "pickle",
    "torch.serialization": "pickle",
    "torch.hub": "pickle",
    "torch.package": "pickle",
    "torch.multiprocessing": "processes",
    "torch.library": "torch-internals",
    "sys.modules": "namespace",
    "sys.meta_path": "import",
    "sys.path_hooks": "import",
    "sys.settrace": "threading",
    "sys.setprofile": "threading",
    "sys.addaudithook": "threading",
    "operator.attrgetter": "attrgetter",
    "operator.methodcaller": "attrgetter",
    "os.fork": "processes",
    "os.forkpty": "processes",
    "os.system": "processes",
    "os.popen": "processes",
    "os.exec*": "processes",
    "os.spawn*": "processes",
    "os.posix_spawn*": "processes",
    "os.register_at_fork": "processes",
}
# whether a name can match any of them at all: one test before testing each
_CONSTRUCT_MODULE = re.compile("|".join(fnmatch.translate(p) for p in CONSTRUCT_MODULES))
_CONSTRUCT_PREFIXES = tuple(p + "." for p in CONSTRUCT_MODULES)
CONSTRUCT_NAMES = {
    "__import__": "import",
    "exec": "exec",
    "eval": "exec",
    "compile": "exec",
    "globals": "namespace",
    "vars": "namespace",
    "locals": "namespace",
    "__builtins__": "namespace",
    "breakpoint": "exec",
}
DYNAMIC_ATTRIBUTES = {"getattr", "setattr", "delattr"}
INTERNALS = {
    "__dict__": "namespace",
    "__builtins__": "namespace",
    "__class__": "introspection",
    "__bases__": "introspection",
    "__base__": "introspection",
    "__mro__": "introspection",
    "__subclasses__": "introspection",
    "__globals__": "introspection",
    "__code__": "introspection",
    "__closure__": "introspection",
    "__self__": "introspection",
    "__func__": "introspection",
    "__wrapped__": "introspection",
    "__getattribute__": "getattr",
    "__getattr__": "getattr",
    "__setattr__": "getattr",
    "__delattr__": "getattr",
    "__reduce__": "pickle",
    "__reduce_ex__": "pickle",
    "__loader__": "import",
    "__spec__": "import",
    "__import__": "import",
    "__module__": "introspection",
    "f_globals": "introspection",
    "f_locals": "introspection",
    "f_back": "introspection",
    "tb_frame": "introspection",
    "gi_frame": "introspection",
}
PUBLIC_DUNDERS = {"__version__", "__name__", "__doc__"}
# last names of forbidden APIs that are also everyday attributes (tensor.grad, module.func)
COMMON_ATTRIBUTES = {"grad", "functional", "func", "autograd", "optim", "data", "nn"}


@dataclass(frozen=True)
class Use:
    """One forbidden thing in the source: an API (as listed in [forbidden]) or a construct."""

    key: str  # the [forbidden] entry, or "construct:<id>"
    line: int
    what: str  # what the source says, resolved: e.g. "torch.nn.functional.conv3d"
    api: str = ""  # for a name the scan cannot resolve: the forbidden API it may be

    @property
    def construct(self) -> str | None:
        return self.key.removeprefix("construct:") if self.key.startswith("construct:") else None


class ForbiddenAPIUsed(Exception):
    """Student code uses an API this assignment forbids, or a construct the grader cannot check."""

    def __init__(
        self, uses: list[Use], advice: dict[str, str], where: Callable[[int], str] | None = None
    ):
        where = where or "line {}".format  # how the student finds a line of the source
        self.uses = uses
        self.apis = sorted({u.key for u in uses if u.construct is None})
        lines = []
        for u in sorted(uses, key=lambda u: (u.line, u.key)):
            if u.construct is None:
                tail = f": {advice[u.key]}" if advice.get(u.key) else ""
                written = f" (written {u.what})" if u.api else ""
                lines.append(
                    f"{where(u.line)}: your code uses {u.api or u.what}, which this assignment "
                    f"forbids{tail}{written}"
                )
            else:
                seen, instead = CONSTRUCTS[u.construct]
                lines.append(
                    f"{where(u.line)}: your code uses {seen} ({u.what}): the grader cannot "
                    f"check what it reaches, so it is not allowed here; {instead}"
                )
        super().__init__("; ".join(dict.fromkeys(lines)))


def _parse(path: Path) -> ast.Module | None:
    """The AST of one source file, from its bytes, decoded exactly as the worker's import
    decodes them (PEP 263); None when it is not valid Python (then the import fails too, and
    the worker reports it); SubmissionError when it is too deep for the parser."""
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):  # ValueError: a null byte (Python < 3.12)
        return None
    except (RecursionError, MemoryError):
        raise SubmissionError(
            f"{path.name}: too deeply nested for the grader to analyse (a very long expression, "
            "such as a sum of thousands of terms, or brackets nested very deep); split it into "
            "smaller statements"
        ) from None


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _resolve(dotted: str) -> Any:
    """The object `dotted` names among the modules the judge has imported, without importing
    or calling anything; None when it names nothing there."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:split]))
        if module is None:
            continue
        obj: Any = module
        for attr in parts[split:]:
            try:
                obj = getattr(obj, attr)
            except Exception:  # noqa: BLE001 - a lazy attribute that fails to load is no object
                return None
        return obj
    return None


@dataclass(frozen=True)
class _Rules:
    """The forbidden APIs of an assignment, expanded into what the scan looks for."""

    entries: tuple[str, ...]
    families: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # entry -> (patterns, except)
    objects: tuple[tuple[Any, str], ...]  # (object, entry) for identity and subclass matches
    methods: dict[str, tuple[str, str]]  # Tensor method name -> (entry, the API)
    leaves: dict[str, tuple[str, str]]  # last name of a forbidden API, or a pattern -> same

    @classmethod
    def of(cls, entries: Iterable[str]) -> _Rules:
        entries = tuple(entries)
        families: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for entry in entries:
            for patterns, exceptions in FAMILIES.values():
                if _matches(entry, patterns) or any(p.startswith(entry + ".") for p in patterns):
                    old = families.get(entry, ((), ()))
                    families[entry] = (old[0] + patterns, old[1] + exceptions)
        names: dict[str, str] = {e: e for e in entries}
        for entry, (patterns, _) in families.items():
            names.update({p: entry for p in patterns if "*" not in p})
        objects = []
        for name, entry in names.items():
            obj = _resolve(name)
            if obj is not None and not isinstance(obj, type(sys)):
                objects.append((obj, entry))
        methods: dict[str, tuple[str, str]] = {}
        leaves: dict[str, tuple[str, str]] = {}
        ordered = [(e, e) for e in entries] + [
            (p, e) for e in entries for p in families.get(e, ((), ()))[0]
        ]
        for name, entry in ordered:
            for p in [name]:
                leaf = p.rsplit(".", 1)[-1]
                if p.startswith("torch.Tensor."):
                    methods.setdefault(leaf, (entry, p))
                elif (
                    "." in p
                    and len(leaf.replace("*", "")) >= 3
                    and leaf not in COMMON_ATTRIBUTES
                    and not isinstance(_resolve(p), type(sys))
                ):
                    leaves.setdefault(leaf, (entry, p))
        return cls(entries, families, tuple(objects), methods, leaves)

    def entry_for(self, dotted: str) -> str | None:
        """The entry a fully resolved dotted name is a use of, if any."""
        for entry in self.entries:
            if dotted == entry or dotted.startswith(entry + "."):
                return entry
        for entry, (patterns, exceptions) in self.families.items():
            if _matches(dotted, patterns) and not _matches(dotted, exceptions):
                return entry
        if self.objects:
            obj = _resolve(dotted)
            if obj is not None:
                for forbidden, entry in self.objects:
                    if obj is forbidden:
                        return entry
                    if isinstance(obj, type) and isinstance(forbidden, type):
                        try:
                            if issubclass(obj, forbidden):
                                return entry
                        except TypeError:
                            pass
        return None

    def entry_for_leaf(self, leaf: str, *, method_only: bool) -> tuple[str, str] | None:
        """(entry, API) an unresolved `something.leaf` may be a use of."""
        if leaf in self.methods:
            return self.methods[leaf]
        if method_only:
            return None
        for pattern, found in self.leaves.items():
            if fnmatch.fnmatchcase(leaf, pattern):
                return found
        return None


class _Scanner:
    """Resolves the names of one module and lists the forbidden uses inside a node."""

    def __init__(self, tree: ast.Module, rules: _Rules, own_modules: frozenset[str] = frozenset()):
        self.rules = rules
        self.own_modules = own_modules  # the submission's own modules, by name
        nodes = list(ast.walk(tree))  # walked once, read four times
        self.aliases = _imports(nodes)
        self.module_roots = (
            {v.split(".")[0] for v in self.aliases.values()}
            | {"torch"}
            | {found.split(".")[0] for n in nodes if (found := _literal_import(n))}
        )
        self.own = {
            n.name
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        self.members = {
            f"self.{item.name}"
            for node in nodes
            if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self._assignment_aliases(nodes)

    def _assignment_aliases(self, nodes: list[ast.AST]) -> None:
        """`lin = F.linear`, `self.f = F`, `def g(F=torch.nn.functional)`: aliases too."""
        pairs: list[tuple[str, ast.expr]] = []
        for node in nodes:
            if isinstance(node, ast.Assign):
                pairs += [(t, node.value) for t in map(_target_name, node.targets) if t]
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                target = _target_name(node.target)
                if target:
                    pairs.append((target, node.value))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                args = node.args.posonlyargs + node.args.args
                pairs += list(
                    zip(
                        [a.arg for a in args[len(args) - len(node.args.defaults) :]],
                        node.args.defaults,
                        strict=True,
                    )
                )
                pairs += [
                    (a.arg, d)
                    for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
                    if d is not None
                ]
        for _ in range(4):  # a few rounds: aliases of aliases
            for name, value in pairs:
                dotted = self.dotted(value)
                if dotted and not dotted.startswith(EXPRESSION) and dotted != name:
                    if dotted.split(".")[0] in self.module_roots:
                        self.aliases.setdefault(name, dotted)

    def dotted(self, node: ast.AST) -> str | None:
        """The dotted name of an attribute chain, resolved through aliases; EXPRESSION-rooted
        when it starts from something else than a name (a call, a subscript)."""
        parts: list[str] = []
        while True:
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif _is_literal_getattr(node):
                assert isinstance(node, ast.Call)
                second = node.args[1]
                assert isinstance(second, ast.Constant) and isinstance(second.value, str)
                parts.append(second.value)
                node = node.args[0]
            else:
                break
        imported = _literal_import(node)
        if imported is not None:  # __import__("sys"), importlib.import_module("torch.nn")
            return ".".join([imported, *reversed(parts)])
        if isinstance(node, ast.Name):
            base = node.id
            if parts and f"{base}.{parts[-1]}" in self.aliases:  # self.f = F
                base = self.aliases[f"{base}.{parts.pop()}"]
            else:
                base = self.aliases.get(base, base)
            return ".".join([base, *reversed(parts)])
        return ".".join([EXPRESSION, *reversed(parts)]) if parts else None

    def uses(self, node: ast.AST) -> tuple[list[Use], set[str]]:
        """(forbidden uses, plain names referenced) inside `node`."""
        found: list[Use] = []
        names: set[str] = set()
        nodes = list(ast.walk(node))  # walked once, read four times
        calls = [n for n in nodes if isinstance(n, ast.Call)]
        inner = {id(n.value) for n in nodes if isinstance(n, ast.Attribute)} | {
            id(n.args[0]) for n in calls if _is_literal_getattr(n)
        }  # parts of a longer chain: the chain counts once, whole
        literal_funcs = {
            id(part)
            for n in calls
            if _is_literal_getattr(n) or _literal_import(n)
            for part in ast.walk(n.func)
        }  # getattr(x, "name"), __import__("sys"): resolvable, so no construct
        for sub in nodes:
            line = getattr(sub, "lineno", 0)
            if isinstance(sub, ast.Name):
                names.add(sub.id)
                construct = CONSTRUCT_NAMES.get(sub.id)
                if sub.id in DYNAMIC_ATTRIBUTES:
                    construct = "getattr"
                if construct and sub.id not in self.own and id(sub) not in literal_funcs:
                    found.append(Use(f"construct:{construct}", line, sub.id))
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                found += self._import_uses(sub)
            if (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and "." in sub.value
                and len(sub.value) < 200
                and sub.value.replace(".", "").replace("_", "").isalnum()
            ):  # "torch.nn.functional.linear", as a string for some resolver to look up
                entry = self.rules.entry_for(sub.value)
                if entry:
                    found.append(Use(entry, line, f"{sub.value!r}"))
            if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                target = self.dotted(sub)
                if target and target.split(".")[0] in self.module_roots:
                    found.append(Use("construct:namespace", line, f"{target} = ..."))
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and sub.func.id in ("setattr", "delattr")
                and sub.args
            ):
                target = self.dotted(sub.args[0])
                if target and target.split(".")[0] in self.module_roots:
                    found.append(Use("construct:namespace", line, f"{sub.func.id}({target}, ...)"))
            if id(sub) in literal_funcs:
                continue
            if id(sub) not in inner and (
                isinstance(sub, (ast.Attribute, ast.Name))
                or _is_literal_getattr(sub)
                or _literal_import(sub)
            ):
                member = self.own_member(self.dotted(sub))
                if member:  # tensor_ops.helper, or an alias of it: the name `helper` itself
                    names.add(member)
                found += self._chain_uses(sub, line)
        return found, names

    def own_member(self, dotted: str | None) -> str | None:
        """The top-level name `dotted` reaches in one of the submission's own modules (its
        last part: top-level names are shared by all of its files), or None."""
        if not dotted or "." not in dotted:
            return None
        root, *_, member = dotted.split(".")
        return member if root in self.own_modules else None

    def _import_uses(self, node: ast.Import | ast.ImportFrom) -> Iterator[Use]:
        """An import is a use only as `import *`; what it binds counts where it is used."""
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            yield Use("construct:star-import", node.lineno, f"from {node.module} import *")

    def _chain_uses(self, node: ast.AST, line: int) -> Iterator[Use]:
        dotted = self.dotted(node)
        if dotted is None:
            return
        for part in dotted.split(".")[1:]:
            if part in INTERNALS:
                yield Use(f"construct:{INTERNALS[part]}", line, dotted)
        root, _, rest = dotted.partition(".")
        if root not in self.module_roots:  # a local name, self, or an expression
            if not rest:
                return
            if f"{root}.{rest.split('.')[0]}" in self.members:  # the student's own method
                return
            leaf = dotted.rsplit(".", 1)[1]
            found = self.rules.entry_for_leaf(leaf, method_only=root == "self")
            if found:
                yield Use(found[0], line, dotted, api=found[1])
            return
        yield from self._name_uses(dotted, line)

    def name_uses(self, dotted: str, line: int) -> list[Use]:
        return list(self._name_uses(dotted, line))

    def _name_uses(self, dotted: str, line: int) -> Iterator[Use]:
        """Uses in a fully resolved dotted name (an import, or a chain from one)."""
        if _CONSTRUCT_MODULE.match(dotted) or dotted.startswith(_CONSTRUCT_PREFIXES):
            for pattern, construct in CONSTRUCT_MODULES.items():
                if fnmatch.fnmatchcase(dotted, pattern) or dotted.startswith(pattern + "."):
                    yield Use(f"construct:{construct}", line, dotted)
        parts = dotted.split(".")
        if parts[0] in ("torch", "functorch") and any(
            p.startswith("_") and p not in PUBLIC_DUNDERS for p in parts[1:]
        ):
            yield Use("construct:torch-internals", line, dotted)
        if parts[0] == "sys" and len(parts) > 1 and parts[1].startswith("_"):
            yield Use("construct:introspection", line, dotted)
        entry = self.rules.entry_for(dotted)
        if entry:
            yield Use(entry, line, dotted)


def _imports(nodes: list[ast.AST]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            for a in node.names:
                aliases[a.asname or a.name] = _from_name(node, a.name)
    return aliases


def _from_name(node: ast.ImportFrom, name: str) -> str:
    """What `from M import name` binds, as a dotted name; a relative import's module by its
    own name (`from .layers import f`: layers.f; `from . import layers`: layers)."""
    if not node.level:
        return f"{node.module}.{name}"
    return f"{node.module.split('.')[-1]}.{name}" if node.module else name


def _target_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _literal_import(node: ast.AST) -> str | None:
    """The module `__import__("a.b")` (its top package "a") or
    `importlib.import_module("a.b")` ("a.b") names, when the name is a literal."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return None
    name = node.args[0].value
    if not isinstance(name, str) or not name or name.startswith("."):
        return None
    func = node.func
    if isinstance(func, ast.Name) and func.id == "__import__" and len(node.args) == 1:
        return name.split(".")[0]
    if (
        isinstance(func, ast.Attribute)
        and func.attr == "import_module"
        and isinstance(func.value, ast.Name)
        and func.value.id == "importlib"
        and len(node.args) == 1
    ):
        return name
    return None


def _is_literal_getattr(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    )


def _imported_names(node: ast.stmt) -> list[tuple[str, str]]:
    """(bound name, dotted name of what it is bound to) for an import statement."""
    if isinstance(node, ast.Import):
        return [(a.asname, a.name) for a in node.names if a.asname]
    if isinstance(node, ast.ImportFrom) and (node.module or node.level):
        return [(a.asname or a.name, _from_name(node, a.name)) for a in node.names if a.name != "*"]
    return []


def _bound_names(node: ast.stmt) -> set[str]:
    """The names a module-level statement binds (not a def or class: those are by name)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return set()
    bound = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            bound.add(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*"}
    return bound


def _written_names(node: ast.AST) -> set[str]:
    """Names a function may change the value of: declared `global`, stored into
    (`X[k] = ...`, `X.a = ...`), called a method on (`X.update(...)`), or passed on (`f(X)`)."""
    written: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Global):
            written.update(sub.names)
        elif isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(
            sub.ctx, (ast.Store, ast.Del)
        ):
            root = sub.value
            while isinstance(root, (ast.Subscript, ast.Attribute)):
                root = root.value
            if isinstance(root, ast.Name):
                written.add(root.id)
        elif isinstance(sub, ast.Call):
            if isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name):
                written.add(sub.func.value.id)
            for arg in [*sub.args, *(k.value for k in sub.keywords)]:
                if isinstance(arg, ast.Name):
                    written.add(arg.id)
    return written


def _distinct(uses: Iterable[Use]) -> list[Use]:
    """One use per (entry, line): the longest spelling of it."""
    best: dict[tuple[str, int], Use] = {}
    for use in uses:
        old = best.get((use.key, use.line))
        if old is None or len(use.what) > len(old.what):
            best[(use.key, use.line)] = use
    return sorted(best.values(), key=lambda u: (u.line, u.key))


def find_violations(sources: list[Path], apis: list[str]) -> Mapping[str, list[Use]]:
    """Top-level name -> the forbidden uses it reaches (MODULE_LEVEL: top-level code).

    Every source is parsed, whatever `apis` holds: one too deeply nested to analyse is a
    SubmissionError (no verdict is possible), for every assignment alike.
    """
    trees = [tree for tree in map(_parse, sources) if tree is not None]
    if not apis:
        return _Reach({}, {})
    rules = _Rules.of(apis)
    own = frozenset(
        p.parent.name if p.name == "__init__.py" else p.stem for p in sources
    )  # `import tensor_ops`, `from .layers import f`: the submission's own names
    direct: dict[str, list[Use]] = {}
    refs: dict[str, set[str]] = {}
    for tree in trees:
        scanner = _Scanner(tree, rules, own)
        # module-level data (not modules: a store into one is a construct of its own)
        module_names = {
            n
            for node in tree.body
            if not isinstance(node, (ast.Import, ast.ImportFrom))
            for n in _bound_names(node)
        } - set(scanner.aliases)
        for node in tree.body:
            found, names = scanner.uses(node)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                direct.setdefault(node.name, []).extend(found)
                refs.setdefault(node.name, set()).update(names)
                # a module-level name the function writes into reaches what the function does
                for written in _written_names(node) & module_names:
                    direct.setdefault(written, [])
                    refs.setdefault(written, set()).add(node.name)
            else:
                direct.setdefault(MODULE_LEVEL, []).extend(found)
                for bound in _bound_names(node):  # _OPS = _table(): _OPS reaches _table
                    direct.setdefault(bound, []).extend(found)
                    refs.setdefault(bound, set()).update(names)
                for bound, dotted in _imported_names(node):  # from F import conv2d: a use
                    direct.setdefault(bound, []).extend(scanner.name_uses(dotted, node.lineno))
                    member = scanner.own_member(dotted)
                    if member:  # from tensor_ops import helper as f: f reaches helper
                        refs.setdefault(bound, set()).add(member)
    return _Reach(direct, refs)


class _Reach(Mapping[str, list[Use]]):
    """Top-level name -> the forbidden uses it reaches, each name's closure walked when it is
    first asked for: the judge asks for a few names, and walking every name's closure up
    front is quadratic in a chain of aliases (`a1 = a0`, `a2 = a1`, ... from a submission)."""

    def __init__(self, direct: dict[str, list[Use]], refs: dict[str, set[str]]):
        self._direct, self._refs = direct, refs
        self._closed: dict[str, list[Use]] = {}

    def _closure(self, name: str) -> list[Use]:
        if name not in self._closed:
            seen, stack, found = {name}, [name], []
            while stack:
                current = stack.pop()
                found += self._direct.get(current, [])
                for ref in self._refs.get(current, ()):
                    if ref in self._direct and ref not in seen:
                        seen.add(ref)
                        stack.append(ref)
            self._closed[name] = _distinct(found)
        return self._closed[name]

    def __getitem__(self, name: str) -> list[Use]:
        found = self._closure(name) if name in self._direct else []
        if not found:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._direct if self._closure(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Policy:
    """The forbidden APIs of one assignment, and what one submission's source uses of them."""

    instead: dict[str, str]  # API -> what to write instead
    only_in: dict[str, tuple[str, ...]]  # API -> the top-level names it is forbidden in
    static: Mapping[str, list[Use]]  # top-level name -> forbidden uses its source reaches
    allow: tuple[str, ...] = ()  # constructs the instructor allows
    where: Callable[[int], str] | None = None  # a source line as the student finds it

    @classmethod
    def for_submission(
        cls, spec: AssignmentSpec, sources: list[Path], where: Callable[[int], str] | None = None
    ) -> Policy:
        """Scan `sources` (what is used at module level counts for every name); `where`
        names a line for the student (a notebook's: its cell and line)."""
        static = find_violations(sources, list(spec.forbidden))
        return cls(
            dict(spec.forbidden),
            dict(spec.forbidden_only_in),
            static,
            tuple(spec.forbidden_allow),
            where,
        )

    @property
    def apis(self) -> list[str]:
        """What the worker watches for at run time (evidence for the report only)."""
        return list(self.instead)

    def applies(self, api: str, origin: str | None) -> bool:
        """Whether `api` is forbidden in code reached through the top-level name `origin`."""
        if api not in self.instead:
            return False
        scope = self.only_in.get(api)
        return scope is None or origin in scope

    def _counts(self, use: Use, name: str) -> bool:
        if use.construct is None:
            return self.applies(use.key, name)
        return use.construct not in self.allow and any(self.applies(a, name) for a in self.instead)

    def check_static(self, name: str) -> None:
        """Raise if the source of the top-level `name` reaches something forbidden there."""
        reached = self.static.get(name, []) + self.static.get(MODULE_LEVEL, [])
        uses = [u for u in _distinct(reached) if self._counts(u, name)]
        if uses:
            raise ForbiddenAPIUsed(uses, self.instead, self.where)

    def ran_notes(self, apis: Iterable[str], origin: str | None) -> list[str]:
        """Notes on forbidden APIs the worker says ran: evidence for the report, not a verdict
        (the source decides; this says where the scan and the run disagree)."""
        return [
            f"the worker reported that {api} ran during a request through "
            f"{origin or 'your module'}; the grade comes from your source, which the "
            "grader found clean there"
            for api in apis
            if self.applies(api, origin)
        ]
