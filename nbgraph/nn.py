"""Lesson-sized neural-network building blocks on top of the engine.

    import nbgraph as ng
    model = ng.nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
    scores = model(X)                     # X: (N, 2) -> scores: (N, 1)
    model.parameters()                    # [W1, b1, W2, b2, W3, b3]

Every weight is an ``ng.parameter`` with a name (``W1``, ``b1``, ``Wxh``...),
so drawings of the graph label it. A ``Linear`` given no name is called
``W``/``b`` on its own, ``W1``/``b1``, ``W2``/``b2``... in an ``MLP`` or a
``Sequential``, and takes its attribute path in a module of your own:
``self.fc1 = Linear(...)`` gives ``fc1.W`` and ``fc1.b`` (as
``named_parameters`` lists them). Initialisation is seeded: pass ``seed=``
or ``rng=`` (a ``numpy.random.Generator``); without either, layers draw from
one module-wide generator that ``manual_seed(n)`` resets, so a notebook run
top to bottom always gives the same weights.

``RNN`` unrolls an ``RNNCell`` over a sequence; each time step is built
inside ``ng.scope(f"t={t}")`` so the drawing shows one cluster per step,
all of them using the same ``Wxh``, ``Whh`` and ``bh`` (created once, outside
the scopes): backprop through time sums the per-step gradients into them.

The losses live in ``ng.losses`` and are re-exported here (``ng.nn.mse``...).
"""

import weakref

import numpy as np

from . import engine
from .engine import Tensor, parameter, scope, stack, tensor
from .losses import binary_cross_entropy, cross_entropy, hinge, l2_penalty, mse  # noqa: F401

__all__ = [
    "Module", "Linear", "MLP", "RNNCell", "RNN", "Sequential", "manual_seed", "get_activation",
    "mse", "hinge", "binary_cross_entropy", "cross_entropy", "l2_penalty",
]

_default_rng = np.random.default_rng(0)

# Parameters whose name nn chose (no name was given): tensor -> that name. A
# parent module may prefix such a name with the attribute that holds the layer;
# a name the user gave, or changed since, is never touched.
_default_names = weakref.WeakKeyDictionary()


def _default_named(p, name):
    p.name = name
    _default_names[p] = name
    return p


def _rename_defaults(module, rename):
    """Apply ``rename(old) -> new`` to every default-named parameter of ``module``."""
    for p in module.parameters():
        if _default_names.get(p) == p.name:
            _default_named(p, rename(p.name))


def manual_seed(seed):
    """Reset the generator that layers use when given neither ``seed=`` nor ``rng=``."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def _rng(seed=None, rng=None):
    if seed is not None and rng is not None:
        raise ValueError("pass seed= or rng=, not both")
    if rng is not None:
        return rng
    if seed is not None:
        return np.random.default_rng(seed)
    return _default_rng


# ---------------------------------------------------------------------------
# Activations by name
# ---------------------------------------------------------------------------

_ACTIVATIONS = {
    "relu": lambda x: x.relu(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "identity": lambda x: x,
    "linear": lambda x: x,
    None: lambda x: x,
}


def get_activation(name):
    """The activation function called ``name`` ("relu", "tanh", "sigmoid",
    "identity"), or ``name`` itself if it is already callable."""
    if callable(name):
        return name
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(repr(k) for k in _ACTIVATIONS if k)
        raise ValueError(f"unknown activation {name!r}; use one of {known} or a function") from None


# ---------------------------------------------------------------------------
# Module
# ---------------------------------------------------------------------------

class Module:
    """Base class: a callable holding parameters and sub-modules as attributes.

    Parameters are found by looking through the attributes (in the order they
    were set): ``ng.parameter`` tensors, other Modules, and lists/tuples/dicts
    of them. Subclasses write ``forward``; calling the module calls it.
    """

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __setattr__(self, key, value):
        # A layer stored as ``self.fc1`` names its default-named weights after
        # the attribute (``fc1.W``), once: the first module to hold it names it.
        if not key.startswith("_"):
            for path, m in _held_modules(self, key, value):
                if not m.__dict__.get("_named_by_parent"):
                    object.__setattr__(m, "_named_by_parent", True)
                    _rename_defaults(m, lambda name, path=path: f"{path}.{name}")
        object.__setattr__(self, key, value)

    def named_parameters(self, prefix=""):
        """``[(path, tensor)]``, e.g. ``("layers.0.W", W1)``; each tensor once.

        The path says where the tensor lives in the module; ``tensor.name``
        (``"W1"``) is what drawings show.
        """
        out, seen = [], set()
        self._collect(prefix, out, seen)
        return out

    def parameters(self):
        """Every trainable tensor, each once, in a stable order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Forget the gradients of every parameter (call between training steps)."""
        for p in self.parameters():
            p.zero_grad()

    def num_parameters(self):
        return int(sum(p.size for p in self.parameters()))

    def _collect(self, prefix, out, seen):
        for key, value in vars(self).items():
            if key.startswith("_"):
                continue
            _collect_value(f"{prefix}{key}", value, out, seen)

    def __repr__(self):
        lines = [f"{type(self).__name__}("]
        for path, p in self.named_parameters():
            lines.append(f"  {path}: {p.name or '?'} {tuple(p.shape)}")
        return "\n".join(lines) + ")" if len(lines) > 1 else lines[0] + ")"


def _held_modules(holder, key, value):
    """The modules an attribute holds, with their paths (a list's items by index)."""
    if isinstance(value, Module):
        return [(key, value)]
    if isinstance(value, (list, tuple)) and not isinstance(holder, Sequential):   # it numbers its own
        return [(f"{key}.{i}", m) for i, m in enumerate(value) if isinstance(m, Module)]
    return []


def _collect_value(path, value, out, seen):
    if isinstance(value, Tensor):
        if value.kind == "param" and value.requires_grad and id(value) not in seen:
            seen.add(id(value))
            out.append((path, value))
    elif isinstance(value, Module):
        value._collect(path + ".", out, seen)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _collect_value(f"{path}.{i}", item, out, seen)
    elif isinstance(value, dict):
        for k, item in value.items():
            _collect_value(f"{path}.{k}", item, out, seen)


def _as_input(x):
    """Data that goes into a model: Tensors stay, arrays become inputs that need
    no gradient, named ``X`` (a batch) or ``x`` (one sample) for the drawings."""
    if isinstance(x, Tensor):
        return x
    x = tensor(x, requires_grad=False)
    return x.named("X" if x.ndim >= 2 else "x")


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------

def _init(rng, n_in, n_out, init):
    """A weight matrix (n_in, n_out) for the named scheme."""
    if init == "he":            # keeps the variance through relu layers
        return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
    if init == "xavier":        # Glorot: for tanh / sigmoid layers
        return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))
    if init == "uniform":       # U(-1/sqrt(n_in), 1/sqrt(n_in)), as in many libraries
        bound = 1.0 / np.sqrt(n_in)
        return rng.uniform(-bound, bound, size=(n_in, n_out))
    if init == "zeros":
        return np.zeros((n_in, n_out))
    raise ValueError(f"unknown init {init!r}; use 'he', 'xavier', 'uniform' or 'zeros'")


