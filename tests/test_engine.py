"""The engine: values, gradients against finite differences, shared weights, BPTT."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import nbgraph as ng
from nbgraph import engine
from nbgraph.engine import OPS
from nbgraph.examples import reference


@pytest.fixture(autouse=True)
def _forget_custom_ops():
    """Ops a test defines with ng.define_op leave the table afterwards: other
    test files enumerate every op."""
    before, defined = dict(OPS), dict(engine._DEFINED_BY)
    yield
    OPS.clear(), OPS.update(before)
    engine._DEFINED_BY.clear(), engine._DEFINED_BY.update(defined)


def test_reference_example_values_and_gradients():
    g, (x, y, z, p) = reference(with_inputs=True)
    assert float(p) == 4.0 and float(g) == -12.0
    g.backward()
    assert (float(x.grad), float(y.grad), float(z.grad)) == (-3.0, -3.0, 4.0)
    assert float(p.grad) == -3.0 and float(g.grad) == 1.0
    for t in (x, y, z, p, g):
        assert isinstance(t.data, np.ndarray) and isinstance(t.grad, np.ndarray)
        assert t.data.dtype == np.float64 and t.grad.shape == t.data.shape == ()


def test_reference_example_graph_steps():
    g = reference()
    G = ng.graph(g)
    assert [n.label for n in G.nodes] == ["x", "y", "p", "z", "g"]
    assert [n.id for n in G.nodes] == list(range(5))
    assert len(G.forward_steps) == 2
    assert [s.explanation for s in G.forward_steps] == [
        "p = x + y = 1 + 3 = 4", "g = p * z = 4 * (-3) = -12"]
    back = G.backward_steps
    assert [G.nodes[s.node].label for s in back] == ["g", "z", "p", "y", "x"]
    assert back[0].explanation.startswith("dg/dg = 1")
    texts = {G.nodes[s.node].label: s.explanation for s in back}
    assert texts["x"].startswith("dg/dx = dg/dp · ∂p/∂x = -3 · 1 = -3")
    assert texts["y"].startswith("dg/dy = dg/dp · ∂p/∂y = -3 · 1 = -3")
    assert texts["z"].startswith("dg/dz = dg/dg · ∂g/∂z = 1 · 4 = 4")
    assert texts["p"].startswith("dg/dp = dg/dg · ∂g/∂p = 1 · (-3) = -3")
    assert "∂g/∂p = z" in texts["p"]
    assert {G.nodes[s.node].label: float(s.value) for s in back} == {
        "g": 1, "z": 4, "p": -3, "y": -3, "x": -3}


def test_graph_does_not_touch_user_grads():
    g, (x, y, z, p) = reference(with_inputs=True)
    G = ng.graph(g)
    G.backward_steps
    assert x._grad is None and z._grad is None
    g.backward()
    before = float(x.grad)
    ng.graph(g).backward_steps
    assert float(x.grad) == before == -3.0


def test_backward_steps_use_the_engine_vjp(monkeypatch):
    """The explanation's numbers come from the op table's VJP, not a second copy."""
    calls = []
    original = OPS["mul"].vjp
    monkeypatch.setattr(OPS["mul"], "vjp", tuple(
        (lambda f: lambda *a, **k: calls.append(1) or f(*a, **k))(f) for f in original))
    g = reference()
    ng.graph(g).backward_steps
    assert calls  # the graph's backward ran the mul entry's VJP


# ---------------------------------------------------------------------------
# Every op against finite differences, on random shapes with broadcasting
# ---------------------------------------------------------------------------

def shapes_pair():
    """Two shapes that broadcast together, in either direction."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def arrays(shape, low=-2.0, high=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, width=64))


def check(f, *xs):
    report = ng.gradcheck(f, *xs, atol=1e-5, rtol=1e-4)
    assert report.ok, report


binary = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: ng.maximum(a, b),
}


