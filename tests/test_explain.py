"""The words of each step: notation, signs, the start text, accumulation, default names."""

import re
import warnings

import numpy as np
import pytest

import nbgraph as ng
from nbgraph import engine, explain
from nbgraph.examples import reference
from nbgraph.stepper import Stepper
from nbgraph.text import fill


def texts(G):
    """Every explanation a graph offers: the start text, then each step's."""
    return [explain.start_text(G)] + [s.explanation for s in G.forward_steps + G.backward_steps]


def step_of(G, label):
    return next(s for s in G.backward_steps if G.nodes[s.node].label == label)


# ---------------------------------------------------------------------------
# Notation: dg/dx accumulated, ∂p/∂x local
# ---------------------------------------------------------------------------

def test_reference_backward_steps_read_exactly():
    G = ng.graph(reference())
    assert step_of(G, "z").explanation == \
        "dg/dz = dg/dg · ∂g/∂z = 1 · 4 = 4   (∂g/∂z = p for g = p * z)"
    assert step_of(G, "x").explanation == \
        "dg/dx = dg/dp · ∂p/∂x = -3 · 1 = -3   (∂p/∂x = 1 for p = x + y)"
    assert step_of(G, "p").explanation == \
        "dg/dp = dg/dg · ∂g/∂p = 1 · (-3) = -3   (∂g/∂p = z for g = p * z)"
    assert G.backward_steps[0].explanation.startswith("dg/dg = 1   (the seed")


def test_tanh_neuron_step():
    x1, x2 = ng.tensor(1.5, name="x1"), ng.tensor(-0.5, name="x2")
    w1, w2, b = ng.tensor(0.8, name="w1"), ng.tensor(-1.2, name="w2"), ng.tensor(-1.0, name="b")
    n = (x1 * w1 + x2 * w2 + b).named("n")
    o = n.tanh().named("o")
    G = ng.graph(o)
    assert G.forward_steps[-1].explanation == "o = tanh(n) = tanh(0.8) = 0.664"
    assert G.forward_steps[-2].explanation == "n = v3 + b = 1.8 + (-1) = 0.8"
    assert step_of(G, "n").explanation == \
        "do/dn = do/do · ∂o/∂n = 1 · 0.5591 = 0.5591   (∂o/∂n = 1 - tanh(n)² for o = tanh(n))"
    assert step_of(G, "w2").explanation == \
        "do/dw2 = do/dv2 · ∂v2/∂w2 = 0.5591 · (-0.5) = -0.2795   (∂v2/∂w2 = x2 for v2 = x2 * w2)"
    # the number shown is the gradient backward() computes
    o.backward()
    assert f"= {w2.grad.item():.4g}   (" in step_of(G, "w2").explanation


def test_shared_weight_step_shows_each_use_and_the_sum():
    a = ng.parameter(0.8, name="a")
    x = ng.tensor(1.0, name="x", requires_grad=False)
    ax = (a * x).named("ax")
    y = (a * ax.tanh().named("h")).named("y")
    loss = ((y - 0.2) ** 2).named("L")
    assert step_of(ng.graph(loss), "a").explanation.splitlines() == [
        "via y: dL/da = dL/dy · ∂y/∂a = 0.6625 · 0.664 = 0.4399   (∂y/∂a = h for y = a * h)",
        "via ax: dL/da = dL/dax · ∂ax/∂a = 0.2963 · 1 = 0.2963   (∂ax/∂a = x for ax = a * x)",
        "a is used 2 times, so its gradient is the sum: dL/da = 0.4399 + 0.2963 = 0.7362",
    ]


def test_one_node_used_twice_by_one_op_and_negative_parts_of_the_sum():
    t = ng.tensor(-3.0, name="t")
    G = ng.graph((t * t).named("s"))
    assert step_of(G, "t").explanation.splitlines() == [
        "via s (input 1): ds/dt = ds/ds · ∂s/∂t = 1 · (-3) = -3   (∂s/∂t = t for s = t * t)",
        "via s (input 2): ds/dt = ds/ds · ∂s/∂t = 1 · (-3) = -3   (∂s/∂t = t for s = t * t)",
        "t is used 2 times, so its gradient is the sum: ds/dt = -3 + (-3) = -6",
    ]


def test_array_steps_use_the_same_notation():
    X = ng.tensor(np.arange(8.0).reshape(4, 2), name="X", requires_grad=False)
    W = ng.parameter(np.ones((2, 3)), name="W")
    h = (X @ W).named("h")
    loss = h.tanh().named("a").mean().named("loss")
    G = ng.graph(loss)
    a_step = step_of(G, "h").explanation
    assert a_step.startswith("dloss/dh = dloss/da · ∂a/∂h   (∂a/∂h = 1 - tanh(h)² for a = tanh(h))\n")
    assert "dloss/da = [4×3] mean" in a_step and "→  dloss/dh = [4×3] mean" in a_step
    # a matrix product: the chain rule is the product with the transpose
    assert step_of(G, "W").explanation.startswith("dloss/dW = Xᵀ @ dloss/dh   (for h = X @ W)\n")


