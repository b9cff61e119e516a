"""ng.torch.trace on a transformer block, against the plain PyTorch step it draws.

Workload: one transformer block written with explicit attention (q/k/v
projections, softmax, residuals, layer norm, a feed-forward net), d=64,
4 heads, batch 8 x 16 tokens, float64 on the CPU; loss = mean of squares.

* plain      -- forward + loss + loss.backward() in PyTorch (the peer).
* trace      -- the same forward inside ``ng.torch.trace(model)``, then
                ``tr.graph(loss)``: what a user pays to get a drawable graph.
* + steps    -- and the backward steps built (every node's gradient, the
                layer norms differentiated by PyTorch on the recorded inputs).

Rounds are interleaved; the best round of each is compared (the least disturbed
by other work on the machine), the medians are printed beside. Target: trace +
tr.graph within 3x of plain. Every contender runs on one thread.

    python benchmarks/bench_torch.py
"""

import math
import os
import statistics
import time

# One thread for every contender (torch's and numpy's BLAS alike): the machine is
# shared, and a BLAS thread pool fighting for two cores measures the neighbours.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch
import torch.nn as nn

import nbgraph as ng

TARGET = 3.0


class Block(nn.Module):
    def __init__(self, d=64, heads=4):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.proj = (nn.Linear(d, d) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))

    def forward(self, x):
        B, T, D = x.shape
        H = self.heads

        def split(t):
            return t.view(B, T, H, D // H).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // H), dim=-1)
        x = self.norm1(x + self.proj((weights @ v).transpose(1, 2).reshape(B, T, D)))
        return self.norm2(x + self.ff(x))


def plain(model, x):
    model.zero_grad()
    loss = model(x).pow(2).mean()
    loss.backward()


def traced(model, x):
    with ng.torch.trace(model) as tr:
        loss = model(x).pow(2).mean()
    return tr.graph(loss)


def traced_steps(model, x):
    traced(model, x).backward_steps


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main(rounds=30):
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    model, x = Block(), torch.randn(8, 16, 64)
    runs = {"plain": plain, "trace + tr.graph": traced, "  + backward steps": traced_steps}
    for fn in runs.values():          # warm up (first define_op, caches)
        fn(model, x)
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            times[name].append(timed(fn, model, x))
    G = traced(model, x)
    best = {name: min(ts) for name, ts in times.items()}
    median = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"ng.torch.trace, transformer block d=64, 4 heads, batch 8x16, float64, one thread, "
          f"{len(G.nodes)} nodes; {rounds} interleaved rounds")
    print(f"{'':22s}{'best ms':>9s}{'x plain':>9s}{'median ms':>11s}{'x plain':>9s}")
    for name in times:
        print(f"{name:22s}{best[name] * 1e3:9.2f}{best[name] / best['plain']:9.2f}"
              f"{median[name] * 1e3:11.2f}{median[name] / median['plain']:9.2f}")
    ratio = best["trace + tr.graph"] / best["plain"]
    print(f"target: trace + tr.graph <= {TARGET:g}x plain forward+backward: "
          f"{'met' if ratio <= TARGET else 'NOT met'} ({ratio:.2f}x, best rounds)")


if __name__ == "__main__":
    main()
