"""The forbidden-API scan: an allow-list of what can be resolved statically. Every route the
audit used to reach a forbidden API is a violation, the references and stubs are clean."""

from __future__ import annotations

import textwrap

import pytest
from conftest import COURSE

from grader.course import load_assignment
from grader.judge.forbidden import find_violations

# (assignment, source, the entry or construct it must be caught as)
ROUTES = [
    ("hw2", "def f(loss):\n    loss.backward()\n", "torch.Tensor.backward"),
    (
        "hw2",
        "import torch\ndef f(x):\n    return getattr(torch, 'auto' + 'grad').grad(x, x)\n",
        "construct:getattr",
    ),
    (
        "hw2",
        "import torch\ndef f(x):\n    torch.autograd.Variable._execution_engine"
        ".run_backward((x,), (None,), False, False, (), False)\n",
        "construct:torch-internals",
    ),
    (
        "hw2",
        "import threading\ndef f(x):\n    threading.Thread(target=x).start()\n",
        "construct:threading",
    ),
    (
        "hw2",
        "from concurrent.futures import ThreadPoolExecutor as P\ndef f(x):\n    P().submit(x)\n",
        "construct:threading",
    ),
    ("hw2", "import os\ndef f():\n    os.fork()\n", "construct:processes"),
    ("hw2", "import torch\ndef f(x):\n    return torch.func.grad(x)\n", "torch.func"),
    ("hw2", "import functorch\ndef f(x):\n    return functorch.grad(x)\n", "torch.Tensor.backward"),
    (
        "hw3",
        "import torch.nn as nn\nclass L(getattr(nn, 'Lin' + 'ear')):\n    pass\n",
        "construct:getattr",
    ),
    (
        "hw3",
        "import torch\ndef f(x, w):\n    return torch.ops.aten.linear(x, w)\n",
        "construct:torch-internals",
    ),
    (
        "hw3",
        "import torch\ndef f(x, w):\n    return torch._C._nn.linear(x, w)\n",
        "construct:torch-internals",
    ),
    (
        "hw3",
        "import torch\nclass M(torch.nn.modules.linear.Linear):\n    pass\n",
        "torch.nn.modules.linear",
    ),
    (
        "hw3",
        "import torch.nn.functional as F\nmods = [F]\ndef f(x, w):\n    return mods[0].linear(x, w)\n",
        "torch.nn.functional.linear",
    ),
    ("hw3", "import torch.nn as nn\nclass L(nn.LazyLinear):\n    pass\n", "torch.nn.Linear"),
    ("hw4", "def f(z):\n    return z.softmax(1)\n", "torch.Tensor.softmax"),
    (
        "hw4",
        "import importlib\ndef f():\n    return importlib.import_module('torch.optim._functional')\n",
        "torch.optim",
    ),
    (
        "hw4",
        "import torch.nn.functional as F\nG = F\ndef f(z, y):\n    return G.cross_entropy(z, y)\n",
        "torch.nn.functional.cross_entropy",
    ),
    (
        "hw4",
        "import operator\ndef f(z):\n    return operator.methodcaller('softmax', 1)(z)\n",
        "construct:attrgetter",
    ),
    ("hw4", "def f(z):\n    return eval('z.softmax(1)')\n", "construct:exec"),
    ("hw4", "import gc\ndef f():\n    return gc.get_objects()\n", "construct:introspection"),
    (
        "hw4",
        "def f():\n    return ().__class__.__base__.__subclasses__()\n",
        "construct:introspection",
    ),
    (
        "hw4",
        "import torch.nn.functional as F\ndef f(z):\n    return F.__dict__['softmax'](z, 1)\n",
        "construct:namespace",
    ),
    (
        "hw4",
        "import sys\ndef f(z):\n    return sys.modules['torch'].softmax(z, 1)\n",
        "construct:namespace",
    ),
    (
        "hw4",
        "from torch.nn.functional import *\ndef f(z):\n    return softmax(z, 1)\n",
        "construct:star-import",
    ),
    ("hw4", "import torch\ndef f(p):\n    return torch.optim.SGD(p, lr=1)\n", "torch.optim"),
    ("hw4", "import pickle\ndef f(b):\n    return pickle.loads(b)\n", "construct:pickle"),
    (
        "hw5",
        "import torch\ndef f(x):\n    return torch.ops.aten.native_dropout(x, 0.5, True)\n",
        "construct:torch-internals",
    ),
    ("hw5", "import torch.nn as nn\nclass D(nn.AlphaDropout):\n    pass\n", "torch.nn.Dropout"),
    (
        "hw5",
        "import torch\ndef f(x):\n    return torch.feature_alpha_dropout(x, 0.5, True)\n",
        "torch.nn.Dropout",
    ),
    ("hw5", "import ctypes\ndef f():\n    return ctypes.CDLL(None)\n", "construct:ctypes"),
    (
        "hw6",
        "import torch.nn.functional as F\ndef conv2d(x, w, b, s, p):\n"
        "    return F.conv3d(x[:, :, None], w[:, :, None], b, s, p)[:, :, 0]\n",
        "torch.nn.functional.conv2d",
    ),
    (
        "hw6",
        "import torch\ndef max_pool2d(x, k, s, p):\n    return torch.nn.functional.avg_pool2d(x, k)\n",
        "torch.nn.functional.max_pool2d",
    ),
]
ROUTES += [
    ("hw4", "def f(z):\n    return __import__('torch').softmax(z, 1)\n", "torch.softmax"),
    (
        "hw4",
        "import importlib\ndef f(z):\n    return importlib.import_module('torch.nn.functional')"
        ".softmax(z, 1)\n",
        "torch.nn.functional.softmax",
    ),
    ("hw4", "def f():\n    return __import__('threading').Thread\n", "construct:threading"),
    ("hw4", "def f(name):\n    return __import__(name)\n", "construct:import"),
    (
        "hw4",
        "import importlib\ndef f(name):\n    return importlib.import_module(name)\n",
        "construct:import",
    ),
]
# through module-level data: what reaches a name that a graded function uses
INDIRECT = [
    (
        "hw3",
        "import torch.nn.functional as F\ndef _table():\n    return {'f': F.linear}\n"
        "_OPS = _table()\ndef forward(x, w):\n    return _OPS['f'](x, w)\n",
    ),
    (
        "hw3",
        "import torch.nn.functional as F\n_OPS = {}\ndef _init():\n    _OPS['f'] = F.linear\n"
        "_init()\ndef forward(x, w):\n    return _OPS['f'](x, w)\n",
    ),
    (
        "hw3",
        "import torch.nn.functional as F\n_F = None\ndef _init():\n    global _F\n    _F = F.linear\n"
        "_init()\ndef forward(x, w):\n    return _F(x, w)\n",
    ),
    (
        "hw3",
        "import torch.nn.functional as F\nclass _H:\n    pass\n_h = _H()\ndef _init():\n"
        "    _h.f = F.linear\n_init()\ndef forward(x, w):\n    return _h.f(x, w)\n",
    ),
    (
        "hw3",
        "import torch.nn.functional as F\n_OPS = []\ndef _init():\n    _OPS.append(F.linear)\n"
        "_init()\ndef forward(x, w):\n    return _OPS[0](x, w)\n",
    ),
]
ROUTES += [
    (
        "hw3",
        "import torch\nimport torch.nn.functional as F\ntorch.mine = F.linear\n"
        "def forward(x, w):\n    return torch.mine(x, w)\n",
        "construct:namespace",
    ),
]
ROUTES += [  # a second red-team round: a resolver fed a string, an import under the task's name
    (
        "hw6",
        "import pydoc\ndef conv2d(x, w, b, s, p):\n"
        "    return pydoc.locate('torch.nn.functional.conv2d')(x, w, b, s, p)\n",
        "torch.nn.functional.conv2d",
    ),
    (
        "hw6",
        "import pydoc\ndef conv2d(x, w, b, s, p):\n    return pydoc.locate(x)\n",
        "construct:import",
    ),
]
IMPORTED = [
    ("hw6", "from torch.nn.functional import conv2d, max_pool2d\n", "conv2d"),
    ("hw3", "from torch.nn import Linear\n", "Linear"),
    ("hw5", "from torch.nn.functional import dropout\n", "dropout"),
]
CLEAN = [
    ("hw3", "def f(x):\n    __import__('sys').exit('wrong size')\n"),
    ("hw2", "import torch\ndef f(x):\n    with torch.no_grad():\n        return x * 2\n"),
    ("hw2", "def f(p):\n    return p.grad\n"),
    (
        "hw3",
        "import torch\nclass L(torch.nn.Module):\n    def forward(self, x):\n"
        "        return x @ self.weight.T + self.bias\n",
    ),
    (
        "hw4",
        "class M:\n    def softmax(self, z):\n        return z\n    def f(self, z):\n"
        "        return self.softmax(z)\n",
    ),
    (
        "hw6",
        "import torch.nn.functional as F\ndef conv2d(x, w, b, s, p):\n    return F.unfold(x, 3)\n",
    ),
    ("hw6", "import torch\ndef f(x):\n    return getattr(x, 'shape')\n"),
]


