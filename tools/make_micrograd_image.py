"""Draw the README picture of the micrograd bridge: docs/images/micrograd_neuron.{png,svg}.

    python tools/make_micrograd_image.py      # needs the micrograd package

One micrograd neuron, built with micrograd's own ``Value``, read by
``ng.Stepper`` and drawn midway through the backward pass.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from micrograd.engine import Value        # noqa: E402

import nbgraph as ng                      # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "docs", "images")


def neuron():
    x1, x2 = Value(2.0), Value(-1.0)
    w1, w2, b = Value(-0.5), Value(1.5), Value(4.0)
    n = x1 * w1 + x2 * w2 + b
    out = n.relu()
    loss = (out - 1.0) ** 2
    for v, name in ((x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b"), (n, "n"),
                    (out, "out"), (loss, "loss")):
        v.label = name                    # optional: labels become the names in the drawing
    return loss


def main():
    s = ng.Stepper(neuron())
    G = s.graph
    w1 = next(st for st in G.backward_steps if G.nodes[st.node].label == "w1")
    s.position = len(G.forward_steps) + w1.index + 1    # the step that gives w1 its gradient
    for ext in ("png", "svg"):
        path = os.path.join(OUT, f"micrograd_neuron.{ext}")
        s.drawing().save(path)
        print(os.path.relpath(path, os.path.dirname(HERE)))
    print(s.explanation)


if __name__ == "__main__":
    main()
