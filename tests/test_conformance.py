"""Every op in the engine's table against PyTorch (float64): values and gradients.

The table ``CASES`` below has one entry per op of ``engine.OPS``; an op added
to the engine without an entry here fails ``test_every_op_has_a_case``. Each
entry says how to call the op in nbgraph and in PyTorch, which shapes and
parameters to draw (hypothesis), which fixed edge cases to try (0-d, empty,
0, ±inf, NaN, huge and tiny magnitudes, ties, repeated indices...), and a
point away from kinks and ties for ``gradcheck``.

Agreement means: the same output shape; values equal to ~1e-12 relative, with
NaN where PyTorch has NaN and the same infinities; the same for the gradient
each input receives from a random upstream gradient. Where nbgraph differs
from PyTorch on purpose, the README's table "Where nbgraph differs from
PyTorch" says so; nothing here is excused.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")      # pinned in the `test` extra: installed by `make test`

import nbgraph as ng                       # noqa: E402
from nbgraph import engine                 # noqa: E402

INF, NAN = np.inf, np.nan
# Values whose sums are exact in any order (so numpy and PyTorch cannot round
# differently), plus the edge values every op must treat as PyTorch does.
EXACT = st.integers(-16, 16).map(lambda i: i / 4)
EDGE = st.sampled_from([0.0, -0.0, 1.0, -1.0, INF, -INF, NAN])
MAGNITUDE = st.sampled_from([1e300, -1e300, 1e-300, -1e-300, 5e-324, 1e154, 700.0, -745.0, 40.0, -40.0])
ELEMENTWISE = st.one_of(EXACT, EXACT, EDGE, MAGNITUDE)     # for ops with no sums inside
SUMMING = st.one_of(EXACT, EXACT, EXACT, EDGE)             # for reductions and matmul


def arrays(shape, elements=ELEMENTWISE):
    return hnp.arrays(np.float64, shape, elements=elements)


def shapes(min_dims=0, max_dims=3, min_side=1):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=3)


def axes_for(ndim):
    """None, one axis (either sign) or a tuple of distinct axes."""
    if ndim == 0:
        return st.sampled_from([None, 0, -1])          # numpy and PyTorch accept these on 0-d
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(
        lambda axs: tuple(a - ndim if i % 2 else a for i, a in enumerate(axs)))
    return st.one_of(st.none(), one, many)


def dims(axis, ndim):
    """The torch spelling of a numpy axis argument."""
    return tuple(range(ndim)) if axis is None else axis


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------

def assert_close(ours, theirs, what):
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs PyTorch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, equal_nan=True,
                               err_msg=what)


def agree(ng_fn, torch_fn, *arrays, grad_of=None, seed=0):
    """nbgraph and PyTorch give the same value and the same input gradients."""
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    xs = [ng.tensor(a, name=f"in{k}", requires_grad=k in grad_of) for k, a in enumerate(arrays)]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=k in grad_of)
          for k, a in enumerate(arrays)]
    out, ref = ng_fn(*xs), torch_fn(*ts)
    assert_close(out.data, ref.detach().numpy(), "value")
    upstream = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    if not out.requires_grad:
        return
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for k in grad_of:
        theirs = ts[k].grad
        theirs = np.zeros(arrays[k].shape) if theirs is None else theirs.numpy()
        assert_close(xs[k].grad, theirs, f"gradient of input {k} (shape {arrays[k].shape})")


def check_gradient(ng_fn, *arrays):
    report = ng.gradcheck(ng_fn, *arrays, atol=1e-6, rtol=1e-4)
    assert report.ok, report


# ---------------------------------------------------------------------------
# One entry per op: (nbgraph, PyTorch) callables, drawn inputs, edge cases,
# and a smooth point for gradcheck. Parametrised ops take their parameters
# as the first argument(s) of a `params` draw.
# ---------------------------------------------------------------------------

class Case:
    def __init__(self, ours, theirs, draw, edges, smooth, grad_of=None, differs=None):
        self.ours, self.theirs = ours, theirs      # (params, *tensors) -> tensor
        self.draw = draw                           # hypothesis data -> (params, arrays)
        self.edges = edges                         # [(params, arrays)]
        self.smooth = smooth                       # [(params, arrays)] for gradcheck
        self.grad_of = grad_of                     # inputs that get a gradient (default all)
        # arrays -> arrays without the inputs where the README's table says we differ
        self.differs = differs


def _pow_t_differs(a, b):
    """(-inf) ** 0.5 with a tensor exponent: numpy computes it as sqrt (NaN), as
    PyTorch does for `x ** 0.5`, but torch.pow(tensor, tensor) gives inf.
    (The README's table lists this.)"""
    a, b = np.broadcast_arrays(a, b)
    return np.where((a == -INF) & ((b == 0.5) | (b == 1.5)), -2.0, a), b


def unary(ours, theirs, smooth, extra_edges=()):
    def draw(data):
        return None, (data.draw(arrays(data.draw(shapes()))),)
    edges = [(None, (np.array(v),)) for v in
             (0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, 1e300, -1e300, 1e-300, 5e-324, 40.0, -40.0, 710.0)]
    edges += [(None, (np.zeros((0, 3)),)), (None, (np.array([-2.0, -0.5, 0.0, 0.5, 2.0]),))]
    edges += [(None, (np.array(a),)) for a in extra_edges]
    return Case(lambda p, x: ours(x), lambda p, x: theirs(x), draw, edges, [(None, (smooth,))])


def binary(ours, theirs, smooth, extra_edges=()):
    def draw(data):
        pair = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                           max_side=3))
        a, b = (data.draw(arrays(s)) for s in pair.input_shapes)
        return None, (a, b)
    grid = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.5, INF, -INF, NAN, 1e300, -1e300, 1e-300, 5e-324])
    edges = [(None, (grid[:, None], grid[None, :])),          # every pair, broadcast both ways
             (None, (grid[None, :], grid[:, None])),
             (None, (np.array(3.0), np.ones((2, 3)))),
             (None, (np.ones((2, 1, 3)), np.full((4, 1), 2.0))),
             (None, (np.zeros((0, 3)), np.ones(3)))]
    edges += [(None, tuple(np.array(v) for v in e)) for e in extra_edges]
    return Case(lambda p, a, b: ours(a, b), lambda p, a, b: theirs(a, b), draw, edges,
                [(None, smooth)])


