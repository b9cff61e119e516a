"""The autograd engine: tensors that remember how they were made.

Read this file top to bottom in one sitting:

1. ``Op`` -- one entry per operation: its forward (numpy in, numpy out), its
   vector-Jacobian product (VJP: "given dL/d(out), what is dL/d(input)?") and
   the formula text the drawings and explanations show.
2. ``Tensor`` -- a numpy array plus the op and inputs that produced it.
   Every arithmetic method records one node by calling ``apply``.
3. ``backprop`` -- walks the recorded graph from the output back to the
   leaves in reverse topological order, calling each op's VJP once and summing
   the contributions a tensor receives from all of its uses (shared weights).

Only numpy is imported. Everything else in nbgraph (graph IR, drawings,
widgets, training) is built on the handful of names defined here.
"""

import contextlib
import functools
import heapq
import itertools
import numbers
import operator
import sys

import numpy as np

__all__ = [
    "Tensor", "Op", "OPS", "tensor", "parameter", "no_grad", "scope",
    "detect_anomaly", "define_op", "concat", "stack", "maximum", "where", "backprop",
    "topological_order", "ShapeError", "NonFiniteError",
]


class ShapeError(ValueError):
    """An operation got inputs whose shapes do not fit together."""


class NonFiniteError(FloatingPointError):
    """Raised under ``detect_anomaly()`` where a NaN or Inf first appears."""


# ---------------------------------------------------------------------------
# Global recording state: is grad recording on, which scope are we in, and are
# we hunting for NaN/Inf. Plain module globals keep the hot path cheap.
# ---------------------------------------------------------------------------

_grad_enabled = True
_scope_path = ""
_anomaly = False
_ids = itertools.count()
_new = object.__new__
_F64 = np.dtype(np.float64)

# numpy reports a NaN or Inf with a RuntimeWarning that would point into this
# file; the drawing and first_nonfinite() say it better. So the engine's own
# numpy calls run with floating-point warnings off (the user's own calls keep
# theirs). `with np.errstate(...)` costs ~1 µs, more than many ops; on numpy 2
# it is one context variable, set and reset here directly for ~0.2 µs.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _fp_errors
    with np.errstate(all="ignore"):
        _FP_QUIET = _fp_errors.get()
except ImportError:                         # numpy 1.x: the same two calls, via np.seterr
    class _fp_errors:
        set = staticmethod(lambda quiet: np.seterr(**quiet))
        reset = staticmethod(lambda before: np.seterr(**before))
    _FP_QUIET = {"all": "ignore"}


@contextlib.contextmanager
def no_grad():
    """Compute without recording: results are leaves with no history."""
    global _grad_enabled
    before, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = before


@contextlib.contextmanager
def scope(name):
    """Tag every tensor created inside; nested scopes give paths like ``rnn/t=1``."""
    global _scope_path
    name = str(name)
    if not name or "/" in name:
        raise ValueError(f"scope name must be non-empty and contain no '/': got {name!r}")
    before = _scope_path
    _scope_path = f"{before}/{name}" if before else name
    try:
        yield
    finally:
        _scope_path = before


@contextlib.contextmanager
def detect_anomaly():
    """Raise ``NonFiniteError`` at the first op whose output (or gradient) is NaN/Inf."""
    global _anomaly
    before, _anomaly = _anomaly, True
    try:
        with np.errstate(all="ignore"):     # the error we raise says more than numpy's warning
            yield
    finally:
        _anomaly = before


# ---------------------------------------------------------------------------
# The op table
# ---------------------------------------------------------------------------

class Op:
    """One operation: forward, vector-Jacobian products and formula text.

    ``forward(*arrays, **params) -> array``.
    ``vjp``: one function per input, ``vjp[k](g, out, *arrays, **params)``:
    given g = dL/d(out), it returns one array, dL/d(input k), shaped like
    input k (or like ``out`` where input k was broadcast to the output's shape:
    the engine sums those axes back). Only the inputs that need a gradient get
    their function called. Every VJP is called this way; ``concat`` and
    ``stack``, which take any number of inputs, make input k's function with
    ``_each``.
    ``formula``: how the forward reads, with ``{0}``, ``{1}``... for the
    inputs, ``{all}`` for all of them, ``{p}`` for the parameters.
    ``local``: per input, the local derivative d(out)/d(input) as text.
    ``fresh``: the VJPs return g itself, a view of it, or a new array, never
    an array someone else holds (true of the built-in ops). Backprop may then
    keep and add into a new array instead of copying it.
    """

    __slots__ = ("name", "symbol", "forward", "vjp", "formula", "local", "fresh")

    def __init__(self, name, symbol, forward, vjp, formula, local=(), fresh=False):
        self.name, self.symbol = name, symbol
        self.forward, self.vjp = forward, vjp
        self.formula, self.local, self.fresh = formula, local, fresh

    def __repr__(self):
        return f"Op({self.name!r})"