def scan(tmp_path, hw: str, source: str) -> set[str]:
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent(source))
    found = find_violations([path], list(load_assignment(COURSE, hw).forbidden))
    return {u.key for uses in found.values() for u in uses}


@pytest.mark.parametrize(
    "hw, source, caught_as", ROUTES, ids=[f"{r[0]}:{r[2]}:{i}" for i, r in enumerate(ROUTES)]
)
def test_every_route_to_a_forbidden_api_is_a_violation(tmp_path, hw, source, caught_as):
    assert caught_as in scan(tmp_path, hw, source)


@pytest.mark.parametrize("hw, source", INDIRECT)
def test_a_forbidden_api_stored_in_module_level_data_reaches_whoever_uses_it(tmp_path, hw, source):
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent(source))
    found = find_violations([path], list(load_assignment(COURSE, hw).forbidden))
    assert "torch.nn.functional.linear" in {u.key for u in found.get("forward", [])}


@pytest.mark.parametrize("hw, source", CLEAN)
def test_ordinary_code_is_not_a_violation(tmp_path, hw, source):
    assert scan(tmp_path, hw, source) == set()


@pytest.mark.parametrize("hw", ["hw2", "hw3", "hw4", "hw5", "hw6"])
def test_the_stubs_are_clean(tmp_path, hw):
    spec = load_assignment(COURSE, hw)
    assert find_violations([spec.root / f"{spec.module}.py"], list(spec.forbidden)) == {}