class Linear(Module):
    """``y = x @ W + b`` with ``W`` of shape (n_in, n_out) and ``b`` of shape (n_out,).

    ``x`` may be one sample (n_in,) or a batch (N, n_in). Parameter names:
    ``weight_name``/``bias_name`` if given (``MLP`` uses ``W1``, ``b1``...),
    else ``"<name>.W"``/``"<name>.b"`` when ``name`` is given, else ``W``/``b``.
    ``init``: "he" (default, for relu), "xavier" (tanh), "uniform" or "zeros";
    biases start at zero.
    """

    def __init__(self, n_in, n_out, bias=True, *, name=None, weight_name=None, bias_name=None,
                 init="he", seed=None, rng=None):
        self.n_in, self.n_out = int(n_in), int(n_out)
        if self.n_in < 1 or self.n_out < 1:
            raise ValueError(f"Linear({n_in}, {n_out}): sizes must be positive")
        rng = _rng(seed, rng)
        prefix = f"{name}." if name else ""
        self.W = parameter(_init(rng, self.n_in, self.n_out, init), name=weight_name or f"{prefix}W")
        self.b = parameter(np.zeros(self.n_out), name=bias_name or f"{prefix}b") if bias else None
        if name is None:        # W and b: a module that holds the layer may qualify them
            if weight_name is None:
                _default_named(self.W, "W")
            if bias_name is None and self.b is not None:
                _default_named(self.b, "b")

    def forward(self, x):
        x = _as_input(x)
        if x.shape[-1:] != (self.n_in,):
            raise engine.ShapeError(
                f"Linear {self.W.name} expects inputs with {self.n_in} features (last axis), "
                f"got {x.label()} with shape {x.shape}")
        out = x @ self.W
        return out + self.b if self.b is not None else out

    def __repr__(self):
        return f"Linear({self.n_in}, {self.n_out}, W={self.W.name!r})"