OPS = {}


def _entry(name, symbol, formula, local, forward, *vjp, fresh=True):
    OPS[name] = Op(name, symbol, forward, vjp[0] if isinstance(vjp[0], _each) else vjp, formula,
                   local, fresh)


class _each:
    """The VJPs of an op with any number of inputs: ``[k]`` gives input k's
    function, which calls ``fn(g, out, *arrays, k=k, **params)``."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, k):
        return functools.partial(self.fn, k=k)


def _sum_to(g, shape):
    """Undo broadcasting: sum ``g`` over the axes that were stretched to reach it."""
    return _reduce(g, _stretched(shape, g.shape), shape)


def _reduce(g, axes, shape):
    if axes == (0,) and g.ndim == 2:
        # A bias added to every row of a batch: summing the rows as ones @ g
        # (one matrix-vector product) is ~3x faster than np.add.reduce here.
        s = _ones(g.shape[0]) @ g
    else:
        s = np.add.reduce(g, axis=axes)
    return s if s.shape == shape else s.reshape(shape)


@functools.lru_cache(maxsize=64)
def _ones(n):
    ones = np.ones(n)
    ones.flags.writeable = False
    return ones


@functools.lru_cache(maxsize=1024)      # a model has few shapes; this runs for every bias
def _stretched(shape, big):
    """The axes of shape ``big`` that broadcasting ``shape`` to it added or stretched,
    or None when ``shape`` does not broadcast to ``big``."""
    lead = len(big) - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, big[lead:])):
        return None
    return tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and big[lead + i] != 1)


def _keep(x, a, axis, keepdims):
    """Put the axes a reduction removed back in, as length 1, so ``x`` broadcasts against ``a``."""
    if axis is None or keepdims or a.ndim == 0:
        return x
    return np.expand_dims(x, axis)


def _expand(g, a, axis, keepdims):
    """Spread a reduced gradient back over every element of the input ``a``."""
    out = np.empty(a.shape)
    out[...] = _keep(g, a, axis, keepdims)
    return out


def _mean(a, axis=None, keepdims=False):
    s = a.sum(axis=axis, keepdims=keepdims)
    # sum / count, as np.mean computes it, but an empty slice is NaN without numpy's warning
    return s / (a.size / s.size) if s.size else s


def _swap(m):
    return m.T if m.ndim == 2 else np.swapaxes(m, -1, -2)


def _matmul_vjp_a(g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:     # the common case first: dL/da = g @ bᵀ
        return np.dot(g, b.T)           # (for 2-D, dot is matmul; it hands bᵀ to BLAS without a copy)
    if a.ndim == 1:             # vector @ ...: dL/da = b @ g (over b's columns)
        ga = b * g if b.ndim == 1 else (np.expand_dims(g, -2) @ _swap(b))[..., 0, :]
    elif b.ndim == 1:           # matrix @ vector
        ga = np.expand_dims(g, -1) * b
    else:
        ga = g @ _swap(b)
    # batch axes that a was broadcast along are summed back
    return ga if ga.shape == a.shape else _sum_to(ga, a.shape)


def _matmul_vjp_b(g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:     # dL/db = aᵀ @ g
        return np.dot(a.T, g)
    if b.ndim == 1:             # ... @ vector: dL/db = aᵀ @ g
        gb = a * g if a.ndim == 1 else (_swap(a) @ np.expand_dims(g, -1))[..., 0]
    elif a.ndim == 1:           # vector @ matrix
        gb = np.expand_dims(a, -1) * np.expand_dims(g, -2)
    else:
        gb = _swap(a) @ g
    return gb if gb.shape == b.shape else _sum_to(gb, b.shape)


def _max_vjp(g, out, a, axis=None, keepdims=False):
    # The gradient goes to the maximum; tied maxima share it equally (as torch.amax).
    mask = a == _keep(out, a, axis, keepdims)
    share = mask / mask.sum(axis=axis, keepdims=True)
    return share * _expand(g, a, axis, keepdims)


def _softmax(a, axis=-1):
    if a.size == 0:
        return a.copy()
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(a, axis=-1):
    if a.size == 0:
        return a.copy()
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _sigmoid(a):
    # 1 / (1 + e^-a) for a >= 0, e^a / (1 + e^a) below: never overflows, and
    # keeps full precision in the left tail (log(sigmoid(-40)) is -40, not -inf).
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0, e) / (1.0 + e)


def _pow_vjp(g, out, a, exponent):
    if exponent == 0:           # a^0 = 1 everywhere: no slope, even at a = 0 (as PyTorch)
        return g * 0.0
    return g * (exponent * _pow(a, exponent - 1))     # this order: PyTorch's overflow point


def _pow(a, exponent):
    # PyTorch computes a^-0.5 as 1 / sqrt(a) (as numpy does a^0.5 as sqrt(a)):
    # the same numbers, except -inf at a = -0.0 where pow() gives +inf.
    return 1.0 / np.sqrt(a) if exponent == -0.5 else a ** exponent


def _pow_t_vjp_a(g, out, a, b):
    return g * np.where(b == 0, 0.0, b * a ** (b - 1))


def _pow_t_vjp_b(g, out, a, b):
    # d(a^b)/db = a^b log(a); PyTorch takes 0 where a = 0 and b >= 0 (the limit from a > 0)
    return g * np.where((a == 0) & (b >= 0), 0.0, out * np.log(a))


def _transpose_vjp(g, out, a, axes=None):
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([ax % a.ndim for ax in axes]))   # negative axes too


def _getitem_vjp(g, out, a, index):
    ga = np.zeros_like(a)
    np.add.at(ga, index, g)   # add.at: a repeated integer index gets every share
    return ga


def _concat_vjp(g, out, *xs, axis=0, k):
    start = sum(x.shape[axis] for x in xs[:k])
    return np.take(g, range(start, start + xs[k].shape[axis]), axis=axis)


# name, symbol, formula, local derivative text per input,
# forward, then one vector-Jacobian product per input
_entry("add", "+", "{0} + {1}", ("1", "1"),
       operator.add,
       lambda g, out, a, b: g,
       lambda g, out, a, b: g)
_entry("sub", "-", "{0} - {1}", ("1", "-1"),
       operator.sub,
       lambda g, out, a, b: g,
       lambda g, out, a, b: -g)
_entry("mul", "*", "{0} * {1}", ("{1}", "{0}"),
       operator.mul,
       lambda g, out, a, b: g * b,
       lambda g, out, a, b: g * a)
_entry("div", "/", "{0} / {1}", ("1 / {1}", "-{0} / {1}²"),
       operator.truediv,
       lambda g, out, a, b: g / b,
       lambda g, out, a, b: -g * out / b)        # = -g a / b², as PyTorch: no b² to under/overflow
_entry("pow", "^", "{0}^{exponent}", ("{exponent} * {0}^({exponent} - 1)",),
       _pow,
       _pow_vjp)
_entry("pow_t", "^", "{0}^{1}", ("{1} * {0}^({1} - 1)", "{0}^{1} * log({0})"),
       lambda a, b: a ** b,
       _pow_t_vjp_a,
       _pow_t_vjp_b)
_entry("neg", "−", "-{0}", ("-1",),
       operator.neg,
       lambda g, out, a: -g)
_entry("matmul", "@", "{0} @ {1}", ("(upstream) @ {1}ᵀ", "{0}ᵀ @ (upstream)"),
       operator.matmul,
       _matmul_vjp_a,
       _matmul_vjp_b)
_entry("sum", "Σ", "sum({0}{p})", ("1",),
       lambda a, axis=None, keepdims=False: a.sum(axis=axis, keepdims=keepdims),
       lambda g, out, a, axis=None, keepdims=False: _expand(g, a, axis, keepdims))
_entry("mean", "mean", "mean({0}{p})", ("1 / n",),
       _mean,
       lambda g, out, a, axis=None, keepdims=False: _expand(g * (a.size and out.size / a.size), a, axis, keepdims))
_entry("max", "max", "max({0}{p})", ("1 at the maximum, else 0",),
       lambda a, axis=None, keepdims=False: a.max(axis=axis, keepdims=keepdims),
       _max_vjp)
_entry("exp", "exp", "exp({0})", ("exp({0})",),
       np.exp,
       lambda g, out, a: g * out)
_entry("log", "log", "log({0})", ("1 / {0}",),
       np.log,
       lambda g, out, a: g / a)
_entry("sqrt", "√", "sqrt({0})", ("1 / (2 sqrt({0}))",),
       np.sqrt,
       lambda g, out, a: g / (2.0 * out))
_entry("abs", "abs", "|{0}|", ("sign({0})",),
       np.abs,
       lambda g, out, a: g * ((a > 0) - (a < 0.0) * 1.0))     # sign(a), but 0 at NaN (as PyTorch)
_entry("tanh", "tanh", "tanh({0})", ("1 - tanh({0})²",),
       np.tanh,
       lambda g, out, a: g * (1.0 - out * out))
_entry("sigmoid", "σ", "σ({0})", ("σ({0}) (1 - σ({0}))",),
       _sigmoid,
       lambda g, out, a: g * out * (1.0 - out))
_entry("relu", "relu", "relu({0})", ("1 if {0} > 0 else 0",),
       lambda a: np.maximum(a, 0.0),
       lambda g, out, a: np.where(a <= 0.0, 0.0, g))    # NaN lets g through (as PyTorch)
_entry("softmax", "softmax", "softmax({0}{p})", ("s (δ - s)",),
       _softmax,
       lambda g, out, a, axis=-1: out * (g - (g * out).sum(axis=axis, keepdims=True)))
_entry("log_softmax", "log softmax", "log_softmax({0}{p})", ("δ - softmax({0})",),
       _log_softmax,
       lambda g, out, a, axis=-1: g - np.exp(out) * g.sum(axis=axis, keepdims=True))
_entry("reshape", "reshape", "reshape({0}{p})", ("1 (moved)",),
       lambda a, shape: a.reshape(shape),
       lambda g, out, a, shape: g.reshape(a.shape))
_entry("transpose", "ᵀ", "transpose({0}{p})", ("1 (moved)",),
       lambda a, axes=None: np.transpose(a, axes),
       _transpose_vjp)
_entry("getitem", "[ ]", "{0}[{index}]", ("1 at the picked elements",),
       lambda a, index: a[index],
       _getitem_vjp)
_entry("concat", "concat", "concat({all}{p})", ("1 (moved)",),
       lambda *xs, axis=0: np.concatenate(xs, axis=axis),
       _each(_concat_vjp))
_entry("stack", "stack", "stack({all}{p})", ("1 (moved)",),
       lambda *xs, axis=0: np.stack(xs, axis=axis),
       _each(lambda g, out, *xs, axis=0, k: np.take(g, k, axis=axis)))
# A tie splits the gradient half and half (as torch.maximum); a NaN passes it to both.
_entry("maximum", "max", "max({0}, {1})", ("1 where {0} wins, ½ at a tie", "1 where {1} wins, ½ at a tie"),
       np.maximum,
       lambda g, out, a, b: g * np.where(a == b, 0.5, ~(a < b)),
       lambda g, out, a, b: g * np.where(a == b, 0.5, ~(a > b)))
_entry("where", "where", "where(cond, {0}, {1})", ("1 where cond", "1 where not cond"),
       lambda a, b, cond: np.where(cond, a, b),
       lambda g, out, a, b, cond: g * cond,
       lambda g, out, a, b, cond: g * ~cond)


# ---------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------

def _as_array(data, what="tensor data", copy=True):
    if isinstance(data, Tensor):
        data = data.data
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be real numbers (bool, int or float); got dtype "
            f"{arr.dtype} from {type(data).__name__}: {str(data)[:60]!r}")
    return arr.astype(np.float64, copy=copy)


def _const(value):
    """Wrap a Python number or numpy array that meets a Tensor in an op."""
    if type(value) is np.ndarray and value.dtype is _F64:
        data = value            # no copy: the graph snapshots values when drawn
    elif type(value) is float or type(value) is int:
        data = np.array(value, dtype=np.float64)
    else:
        data = _as_array(value, "a constant in an operation", copy=False)
    t = _new(Tensor)
    t.data, t._grad, t.name, t.requires_grad, t.kind = data, None, None, False, "const"
    t.scope, t._op, t._inputs, t._params, t._id = _scope_path, None, (), None, next(_ids)
    return t


class Tensor:
    """A float64 numpy array that records the op and inputs that produced it.

    ``data`` and ``grad`` are numpy arrays of the same shape. ``kind`` is
    ``"leaf"`` (made by ``ng.tensor``), ``"param"`` (a trainable weight),
    ``"const"`` (a number or array that met a tensor) or ``"op"`` (a result).
    """

    __slots__ = ("data", "_grad", "name", "requires_grad", "kind", "scope",
                 "_op", "_inputs", "_xs", "_params", "_id", "__weakref__")
    __array_ufunc__ = None      # `ndarray * tensor` must come to us, not numpy
    __array_priority__ = 1000

    def __init__(self, data, name=None, requires_grad=True):
        self.data = _as_array(data)
        self._grad = None
        self.name = None if name is None else str(name)
        self.requires_grad = bool(requires_grad)
        self.kind = "leaf"
        self.scope = _scope_path
        self._op, self._inputs, self._params = None, (), None
        self._id = next(_ids)

    # -- gradient storage ---------------------------------------------------
    @property
    def grad(self):
        """dL/d(this tensor), same shape as ``data`` (zeros before any backward)."""
        if self._grad is None:
            self._grad = np.zeros_like(self.data)
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = None if value is None else _as_array(value, "grad")

    def zero_grad(self):
        self._grad = None

    # -- small conveniences --------------------------------------------------
    def named(self, name):
        """Give the tensor a name for drawings and messages; returns the same tensor."""
        self.name = str(name)
        return self

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def op(self):
        return self._op

    @property
    def inputs(self):
        return self._inputs

    @property
    def params(self):
        return dict(self._params or {})

    @property
    def T(self):
        return self.transpose()

    def item(self):
        return self.data.item()

    def numpy(self):
        return self.data

    def __float__(self):
        if self.data.size != 1:
            raise TypeError(f"float() needs a single number; {self.label()} has shape {self.shape}")
        return float(self.data.reshape(()))

    def __len__(self):
        return len(self.data)

    def detach(self):
        """The same numbers, cut off from the graph."""
        return Tensor(self.data, name=self.name, requires_grad=False)   # Tensor() copies

    def label(self):
        """How messages refer to this tensor: its name, else its op, else its kind."""
        if self.name:
            return repr(self.name)
        if self._op is not None:
            return f"the result of {self._op.name}"
        return {"const": "a constant", "param": "an unnamed parameter",
                "leaf": "an unnamed tensor"}.get(self.kind, "an unnamed result")

    def __repr__(self):
        body = np.array2string(self.data, precision=4, threshold=20)
        extra = f", name={self.name!r}" if self.name else ""
        if self._grad is not None:
            extra += f", grad={np.array2string(self._grad, precision=4, threshold=20)}"
        return f"tensor({body}{extra})"

    # -- operators: each one line, each recording one node -------------------
    def __add__(self, o): return apply("add", self, o)
    def __radd__(self, o): return apply("add", o, self)
    def __sub__(self, o): return apply("sub", self, o)
    def __rsub__(self, o): return apply("sub", o, self)
    def __mul__(self, o): return apply("mul", self, o)
    def __rmul__(self, o): return apply("mul", o, self)
    def __truediv__(self, o): return apply("div", self, o)
    def __rtruediv__(self, o): return apply("div", o, self)
    def __matmul__(self, o): return apply("matmul", self, o)
    def __rmatmul__(self, o): return apply("matmul", o, self)
    def __neg__(self): return apply("neg", self)
    def __pos__(self): return self
    def __getitem__(self, index): return apply("getitem", self, index=_index(index))

    # Comparisons give plain boolean arrays (masks for ng.where); they are not
    # differentiable, so they record nothing. (== is left alone: tensors are
    # dictionary keys in backprop.)
    def __lt__(self, o): return self.data < _as_array(o, copy=False)
    def __le__(self, o): return self.data <= _as_array(o, copy=False)
    def __gt__(self, o): return self.data > _as_array(o, copy=False)
    def __ge__(self, o): return self.data >= _as_array(o, copy=False)

    def __pow__(self, o):
        if isinstance(o, numbers.Real):
            return apply("pow", self, exponent=float(o))
        return apply("pow_t", self, o)

    def __rpow__(self, o): return apply("pow_t", o, self)

    def sum(self, axis=None, keepdims=False): return _reduction("sum", self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _reduction("mean", self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _reduction("max", self, axis, keepdims)
    def exp(self): return apply("exp", self)
    def log(self): return apply("log", self)
    def sqrt(self): return apply("sqrt", self)
    def abs(self): return apply("abs", self)
    def tanh(self): return apply("tanh", self)
    def sigmoid(self): return apply("sigmoid", self)
    def relu(self): return apply("relu", self)
    def softmax(self, axis=-1): return apply("softmax", self, axis=axis)
    def log_softmax(self, axis=-1): return apply("log_softmax", self, axis=axis)
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return apply("transpose", self, axes=axes or None)

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return apply("reshape", self, shape=shape)

    # -- backward -----------------------------------------------------------
    def backward(self, grad=None):
        """Backpropagate from this tensor; gradients *add* into every ``.grad``.

        Calling it twice (or on two outputs) accumulates, which is how a weight
        used in several places gets the sum of its uses. Call ``zero_grad``
        (or ``optimizer.zero_grad()``) between training steps.
        """
        if not _grad_enabled:
            raise RuntimeError(
                f"backward() on {self.label()} was called inside ng.no_grad(), where nothing "
                "is recorded or differentiated. Call it after the `with ng.no_grad():` block.")
        if not self.requires_grad:
            raise RuntimeError(
                f"backward() on {self.label()} (shape {self.shape}): it does not require "
                "grad, so no gradient can flow. Make its inputs with requires_grad=True "
                "(ng.tensor does by default) and do not build it inside ng.no_grad().")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() on {self.label()} with shape {self.shape}: only a single "
                    "number can start backprop on its own. Reduce it first (e.g. .sum() or "
                    ".mean()), or pass grad= an array of that shape.")
            seed = np.ones(self.data.shape)
        else:
            seed = _as_array(grad, "grad")
            if seed.shape != self.shape:
                raise ShapeError(
                    f"backward() on {self.label()}: grad has shape {seed.shape} but the "
                    f"tensor has shape {self.shape}")
        grads, owned = _backprop([self], [seed])   # computes everything first ...
        quiet = _fp_errors.set(_FP_QUIET)
        try:
            for t, g in grads.items():            # ... then writes: all or nothing
                if t._grad is not None:
                    t._grad = t._grad + g
                elif t._op is not None or t in owned:
                    t._grad = g
                else:   # a leaf gets its own array: one op's VJP may hand the same one to two inputs
                    t._grad = g.copy()
        finally:
            _fp_errors.reset(quiet)


def _index(index):
    """Refuse tensors as indices: they hold float64, so a 0/1 mask would pick
    rows 0 and 1 and 1.7 would become 1, silently."""
    for i in (index if isinstance(index, tuple) else (index,)):
        if isinstance(i, Tensor):
            raise TypeError(
                f"cannot index with a tensor ({i.label()}, shape {i.shape}): tensors hold "
                "float64. Index with an integer or boolean numpy array instead, e.g. "
                "x[idx.data.astype(int)] or x[mask.data > 0].")
    return index


def _reduction(name, t, axis, keepdims):
    # Only what differs from the defaults is recorded (a plain .sum() has no
    # parameters to pass around in backprop, and draws as sum(x)).
    if axis is None and not keepdims:
        return apply(name, t)
    return apply(name, t, axis=axis, keepdims=keepdims)


def tensor(data, name=None, requires_grad=True):
    """A leaf tensor (float64). Names show in drawings and error messages."""
    return Tensor(data, name=name, requires_grad=requires_grad)


def parameter(data, name=None):
    """A trainable weight: a leaf that drawings mark as a parameter."""
    t = Tensor(data, name=name, requires_grad=True)
    t.kind = "param"
    return t


_DEFINED_BY = {}     # op name -> where define_op was called for it (see define_op)


def define_op(name, symbol, formula, forward, vjp, local=()):
    """Add your own op to the table; returns a function that applies it.

    ``forward(*arrays, **params)`` works on numpy arrays; ``vjp`` is one
    function per input (a single function for a one-input op), each
    ``(g, out, *arrays, **params) -> dL/d(input)`` returning ONE array shaped
    like its input, as the built-in entries above. (Shaped like ``out`` is
    accepted where the input broadcasts to it: the engine sums it back.)
    A wrong shape is a ``ShapeError`` at backward; gradcheck tells you
    whether the numbers are right.

    Running the same ``define_op`` again (re-running a notebook cell, even
    after editing it) replaces the op: same forward function name and module,
    or same line of code. Any other op under a taken name is an error.
    """
    vjps = tuple(vjp) if isinstance(vjp, (tuple, list)) else (vjp,)
    if not all(callable(f) for f in vjps):
        raise TypeError(f"define_op({name!r}): vjp must be a function, or one function per input")
    caller = sys._getframe(1)
    origin = ((getattr(forward, "__module__", None), getattr(forward, "__qualname__", None)),
              (caller.f_code.co_filename, caller.f_lineno))
    if name in OPS:
        before = _DEFINED_BY.get(name)
        if before is None or (before[0] != origin[0] and before[1] != origin[1]):
            where_ = "built into nbgraph" if before is None else \
                f"defined at {before[1][0]}:{before[1][1]} with forward {before[0][0]}.{before[0][1]}"
            raise ValueError(
                f"an op named {name!r} already exists ({where_}); give your op another name. "
                "(Running the same define_op again replaces its own op.)")
    _entry(name, symbol, formula, tuple(local), forward, *vjps, fresh=False)   # its VJPs may return anything
    _DEFINED_BY[name] = origin
    return lambda *args, **params: apply(name, *args, **params)


def concat(tensors, axis=0):
    return apply("concat", *tensors, axis=axis)


def stack(tensors, axis=0):
    return apply("stack", *tensors, axis=axis)


def maximum(a, b):
    return apply("maximum", a, b)


def where(cond, a, b):
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond).astype(bool)
    return apply("where", a, b, cond=cond)


# ---------------------------------------------------------------------------
# Recording one node
# ---------------------------------------------------------------------------

def apply(name, *args, **params):
    """Run op ``name`` forward on ``args`` and record the result as a node."""
    op = OPS[name]
    inputs, datas, needs_grad = [], [], False
    for a in args:
        if not isinstance(a, Tensor):
            a = _const(a)
        inputs.append(a)
        datas.append(a.data)      # the arrays as the forward saw them: what the VJPs are given
        if a.requires_grad:
            needs_grad = True
    quiet = _fp_errors.set(_FP_QUIET)
    try:
        data = op.forward(*datas, **params) if params else op.forward(*datas)
    except (ValueError, IndexError, TypeError) as err:
        raise _shape_error(op, inputs, err) from None
    finally:
        _fp_errors.reset(quiet)
    if type(data) is not np.ndarray or data.dtype is not _F64:
        data = np.asarray(data, dtype=np.float64)
    out = _new(Tensor)          # (not Tensor(): its checks and copy are for user data)
    out.data = data
    out._grad = out.name = None
    out.kind = "op"
    out.scope = _scope_path
    out._id = next(_ids)
    if _grad_enabled:
        out.requires_grad = needs_grad
        out._op, out._inputs, out._xs, out._params = op, tuple(inputs), datas, params or None
    else:
        out.requires_grad, out._op, out._inputs, out._params = False, None, (), None
    if _anomaly and not np.isfinite(data).all():
        _raise_nonfinite(f"{name} ({op.symbol}) produced {_bad(data)}", inputs)
    return out


def _shape_error(op, inputs, err):
    shapes = ", ".join(f"{t.label()} {t.shape}" for t in inputs)
    where_ = f" in scope {_scope_path!r}" if _scope_path else ""
    if op.name == "matmul" and min(t.ndim for t in inputs) >= 1:
        a, b = inputs
        err = (f"the last axis of the left ({a.shape[-1]}) must equal the "
               f"{'only' if b.ndim == 1 else 'second-to-last'} axis of the right "
               f"({b.shape[0] if b.ndim == 1 else b.shape[-2]})")
    return ShapeError(f"{op.name} ({op.symbol}){where_} cannot combine {shapes}: {err}")


def _bad(a):
    return "NaN" if np.isnan(a).any() else "Inf"


def _raise_nonfinite(what, inputs):
    names = ", ".join(f"{t.label()} {t.shape}" for t in inputs)
    where_ = f" in scope {_scope_path!r}" if _scope_path else ""
    raise NonFiniteError(f"{what}{where_}; inputs: {names}")


# ---------------------------------------------------------------------------
# Backpropagation
# ---------------------------------------------------------------------------

def topological_order(roots):
    """Every tensor the roots depend on, inputs before the tensors made from them.

    Iterative depth-first search (no recursion limit); inputs are visited in
    order, so the order is the same on every run.
    """
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if t in seen:
            continue
        seen.add(t)
        stack.append((t, True))
        for i in reversed(t._inputs):
            if i not in seen:
                stack.append((i, False))
    return order


def vjp(t, g, only=None):
    """The gradients that node ``t`` passes to its inputs, given g = dL/dt.

    One entry per input: None for inputs that need no gradient (or, with
    ``only=k``, for every input but k). Broadcasting is undone, so each
    gradient has its input's shape. (``backprop`` does the same inline.)
    """
    fns, ins, xs, params = _vjps(t), t._inputs, t._xs, t._params
    out = []
    for k, inp in enumerate(ins):
        if not inp.requires_grad or (only is not None and k != only):
            out.append(None)
            continue
        gi = fns[k](g, t.data, *xs, **params) if params else fns[k](g, t.data, *xs)
        if type(gi) is not np.ndarray or gi.shape != inp.data.shape:
            gi = _checked(gi, t, k, inp)
        out.append(gi)
    return out


def _vjps(t):
    """The op's VJP functions, one per input of ``t``."""
    fns, n = t._op.vjp, len(t._inputs)
    if type(fns) is tuple and len(fns) != n:
        raise ShapeError(f"{t._op.name} ({t._op.symbol}) has {len(fns)} VJP function(s) but was "
                         f"applied to {n} input(s): give one VJP per input")
    return fns