@pytest.mark.parametrize("name", sorted(binary))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_binary_ops_with_broadcasting(name, data):
    shapes = data.draw(shapes_pair())
    a = data.draw(arrays(shapes.input_shapes[0]))
    b = data.draw(arrays(shapes.input_shapes[1]))
    if name == "div":
        b = np.where(np.abs(b) < 0.5, 1.0, b)       # keep away from the pole
    if name == "maximum":
        b = np.where(np.abs(np.broadcast_to(a, shapes.result_shape) - b) < 1e-3, b + 0.1, b) \
            if a.shape == shapes.result_shape else b
        a = a + 0.0
    out = binary[name](ng.tensor(a), ng.tensor(b))
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    if name == "maximum" and np.any(np.abs(np.subtract(*np.broadcast_arrays(a, b))) < 1e-3):
        return                                      # ties are not differentiable
    check(binary[name], a, b)


unary = {
    "neg": (lambda a: -a, -2, 2),
    "exp": (lambda a: a.exp(), -2, 2),
    "log": (lambda a: a.log(), 0.2, 3),
    "sqrt": (lambda a: a.sqrt(), 0.2, 3),
    "abs": (lambda a: a.abs(), 0.1, 2),
    "tanh": (lambda a: a.tanh(), -2, 2),
    "sigmoid": (lambda a: a.sigmoid(), -3, 3),
    "relu": (lambda a: a.relu(), 0.1, 2),
    "pow2": (lambda a: a ** 2, -2, 2),
    "pow_frac": (lambda a: a ** 1.5, 0.2, 2),
    "rpow": (lambda a: 2.0 ** a, -2, 2),
    "softmax": (lambda a: a.softmax(-1), -2, 2),
    "log_softmax": (lambda a: a.log_softmax(-1), -2, 2),
    "sum": (lambda a: a.sum(), -2, 2),
    "mean": (lambda a: a.mean(), -2, 2),
    "transpose": (lambda a: a.T * 1.0, -2, 2),
    "reshape": (lambda a: a.reshape(-1) * 1.0, -2, 2),
    "index_first": (lambda a: a[0] if a.ndim else a, -2, 2),
    "slice": (lambda a: a[1:] if a.ndim else a, -2, 2),
}


@pytest.mark.parametrize("name", sorted(unary))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_unary_ops(name, data):
    f, low, high = unary[name]
    shape = data.draw(hnp.array_shapes(min_dims=0 if name not in {"softmax", "log_softmax"} else 1,
                                       max_dims=3, max_side=3))
    a = data.draw(arrays(shape, low, high))
    if name == "abs" or name == "relu":
        a = a * data.draw(st.sampled_from([1.0, -1.0]))    # both signs, away from the kink
    check(f, a)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_reductions_with_axis_and_keepdims(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    op = data.draw(st.sampled_from(["sum", "mean", "max", "softmax", "log_softmax"]))
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, width=64), unique=True))
    if op in ("softmax", "log_softmax"):
        check(lambda t: getattr(t, op)(axis), a)
    else:
        out = getattr(ng.tensor(a), op)(axis=axis, keepdims=keepdims)
        assert out.shape == getattr(a, op)(axis=axis, keepdims=keepdims).shape
        if op == "max" and shape[axis] > 1:
            srt = np.sort(a, axis=axis)
            if np.min(np.take(srt, -1, axis) - np.take(srt, -2, axis)) < 1e-3:
                return                               # near-ties: not differentiable
        check(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), a)


@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)),
])
def test_matmul_including_vectors_and_batches(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = ng.tensor(a) @ ng.tensor(b)
    np.testing.assert_allclose(out.data, a @ b)
    check(lambda x, y: x @ y, a, b)


def test_matmul_with_numpy_on_either_side():
    rng = np.random.default_rng(1)
    W, x = rng.standard_normal((3, 2)), ng.tensor(rng.standard_normal(2), name="x")
    out = W @ x
    assert isinstance(out, ng.Tensor) and out.shape == (3,)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, W.sum(axis=0))
    s = np.array([2.0, 3.0])
    assert isinstance(s * x, ng.Tensor) and isinstance(x * s, ng.Tensor)
    assert isinstance(s - x, ng.Tensor) and isinstance(s / (x * x + 1), ng.Tensor)