def reduction(name, torch_name):
    def ours(p, x):
        return getattr(x, name)(axis=p[0], keepdims=p[1])

    def theirs(p, x):
        return getattr(torch, torch_name)(x, dim=dims(p[0], x.ndim), keepdim=p[1])

    def draw(data):
        shape = data.draw(shapes(min_side=1 if name == "max" else 0))
        return (data.draw(axes_for(len(shape))), data.draw(st.booleans())), \
            (data.draw(arrays(shape, SUMMING)),)
    ties = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [-INF, -INF, 0.0], [NAN, 1.0, 1.0]])
    edges = [((None, False), (np.array(2.5),)), ((0, False), (np.array(2.5),)),
             ((-1, True), (np.array(2.5),)), ((1, False), (ties,)), ((None, True), (ties,)),
             ((0, False), (ties,)), (((0, 1), False), (np.full((2, 3), 1e300),)),
             ((None, False), (np.array([INF, -INF, 1.0]),)), ((-1, True), (np.array([5e-324] * 4),))]
    if name != "max":                      # torch.amax refuses empty input, as numpy does
        edges += [((None, False), (np.zeros((0, 3)),)), ((1, False), (np.zeros((2, 0)),)),
                  ((0, True), (np.zeros((0, 3)),))]
    rng = np.random.default_rng(1)
    smooth = [((axis, keep), (rng.permutation(24).reshape(2, 3, 4) / 7.0,))
              for axis, keep in [(None, False), (-1, True), ((0, 2), False), (1, False)]]
    return Case(ours, theirs, draw, edges, smooth)