class Sequential(Module):
    """Apply modules (or plain functions) one after the other.

    Layers whose weights have default names are numbered as in ``MLP``: the
    first ``Linear`` gets ``W1``/``b1``, the next ``W2``/``b2``...
    """

    def __init__(self, *layers):
        self.layers = list(layers)
        number = 0
        for layer in self.layers:
            if isinstance(layer, Module) and not layer.__dict__.get("_named_by_parent"):
                object.__setattr__(layer, "_named_by_parent", True)
                if any(_default_names.get(p) == p.name in ("W", "b") for p in layer.parameters()):
                    number += 1
                    _rename_defaults(layer, lambda name, k=number: (
                        f"{name}{k}" if name in ("W", "b") else name))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` is 2 -> 16 -> 16 -> 1.

    ``activation`` goes between layers ("relu", "tanh", "sigmoid" or a
    function); the last layer is linear unless ``final_activation`` says
    otherwise (losses such as ``hinge``/``cross_entropy`` want raw scores).
    Weights are named ``W1, b1, W2, b2, ...``; the init is "he" for relu and
    "xavier" otherwise, unless ``init=`` says.
    """

    def __init__(self, n_in, sizes, activation="relu", final_activation=None, *, init=None,
                 seed=None, rng=None):
        if isinstance(sizes, int):
            sizes = [sizes]
        sizes = [int(s) for s in sizes]
        if not sizes:
            raise ValueError("MLP needs at least one layer size, e.g. MLP(2, [16, 1])")
        rng = _rng(seed, rng)
        if init is None:
            init = "he" if activation == "relu" else "xavier"
        self.sizes = [int(n_in)] + sizes
        self.activation_name = activation if isinstance(activation, str) else getattr(
            activation, "__name__", "custom")
        self._act = get_activation(activation)
        self._final = get_activation(final_activation)
        self.layers = [
            Linear(a, b, weight_name=f"W{i + 1}", bias_name=f"b{i + 1}", init=init, rng=rng)
            for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))
        ]

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            x = self._act(x) if i < last else self._final(x)
        return x

    def __repr__(self):
        return f"MLP({' -> '.join(map(str, self.sizes))}, activation={self.activation_name!r})"


# ---------------------------------------------------------------------------
# Recurrent
# ---------------------------------------------------------------------------

class RNNCell(Module):
    """One step of a vanilla RNN: ``h_t = tanh(x_t @ Wxh + h_{t-1} @ Whh + bh)``.

    ``x`` is (n_in,) or (batch, n_in); ``h`` is (n_hidden,) or (batch, n_hidden).
    """

    def __init__(self, n_in, n_hidden, activation="tanh", *, seed=None, rng=None):
        rng = _rng(seed, rng)
        self.n_in, self.n_hidden = int(n_in), int(n_hidden)
        self.activation_name = activation
        self._act = get_activation(activation)
        self.Wxh = parameter(_init(rng, self.n_in, self.n_hidden, "xavier"), name="Wxh")
        # A recurrent matrix with a spectral radius a bit below 1: signals neither
        # explode nor die over a few dozen steps at the start of training.
        q, _ = np.linalg.qr(rng.normal(size=(self.n_hidden, self.n_hidden)))
        self.Whh = parameter(0.9 * q, name="Whh")
        self.bh = parameter(np.zeros(self.n_hidden), name="bh")

    def forward(self, x, h):
        return self._act(_as_input(x) @ self.Wxh + h @ self.Whh + self.bh)

    def __repr__(self):
        return f"RNNCell({self.n_in}, {self.n_hidden})"


class RNN(Module):
    """An ``RNNCell`` unrolled over a sequence, plus an optional linear read-out.

    ``rnn(xs)`` with ``xs`` of shape (T, n_in) or (T, batch, n_in) returns
    ``(ys, h)``: ``ys`` stacks the per-step outputs, shape (T, [batch,] n_out)
    (the hidden states if ``n_out`` is None), and ``h`` is the last hidden
    state. Step ``t`` (1..T) is built inside ``ng.scope(f"t={t}")`` and names
    its tensors ``x{t}``, ``h{t}``, ``y{t}``; the weights ``Wxh``, ``Whh``,
    ``bh``, ``Why``, ``by`` are shared by all the steps.
    """

    def __init__(self, n_in, n_hidden, n_out=None, activation="tanh", *, seed=None, rng=None):
        rng = _rng(seed, rng)
        self.cell = RNNCell(n_in, n_hidden, activation, rng=rng)
        self.head = (Linear(n_hidden, n_out, weight_name="Why", bias_name="by", init="xavier",
                            rng=rng) if n_out else None)
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), n_out

    def forward(self, xs, h0=None):
        xs_data = xs.data if isinstance(xs, Tensor) else np.asarray(xs, dtype=np.float64)
        if xs_data.ndim not in (2, 3) or xs_data.shape[-1] != self.n_in:
            raise engine.ShapeError(
                f"RNN expects a sequence of shape (T, {self.n_in}) or (T, batch, {self.n_in}), "
                f"got {xs_data.shape}")
        if h0 is None:
            h = tensor(np.zeros(xs_data.shape[1:-1] + (self.n_hidden,)), name="h0",
                       requires_grad=False)
        else:
            h = _as_input(h0)
        outs = []
        for t in range(1, xs_data.shape[0] + 1):
            with scope(f"t={t}"):
                if isinstance(xs, Tensor):
                    x_t = xs[t - 1].named(f"x{t}")
                else:
                    x_t = tensor(xs_data[t - 1], name=f"x{t}", requires_grad=False)
                h = self.cell(x_t, h).named(f"h{t}")
                outs.append(self.head(h).named(f"y{t}") if self.head is not None else h)
        return stack(outs), h

    def __repr__(self):
        return f"RNN({self.n_in}, {self.n_hidden}, {self.n_out})"