def test_tensor_exponent_both_sides():
    a = np.array([0.5, 1.5, 2.0])
    b = np.array([1.2, -0.7, 2.0])
    check(lambda x, y: x ** y, a, b)
    check(lambda y: 3.0 ** y, b)


def test_indexing_integer_arrays_repeats_accumulate():
    a = np.arange(5.0)
    t = ng.tensor(a)
    out = t[np.array([0, 2, 2, 4])]
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [1, 0, 2, 0, 1])
    check(lambda x: x[np.array([1, 1, 3])] * np.array([1.0, 2.0, 3.0]), a)
    check(lambda x: x[1:4:2] ** 2, a)
    m = np.arange(12.0).reshape(3, 4)
    check(lambda x: x[:, 1:3] * x[0, :2], m)
    check(lambda x: x[np.array([0, 2]), np.array([1, 3])], m)


def test_concat_stack_where():
    rng = np.random.default_rng(2)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((1, 3)), rng.standard_normal((2, 3))
    check(lambda x, y: ng.concat([x, y], axis=0) ** 2, a, b)
    check(lambda x, y: ng.stack([x, y], axis=1) * np.arange(12.0).reshape(2, 2, 3), a, c)
    mask = a > 0
    check(lambda x, y: ng.where(mask, x, y) * 3, a, c)
    out = ng.where(mask, ng.tensor(a), 0.0)
    np.testing.assert_array_equal(out.data, np.where(mask, a, 0.0))


def test_every_op_in_the_table_is_exercised_and_documented():
    for name, op in OPS.items():
        assert op.symbol and op.formula and callable(op.forward), name
        if name in ("concat", "stack"):        # any number of inputs: input k's VJP is vjp[k]
            assert all(callable(op.vjp[k]) for k in range(3))
        else:
            assert len(op.vjp) == len(op.local) and all(callable(f) for f in op.vjp), name


# ---------------------------------------------------------------------------
# Shared weights and backprop through time
# ---------------------------------------------------------------------------

def test_shared_weight_gets_the_sum_of_every_use():
    w = ng.tensor(2.0, name="w")
    a, b, c = w * 3.0, w * w, (w + 1.0).tanh()
    loss = a + b + c
    loss.backward()
    expected = 3.0 + 2 * 2.0 + (1 - np.tanh(3.0) ** 2)
    assert float(w.grad) == pytest.approx(expected)
    G = ng.graph(loss)
    step = next(s for s in G.backward_steps if G.nodes[s.node].label == "w")
    assert len(step.contributions) == 4          # w*3, w*w (twice), w+1
    assert float(step.contributions[-1].running) == pytest.approx(expected)
    assert "is used 4 times" in step.explanation


def unrolled_rnn(W_h, W_x, b, xs, h0):
    h = h0
    for t, x in enumerate(xs):
        with ng.scope(f"t={t + 1}"):
            h = (W_h @ h + W_x @ x + b).tanh().named(f"h{t + 1}")
    return (h * h).sum().named("L")


def test_unrolled_rnn_five_steps_bptt():
    rng = np.random.default_rng(3)
    Wh, Wx, b = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((3, 2)), rng.standard_normal(3)
    xs = [rng.standard_normal(2) for _ in range(5)]
    h0 = np.zeros(3)
    check(lambda wh, wx, bb: unrolled_rnn(wh, wx, bb, xs, h0), Wh, Wx, b)
    W_h, W_x, bias = ng.parameter(Wh, "W_h"), ng.parameter(Wx, "W_x"), ng.parameter(b, "b")
    L = unrolled_rnn(W_h, W_x, bias, xs, h0)
    G = ng.graph(L)
    assert G.scopes == [f"t={t}" for t in range(1, 6)]
    assert G.node(W_h).scope == ""
    # The shared weight's gradient is the sum of its five per-step contributions.
    step = next(s for s in G.backward_steps if s.node == G.node(W_h).id)
    assert len(step.contributions) == 5
    assert {G.nodes[c.user].scope for c in step.contributions} == {f"t={t}" for t in range(1, 6)}
    total = sum(c.product for c in step.contributions)
    L.backward()
    np.testing.assert_allclose(W_h.grad, total)


