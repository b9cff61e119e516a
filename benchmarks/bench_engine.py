"""One training step of an MLP 2-16-16-1: nbgraph's engine against hand-written numpy.

Workload: 100 points of two moons, full batch, relu, hinge loss + 1e-4 L2,
SGD lr 0.05. The numpy version writes forward and backward by hand, so it
is the floor: what the same arithmetic costs with no graph at all. The
engine records a full graph on every step, so the ratio is its overhead.
PyTorch (CPU, float64, one thread) runs the same step with its own autograd,
and "before" is the engine as it was when issue 11 started (``BEFORE`` below,
read from git and loaded as a module of its own) so the table shows the gain.

Timing: warm-up, then ROUNDS rounds; in each round every contender times a
block of steps in turn (interleaved, so a busy machine slows them alike).
The ratio printed is the median over rounds of (contender / numpy) in the
same round.

    python benchmarks/bench_engine.py              # the table
    python benchmarks/bench_engine.py --profile    # cProfile of the nbgraph step
"""

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from nbgraph import engine  # noqa: E402

LR, ALPHA = 0.05, 1e-4
BEFORE = "58607ec"                  # main when issue 11 started
BEFORE_RECORDED = 2.84              # its ratio to numpy, measured in one run with this script
TARGET = 2.0


def moons(n=100, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.standard_normal((n, 2)), np.where(upper, 1.0, -1.0)


def init(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [2, 16, 16, 1]
    Ws = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes, sizes[1:])]
    bs = [np.zeros(b) for b in sizes[1:]]
    return Ws, bs


def nbgraph_step(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    h1 = (X @ W1 + b1).relu()
    h2 = (h1 @ W2 + b2).relu()
    score = (h2 @ W3 + b3).reshape(-1)
    data_loss = (1 - y * score).relu().mean()
    reg = ALPHA * ((W1 * W1).sum() + (W2 * W2).sum() + (W3 * W3).sum())
    loss = data_loss + reg
    for p in params:
        p.zero_grad()
    loss.backward()
    for p in params:
        p.data -= LR * p.grad
    return loss.item()


def numpy_step(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    a1 = X @ W1 + b1; h1 = np.maximum(a1, 0)
    a2 = h1 @ W2 + b2; h2 = np.maximum(a2, 0)
    score = (h2 @ W3 + b3).reshape(-1)
    margin = 1 - y * score
    loss = np.maximum(margin, 0).mean() + ALPHA * ((W1 * W1).sum() + (W2 * W2).sum() + (W3 * W3).sum())
    dscore = -1.0 * (margin > 0) * y / len(y)
    dW3 = h2.T @ dscore[:, None] + 2 * ALPHA * W3; db3 = dscore.sum(keepdims=True)
    da2 = (dscore[:, None] @ W3.T) * (a2 > 0)
    dW2 = h1.T @ da2 + 2 * ALPHA * W2; db2 = da2.sum(0)
    da1 = (da2 @ W2.T) * (a1 > 0)
    dW1 = X.T @ da1 + 2 * ALPHA * W1; db1 = da1.sum(0)
    for p, g in zip(params, (dW1, db1, dW2, db2, dW3, db3)):
        p -= LR * g
    return float(loss)


def torch_contender(Ws, bs, X, y):
    """The same step in PyTorch (float64, one thread), or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for pair in zip(Ws, bs) for a in pair]

    def step(params, X, y):
        W1, b1, W2, b2, W3, b3 = params
        h1 = torch.relu(X @ W1 + b1)
        h2 = torch.relu(h1 @ W2 + b2)
        score = (h2 @ W3 + b3).reshape(-1)
        loss = torch.relu(1 - y * score).mean() + ALPHA * ((W1 * W1).sum() + (W2 * W2).sum() + (W3 * W3).sum())
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss.item()

    return "PyTorch (CPU, float64)", step, params, torch.tensor(X), torch.tensor(y)


def engine_before():
    """engine.py at BEFORE, loaded as its own module (it imports numpy only), or None."""
    try:
        source = subprocess.run(["git", "-C", ROOT, "show", f"{BEFORE}:nbgraph/engine.py"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("nbgraph_engine_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"engine.py@{BEFORE}", "exec"), module.__dict__)
    return module


def time_interleaved(runs, n=100, rounds=30):
    """Seconds per step for each contender, one list entry per round."""
    for _, step, params, X, y in runs:
        for _ in range(30):
            step(params, X, y)
    times = {name: [] for name, *_ in runs}
    for _ in range(rounds):
        for name, step, params, X, y in runs:
            t0 = time.perf_counter()
            for _ in range(n):
                step(params, X, y)
            times[name].append((time.perf_counter() - t0) / n)
    return times


def contenders(X, y):
    Ws, bs = init()
    runs = [("hand-written numpy", numpy_step, [a.copy() for pair in zip(Ws, bs) for a in pair], X, y),
            ("nbgraph", nbgraph_step, [engine.parameter(a.copy()) for pair in zip(Ws, bs) for a in pair], X, y)]
    before = engine_before()
    if before is not None:
        runs.append((f"nbgraph before ({BEFORE})", nbgraph_step,
                     [before.parameter(a.copy()) for pair in zip(Ws, bs) for a in pair], X, y))
    t = torch_contender(Ws, bs, X, y)
    if t is not None:
        runs.append(t)
    # Same start, same arithmetic: the losses must agree before timing means anything.
    for _ in range(5):
        losses = [step(params, X_, y_) for _, step, params, X_, y_ in runs]
        assert max(losses) - min(losses) < 1e-9, losses
    return runs


def profile(X, y, steps=3000):
    Ws, bs = init()
    params = [engine.parameter(a.copy()) for pair in zip(Ws, bs) for a in pair]
    for _ in range(50):
        nbgraph_step(params, X, y)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        nbgraph_step(params, X, y)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(18)
    print(f"cProfile of {steps} nbgraph steps, by own time:")
    print(out.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", action="store_true", help="cProfile the nbgraph step instead")
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    X, y = moons()
    if args.profile:
        profile(X, y)
        return
    runs = contenders(X, y)
    times = time_interleaved(runs, rounds=args.rounds)
    base = times["hand-written numpy"]
    print("MLP 2-16-16-1, 100 points, hinge + L2, SGD: one training step")
    print(f"{'':28}{'ms/step':>10}{'vs numpy':>10}   (medians of {args.rounds} interleaved rounds)")
    ratio = {}
    for name in times:
        ratio[name] = statistics.median(t / b for t, b in zip(times[name], base))
        print(f"{name:28}{statistics.median(times[name]) * 1e3:10.3f}{ratio[name]:10.2f}")
    before = next((r for n, r in ratio.items() if n.startswith("nbgraph before")), None)
    if before is None:
        print(f"nbgraph before ({BEFORE}): {BEFORE_RECORDED:.2f}x numpy (recorded; git not available)")
    print(f"before -> after: {before or BEFORE_RECORDED:.2f}x -> {ratio['nbgraph']:.2f}x numpy")
    torch_name = next((n for n in ratio if n.startswith("PyTorch")), None)
    if torch_name:
        print(f"nbgraph / PyTorch: {ratio['nbgraph'] / ratio[torch_name]:.2f}")
    print(f"target: nbgraph within {TARGET:g}x of numpy -> "
          f"{'met' if ratio['nbgraph'] <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
