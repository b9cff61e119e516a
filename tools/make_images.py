"""Regenerate the README pictures under docs/images/.

    python tools/make_images.py            # writes docs/images/*.png and *.svg

Each picture is drawn by nbgraph itself (the PNGs are rasterised by the
layout program, graphviz-pure ``-Tpng``), so running this after a change to
the drawing style keeps the README honest.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import nbgraph as ng                      # noqa: E402
from nbgraph.stepper import Stepper       # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "docs", "images")


def reference():
    """The textbook example: p = x + y, g = p * z."""
    x = ng.tensor(1.0, name="x")
    y = ng.tensor(3.0, name="y")
    z = ng.tensor(-3.0, name="z")
    p = (x + y).named("p")
    g = (p * z).named("g")
    return g


def mlp():
    """A 2-16-16-1 MLP on four points, built from plain tensors."""
    rng = np.random.default_rng(0)
    X = ng.tensor(rng.normal(size=(4, 2)), name="X", requires_grad=False)
    Y = ng.tensor([[1.0], [0.0], [0.0], [1.0]], name="Y", requires_grad=False)
    W1 = ng.parameter(rng.normal(size=(2, 16)) * 0.5, name="W1")
    b1 = ng.parameter(np.zeros(16), name="b1")
    W2 = ng.parameter(rng.normal(size=(16, 16)) * 0.25, name="W2")
    b2 = ng.parameter(np.zeros(16), name="b2")
    W3 = ng.parameter(rng.normal(size=(16, 1)) * 0.25, name="W3")
    b3 = ng.parameter(np.zeros(1), name="b3")
    h1 = ng.tanh(X @ W1 + b1).named("h1")
    h2 = ng.tanh(h1 @ W2 + b2).named("h2")
    out = (h2 @ W3 + b3).named("out")
    loss = ((out - Y) ** 2).mean().named("loss")
    return loss


def rnn(steps=4):
    """An unrolled RNN: one cluster per time step, shared weights outside."""
    rng = np.random.default_rng(1)
    W_h = ng.parameter(rng.normal(size=(3, 3)) * 0.5, name="W_h")
    W_x = ng.parameter(rng.normal(size=(3, 2)) * 0.5, name="W_x")
    b = ng.parameter(np.zeros(3), name="b")
    h = ng.tensor(np.zeros(3), name="h0", requires_grad=False)
    for t in range(1, steps + 1):
        with ng.scope(f"t={t}"):
            x_t = ng.tensor(rng.normal(size=2), name=f"x{t}", requires_grad=False)
            h = ng.tanh(W_h @ h + W_x @ x_t + b).named(f"h{t}")
    loss = (h * h).sum().named("loss")
    return loss


def vanishing(depth=6):
    """A deep tanh chain with large weights: the gradient fades layer by layer."""
    h = ng.tensor(1.5, name="x")
    for i in range(1, depth + 1):
        w = ng.parameter(2.5, name=f"w{i}")
        h = ng.tanh(w * h).named(f"h{i}")
    return h


def main():
    os.makedirs(OUT, exist_ok=True)
    written = []

    def save(drawing, name):
        for ext in ("png", "svg"):
            path = os.path.join(OUT, f"{name}.{ext}")
            drawing.save(path)
            written.append(path)

    g = reference()
    save(ng.show(g), "reference_final")
    s = Stepper(g)
    s.position = len(s.graph.forward_steps) + 3      # mid-backward: dg/dp known
    save(s.drawing(), "reference_backward_step")
    save(ng.show(mlp()), "mlp_2_16_16_1")
    save(ng.show(vanishing(), color_by="grad"), "vanishing_grad_colors")
    save(ng.show(rnn()), "rnn_unrolled")
    for path in written:
        print(os.path.relpath(path, os.path.dirname(HERE)))


if __name__ == "__main__":
    main()
