"""Regenerate the README pictures under docs/images/.

    python tools/make_images.py            # writes docs/images/*.png and *.svg

Each picture is drawn by nbgraph itself (the PNGs are rasterised by the
layout program, graphviz-pure ``-Tpng``), so running this after a change to
the drawing style keeps the README honest.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import nbgraph as ng                      # noqa: E402
from nbgraph.examples import mlp, reference, rnn, scalar_rnn, vanishing  # noqa: E402
from nbgraph.stepper import Stepper       # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "docs", "images")


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
    save(ng.show(scalar_rnn()), "rnn_scalar")
    for path in written:
        print(os.path.relpath(path, os.path.dirname(HERE)))


if __name__ == "__main__":
    main()