def along_axis(name, torch_fn):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, min_side=0))
        return data.draw(st.integers(-len(shape), len(shape) - 1)), (data.draw(arrays(shape, SUMMING)),)
    edges = [(-1, (np.array([[1e300, -1e300, 0.0], [INF, 1.0, 2.0], [-INF, -INF, 0.0], [NAN, 0.0, 1.0]]),)),
             (0, (np.array([[-745.0, 0.0], [700.0, 40.0]]),)),
             (-1, (np.zeros((2, 0)),)), (0, (np.zeros((0, 3)),)), (0, (np.array([3.0]),))]
    smooth = [(ax, (np.random.default_rng(2).standard_normal((2, 3, 4)),)) for ax in (-1, 0, 1)]
    return Case(lambda p, x: getattr(x, name)(p), lambda p, x: torch_fn(x, dim=p),
                draw, edges, smooth)


def matmul_case():
    forms = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
             ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 4)),
             ((5, 2, 3), (3,)), ((2, 1, 2, 3), (4, 3, 2)), ((0, 3), (3, 2)), ((2, 0), (0, 3)), ((0,), (0,))]

    def draw(data):
        sa, sb = data.draw(st.sampled_from(forms))
        return None, (data.draw(arrays(sa, SUMMING)), data.draw(arrays(sb, SUMMING)))
    grid = np.array([[0.0, INF, 1.0], [NAN, 2.0, -1.0]])
    edges = [(None, (np.ones(sa), np.ones(sb))) for sa, sb in forms]
    edges += [(None, (grid, grid.T)), (None, (np.full((2, 2), 1e300), np.full((2, 2), 1e300))),
              (None, (np.full((2, 2), 1e-300), np.full((2, 2), 1e-300)))]
    rng = np.random.default_rng(3)
    smooth = [(None, (rng.standard_normal(sa), rng.standard_normal(sb))) for sa, sb in forms[:10]]
    return Case(lambda p, a, b: a @ b, lambda p, a, b: a @ b, draw, edges, smooth)


def getitem_case():
    def ours(p, x):
        return x[p]

    def theirs(p, x):
        index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in p) \
            if isinstance(p, tuple) else (torch.from_numpy(p) if isinstance(p, np.ndarray) else p)
        return x[index]

    def draw(data):
        n = data.draw(st.integers(1, 5))
        kind = data.draw(st.sampled_from(["int", "ints", "mask", "slice", "negative"]))
        if kind == "int":
            index = data.draw(st.integers(-n, n - 1))
        elif kind == "ints":       # repeats allowed: their gradients add up
            index = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.intp)
        elif kind == "mask":
            index = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        elif kind == "slice":
            index = slice(data.draw(st.integers(-n, n)), data.draw(st.integers(-n, n)))
        else:
            index = (slice(None), -1)
            return index, (data.draw(arrays((n, 2))),)
        return index, (data.draw(arrays((n, 3))),)
    m = np.arange(12.0).reshape(3, 4)
    edges = [(np.array([0, 2, 2, 0, 2]), (m,)), (np.array([True, False, True]), (m,)),
             ((np.array([0, 0, 2]), np.array([1, 1, 3])), (m,)), ((slice(None), np.array([3, 3])), (m,)),
             ((1, 2), (m,)), ((Ellipsis, 0), (m,)), (np.array([False, False, False]), (m,)),
             (np.array([-1, -1]), (m,)), ((None, 1), (m,)), (np.array([1]), (np.array([INF, NAN]),))]
    smooth = [(np.array([0, 2, 2]), (m,)), ((slice(1, None), np.array([0, 3])), (m,)),
              (m > 4, (m,))]
    return Case(ours, theirs, draw, edges, smooth)


