"""Hardening of the engine and graph IR: clear errors that change nothing, NaN hunting, long runs.

(Hostile names, huge graphs and random clicking are tested with the renderer
and the Stepper: tests/test_escaping.py, test_huge_graphs.py, test_stepper.py.)
"""

import gc
import weakref

import numpy as np
import pytest

import nbgraph as ng


def snapshot(*tensors):
    return [(t.data.copy(), None if t._grad is None else t._grad.copy()) for t in tensors]


def assert_unchanged(before, tensors):
    for (data, grad), t in zip(before, tensors):
        np.testing.assert_array_equal(t.data, data)
        if grad is None:
            assert t._grad is None
        else:
            np.testing.assert_array_equal(t._grad, grad)


def test_errors_leave_tensors_grads_and_graphs_unchanged():
    W = ng.tensor(np.ones((2, 3)), name="W")
    x = ng.tensor(np.arange(3.0), name="x")
    h = (W @ x).named("h")
    loss = h.sum().named("loss")
    loss.backward()
    G = ng.graph(loss)
    steps_before = [s.explanation for s in G.forward_steps + G.backward_steps]
    stepper = ng.Stepper(loss)
    stepper.step_forward()
    svg_before, position_before = stepper.svg, stepper.position
    before = snapshot(W, x, h, loss)
    bad_calls = [
        lambda: W @ ng.tensor(np.ones(4), name="v"),          # matmul shapes
        lambda: W + np.ones((5, 5)),                           # broadcasting
        lambda: ng.tensor("not a number", name="s"),          # non-numeric
        lambda: h.backward(),                                  # non-scalar without grad
        lambda: h.backward(np.ones(7)),                        # grad of the wrong shape
        lambda: W.detach().backward(),                         # does not require grad
    ]
    for call in bad_calls:
        with pytest.raises((ValueError, TypeError, RuntimeError)):
            call()
        assert_unchanged(before, (W, x, h, loss))
    with ng.no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        loss.backward()
    assert_unchanged(before, (W, x, h, loss))
    assert [s.explanation for s in G.forward_steps + G.backward_steps] == steps_before
    assert (stepper.svg, stepper.position) == (svg_before, position_before)
    stepper.step_forward()
    stepper.step_back()
    assert stepper.svg == svg_before


def test_backward_errors_say_why():
    h = ng.tensor(np.ones((2, 2)), name="acts") * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 2\).*\.sum\(\)"):
        h.backward()
    c = ng.tensor(1.0, name="c", requires_grad=False)
    with pytest.raises(RuntimeError, match="'c'.*does not require grad"):
        c.backward()


def test_shape_error_names_the_scope():
    with ng.scope("layer2"):
        with pytest.raises(ng.ShapeError, match=r"matmul.*'layer2'.*'W2' \(3, 4\).*'h' \(5,\)"):
            ng.tensor(np.ones((3, 4)), name="W2") @ ng.tensor(np.ones(5), name="h")


def test_detect_anomaly_stops_at_the_first_nonfinite_op():
    x = ng.tensor(np.array([1.0, 0.0, 2.0]), name="x")
    with ng.detect_anomaly(), ng.scope("block"):
        with pytest.raises(ng.NonFiniteError, match=r"log.*-Inf|log.*Inf") as err:
            (x.log() * 2).sum()
    assert "'x'" in str(err.value) and "block" in str(err.value)
    # Outside the context the NaN flows on silently, as numpy would do...
    with np.errstate(all="ignore"):
        y = (x.log().named("logx") * 0.0).named("zeroed")
        loss = y.sum().named("loss")
    # ...and the graph points at where it started.
    G = ng.graph(loss)
    assert G.first_nonfinite().label == "logx"


def test_detect_anomaly_in_backward():
    x = ng.tensor(0.0, name="x")
    y = x.sqrt()                       # value 0 is fine, its derivative is not
    with ng.detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(ng.NonFiniteError, match=r"gradient flowing from sqrt.*'x'"):
            y.backward()
    assert x._grad is None


def test_ten_thousand_training_steps_free_their_graphs():
    rng = np.random.default_rng(0)
    W = ng.parameter(rng.standard_normal((2, 4)), "W")
    X, y = rng.standard_normal((32, 2)), rng.standard_normal(32)
    refs = []
    gc.collect()
    import tracemalloc
    tracemalloc.start()
    base = None
    for step in range(10_000):
        loss = (((X @ W).tanh().sum(axis=1) - y) ** 2).mean()
        W.zero_grad()
        loss.backward()
        W.data -= 0.01 * W.grad
        if step % 2500 == 0:
            refs.append(weakref.ref(loss))
        if step == 100:
            base = tracemalloc.get_traced_memory()[0]
    current = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del loss
    gc.collect()
    assert all(r() is None for r in refs)          # every old graph is gone
    assert current - base < 5_000_000              # generous: a leak of one graph per step is far more
