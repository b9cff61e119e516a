"""How long drawing takes: one layout per graph, then one restyle per step.

    python benchmarks/bench_render.py

For scalar graphs of about 10, 100, 300 and 1,000 nodes (a chain with a
shared weight, and a micrograd-style MLP built neuron by neuron) it prints

* layout: the one-off cost -- DOT, the layout program, cutting the SVG into
  a template (what a Stepper pays once);
* first: filling every slot once (the first picture);
* step: the median Python time for the SVG of the next position (what a
  click costs), over every position of both passes;
* jump: the median for 100 random positions (dragging the slider).
"""

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nbgraph as ng                # noqa: E402
from nbgraph import render          # noqa: E402
from nbgraph.examples import chain, scalar_mlp as mlp  # noqa: E402


def measure(make, n):
    g = ng.graph(make(n))
    t0 = time.perf_counter()
    t = render._template(g)
    layout = time.perf_counter() - t0
    total = t.view.total
    t1 = time.perf_counter()
    t.render(0)                                   # the first fill of every slot
    first = time.perf_counter() - t1
    steps = []
    for p in range(1, total + 1):                 # one click after another
        t1 = time.perf_counter()
        t.render(p)
        steps.append(time.perf_counter() - t1)
    jumps = []
    rng = np.random.default_rng(0)
    for p in rng.integers(0, total + 1, size=100):  # slider jumps anywhere
        t1 = time.perf_counter()
        t.render(int(p))
        jumps.append(time.perf_counter() - t1)
    return (len(g.nodes), len(t.view.units), layout, first,
            statistics.median(steps), statistics.median(jumps))


def main():
    print(f"layout program: {render.find_layout_program()}")
    print(f"{'graph':<7}{'nodes':>6}{'drawn':>6}{'layout (s)':>11}{'first (ms)':>11}"
          f"{'step median (ms)':>17}{'jump median (ms)':>17}")
    for name, make in (("chain", chain), ("mlp", mlp)):
        for n in (10, 100, 300, 1000):
            nodes, drawn, layout, first, step, jump = measure(make, n)
            print(f"{name:<7}{nodes:>6}{drawn:>6}{layout:>11.3f}{first * 1000:>11.2f}"
                  f"{step * 1000:>17.2f}{jump * 1000:>17.2f}")


if __name__ == "__main__":
    main()
