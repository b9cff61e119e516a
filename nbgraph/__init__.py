"""nbgraph: see backpropagation happen, node by node, inside Jupyter.

    import nbgraph as ng
    x = ng.tensor(1.0, name="x"); y = ng.tensor(3.0, name="y"); z = ng.tensor(-3.0, name="z")
    p = (x + y).named("p"); g = (p * z).named("g")
    g.backward()          # x.grad == -3, y.grad == -3, z.grad == 4
    ng.Stepper(g)         # step the forward and backward pass in a notebook

``import nbgraph`` loads numpy and graphviz only; the widgets load
ipywidgets and Pillow the first time they are used.
"""

from .engine import (Tensor, tensor, parameter, no_grad, scope, detect_anomaly,
                     define_op, concat, stack, maximum, where, ShapeError, NonFiniteError)
from .graph import Graph, graph
from .check import gradcheck, GradcheckError

__version__ = "0.1.0"


def exp(x): return _t(x).exp()
def log(x): return _t(x).log()
def sqrt(x): return _t(x).sqrt()
def tanh(x): return _t(x).tanh()
def sigmoid(x): return _t(x).sigmoid()
def relu(x): return _t(x).relu()
def softmax(x, axis=-1): return _t(x).softmax(axis)
def log_softmax(x, axis=-1): return _t(x).log_softmax(axis)


def _t(x):
    return x if isinstance(x, Tensor) else tensor(x, requires_grad=False)


# The rest loads on first use, so `import nbgraph` stays light.
_LAZY = {
    "show": "render", "to_dot": "render", "render_svg": "render",
    "Stepper": "stepper", "LossPlot": "lossplot", "save_html": "publish",
    "fit": "train", "History": "train", "Stop": "train", "Dashboard": "dashboard",
    "nn": None, "optim": None, "datasets": None, "losses": None, "train": None,
    "lossplot": None, "render": None, "stepper": None, "examples": None,
    "torch": "bridges.torch",   # the module itself; it imports torch only when a trace starts
    "load_ipython_extension": "magics", "unload_ipython_extension": "magics",
}


def __getattr__(name):
    import importlib
    if name not in _LAZY:
        raise AttributeError(f"module 'nbgraph' has no attribute {name!r}")
    where = _LAZY[name] or name
    module = importlib.import_module(f".{where}", __name__)
    # None, or a path ending in the name itself ("bridges.torch"), means the module
    value = module if where.rpartition(".")[2] == name else getattr(module, name)
    globals()[name] = value
    return value
