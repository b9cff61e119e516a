"""The micrograd bridge: ng.graph / ng.show / ng.Stepper read micrograd Values.

Uses the real ``micrograd`` package (a test dependency) and ``Lv``, our own
small Value class with the lecture version's attributes (``label``, ``tanh``,
``exp``) whose ``_backward`` does not close over ``self``/``other``, so the
bridge has to order its operands from the graph alone.
"""

import math
import os
import random
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from micrograd.engine import Value
from micrograd.nn import MLP

import nbgraph as ng
from nbgraph.bridges.micrograd import value_of
from nbgraph.text import fmt_number

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Lv:
    """A scalar with a gradient, written the lecture's way (data, grad, label, _prev, _op)."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data, self.grad, self.label = data, 0.0, label
        self._prev, self._op = set(_children), _op
        self._backward = lambda: None

    def _made(self, data, op, pairs):
        """A result; ``pairs`` holds (input, local derivative) per operand."""
        out = Lv(data, [x for x, _ in pairs], op)

        def propagate():
            for x, local in pairs:
                x.grad += local * out.grad
        out._backward = propagate
        return out

    @staticmethod
    def _wrap(x):
        return x if isinstance(x, Lv) else Lv(x)

    def __add__(self, other):
        other = self._wrap(other)
        return self._made(self.data + other.data, "+", [(self, 1.0), (other, 1.0)])

    def __mul__(self, other):
        other = self._wrap(other)
        return self._made(self.data * other.data, "*", [(self, other.data), (other, self.data)])

    def __pow__(self, k):
        return self._made(self.data ** k, f"**{k}", [(self, k * self.data ** (k - 1))])

    def tanh(self):
        t = math.tanh(self.data)
        return self._made(t, "tanh", [(self, 1 - t * t)])

    def exp(self):
        e = math.exp(self.data)
        return self._made(e, "exp", [(self, e)])

    def softplus(self):             # an op nbgraph has no entry for
        return self._made(math.log1p(math.exp(self.data)), "softplus",
                          [(self, 1 / (1 + math.exp(-self.data)))])

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-self._wrap(other))
    def __truediv__(self, other): return self * self._wrap(other) ** -1

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    visit(c)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def plain(text):
    """The explanation without notation details that are a matter of style
    (parentheses around negative numbers, ∂ or d), so the numbers are compared."""
    return re.sub(r"[()]", "", text).replace("∂", "d")


def leaf_grads_match(G):
    """Every leaf of G has the .grad its micrograd Value got from .backward()."""
    G.backward_steps                            # nbgraph's own backward pass (lazy)
    leaves = [n for n in G.nodes if n.op is None]
    assert leaves
    for n in leaves:
        v = value_of(n)
        assert v is not None, n.label
        assert float(n.grad) == pytest.approx(v.grad, rel=1e-12, abs=1e-15), n.label
    return leaves


# -- micrograd's own MLP on one moons point ------------------------------------------------

def mlp_loss(seed=0):
    random.seed(seed)
    model = MLP(2, [4, 4, 1])
    X, y = ng.datasets.moons(n=20, noise=0.1, seed=0)
    x, target = X[3], 2.0 * y[3] - 1.0
    out = model([Value(float(x[0])), Value(float(x[1]))])
    return model, (out - target) ** 2


def test_mlp_stepper_steps_to_the_end_with_micrograd_grads_at_every_leaf():
    model, loss = mlp_loss()
    s = ng.Stepper(loss)                      # before micrograd's backward: nbgraph computes its own
    G = s.graph
    F, B = len(G.forward_steps), len(G.backward_steps)
    assert s.total == F + B
    loss.backward()
    # all 4*3 + 4*5 + 1*5 = 37 parameters, the 2 inputs, and -target (out - target is
    # out + (-target): a plain number, negated, then wrapped in a Value)
    leaves = leaf_grads_match(G)
    params = {id(p) for p in model.parameters()}
    assert params <= {id(value_of(n)) for n in leaves}
    assert len(leaves) == 37 + 2 + 1
    # the grad shown at each leaf's backward step, and in the final drawing
    for step in G.backward_steps:
        n = G.nodes[step.node]
        if n.op is not None:
            continue
        s.position = F + step.index + 1
        assert s.phase == "backward"
        last = plain(s.explanation.splitlines()[-1])
        assert re.search(rf"= {re.escape(fmt_number(value_of(n).grad))}(\s+.*)?$", last), last
    s.run_to_end()
    assert s.position == s.total
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", s.svg)
    for n in leaves:
        assert f"grad {fmt_number(value_of(n).grad)}" in texts


def test_reading_leaves_micrograd_untouched():
    model, loss = mlp_loss(seed=3)
    loss.backward()
    before = [p.grad for p in model.parameters()] + [loss.grad]
    datas = [p.data for p in model.parameters()]
    ng.graph(loss)
    assert [p.grad for p in model.parameters()] + [loss.grad] == before
    assert [p.data for p in model.parameters()] == datas


def test_leaves_carry_micrograds_grad_but_steps_show_one_pass():
    a, b = Value(3.0), Value(-2.0)
    out = a * b
    out.backward()
    out.backward()                              # no zero_grad: micrograd's grads doubled
    G = ng.graph(out)
    G.backward_steps
    assert float(G.node(0).tensor.grad) == a.grad == -4.0
    assert float(G.node(0).grad) == -2.0        # the steps: one backward pass


def test_mul_step_explains_with_numbers():
    _, loss = mlp_loss()
    G = ng.graph(loss)
    muls = [s for s in G.forward_steps if G.nodes[s.node].op.name == "mul"]
    assert muls
    n = G.nodes[muls[0].node]
    a, b = (G.nodes[i] for i in n.inputs)
    num = lambda x: fmt_number(x.value.reshape(()))
    assert plain(muls[0].explanation) == f"{n.label} = {a.label} * {b.label} = {num(a)} * {num(b)} = {num(n)}"
    # backward through that *: upstream · the other operand, as numbers
    step = next(s for s in G.backward_steps if s.node == a.id)
    line = next(l for l in plain(step.explanation).splitlines() if f"d{n.label}/d{a.label}" in l)
    assert f"· {num(b)} = " in line


# -- the small cases, as micrograd builds them ------------------------------------------------

def forward_texts(out):
    G = ng.graph(out)
    return G, [plain(s.explanation) for s in G.forward_steps]


@pytest.mark.parametrize("build, text", [
    (lambda a, b: a * a, "v2 = v1 * v1 = 3 * 3 = 9"),
    (lambda a, b: a + a, "v2 = v1 + v1 = 3 + 3 = 6"),
    (lambda a, b: a ** 2, "v2 = v1^2 = 3^2 = 9"),
    (lambda a, b: (a * b).relu(), "v4 = relu(v3) = relu((-6)) = 0"),
    (lambda a, b: (a * -1).relu(), "v4 = relu(v3) = relu((-3)) = 0"),
])
def test_micrograd_single_ops(build, text):
    a, b = Value(3.0), Value(-2.0)
    out = build(a, b)
    G, texts = forward_texts(out)
    assert texts[-1] == plain(text)
    out.backward()
    leaf_grads_match(G)


def test_a_times_a_and_a_plus_a_are_two_edges_from_one_node():
    a = Value(3.0)
    for out, grad in ((a * a, 6.0), (a + a, 2.0)):
        assert len(out._prev) == 1              # micrograd keeps one child
        G = ng.graph(out)
        G.backward_steps
        assert len(G.nodes) == 2 and G.edges == [(0, 1, 0), (0, 1, 1)]
        assert float(G.nodes[0].grad) == grad


def test_subtraction_and_division_as_micrograd_builds_them():
    a, b = Value(5.0), Value(2.0)
    cases = [
        (a - b, ["v4 = v2 * v3 = 2 * (-1) = -2", "v5 = v1 + v4 = 5 + (-2) = 3"]),   # a + b*-1
        (a / b, ["v3 = v2^-1 = 2^-1 = 0.5", "v4 = v1 * v3 = 5 * 0.5 = 2.5"]),        # a * b**-1
        (3 - a, ["v3 = v1 * v2 = 5 * (-1) = -5", "v5 = v3 + v4 = (-5) + 3 = -2"]),  # (a*-1) + 3
        (3 / a, ["v2 = v1^-1 = 5^-1 = 0.2", "v4 = v2 * v3 = 0.2 * 3 = 0.6"]),        # a**-1 * 3
    ]
    for out, texts in cases:
        G, got = forward_texts(out)
        assert got == [plain(t) for t in texts]
        for v in (a, b):
            v.grad = 0
        out.backward()
        leaf_grads_match(G)


def test_operands_in_written_order():
    a, b = Value(2.0), Value(7.0)
    for out, first in ((a * b, 2.0), (b * a, 7.0), (a + b, 2.0), (b + a, 7.0), (a - b, 2.0)):
        G = ng.graph(out)
        top = G.nodes[G.output_ids[0]]
        assert float(G.nodes[top.inputs[0]].value) == first


# -- the lecture variant: labels, tanh, exp, our own class -----------------------------------------

def lecture_neuron():
    x1, x2 = Lv(2.0, label="x1"), Lv(0.0, label="x2")
    w1, w2 = Lv(-3.0, label="w1"), Lv(1.0, label="w2")
    b = Lv(6.8813735870195432, label="b")
    x1w1 = x1 * w1; x1w1.label = "x1*w1"
    x2w2 = x2 * w2; x2w2.label = "x2*w2"
    s = x1w1 + x2w2; s.label = "x1*w1 + x2*w2"
    n = s + b; n.label = "n"
    return (x1, x2, w1, w2, b), n


def test_lecture_variant_tanh_with_labels():
    (x1, x2, w1, w2, b), n = lecture_neuron()
    o = n.tanh(); o.label = "o"
    G = ng.graph(o)
    assert {"x1", "x2", "w1", "w2", "b", "n", "o"} <= {nd.label for nd in G.nodes}
    assert plain(G.forward_steps[-1].explanation) == plain("o = tanh(n) = tanh(0.8814) = 0.7071")
    o.backward()
    leaf_grads_match(G)
    assert (x1.grad, w1.grad) == (pytest.approx(-1.5), pytest.approx(1.0))
    back = {G.nodes[s.node].label: plain(s.explanation) for s in G.backward_steps}
    assert "do/dn = do/do · do/dn = 1 · 0.5 = 0.5" in back["n"]


def test_lecture_variant_exp_sub_div():
    (x1, x2, w1, w2, b), n = lecture_neuron()
    e = (2 * n).exp(); e.label = "e"
    o = (e - 1) / (e + 1); o.label = "o"
    G = ng.graph(o)
    ops = {G.nodes[s.node].op.name for s in G.forward_steps}
    assert ops == {"mul", "add", "exp", "pow"}
    assert any(s.explanation.startswith("e = exp(") for s in G.forward_steps)
    assert float(G.nodes[G.output_ids[0]].value) == pytest.approx(math.tanh(n.data))
    o.backward()
    leaf_grads_match(G)


def test_unmapped_op_reads_micrograd_backward_and_says_so():
    a = Lv(0.5, label="a")
    y = a.softplus(); y.label = "y"
    z = y * a; z.label = "z"
    z.backward()
    grads = (a.grad, y.grad, z.grad)
    G = ng.graph(z)
    assert (a.grad, y.grad, z.grad) == grads    # reading ran softplus's _backward; grads put back
    node = G.node("y")
    assert node.op.symbol == "softplus"
    step = next(s for s in G.forward_steps if s.node == node.id)
    assert step.explanation == f"y = softplus(a) = softplus(0.5) = {fmt_number(math.log1p(math.exp(0.5)))}"
    back = next(s for s in G.backward_steps if s.node == G.node("a").id).explanation
    assert "micrograd's own _backward" in back
    leaf_grads_match(G)
    svg = ng.show(z).svg
    assert ">softplus<" in svg


def test_op_text_with_markup_is_escaped():
    a = Lv(1.5, label="<a&b>")
    y = a._made(2 * a.data, "{x}<b>", [(a, 2.0)])
    G = ng.graph(y)
    assert G.forward_steps[0].explanation == "v1 = {x}<b>(<a&b>) = {x}<b>(1.5) = 3"
    svg = ng.show(y).svg
    root = ET.fromstring(svg)                   # still well-formed
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<a&b>" in texts and "{x}<b>" in texts


def test_data_that_is_not_a_number_names_the_value():
    a = Lv("oops", label="weird")
    with pytest.raises(TypeError, match="'weird'.*real number"):
        ng.graph(a * 2)


# -- determinism and lightness ----------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import hashlib, os, random, sys
    sys.path.insert(0, {tests!r})
    junk = [object() for _ in range(int.from_bytes(os.urandom(2), "little"))]  # shift addresses
    from micrograd.nn import MLP
    from micrograd.engine import Value
    import nbgraph as ng
    from test_micrograd import lecture_neuron
    random.seed(1)
    model = MLP(2, [4, 4, 1])
    loss = (model([Value(0.3), Value(-0.7)]) - 1.0) ** 2
    (_, n) = lecture_neuron()
    o = ((2 * n).exp() - 1) / ((2 * n).exp() + 1)
    for out in (loss, o):
        print(hashlib.sha256(ng.show(out).svg.encode()).hexdigest())
""")


def test_same_code_twice_gives_identical_svg():
    script = SCRIPT.format(tests=os.path.join(ROOT, "tests"))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, timeout=300, cwd=ROOT) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (r.stdout.split() for r in runs)
    assert len(first) == 2 and first == second


def test_import_nbgraph_does_not_import_micrograd():
    code = ("import sys, nbgraph as ng; ng.graph(ng.tensor(1.0) * 2); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'micrograd'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_several_outputs_share_the_values_they_share():
    a = Value(1.5)
    b = a * 2
    c = b + a
    G = ng.graph(b, c)                          # one reading: a and b are one node each
    assert len(G.nodes) == 4
    assert [value_of(G.nodes[i]) for i in G.output_ids] == [b, c]
    s = ng.Stepper([b, c])
    assert len(s.graph.nodes) == 4