def test_nested_scopes_make_paths():
    with ng.scope("rnn"):
        with ng.scope("t=1"):
            a = ng.tensor(1.0) * 2
        b = a + 1
    c = b * 3
    assert (a.scope, b.scope, c.scope) == ("rnn/t=1", "rnn", "")
    assert ng.graph(c).scopes == ["rnn", "rnn/t=1"]


# ---------------------------------------------------------------------------
# Accumulation, no_grad, detach, errors
# ---------------------------------------------------------------------------

def test_backward_twice_accumulates_and_zero_grad_resets():
    x = ng.tensor(2.0)
    y = x * x
    y.backward()
    y.backward()
    assert float(x.grad) == 8.0
    x.zero_grad()
    assert float(x.grad) == 0.0


def test_leaf_grads_are_independent_arrays():
    x, y = ng.tensor([1.0, 2.0]), ng.tensor([3.0, 4.0])
    (x + y).sum().backward()
    x.grad += 1
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_no_gradient_array_is_shared_with_another_tensor_or_with_data():
    # Backprop keeps the arrays it made without copying and sums into them in
    # place; a user must never see that: each leaf's .grad is its own array.
    W = ng.parameter(np.arange(6.0).reshape(2, 3), name="W")
    b = ng.parameter(np.zeros(3), name="b")
    c = ng.parameter(np.ones((3, 2)), name="c")
    x = ng.tensor(np.ones((4, 2)), requires_grad=False)
    h = (x @ W + b).relu()
    loss = (h * h).sum() + (W * W).sum() + h.reshape(-1).sum() + (h @ c.T.T).sum()
    loss.backward()
    tensors = [t for t in ng.engine.topological_order([loss]) if t._grad is not None]
    leaves = [W, b, c]
    for leaf in leaves:
        for other in tensors:
            if other is not leaf:
                assert not np.shares_memory(leaf.grad, other._grad), (leaf.name, other.label())
        assert not np.shares_memory(leaf.grad, leaf.data)
    before = {t.name: t.grad.copy() for t in leaves}
    W.grad += 100.0
    np.testing.assert_array_equal(b.grad, before["b"])
    np.testing.assert_array_equal(c.grad, before["c"])
    # a second backward adds into every leaf, again into arrays of their own
    loss.backward()
    np.testing.assert_allclose(b.grad, 2 * before["b"])
    np.testing.assert_allclose(W.grad, 100.0 + 2 * before["W"])


def test_a_custom_vjp_may_return_an_array_the_user_holds():
    # A define_op VJP can return anything, even an input: its gradient is copied.
    held = ng.define_op("pass_data", "p", "p({0})", lambda a: a * 2.0,
                        lambda g, out, a: a)
    x = ng.tensor([1.0, 2.0], name="x")
    held(x).sum().backward()
    x.grad[0] = 50.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_gradients_summed_from_several_uses_are_right_with_a_recorder():
    # explanations record each contribution: summing into it afterwards would change them
    x = ng.tensor([1.0, 2.0], name="x")
    y = (x * x).sum() + (3.0 * x).sum()
    seen = []
    grads = ng.engine.backprop([y], [np.ones(())], lambda t, k, i, g, gi: seen.append((i, gi.copy(), gi)))
    for inp, copy, live in seen:
        np.testing.assert_array_equal(copy, live)
    np.testing.assert_array_equal(grads[x], [5.0, 7.0])


def test_no_grad_and_detach():
    x = ng.tensor(2.0)
    with ng.no_grad():
        y = x * 3
    assert not y.requires_grad and y.inputs == ()
    d = (x * 3).detach()
    assert not d.requires_grad and d.inputs == () and float(d) == 6.0
    z = x * 3
    assert z.requires_grad and z.op.name == "mul"


