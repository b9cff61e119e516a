"""One training step of an MLP 2-16-16-1: nbgraph's engine against hand-written numpy.

Workload: 100 points of two moons, full batch, relu, hinge loss + 1e-4 L2,
SGD lr 0.05. The numpy version writes forward and backward by hand, so it
is the floor: what the same arithmetic costs with no graph at all. The
engine records a full graph on every step, so the ratio is its overhead.

    python benchmarks/bench_engine.py            # prints a table
"""

import time

import numpy as np

import nbgraph as ng

LR, ALPHA = 0.05, 1e-4


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


def time_interleaved(runs, n=100, rounds=30):
    """Seconds per step for each (name, step, params, X, y), best of ``rounds``.

    The contenders take turns in short rounds, so a busy machine slows them
    alike; the best round of each is the least disturbed measurement.
    """
    for _, step, params, X, y in runs:
        for _ in range(30):
            step(params, X, y)
    best = {name: float("inf") for name, *_ in runs}
    for _ in range(rounds):
        for name, step, params, X, y in runs:
            t0 = time.perf_counter()
            for _ in range(n):
                step(params, X, y)
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    return best


def main():
    X, y = moons()
    Ws, bs = init()
    np_params = [a.copy() for pair in zip(Ws, bs) for a in pair]
    ng_params = [ng.parameter(a.copy()) for pair in zip(Ws, bs) for a in pair]
    # Same start, same arithmetic: the losses must agree before timing means anything.
    for _ in range(5):
        a, b = numpy_step(np_params, X, y), nbgraph_step(ng_params, X, y)
        assert abs(a - b) < 1e-9, (a, b)
    best = time_interleaved([("nbgraph", nbgraph_step, ng_params, X, y),
                             ("numpy", numpy_step, np_params, X, y)])
    t_ng, t_np = best["nbgraph"], best["numpy"]
    print("MLP 2-16-16-1, 100 points, hinge + L2, SGD: one training step")
    print(f"{'':22}{'ms/step':>10}{'vs numpy':>10}")
    print(f"{'hand-written numpy':22}{t_np * 1e3:10.3f}{1.0:10.2f}")
    print(f"{'nbgraph':22}{t_ng * 1e3:10.3f}{t_ng / t_np:10.2f}")
    print(f"target: nbgraph within 2x of numpy -> {'met' if t_ng / t_np <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
