"""Training-step speed: nbgraph against hand-written numpy and other autograd engines.

Workload (the same for everyone): an MLP 2-16-16-1 with relu, full batch of
100 "moons" points, hinge loss + 1e-4 * (sum of squared weight matrices),
plain SGD with lr 0.05. One step = forward + loss + backward + update.
Every implementation starts from the same weights (float64 unless said) and
the script checks that they agree on the loss after a few steps.

Timing: warm-up first, then REPEATS rounds; each round times a block of
steps for every engine in turn (interleaved, so a busy machine slows all of
them alike); the table shows the median ms/step and the ratio to nbgraph.

Then: the cost of ``ng.fit(live=...)`` against ``live=False`` over 2,000
steps -- with the widget dashboard (made without a frontend: the loss curve
and decision boundary PNGs are rendered and handed to the Image widgets just
the same), with its gradient-norm plot too, and with the text progress
line -- and of one step (the fixed cost); and what the pictures cost.

The target (issue 12): the live dashboard costs at most 10 % of the
training time of a 2,000-step fit; the last lines say whether it holds.

    python benchmarks/bench_training.py [--quick] [--live-only] [--profile]
"""

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nbgraph as ng  # noqa: E402

LR, ALPHA, SIZES = 0.05, 1e-4, [2, 16, 16, 1]
TARGET = 0.10           # live dashboard overhead, as a share of the training time
X, Y01 = ng.datasets.moons(n=100, noise=0.1, seed=0)
Y = np.where(Y01 > 0, 1.0, -1.0)                 # ±1 labels for the hand-written versions


def initial_weights():
    """The weights every engine starts from: nbgraph's seeded MLP init."""
    model = ng.nn.MLP(2, SIZES[1:], activation="relu", seed=0)
    return [(layer.W.data.copy(), layer.b.data.copy()) for layer in model.layers]


# ---------------------------------------------------------------------------
# One "step" factory per engine: returns step() -> loss as float
# ---------------------------------------------------------------------------

def make_nbgraph():
    model = ng.nn.MLP(2, SIZES[1:], activation="relu", seed=0)
    weights = [p for p in model.parameters() if p.ndim == 2]
    opt = ng.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        loss = ng.losses.hinge(model(X), Y01) + ng.losses.l2_penalty(weights, ALPHA)
        loss.backward()
        opt.step()
        return float(loss.data)
    return step


def make_numpy():
    params = [(W.copy(), b.copy()) for W, b in initial_weights()]
    y = Y[:, None]
    n = len(X)

    def step():
        (W1, b1), (W2, b2), (W3, b3) = params
        z1 = X @ W1 + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ W2 + b2
        a2 = np.maximum(z2, 0)
        s = a2 @ W3 + b3
        margin = 1 - y * s
        loss = np.maximum(margin, 0).mean() + ALPHA * sum((W * W).sum() for W, _ in params)
        ds = (margin > 0) * (-y / n)
        gW3, gb3 = a2.T @ ds, ds.sum(0)
        dz2 = (ds @ W3.T) * (z2 > 0)
        gW2, gb2 = a1.T @ dz2, dz2.sum(0)
        dz1 = (dz2 @ W2.T) * (z1 > 0)
        gW1, gb1 = X.T @ dz1, dz1.sum(0)
        for (W, b), gW, gb in zip(params, (gW1, gW2, gW3), (gb1, gb2, gb3)):
            W -= LR * (gW + 2 * ALPHA * W)
            b -= LR * gb
        return float(loss)
    return step


def make_torch(dtype_name="float64"):
    import torch
    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    layers = []
    for W, b in initial_weights():
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W.T, dtype=dtype))
            lin.bias.copy_(torch.tensor(b, dtype=dtype))
        layers.append(lin)
    model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
    weights = [lin.weight for lin in layers]
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x = torch.tensor(X, dtype=dtype)
    y = torch.tensor(Y[:, None], dtype=dtype)

    def step():
        opt.zero_grad()
        loss = torch.clamp(1 - y * model(x), min=0).mean() + ALPHA * sum(
            (w * w).sum() for w in weights)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def make_mygrad():
    import mygrad as mg
    params = [(mg.tensor(W.copy()), mg.tensor(b.copy())) for W, b in initial_weights()]
    flat = [t for pair in params for t in pair]
    y = Y[:, None]

    def step():
        (W1, b1), (W2, b2), (W3, b3) = params
        a1 = mg.maximum(mg.matmul(X, W1) + b1, 0)
        a2 = mg.maximum(mg.matmul(a1, W2) + b2, 0)
        s = mg.matmul(a2, W3) + b3
        loss = mg.mean(mg.maximum(1 - y * s, 0)) + ALPHA * (
            mg.sum(W1 * W1) + mg.sum(W2 * W2) + mg.sum(W3 * W3))
        loss.backward()
        for p in flat:
            p.data -= LR * p.grad
        loss.null_grad()
        return float(loss.item())
    return step