# ---------------------------------------------------------------------------
# Signs and parentheses
# ---------------------------------------------------------------------------

def test_fill_parenthesizes_negatives_exactly_after_an_operator():
    assert fill("{0} - {1}", ["h4", "-0.5"]) == "h4 - (-0.5)"
    assert fill("{0} * {1}", ["4", "-3"]) == "4 * (-3)"
    assert fill("{0} * {1}", ["-3", "4"]) == "-3 * 4"
    assert fill("log({0})", ["-2"]) == "log(-2)"
    assert fill("-{0}", ["-2"]) == "-(-2)"
    assert fill("{0}^{exponent}", ["-2"], {"exponent": "-1"}) == "(-2)^(-1)"
    assert fill("-{0} / {1}²", ["-2", "-3"]) == "-(-2) / (-3)²"
    assert fill("max({0}{p})", ["-2"], {"p": ", axis=-1"}) == "max(-2, axis=-1)"


BAD = ("- -", "+ -", "* -", "/ -", "@ -", "^-", "--", "((", "(-(")


def _graphs_of_every_op():
    """(op name, output) for every op in the table, with negative constants and tensors."""
    def a():
        return ng.tensor(-2.0, name="a")

    def b():
        return ng.tensor(-3.0, name="b")

    def A():
        return ng.tensor(np.array([[-1.0, 2.0], [-3.0, -0.5]]), name="A")

    neg_array = np.array([[-2.0, 1.0], [0.5, -1.0]])
    build = {
        "pow": [lambda: a() ** -2.0, lambda: a() ** 3.0, lambda: (-a()) ** -1.0],
        "matmul": [lambda: A() @ neg_array, lambda: neg_array @ A(), lambda: A() @ A()],
        "sum": [lambda: a().sum(), lambda: A().sum(axis=-1)],
        "mean": [lambda: a().mean(), lambda: A().mean(axis=-1, keepdims=True)],
        "max": [lambda: a().max(), lambda: A().max(axis=-1)],
        "softmax": [lambda: A().softmax(axis=-1)],
        "log_softmax": [lambda: A().log_softmax(axis=-1)],
        "reshape": [lambda: A().reshape(-1)],
        "transpose": [lambda: A().T, lambda: A().transpose(1, 0)],
        "getitem": [lambda: A()[-1], lambda: A()[-1, -2], lambda: A()[:, -1]],
        "concat": [lambda: ng.concat([A(), neg_array], axis=-1)],
        "stack": [lambda: ng.stack([a(), -3.0, b()])],
        "where": [lambda: ng.where(np.array([True, False]), ng.tensor([-1.0, -2.0], name="c"), -3.0)],
    }
    out = []
    for name, op in engine.OPS.items():
        if name in build:
            out += [(name, f()) for f in build[name]]
            continue
        # The rest take one or two inputs (one VJP each): every mix of negative
        # constants and tensors.
        if len(op.vjp) == 2:
            mixes = [lambda: engine.apply(name, a(), b()), lambda: engine.apply(name, a(), -3.0),
                     lambda: engine.apply(name, -3.0, a()), lambda: engine.apply(name, -a(), -(-b()))]
        else:
            assert len(op.vjp) == 1, name
            mixes = [lambda: engine.apply(name, a()), lambda: engine.apply(name, -3.0),
                     lambda: engine.apply(name, -(a() * 2.0))]
        out += [(name, f()) for f in mixes]
    return out


def test_no_doubled_signs_or_parentheses_for_any_op():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")       # log/sqrt of negatives: NaN is the point here
        built = _graphs_of_every_op()
        assert {name for name, _ in built} == set(engine.OPS)
        checked = 0
        for name, out in built:
            outputs = [out] if out.size == 1 else [out, out.sum()]
            for o in outputs:
                for text in texts(ng.graph(o)):
                    for bad in BAD:
                        assert bad not in text, f"{name}: {bad!r} in {text!r}"
                    checked += 1
    assert checked > 100


