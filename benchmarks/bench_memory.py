"""Memory over a long run: RSS growth across 10,000 training steps (psutil).

Same workload as bench_training.py (MLP 2-16-16-1 relu, 100 moons points,
hinge + 1e-4 L2, SGD lr 0.05). Each step builds a new graph; once the step
is over nothing may keep it alive, so the resident set must stay flat.
Measured twice: a hand-written loop, and ``ng.fit(live=ng.Dashboard())`` (the
dashboard made without a frontend, rendering its PNGs as in a notebook),
whose History and loss curve grow by a few floats per step.

    python benchmarks/bench_memory.py [--steps N]

Target: < 20 MB growth over 10,000 steps (after a 500-step warm-up).
"""

import argparse
import gc
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nbgraph as ng  # noqa: E402

try:
    import psutil
except ImportError:          # pragma: no cover
    sys.exit("bench_memory needs psutil: pip install -e '.[bench]'")

MB = 2 ** 20
X, Y = ng.datasets.moons(n=100, noise=0.1, seed=0)


def rss():
    gc.collect()
    return psutil.Process().memory_info().rss / MB


def hand_loop(steps, samples=10):
    model = ng.nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
    weights = [p for p in model.parameters() if p.ndim == 2]
    opt = ng.optim.SGD(model.parameters(), lr=0.05)

    def step():
        opt.zero_grad()
        loss = ng.losses.hinge(model(X), Y) + ng.losses.l2_penalty(weights, 1e-4)
        loss.backward()
        opt.step()

    for _ in range(500):
        step()
    trace = [rss()]
    for i in range(1, steps + 1):
        step()
        if i % (steps // samples) == 0:
            trace.append(rss())
    return trace


def fit_loop(steps, samples=10):
    marks = []

    def callback(history):
        if history.epochs % (steps // samples) == 0 or history.epochs == 500:
            marks.append((history.epochs, rss()))

    model = ng.nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
    ng.fit(model, X, Y, loss="hinge", l2=1e-4, optimizer=ng.optim.SGD(model, lr=0.05),
           epochs=steps + 500, live=ng.Dashboard(display=lambda w: None), callback=callback)
    return [m for e, m in marks if e >= 500]


def report(label, trace, steps):
    growth = trace[-1] - trace[0]
    verdict = "ok" if growth < 20 else "OVER TARGET"
    print(f"{label:34s} start {trace[0]:7.1f} MB  end {trace[-1]:7.1f} MB  "
          f"growth {growth:+6.2f} MB over {steps} steps  (peak {max(trace):.1f})  {verdict}")
    print("  " + "  ".join(f"{v:.1f}" for v in trace))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    print(f"RSS (MB) sampled every {args.steps // 10} steps after a 500-step warm-up")
    report("hand-written loop", hand_loop(args.steps), args.steps)
    report("ng.fit(live=ng.Dashboard())", fit_loop(args.steps), args.steps)


if __name__ == "__main__":
    main()