def _checked(gi, t, k, inp):
    """A VJP result that is not an array of its input's shape: a 0-d numpy
    scalar becomes an array; a gradient shaped like the output is summed back
    over the axes the forward really broadcast; anything else is a wrong VJP
    and an error that names it."""
    op, shape, out_shape = t._op, inp.data.shape, t.data.shape
    if type(gi) is not np.ndarray:
        if isinstance(gi, (tuple, list)):
            raise ShapeError(
                f"the VJP of {op.name} ({op.symbol}) for input {k} ({inp.label()}, shape "
                f"{shape}) returned a {type(gi).__name__} of {len(gi)}; a VJP returns "
                "one array, the gradient of its own input")
        gi = np.asarray(gi, dtype=np.float64)   # numpy turns 0-d results into scalars
        if gi.shape == shape:
            return gi
    axes = _stretched(shape, out_shape) if gi.shape == out_shape else None
    if axes is not None:        # summed back where the forward broadcast (every bias passes here)
        return _reduce(gi, axes, shape)
    raise ShapeError(
        f"the VJP of {op.name} ({op.symbol}) for input {k} ({inp.label()}) returned a "
        f"gradient of shape {gi.shape}, but that input has shape {shape} "
        f"(and the op's output {out_shape}): it must return the input's shape")