def variadic(ng_fn, torch_fn):
    def draw(data):
        shape = data.draw(shapes(min_dims=1))
        count = data.draw(st.integers(1, 3))
        axis = data.draw(st.integers(-len(shape) - (ng_fn is ng.stack), len(shape) - 1))
        if ng_fn is ng.concat:
            sizes = [data.draw(st.integers(0, 3)) for _ in range(count)]
            ax = axis % len(shape)
            parts = [shape[:ax] + (n,) + shape[ax + 1:] for n in sizes]
        else:
            parts = [shape] * count
        return axis, tuple(data.draw(arrays(s)) for s in parts)
    edges = [(0, (np.array([1.0, INF]), np.array([NAN]), np.zeros(0))),
             (-1, (np.ones((2, 3)), np.full((2, 3), -1e300)))] if ng_fn is ng.concat else \
            [(0, (np.array(1.0), np.array(INF))), (-1, (np.ones((2, 3)), np.full((2, 3), NAN))),
             (1, (np.zeros((0, 2)), np.zeros((0, 2))))]
    rng = np.random.default_rng(4)
    smooth = [(1, (rng.standard_normal((2, 3)), rng.standard_normal((2, 3))))]
    return Case(lambda p, *xs: ng_fn(list(xs), axis=p), lambda p, *xs: torch_fn(xs, dim=p),
                draw, edges, smooth)


def transpose_case():
    def ours(p, x):
        return x.transpose(p) if p is not None else x.transpose()

    def theirs(p, x):
        return x.permute(p if p is not None else tuple(reversed(range(x.ndim))))

    def draw(data):
        shape = data.draw(shapes())
        perm = data.draw(st.permutations(range(len(shape))))
        signs = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        axes = tuple(a - len(shape) if s else a for a, s in zip(perm, signs))
        return data.draw(st.sampled_from([None, axes])), (data.draw(arrays(shape)),)
    x = np.arange(24.0).reshape(2, 3, 4)
    edges = [((-1, 0, 1), (x,)), ((2, -3, -2), (x,)), (None, (x,)), (None, (np.array(1.0),)),
             ((1, 0), (np.zeros((0, 2)),))]
    return Case(ours, theirs, draw, edges, [((-1, 0, 1), (x / 10,))])


def reshape_case():
    def draw(data):
        shape = data.draw(shapes(min_side=0))
        size = int(np.prod(shape))
        target = data.draw(st.sampled_from([(size,), (-1,), (1, size, 1), (size, -1) if size else (0, 2)]))
        return target, (data.draw(arrays(shape)),)
    edges = [((), (np.array([3.0]),)), ((2, -1), (np.arange(6.0),)), ((0, 5), (np.zeros((5, 0)),))]
    return Case(lambda p, x: x.reshape(p), lambda p, x: x.reshape(p), draw, edges,
                [((3, -1), (np.arange(6.0) / 5,))])


def where_case():
    def draw(data):
        pair = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                           max_side=3))
        ca, sa, sb = pair.input_shapes
        cond = data.draw(hnp.arrays(bool, ca))
        return cond, (data.draw(arrays(sa)), data.draw(arrays(sb)))
    cond = np.array([True, False, True])
    edges = [(cond, (np.array([INF, 1.0, NAN]), np.array([NAN, -INF, 0.0]))),
             (np.array(True), (np.ones((2, 3)), np.array(2.0))),
             (cond[:, None], (np.ones(2), np.zeros((3, 1))))]
    return Case(lambda p, a, b: ng.where(p, a, b), lambda p, a, b: torch.where(torch.from_numpy(p), a, b),
                draw, edges, [(cond, (np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])))])


def pow_case():
    exponents = [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5]

    def draw(data):
        return data.draw(st.sampled_from(exponents)), (data.draw(arrays(data.draw(shapes()))),)
    grid = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.5, INF, -INF, NAN, 1e300, 1e-300, 5e-324])
    edges = [(e, (grid,)) for e in exponents]
    return Case(lambda p, x: x ** p, lambda p, x: x ** p, draw, edges,
                [(e, (np.array([0.5, 1.3, 2.0]),)) for e in exponents])


pos = np.array([[0.5, 1.5, 2.5], [0.7, 1.1, 3.0]])
mixed = np.array([[-1.5, -0.3, 0.4], [0.8, 1.7, -2.2]])