def test_negative_constant_reads_with_parentheses():
    h4 = ng.tensor(0.25, name="h4")
    G = ng.graph((h4 - -0.5).named("v"))
    assert G.forward_steps[0].explanation == "v = h4 - (-0.5) = 0.25 - (-0.5) = 0.75"
    with np.errstate(invalid="ignore"):
        t = ng.tensor(-2.0, name="t")
        G = ng.graph(t.log().named("l"))
    assert G.forward_steps[0].explanation == "l = log(t) = log(-2) = NaN"
    G = ng.graph((-t).named("m"))
    assert G.forward_steps[0].explanation == "m = -t = -(-2) = 2"
    G = ng.graph((-(-t)).named("m"))
    assert G.forward_steps[-1].explanation == "m = -v1 = -2"      # not "-v1 = -2 = -2"


# ---------------------------------------------------------------------------
# The start text
# ---------------------------------------------------------------------------

def test_start_text_with_one_input_and_with_several():
    x = ng.tensor(2.0, name="x")
    one = explain.start_text(ng.graph((x * x).named("y")))
    assert one == ("Nothing is computed yet; the input x is given. Step forward to compute y. "
                   "The backward pass then starts from the seed dy/dy = 1.")
    assert "inputs" not in one and "lonely" not in one
    assert explain.start_text(ng.graph(reference())).startswith(
        "Nothing is computed yet; the inputs x, y, z are given. Step forward to compute p.")
    assert Stepper(reference()).explanation.endswith("starts from the seed dg/dg = 1.")


def test_start_text_of_a_non_scalar_output_says_the_seed_is_ones():
    h = ng.tensor(np.ones((2, 3)), name="h")
    k = (h * 2.0).named("k")
    with pytest.raises(RuntimeError, match="only a single number"):
        k.backward()
    s = Stepper(k)
    assert "seed dk/dk = ones of shape 2×3" in s.explanation
    assert "k.backward(grad=ones)" in s.explanation and "k.sum()" in s.explanation
    s.step_forward()
    s.step_forward()
    assert s.explanation.startswith("dk/dk = ones of shape 2×3   (the seed")
    s.run_to_end()
    np.testing.assert_array_equal(s.step.value, np.full((2, 3), 2.0))


def test_start_text_when_nothing_needs_a_gradient():
    c = ng.tensor(2.0, name="c", requires_grad=False)
    assert explain.start_text(ng.graph((c * c).named("d"))).endswith("so there is no backward pass.")


# ---------------------------------------------------------------------------
# .grad that accumulated over several backward() calls
# ---------------------------------------------------------------------------

def test_leaf_step_says_when_grad_accumulated_over_two_backward_calls():
    g, (x, y, z, p) = reference(with_inputs=True)
    g.backward()
    once = Stepper(g)
    once.run_to_end()
    assert once.explanation == "dg/dx = dg/dp · ∂p/∂x = -3 · 1 = -3   (∂p/∂x = 1 for p = x + y)"
    g.backward()
    assert float(x.grad) == -6
    twice = Stepper(g)
    twice.run_to_end()
    lines = twice.explanation.splitlines()
    assert lines[0] == "dg/dx = dg/dp · ∂p/∂x = -3 · 1 = -3   (∂p/∂x = 1 for p = x + y)"
    assert lines[1].startswith("Note: x.grad is -6, not -3: gradients accumulate, and backward() "
                               "has added into x.grad 2 times since it was last cleared")
    assert "x.zero_grad()" in lines[1] and "one backward pass" in lines[1]
    assert "Note:" not in step_of(twice.graph, "p").explanation   # p is not a leaf
    # the note reflects .grad when the graph was made, not later changes
    G = ng.graph(g)
    for t in (x, y, z):
        t.zero_grad()
    assert "x.grad is -6" in step_of(G, "x").explanation
    assert "Note:" not in step_of(ng.graph(g), "x").explanation


def test_no_note_before_any_backward_or_when_grad_agrees():
    a = ng.tensor(3.0, name="a")
    b = (a * a).named("b")
    assert "Note:" not in step_of(ng.graph(b), "a").explanation
    b.backward()
    assert "Note:" not in step_of(ng.graph(b), "a").explanation
    a.grad = 1.0       # not a multiple of this pass: still explained
    assert "Note: a.grad is 1, not 6: " in step_of(ng.graph(b), "a").explanation
    assert "more than once" in step_of(ng.graph(b), "a").explanation


# ---------------------------------------------------------------------------
# Default names
# ---------------------------------------------------------------------------