def backprop(roots, seeds, record=None):
    """Reverse-mode sweep. Returns {tensor: dL/dtensor} for every tensor on the way.

    ``record(node, k, input, upstream, contribution)``, if given, is told of
    every chain-rule product as it is made; the graph IR uses it to build the
    step-by-step explanation from this very code.
    """
    return _backprop(roots, seeds, record)[0]


def _backprop(roots, seeds, record=None):
    """``backprop``, and the set of tensors whose gradient is an array that
    backprop itself made and nothing else holds: ``backward`` keeps those
    without a copy."""
    grads, owned = {}, set()
    for r, s in zip(roots, seeds):
        grads[r] = s if r not in grads else grads[r] + s
    # Newest first: a tensor is always made after its inputs, so by the time it
    # comes off the heap every tensor that uses it has passed its gradient on.
    # (Creation numbers are unique: the heap never compares two tensors.)
    heap = [(-r._id, r) for r in grads if r._op is not None]
    heapq.heapify(heap)
    pop, push, get, anomaly = heapq.heappop, heapq.heappush, grads.get, _anomaly
    # A recorded contribution must not change afterwards: no summing in place then.
    in_place = record is None
    quiet = _fp_errors.set(_FP_QUIET)
    try:
        while heap:
            t = pop(heap)[1]
            g, ins, params, op = grads[t], t._inputs, t._params, t._op
            fns, args = op.vjp, (g, t.data, *t._xs)
            if type(fns) is tuple and len(fns) != len(ins):
                _vjps(t)                          # raises the error that says so
            for k, inp in enumerate(ins):
                if not inp.requires_grad:
                    continue
                # the same call and check as vjp() above, inline: this loop is the hot path
                gi = fns[k](*args, **params) if params else fns[k](*args)
                if type(gi) is not np.ndarray or gi.shape != inp.data.shape:
                    gi = _checked(gi, t, k, inp)
                if anomaly and not np.isfinite(gi).all():
                    _raise_nonfinite(f"the gradient flowing from {op.name} ({op.symbol}) "
                                     f"into {inp.label()} is {_bad(gi)}", ins)
                if record is not None:
                    record(t, k, inp, g, gi)
                prev = get(inp)
                if prev is None:
                    grads[inp] = gi
                    if inp._op is not None:
                        push(heap, (-inp._id, inp))
                    # new (not g passed on, not a view) from an op that never returns others' arrays
                    if in_place and gi is not g and gi.base is None and op.fresh:
                        owned.add(inp)
                elif inp in owned:
                    np.add(prev, gi, out=prev)
                else:
                    grads[inp] = prev = prev + gi
                    if in_place and type(prev) is np.ndarray:     # (0-d + 0-d gives a scalar)
                        owned.add(inp)
    finally:
        _fp_errors.reset(quiet)
    return grads, owned
