"""How long drawing takes: one layout per graph, then classes per step.

    python benchmarks/bench_render.py

For scalar graphs of about 10, 100, 300 and 1,000 nodes (a chain with a
shared weight, and a micrograd-style MLP built neuron by neuron) it prints

* layout: the one-off cost of ``render.prepare`` -- units, DOT, the layout
  program, naming the SVG's parts, the timeline (what a Stepper pays once);
* step: the median Python time for the SVG of the next position,
  ``svg_at(p)`` (what a click costs today), over every position of both passes;
* jump: the median for 100 random positions (dragging the slider);
* json: the size of the position model (``Timeline.to_json()``), sent once;
* payload: what today's ipywidgets Stepper sends per step (the whole SVG of
  the position, stylesheet included) -- what the browser front end replaces
  by a handful of class changes.

Target: step <= 5 ms at 300 nodes.
"""

import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nbgraph import render          # noqa: E402
from nbgraph.examples import chain, scalar_mlp as mlp  # noqa: E402


def measure(make, n):
    x = make(n)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pic = render.prepare(x)
    layout = time.perf_counter() - t0
    total = pic.total
    steps, payload = [], []
    for p in range(0, total + 1):                 # one click after another
        t1 = time.perf_counter()
        svg = pic.svg_at(p)
        steps.append(time.perf_counter() - t1)
        payload.append(len(svg.encode("utf-8")))
    jumps = []
    rng = np.random.default_rng(0)
    for p in rng.integers(0, total + 1, size=100):  # slider jumps anywhere
        t1 = time.perf_counter()
        pic.svg_at(int(p))
        jumps.append(time.perf_counter() - t1)
    size = len(pic.timeline.to_json().encode("utf-8"))
    return (len(pic.graph.nodes), len(pic.timeline.units), layout, statistics.median(steps),
            statistics.median(jumps), size, statistics.median(payload))


def main():
    print(f"layout program: {render.find_layout_program()}")
    print(f"{'graph':<7}{'nodes':>6}{'units':>7}{'layout (s)':>11}{'step (ms)':>10}{'jump (ms)':>10}"
          f"{'json (kB)':>10}{'payload/step (kB)':>19}")
    for name, make in (("chain", chain), ("mlp", mlp)):
        for n in (10, 100, 300, 1000):
            nodes, units, layout, step, jump, size, payload = measure(make, n)
            print(f"{name:<7}{nodes:>6}{units:>7}{layout:>11.3f}{step * 1000:>10.2f}{jump * 1000:>10.2f}"
                  f"{size / 1000:>10.1f}{payload / 1000:>19.1f}")


if __name__ == "__main__":
    main()