def test_non_scalar_backward_needs_grad():
    x = ng.tensor(np.ones((2, 3)), name="acts")
    with pytest.raises(RuntimeError, match=r"'acts'.*\(2, 3\).*grad="):
        (x * 2).named("acts").backward()
    y = x * 2
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    with pytest.raises(ng.ShapeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_shape_errors_name_node_op_and_shapes():
    W = ng.tensor(np.ones((2, 3)), name="W")
    v = ng.tensor(np.ones(4), name="v")
    with pytest.raises(ng.ShapeError, match=r"matmul \(@\).*'W' \(2, 3\).*'v' \(4,\)"):
        W @ v
    with pytest.raises(ng.ShapeError, match=r"add.*'W' \(2, 3\).*'v' \(4,\)"):
        W + v


def test_non_numeric_data_is_refused():
    for bad in ["3", ["a", "b"], 1 + 2j, object()]:
        with pytest.raises(TypeError, match="real numbers"):
            ng.tensor(bad)


def test_item_and_scalars_are_zero_d():
    t = ng.tensor(2.5)
    assert t.shape == () and t.item() == 2.5 and t.data.dtype == np.float64
    assert ng.tensor([1, 2]).data.dtype == np.float64


def test_chain_of_100000_ops_backprops_without_recursion():
    x = ng.tensor(1.0, name="x")
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert float(x.grad) == 1.0
    assert len(ng.graph(y).nodes) == 200_001


def test_gradcheck_finds_a_wrong_custom_gradient():
    cube = ng.define_op("bad_cube_test", "³", "{0}³", lambda a: a ** 3,
                        lambda g, out, a: g * 2 * a ** 2, local=("2 {0}²",))
    report = ng.gradcheck(lambda t: cube(t), np.array([1.0, -2.0]))
    assert not report.ok
    assert report[0].worst_index == (1,)
    with pytest.raises(ng.GradcheckError, match=r"index \(1,\)"):
        report.raise_if_failed()
    good = ng.define_op("good_cube_test", "³", "{0}³", lambda a: a ** 3,
                        lambda g, out, a: g * 3 * a ** 2)
    assert ng.gradcheck(lambda t: good(t), np.array([1.0, -2.0])).ok


def test_import_is_light():
    code = ("import sys, nbgraph as ng; x = ng.tensor(1.0); (x * 2).backward(); "
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('ipywidgets', 'matplotlib', 'IPython', 'graphviz')]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_comparisons_give_masks_for_where():
    t = ng.tensor([-1.0, 2.0, 0.0], name="t")
    mask = t > 0
    assert mask.dtype == bool and mask.tolist() == [False, True, False]
    out = ng.where(t > 0, t, t * 0.1)
    out.sum().backward()
    np.testing.assert_allclose(t.grad, [0.1, 1.0, 0.1])
    assert {t: 1}[t] == 1          # tensors stay hashable


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
def test_sum_and_mean_spread_their_gradient(axis, keepdims):
    a = ng.tensor(np.arange(6.0).reshape(2, 3))
    a.sum(axis=axis, keepdims=keepdims).sum().backward()
    np.testing.assert_array_equal(a.grad, np.ones((2, 3)))
    a.zero_grad()
    m = a.mean(axis=axis, keepdims=keepdims)
    m.sum().backward()
    np.testing.assert_allclose(a.grad, np.full((2, 3), m.size / 6))


# ---------------------------------------------------------------------------
# Issue 10: each place where the engine used to disagree with PyTorch
# (tests/test_conformance.py compares every op with PyTorch itself)
# ---------------------------------------------------------------------------

def test_transpose_with_negative_axes_gives_the_input_shape_back():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = ng.tensor(a)
    w = np.random.default_rng(0).standard_normal((4, 2, 3))
    (x.transpose(-1, 0, 1) * w).sum().backward()
    assert x.grad.shape == (2, 3, 4)
    np.testing.assert_array_equal(x.grad, np.transpose(w, (1, 2, 0)))


def test_a_vjp_of_the_wrong_shape_is_an_error_naming_op_input_and_shapes():
    twice = ng.define_op("twice_wrong_shape", "2×", "2 {0}", lambda a: 2 * a,
                         lambda g, out, a: np.ones((5, 2)))
    x = ng.tensor([1.0, 2.0], name="x")
    y = twice(x).sum()
    with pytest.raises(ng.ShapeError, match=r"twice_wrong_shape.*input 0 \('x'\).*\(5, 2\).*\(2,\)"):
        y.backward()
    assert x._grad is None                      # nothing was written


def test_a_vjp_returning_a_tuple_is_an_error():
    one = ng.define_op("tuple_vjp", "t", "t({0})", lambda a: a * 1.0, lambda g, out, a: (g,))
    x = ng.tensor([1.0, 2.0, 3.0], name="x")
    with pytest.raises(ng.ShapeError, match=r"tuple_vjp.*'x'.*tuple of 1.*one array"):
        one(x).sum().backward()


def test_sum_to_only_undoes_broadcasting_that_happened():
    # The output's shape is accepted for an input that was broadcast to it ...
    add = ng.define_op("bcast_add", "+", "{0} + {1}", lambda a, b: a + b,
                       (lambda g, out, a, b: g, lambda g, out, a, b: g))
    a, b = ng.tensor(np.ones((3, 2))), ng.tensor([1.0, 2.0], name="b")
    add(a, b).sum().backward()
    np.testing.assert_array_equal(b.grad, [3.0, 3.0])
    # ... any other shape is not, even one the input would broadcast to.
    bad = ng.define_op("bcast_bad", "+", "{0} + {1}", lambda a, b: a + b,
                       (lambda g, out, a, b: g, lambda g, out, a, b: g[None]))
    with pytest.raises(ng.ShapeError, match=r"bcast_bad.*input 1 \('b'\).*\(1, 3, 2\).*\(2,\)"):
        bad(a, b).sum().backward()


def test_a_vjp_count_that_does_not_match_the_inputs_is_an_error():
    two = ng.define_op("two_in_one_vjp", "∘", "{0} ∘ {1}", lambda a, b: a * b,
                       lambda g, out, a, b: g * b)
    with pytest.raises(ng.ShapeError, match=r"two_in_one_vjp.*1 VJP.*2 input"):
        two(ng.tensor(1.0), ng.tensor(2.0)).backward()


def test_pow_at_zero_and_below_matches_pytorch_rules():
    x = ng.tensor([0.0, 2.0], name="x")
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])        # not NaN at 0
    a, b = ng.tensor([0.0, 0.0, -2.0]), ng.tensor([2.0, 0.0, 2.0])
    (a ** b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0, -4.0])
    assert b.grad[0] == 0.0 and b.grad[1] == 0.0             # a = 0, b >= 0: the limit, 0
    assert np.isnan(b.grad[2])                              # log of a negative base