CASES = {
    "add": binary(lambda a, b: a + b, lambda a, b: a + b, (mixed, mixed[0])),
    "sub": binary(lambda a, b: a - b, lambda a, b: a - b, (mixed[0], mixed)),
    "mul": binary(lambda a, b: a * b, lambda a, b: a * b, (mixed, mixed[:, :1])),
    "div": binary(lambda a, b: a / b, lambda a, b: a / b, (mixed, pos)),
    "pow_t": binary(lambda a, b: a ** b, lambda a, b: a ** b, (pos, mixed),
                    extra_edges=[([0.0, 0.0, 0.0, -2.0, -2.0], [0.0, 2.0, -1.0, 2.0, 0.5]),
                                 (-0.0, -0.5), (-INF, -0.5)]),
    "maximum": binary(ng.maximum, torch.maximum, (mixed, mixed[::-1] + 0.05),
                      extra_edges=[([1.0, 2.0, 3.0, NAN], [1.0, 1.0, 4.0, NAN])]),
    "pow": pow_case(),
    "neg": unary(lambda x: -x, lambda x: -x, mixed),
    "exp": unary(lambda x: x.exp(), torch.exp, mixed),
    "log": unary(lambda x: x.log(), torch.log, pos),
    "sqrt": unary(lambda x: x.sqrt(), torch.sqrt, pos),
    "abs": unary(lambda x: x.abs(), torch.abs, mixed),
    "tanh": unary(lambda x: x.tanh(), torch.tanh, mixed),
    "sigmoid": unary(lambda x: x.sigmoid(), torch.sigmoid, mixed,
                     extra_edges=[[-37.0, -745.0, -800.0, 36.0, 37.0, -1e-300]]),
    "relu": unary(lambda x: x.relu(), torch.relu, mixed),
    "sum": reduction("sum", "sum"),
    "mean": reduction("mean", "mean"),
    "max": reduction("max", "amax"),
    "softmax": along_axis("softmax", torch.softmax),
    "log_softmax": along_axis("log_softmax", torch.log_softmax),
    "matmul": matmul_case(),
    "reshape": reshape_case(),
    "transpose": transpose_case(),
    "getitem": getitem_case(),
    "concat": variadic(ng.concat, torch.cat),
    "stack": variadic(ng.stack, torch.stack),
    "where": where_case(),
}

CASES["pow_t"].differs = _pow_t_differs

BUILT_IN = sorted(name for name in engine.OPS if name not in engine._DEFINED_BY)


def test_every_op_has_a_case():
    missing = set(BUILT_IN) - set(CASES)
    assert not missing, f"ops in engine.OPS without a conformance case: {sorted(missing)}"
    assert set(CASES) <= set(engine.OPS), "a case for an op the engine does not have"


def _run(name, params, arrays):
    case = CASES[name]
    if case.differs is not None:
        arrays = case.differs(*arrays)
    agree(lambda *xs: case.ours(params, *xs), lambda *ts: case.theirs(params, *ts), *arrays,
          grad_of=case.grad_of)


@pytest.mark.parametrize("name", BUILT_IN)
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_drawn_inputs_agree_with_pytorch(name, data):
    params, arrays = CASES[name].draw(data)
    _run(name, params, arrays)


@pytest.mark.parametrize("name", BUILT_IN)
def test_edge_cases_agree_with_pytorch(name):
    for k, (params, arrays) in enumerate(CASES[name].edges):
        try:
            _run(name, params, arrays)
        except AssertionError as err:
            raise AssertionError(f"{name} edge case {k}: params={params!r}, "
                                 f"inputs={[a.tolist() for a in arrays]}\n{err}") from None


@pytest.mark.parametrize("name", BUILT_IN)
def test_gradcheck_away_from_kinks(name):
    for params, arrays in CASES[name].smooth:
        check_gradient(lambda *xs: CASES[name].ours(params, *xs), *arrays)


def test_refusals_match_pytorch():
    """Where PyTorch refuses, nbgraph refuses too, with a message naming the op and shapes."""
    with pytest.raises(ng.ShapeError, match=r"max.*\(0,\)"):
        ng.tensor(np.zeros(0)).max()
    with pytest.raises(RuntimeError):
        torch.amax(torch.zeros(0, dtype=torch.float64))
    with pytest.raises(ng.ShapeError, match=r"matmul.*\(2, 3\).*\(2, 3\)"):
        ng.tensor(np.ones((2, 3))) @ ng.tensor(np.ones((2, 3)))