def test_a_constant_shared_with_a_layer_that_may_use_conv_does_not_taint_conv2d(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(
        "import torch.nn as nn\nSIZES = {'k': 3}\ndef conv2d(x, w, b, s, p):\n"
        "    return x[..., : SIZES['k']]\nclass CNN(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.c = nn.Conv2d(1, 2, SIZES['k'])\n"
    )
    found = find_violations([path], list(load_assignment(COURSE, "hw6").forbidden))
    assert "conv2d" not in found and "CNN" in found


@pytest.mark.parametrize("hw, source, name", IMPORTED)
def test_a_task_name_bound_by_importing_the_forbidden_api_is_a_use(tmp_path, hw, source, name):
    path = tmp_path / "mod.py"
    path.write_text(source)
    found = find_violations([path], list(load_assignment(COURSE, hw).forbidden))
    assert found.get(name), found


@pytest.mark.timeout(60)  # walking every name's closure took tens of minutes here
def test_a_long_chain_of_aliases_is_followed_without_a_quadratic_walk(tmp_path):
    """A submission's source is read in the judge: 30 000 aliases must neither stall it nor
    hide the forbidden API at the end of the chain."""
    n = 30_000
    path = tmp_path / "mod.py"
    chain = "".join(f"_a{i + 1} = _a{i}\n" for i in range(n - 1))
    path.write_text(
        f"import torch as _t\n_a0 = _t\n{chain}"
        f"def pairwise_distances(x, y):\n    return _a{n - 1}.cdist(x, y)\n"
        "def clean(x):\n    return x\n"
    )
    found = find_violations([path], list(load_assignment(COURSE, "hw1").forbidden))
    assert [u.key for u in found["pairwise_distances"]] == ["torch.cdist"]
    assert "clean" not in found