def test_sigmoid_keeps_precision_in_the_left_tail():
    for v in (-40.0, -37.0, -700.0):
        assert float(ng.tensor(v).sigmoid().log()) == pytest.approx(v, rel=1e-12)
    assert float(ng.tensor(40.0).sigmoid()) == 1.0
    assert float(ng.tensor(np.inf).sigmoid()) == 1.0 and float(ng.tensor(-np.inf).sigmoid()) == 0.0


def test_empty_and_zero_d_reductions_backprop():
    e = ng.tensor(np.zeros((0, 3)))
    e.mean().backward()
    assert e.grad.shape == (0, 3)
    t = ng.tensor(2.0)
    t.sum(axis=0).backward()
    assert float(t.grad) == 1.0
    t.zero_grad()
    t.max(axis=-1).backward()
    assert float(t.grad) == 1.0
    s = ng.tensor(np.zeros((2, 0))).softmax(axis=-1)
    assert s.shape == (2, 0)
    s.sum().backward()


def test_a_tensor_is_not_an_index():
    x = ng.tensor(np.arange(6.0).reshape(3, 2), name="x")
    mask = ng.tensor([1.0, 0.0, 1.0], name="mask")
    with pytest.raises(TypeError, match=r"'mask'.*float64.*boolean numpy array"):
        x[mask]
    with pytest.raises(TypeError, match="integer or boolean"):
        x[ng.tensor(1.7)]
    with pytest.raises(TypeError, match="integer or boolean"):
        x[0, ng.tensor(1.0)]
    picked = x[mask.data > 0]
    np.testing.assert_array_equal(picked.data, [[0.0, 1.0], [4.0, 5.0]])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [0, 0], [1, 1]])