def test_layers_name_their_weights_like_their_attribute_paths():
    class Net(ng.nn.Module):
        def __init__(self):
            self.fc1 = ng.nn.Linear(2, 3, seed=0)
            self.fc2 = ng.nn.Linear(3, 1, seed=0)
            self.own = ng.nn.Linear(1, 1, weight_name="V", seed=0)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

    net = Net()
    assert [(path, p.name) for path, p in net.named_parameters()] == [
        ("fc1.W", "fc1.W"), ("fc1.b", "fc1.b"), ("fc2.W", "fc2.W"), ("fc2.b", "fc2.b"),
        ("own.W", "V"), ("own.b", "own.b")]

    class Outer(ng.nn.Module):
        def __init__(self):
            self.net = net
            self.same = net          # held twice: named once, by the first attribute

    assert [p.name for p in Outer().parameters()][:2] == ["net.fc1.W", "net.fc1.b"]

    seq = ng.nn.Sequential(ng.nn.Linear(2, 4, seed=0), ng.nn.get_activation("relu"),
                           ng.nn.Linear(4, 1, seed=0))
    assert [p.name for p in seq.parameters()] == ["W1", "b1", "W2", "b2"]
    assert [p.name for p in ng.nn.MLP(2, [4, 1], seed=0).parameters()] == ["W1", "b1", "W2", "b2"]
    assert [p.name for p in ng.nn.RNNCell(2, 3, seed=0).parameters()] == ["Wxh", "Whh", "bh"]
    mine = ng.nn.Linear(2, 2, seed=0)
    mine.W.named("kernel")                       # renamed by the user: left alone

    class Holder(ng.nn.Module):
        def __init__(self):
            self.layer = mine

    Holder()
    assert (mine.W.name, mine.b.name) == ("kernel", "layer.b")
    assert ng.nn.Linear(2, 2, seed=0).W.name == "W"

    class Blocks(ng.nn.Module):
        def __init__(self):
            self.blocks = [ng.nn.Linear(2, 2, seed=0), ng.nn.Linear(2, 2, seed=1)]

    assert [p.name for p in Blocks().parameters()] == ["blocks.0.W", "blocks.0.b", "blocks.1.W", "blocks.1.b"]


def test_losses_are_named_and_drawings_need_no_v_labels_for_them():
    pred = ng.tensor(np.array([0.5, -1.0, 2.0]), name="pred")
    y = np.array([1.0, 0.0, 1.0])
    assert ng.losses.mse(pred, y).name == "mse"
    assert ng.losses.hinge(pred, y).name == "hinge"
    assert ng.losses.binary_cross_entropy(pred, y).name == "bce"
    assert ng.losses.binary_cross_entropy(ng.tensor([0.2, 0.5, 0.9]), y, from_logits=False).name == "bce"
    logits = ng.tensor(np.array([[1.0, -1.0], [0.5, 2.0]]))
    assert ng.losses.cross_entropy(logits, np.array([0, 1])).name == "cross_entropy"
    assert ng.losses.l2_penalty([ng.parameter(np.ones((2, 2)))], 0.1).name == "l2_penalty"

    model = ng.nn.MLP(2, [3, 1], seed=0)
    loss = ng.losses.mse(model(np.ones((4, 2))), np.zeros(4))
    labels = [n.label for n in ng.graph(loss).nodes]
    assert {"W1", "b1", "W2", "b2", "mse"} <= set(labels)
    assert step_of(ng.graph(loss), "W1").explanation.startswith("dmse/dW1 = ")
    assert re.search(r"^v\d+$", labels[-1]) is None


def test_model_inputs_and_loss_targets_are_named():
    X, y = ng.datasets.moons(n=6, noise=0.1, seed=0)
    model = ng.nn.MLP(2, [3, 1], seed=0)
    G = ng.graph(ng.losses.hinge(model(X).reshape(-1), y))
    assert explain.start_text(G).startswith(
        "Nothing is computed yet; the inputs X, W1, b1, W2, b2, y as ±1 are given.")
    assert G.node("X").shape == (6, 2) and not G.node("X").requires_grad
    # labels that need no conversion keep the plain name; a named target keeps its own
    pm = 2.0 * y - 1.0
    G = ng.graph(ng.losses.hinge(model(X).reshape(-1), pm))
    assert "y" in [n.label for n in G.nodes]
    G = ng.graph(ng.losses.mse(model(X[0]), ng.tensor(y[:1], name="target")))
    labels = [n.label for n in G.nodes]
    assert "x" in labels and "target" in labels and labels[-1] == "mse"
    # the loss is still right
    L = ng.losses.mse(ng.tensor([1.0, 2.0]), np.array([0.0, 0.0]))
    assert float(L) == pytest.approx(2.5)


def test_explaining_nan_and_inf_raises_no_numpy_warning():
    with np.errstate(all="ignore"):
        a = ng.tensor(np.array([-1.0, 0.0, 2.0]), name="a")
        s = ng.tensor(-2.0, name="s")
        out = ((a.log() * s).sum() + s.log() + (s / 0.0)).named("out")
        out.backward()
        out.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        G = ng.graph(out)
        every = texts(G)
    assert any("NaN" in t for t in every) and any("Inf" in t for t in every)
    assert "s / 0 = -2 / 0 = -Inf" in "\n".join(every)
