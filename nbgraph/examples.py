"""Ready-made graphs: the reference example, an MLP, unrolled RNNs, long chains.

The tests, the benchmarks and the README pictures draw these; they are also
handy in a notebook (``ng.Stepper(ng.examples.reference())``). Each returns
the output tensor; everything it was computed from hangs off it.
"""

import numpy as np

from .engine import parameter, scope, tensor

__all__ = ["reference", "mlp", "rnn", "scalar_rnn", "chain", "scalar_mlp", "vanishing"]


def reference(with_inputs=False):
    """x = 1, y = 3, z = -3; p = x + y = 4; g = p * z = -12.

    Returns g, or ``(g, (x, y, z, p))`` with ``with_inputs=True``.
    """
    x = tensor(1.0, name="x")
    y = tensor(3.0, name="y")
    z = tensor(-3.0, name="z")
    p = (x + y).named("p")
    g = (p * z).named("g")
    return (g, (x, y, z, p)) if with_inputs else g


def mlp(seed=0):
    """A 2-16-16-1 tanh MLP on four points with a squared-error loss, from plain tensors."""
    rng = np.random.default_rng(seed)
    X = tensor(rng.normal(size=(4, 2)), name="X", requires_grad=False)
    Y = tensor([[1.0], [0.0], [0.0], [1.0]], name="Y", requires_grad=False)
    W1 = parameter(rng.normal(size=(2, 16)) * 0.5, name="W1")
    b1 = parameter(np.zeros(16), name="b1")
    W2 = parameter(rng.normal(size=(16, 16)) * 0.25, name="W2")
    b2 = parameter(np.zeros(16), name="b2")
    W3 = parameter(rng.normal(size=(16, 1)) * 0.25, name="W3")
    b3 = parameter(np.zeros(1), name="b3")
    h1 = (X @ W1 + b1).tanh().named("h1")
    h2 = (h1 @ W2 + b2).tanh().named("h2")
    out = (h2 @ W3 + b3).named("out")
    return ((out - Y) ** 2).mean().named("loss")


def rnn(steps=4, seed=1):
    """A vector RNN unrolled over ``steps``: one scope per step, W_h, W_x, b shared."""
    rng = np.random.default_rng(seed)
    W_h = parameter(rng.normal(size=(3, 3)) * 0.5, name="W_h")
    W_x = parameter(rng.normal(size=(3, 2)) * 0.5, name="W_x")
    b = parameter(np.zeros(3), name="b")
    h = tensor(np.zeros(3), name="h0", requires_grad=False)
    for t in range(1, steps + 1):
        with scope(f"t={t}"):
            x_t = tensor(rng.normal(size=2), name=f"x{t}", requires_grad=False)
            h = (W_h @ h + W_x @ x_t + b).tanh().named(f"h{t}")
    return (h * h).sum().named("loss")


def scalar_rnn(xs=(1.0, -0.5, 0.8, 0.3), target=-0.5, h0=0.5):
    """h_t = tanh(w h_(t-1) + u x_t), one scope per step, w and u shared (lesson 4)."""
    w = parameter(0.9, name="w")
    u = parameter(0.6, name="u")
    h = tensor(h0, name="h0", requires_grad=False)
    for t, x_t in enumerate(xs, start=1):
        with scope(f"t={t}"):
            h = (w * h + u * x_t).tanh().named(f"h{t}")
    return ((h - target) ** 2).named("L")


def chain(n_nodes):
    """About ``n_nodes`` scalar nodes: h = tanh(h * w + a) and h * w + a in turn.

    ``a`` and the weight ``w`` are used by every link.
    """
    a = tensor(0.5, name="a")
    w = parameter(0.9, name="w")
    h, count, i = a, 2, 0
    while count < n_nodes:
        h = (h * w + a).tanh() if i % 3 == 0 else h * w + a
        count += 3 if i % 3 == 0 else 2
        i += 1
    return h


def scalar_mlp(n_nodes):
    """A 2-k-k-1 MLP built from scalars, k chosen to give about ``n_nodes`` nodes."""
    def build(k):
        rng = np.random.default_rng(0)
        xs = [tensor(float(v), name=f"x{i}") for i, v in enumerate(rng.normal(size=2))]
        sizes = [2, k, k, 1]
        for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
            out = []
            for j in range(fan_out):
                acc = parameter(0.0, name=f"b{layer}.{j}")
                for i in range(fan_in):
                    acc = acc + parameter(float(rng.normal()) * 0.5, name=f"w{layer}.{j}.{i}") * xs[i]
                out.append(acc.tanh() if layer < 2 else acc)
            xs = out
        return (xs[0] * xs[0]).named("loss")
    from .graph import graph
    best = min(range(1, 40), key=lambda k: abs(len(graph(build(k)).nodes) - n_nodes))
    return build(best)


def vanishing(depth=6):
    """A deep tanh chain with large weights: the gradient fades layer by layer."""
    h = tensor(1.5, name="x")
    for i in range(1, depth + 1):
        w = parameter(2.5, name=f"w{i}")
        h = (w * h).tanh().named(f"h{i}")
    return h
