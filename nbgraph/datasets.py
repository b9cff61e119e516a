"""Small toy data sets, generated with numpy from a seed (nothing is downloaded).

    X, y = ng.datasets.moons(n=100, noise=0.1, seed=0)   # X (100, 2) floats, y (100,) 0/1
    X, y = ng.datasets.spirals(n=150, classes=3)          # y in 0..2
    xs, ys = ng.datasets.sine_sequence(length=40)         # ys[t] = xs[t + 1]

The same arguments always give the same arrays.
"""

import numpy as np

__all__ = ["moons", "spirals", "sine_sequence", "signed"]


def _split(n, parts):
    """``n`` samples as evenly as possible over ``parts`` groups."""
    base, extra = divmod(int(n), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _shuffled(rng, X, y):
    order = rng.permutation(len(y))
    return X[order], y[order]


def moons(n=100, noise=0.1, seed=0):
    """Two interleaving half circles in 2-D.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 labels 0/1 (half each,
    shuffled). ``noise`` is the standard deviation of Gaussian jitter added to
    every coordinate. Use ``signed(y)`` for -1/+1 labels (the losses accept
    either).
    """
    if n < 2:
        raise ValueError(f"moons: need n >= 2 points, got {n}")
    rng = np.random.default_rng(seed)
    n_top, n_bottom = _split(n, 2)
    a = np.linspace(0.0, np.pi, n_top)
    b = np.linspace(0.0, np.pi, n_bottom)
    top = np.stack([np.cos(a), np.sin(a)], axis=1)
    bottom = np.stack([1.0 - np.cos(b), 0.5 - np.sin(b)], axis=1)
    X = np.concatenate([top, bottom])
    y = np.concatenate([np.zeros(n_top, dtype=np.int64), np.ones(n_bottom, dtype=np.int64)])
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    return _shuffled(rng, X, y)


def spirals(n=150, classes=3, noise=0.1, turns=1.0, seed=0):
    """``classes`` arms of a spiral in 2-D, one per class.

    Returns ``X`` (n, 2) float64 in roughly [-1, 1]² and ``y`` (n,) int64 in
    0..classes-1 (shuffled). ``noise`` jitters the angle (in radians, times
    the arm's spacing); ``turns`` is how many times each arm winds round.
    """
    if classes < 2:
        raise ValueError(f"spirals: need at least 2 classes, got {classes}")
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    for k, m in enumerate(_split(n, classes)):
        r = np.linspace(0.05, 1.0, m)
        theta = (2 * np.pi * turns * r + 2 * np.pi * k / classes
                 + rng.normal(0.0, noise, size=m) * (2 * np.pi / classes))
        Xs.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
        ys.append(np.full(m, k, dtype=np.int64))
    return _shuffled(rng, np.concatenate(Xs), np.concatenate(ys))


def sine_sequence(length=40, batch=None, period=20.0, noise=0.0, seed=0):
    """Sine waves for one-step-ahead prediction: the target at ``t`` is the input at ``t + 1``.

    Returns ``(xs, ys)``: with ``batch=None`` one wave, both (length, 1);
    with ``batch=B``, B waves with random phases, both (length, B, 1) -- the
    (T, batch, features) layout ``ng.nn.RNN`` reads. ``period`` is in steps;
    ``noise`` is the standard deviation of Gaussian noise added to the inputs
    only (the targets stay clean).

    The phase is random, so one value ``x_t`` does not say whether the wave is
    rising or falling: a good predictor has to remember the previous steps.
    """
    if length < 1:
        raise ValueError(f"sine_sequence: length must be >= 1, got {length}")
    rng = np.random.default_rng(seed)
    n = 1 if batch is None else int(batch)
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    t = np.arange(length + 1)[:, None]
    wave = np.sin(2 * np.pi * t / period + phase[None, :])          # (length + 1, n)
    xs, ys = wave[:-1].copy(), wave[1:].copy()
    if noise:
        xs += rng.normal(0.0, noise, size=xs.shape)
    if batch is None:
        return xs[:, :1], ys[:, :1]
    return xs[:, :, None], ys[:, :, None]


def signed(y):
    """0/1 labels as -1/+1 (floats)."""
    return np.where(np.asarray(y) > 0, 1.0, -1.0)