def make_autograd():
    import autograd.numpy as anp
    from autograd import value_and_grad
    params = [a.copy() for pair in initial_weights() for a in pair]
    y = Y[:, None]

    def loss_fn(p):
        W1, b1, W2, b2, W3, b3 = p
        a1 = anp.maximum(anp.dot(X, W1) + b1, 0)
        a2 = anp.maximum(anp.dot(a1, W2) + b2, 0)
        s = anp.dot(a2, W3) + b3
        return anp.mean(anp.maximum(1 - y * s, 0)) + ALPHA * (
            anp.sum(W1 * W1) + anp.sum(W2 * W2) + anp.sum(W3 * W3))

    vg = value_and_grad(loss_fn)

    def step():
        loss, grads = vg(params)
        for p, g in zip(params, grads):
            p -= LR * g
        return float(loss)
    return step


def make_micrograd():
    from micrograd.nn import MLP
    model = MLP(2, SIZES[1:])
    for layer, (W, b) in zip(model.layers, initial_weights()):
        for j, neuron in enumerate(layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(W[i, j])
            neuron.b.data = float(b[j])
    weights = [w for layer in model.layers for neuron in layer.neurons for w in neuron.w]
    params = model.parameters()
    xs = [list(map(float, row)) for row in X]
    ys = [float(v) for v in Y]

    def step():
        scores = [model(x) for x in xs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(w * w for w in weights)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return float(loss.data)
    return step


ENGINES = [
    ("nbgraph", make_nbgraph, {}),
    ("numpy (by hand)", make_numpy, {}),
    ("torch CPU float64", make_torch, {"dtype_name": "float64"}),
    ("torch CPU float32", make_torch, {"dtype_name": "float32"}),
    ("mygrad", make_mygrad, {}),
    ("autograd (HIPS)", make_autograd, {}),
    ("micrograd (scalars)", make_micrograd, {}),
]


# ---------------------------------------------------------------------------

def build(quick):
    engines, agree = [], []
    reference = None
    for name, factory, kw in ENGINES:
        try:
            step = factory(**kw)
        except ImportError as err:
            print(f"  {name}: not installed ({err}); pip install -e '.[bench]'")
            continue
        losses = [step() for _ in range(3)]          # also the first part of the warm-up
        if reference is None:
            reference = losses
        tol = 1e-4 if "float32" in name else 1e-9
        ok = np.allclose(losses, reference, rtol=tol, atol=tol)
        agree.append((name, ok, losses[-1]))
        slow = "micrograd" in name
        block = 1 if slow else (20 if quick else 100)
        for _ in range(0 if slow else block):        # warm-up
            step()
        engines.append([name, step, block, []])
    return engines, agree


def time_steps(engines, repeats):
    for _ in range(repeats):
        for entry in engines:
            name, step, block, times = entry
            if "micrograd" in name and len(times) >= 3:
                continue                             # a few samples are plenty at 100 ms+
            start = time.perf_counter()
            for _ in range(block):
                step()
            times.append((time.perf_counter() - start) / block * 1e3)


def print_table(engines, agree):
    ms = {name: statistics.median(times) for name, _, _, times in engines}
    base = ms["nbgraph"]
    print(f"\n{'engine':22s} {'ms/step':>9s} {'x nbgraph':>10s} {'spread':>16s}   loss after 3 steps")
    for (name, _, _, times), (_, ok, loss) in zip(engines, agree):
        spread = f"{min(times):.3f}-{max(times):.3f}"
        check = "" if ok else "  <- DISAGREES"
        print(f"{name:22s} {ms[name]:9.3f} {ms[name] / base:10.2f} {spread:>16s}   {loss:.10f}{check}")
    return ms


class Timed:
    """A reporter wrapped so that the time ``fit`` spends in it adds up:
    making it is timed by the caller, then ``start`` (widgets, figures),
    ``after_step``, ``after_epoch`` and ``finish``. That is the direct cost
    of live output, and unlike the difference of two training times it is
    not blurred by a busy machine."""

    def __init__(self, reporter):
        self.reporter, self.seconds = reporter, 0.0

    @property
    def stop_requested(self):
        return self.reporter.stop_requested

    def _timed(name):
        def method(self, *args):
            start = time.process_time()     # CPU time: what a busy machine does not inflate
            try:
                return getattr(self.reporter, name)(*args)
            finally:
                self.seconds += time.process_time() - start
        return method

    start, after_step = _timed("start"), _timed("after_step")
    after_epoch, finish = _timed("after_epoch"), _timed("finish")


def _make(live):
    from nbgraph.dashboard import Dashboard
    from nbgraph.progress import TextProgress
    from nbgraph.train import Reporter
    if live == "widgets":
        return Dashboard(display=lambda w: None)
    if live == "widgets+grads":
        return Dashboard(grads=True, display=lambda w: None)
    if live == "text":
        return TextProgress()
    return Reporter()


def live_overhead(steps, repeats):
    """fit() for ``steps`` epochs (one step each) with and without live output.

    Timed both by the wall clock and by this process's CPU time. The modes
    take turns, in a rotating order, ``repeats`` rounds. The overhead is
    shown four ways: the ratio of the medians; "paired", the median over
    rounds of each round's own ratio; "best", the ratio of the fastest runs;
    and "in reporter", the CPU time spent making and inside the reporter
    (``Timed``) against the median ``live=False`` CPU time -- on a busy shared
    machine the first three swing by several percent from run to run, even
    for the text line, whose real cost is nil; the last one does not. A run
    of one epoch shows the fixed part (making the figures and widgets, the
    first and the final draws). The first use of matplotlib and ipywidgets
    is left out: the warm-up run pays it.
    """
    def run(live, epochs):
        model = ng.nn.MLP(2, SIZES[1:], activation="relu", seed=0)
        opt = ng.optim.SGD(model.parameters(), lr=LR)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            wall, cpu = time.perf_counter(), time.process_time()
            made = time.process_time()
            reporter = Timed(_make(live))
            made = time.process_time() - made
            h = ng.fit(model, X, Y01, loss="hinge", l2=ALPHA, optimizer=opt, epochs=epochs,
                       live=reporter)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        extra = ""
        dash = h.dashboard
        if dash is not None:
            extra = (f"{dash.refreshes} refreshes, {dash.lossplot.redraws} loss-plot PNGs "
                     f"({dash.lossplot.full_redraws} with axes), {dash.boundary.redraws} "
                     f"boundary PNGs" + (f", {dash.gradplot.redraws} grad PNGs"
                                         if dash.gradplot else ""))
        return wall, cpu, made + reporter.seconds, extra

    modes = (("live=False", False), ("dashboard", "widgets"),
             ("dashboard, grads", "widgets+grads"), ("text line", "text"))
    run("widgets+grads", 5)           # imports and first-use costs out of the way
    fit = {}
    for epochs in (steps, 1):
        results = {label: [] for label, _ in modes}
        extras = {}
        rounds = repeats if epochs > 1 else 3 * repeats
        for r in range(rounds):
            for label, live in modes[r % len(modes):] + modes[:r % len(modes)]:
                *times, extras[label] = run(live, epochs)
                results[label].append(times)
        base = results["live=False"]
        base_wall = statistics.median(w for w, _, _ in base)
        base_cpu = statistics.median(c for _, c, _ in base)
        if epochs > 1:
            fit = {label: (statistics.median(c for _, c, _ in results[label]),
                           statistics.median(s for _, _, s in results[label]),
                           statistics.median(w / bw - 1 for (w, _, _), (bw, _, _)
                                             in zip(results[label], base)))
                   for label, _ in modes}
            print(f"\nng.fit, {epochs} steps ({rounds} rounds):   wall (median)     cpu (median)"
                  f"   paired    best   in reporter")
        else:
            print(f"\nng.fit, 1 step ({rounds} rounds):     wall (median)      cpu (median)"
                  f"      in reporter")
        for label, _ in modes:
            wall = statistics.median(w for w, _, _ in results[label])
            cpu = statistics.median(c for _, c, _ in results[label])
            inside = statistics.median(s for _, _, s in results[label])
            if epochs > 1:
                paired = statistics.median(w / bw - 1 for (w, _, _), (bw, _, _)
                                           in zip(results[label], base))
                best = min(w for w, _, _ in results[label]) / min(w for w, _, _ in base) - 1
                print(f"  {label:20s} {wall:6.3f} s {100 * (wall / base_wall - 1):+6.1f} %"
                      f"  {cpu:6.3f} s {100 * (cpu / base_cpu - 1):+6.1f} %"
                      f"  {100 * paired:+6.1f} % {100 * best:+6.1f} %"
                      f"  {1e3 * inside:4.0f} ms = {100 * inside / base_cpu:4.1f} %  {extras[label]}")
            else:
                print(f"  {label:20s} {1e3 * wall:6.1f} ms {1e3 * (wall - base_wall):+6.1f} ms"
                      f"  {1e3 * cpu:6.1f} ms {1e3 * (cpu - base_cpu):+6.1f} ms"
                      f"  {1e3 * inside:6.1f} ms")
    return fit


def verdict(fit, steps):
    """The overhead of the dashboards against the target, in two measures:
    the CPU time spent making and inside the reporter (steady on a busy
    machine), and the wall time of each round's live fit against the same
    round's ``live=False`` fit (the whole cost, blurred by other load)."""
    base = fit["live=False"][0]
    timing = fit["live=False"][1] / base      # what timing the calls costs by itself
    print(f"\nLive dashboard overhead, {steps}-step fit, against the target of "
          f"<= {TARGET:.0%} of the training time"
          + (":" if steps == 2000 else " (which is for 2,000 steps: a --quick run only smokes):"))
    for label in ("dashboard", "dashboard, grads"):
        _, inside, paired = fit[label]
        share = inside / base - timing
        ok = "met" if max(share, paired) <= TARGET else (
            "met in reporter time" if share <= TARGET else "NOT met")
        print(f"  {label:18s} in reporter {100 * share:5.1f} % (net of the timing's own "
              f"{100 * timing:.1f} %)   wall (paired) {100 * paired:+5.1f} %   -> {ok}")


def picture_costs(fit, repeats):
    """What the dashboard's pictures cost, as a share of a 2,000-step fit's
    CPU time (``live=False``): a fresh loss plot's and decision boundary's
    first images (the static parts drawn too), the same plots redrawn after
    the x axis grew (static parts drawn again) and redrawn with the same
    limits (lines, points and regions only)."""
    from nbgraph.boundary import BoundaryPlot
    from nbgraph.lossplot import LossPlot

    def predict(points):
        return 1 / (1 + np.exp(-points[:, 0]))

    def fresh():
        plot = LossPlot(xlabel="epoch", draw_now=False)
        plot.extend(range(1, 1001), np.linspace(1.0, 0.2, 1000))
        plot.redraw()
        boundary = BoundaryPlot(X, Y01, predict)
        boundary.redraw()
        return plot, boundary

    fresh()
    made = statistics.median(_cpu_seconds(fresh) for _ in range(5 * repeats))
    plot, boundary = fresh()
    same = statistics.median(_cpu_seconds(lambda: (plot.redraw(), boundary.redraw()))
                             for _ in range(5 * repeats))

    def new_limits():
        plot.record(plot.steps[-1] * 2, 0.5)        # the x axis grows: its static part is drawn
        plot.redraw()
        boundary.redraw()
    new = statistics.median(_cpu_seconds(new_limits) for _ in range(5 * repeats))
    base = fit["live=False"][0]
    print(f"\nThe pictures (loss plot of 1,000 points + decision boundary), CPU time:")
    for label, cost in (("first images", made), ("redrawn, new limits", new),
                        ("redrawn, same limits", same)):
        print(f"  {label:22s} {1e3 * cost:5.1f} ms = {100 * cost / base:4.1f} % of the fit")


def _cpu_seconds(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def profile_nbgraph(steps=2000):
    step = make_nbgraph()
    for _ in range(100):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    print(f"\ncProfile of {steps} nbgraph steps (top 15 by own time):")
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(15)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--profile", action="store_true", help="cProfile nbgraph's step")
    parser.add_argument("--live-only", action="store_true",
                        help="only the cost of live output (no engine table)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9
    print(f"MLP {'-'.join(map(str, SIZES))} relu, {len(X)} moons points full batch, hinge + "
          f"{ALPHA:g} L2, SGD lr {LR}; python {sys.version.split()[0]}, numpy {np.__version__}")
    if not args.live_only:
        engines, agree = build(args.quick)
        time_steps(engines, repeats)
        print_table(engines, agree)
    steps = 200 if args.quick else 2000
    fit = live_overhead(steps, 2 if args.quick else 8)
    picture_costs(fit, 2 if args.quick else 8)
    verdict(fit, steps)
    if args.profile:
        profile_nbgraph()


if __name__ == "__main__":
    main()