def test_maximum_splits_a_tie_and_max_spreads_over_tied_elements():
    a, b = ng.tensor([1.0, 2.0, 3.0]), ng.tensor([1.0, 1.0, 4.0])
    ng.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])
    m = ng.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    m.max(axis=1).sum().backward()
    np.testing.assert_allclose(m.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_float_of_a_one_element_tensor():
    assert float(ng.tensor([3.5])) == 3.5 and float(ng.tensor([[2.0]])) == 2.0
    with pytest.raises(TypeError, match=r"'v'.*\(2,\)"):
        float(ng.tensor([1.0, 2.0], name="v"))


# ---------------------------------------------------------------------------
# define_op: re-running a notebook cell; numpy warnings stay inside the engine
# ---------------------------------------------------------------------------

def _define_square():
    return ng.define_op("rerun_square", "²", "{0}²", lambda a: a * a, lambda g, out, a: 2 * g * a)


def test_define_op_again_from_the_same_place_replaces_it():
    sq = _define_square()
    sq2 = _define_square()                    # a re-run cell: same line, same forward
    x = ng.tensor(3.0)
    sq2(x).backward()
    assert float(x.grad) == 6.0 and float(sq(x)) == 9.0


def test_define_op_under_a_taken_name_still_errors():
    ng.define_op("taken_name", "t", "t({0})", np.sin, np.cos)
    with pytest.raises(ValueError, match=r"'taken_name' already exists.*another name"):
        ng.define_op("taken_name", "t", "t({0})", np.tanh, lambda g, out, a: g)
    with pytest.raises(ValueError, match=r"'add' already exists \(built into nbgraph\)"):
        ng.define_op("add", "+", "{0} + {1}", lambda a, b: a + b,
                     (lambda g, out, a, b: g, lambda g, out, a, b: g))


def test_define_op_replacement_after_editing_the_forward_body():
    # Same forward function (name and module), new body: a fixed and re-run cell.
    def fwd(a):
        return a * 2.0
    ng.define_op("edited_op", "e", "e({0})", fwd, lambda g, out, a: g)

    def fwd(a):                                # noqa: F811 (the edited cell)
        return a * 3.0
    op = ng.define_op("edited_op", "e", "e({0})", fwd, lambda g, out, a: 3.0 * g)
    x = ng.tensor(1.0)
    op(x).backward()
    assert float(op(x)) == 3.0 and float(x.grad) == 3.0


def test_no_numpy_warning_from_the_engine_but_users_keep_theirs():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        x = ng.tensor([-1.0, 0.0, 2.0], name="x")
        y = (x.log() * x / x).sum()
        y.backward()
        assert np.isnan(float(y)) and np.isnan(x.grad[0])
        ng.graph(y).backward_steps
        (ng.tensor([0.0]) ** -1.0).sum().backward()
        ng.tensor(np.zeros((0,))).mean()
        with pytest.raises(RuntimeWarning):
            np.log(np.array([-1.0]))               # the user's own numpy call still warns


def test_log_of_a_negative_steps_without_warnings():
    """Run as `pytest -W error::RuntimeWarning` too: no warning may escape the engine."""
    x = ng.tensor(-2.0, name="x")
    y = (x.log() * 3.0).named("y")
    y.backward()
    G = ng.graph(y)
    steps = G.backward_steps
    assert np.isnan(float(y)) and len(steps) == 3 and float(steps[-1].value) == -1.5
    assert all(isinstance(s.explanation, str) for s in G.forward_steps + steps)


def test_gradcheck_of_a_nan_gives_a_report_without_numpy_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        report = ng.gradcheck(lambda t: (t.log() * np.inf).sum(), np.array([-1.0, 2.0]))
    assert not report.ok
