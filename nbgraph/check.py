"""gradcheck: compare the engine's gradients with finite differences.

For each input x_i and each element, the numerical derivative is the central
difference (L(x + eps) - L(x - eps)) / (2 eps), where L projects the output on
a fixed random direction (a plain sum would hide errors that sum to zero, as
in softmax). The user's tensors and their ``.grad`` are left untouched: the
check works on copies.
"""

import numpy as np

from .engine import Tensor, backprop, no_grad

__all__ = ["gradcheck", "GradcheckError", "GradcheckReport"]


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


class InputCheck:
    __slots__ = ("name", "shape", "max_abs_error", "max_rel_error", "worst_index",
                 "analytic", "numeric", "ok")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self):
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"{self.name} {self.shape}: max abs error {self.max_abs_error:.2e}, "
                f"max rel error {self.max_rel_error:.2e} -> {verdict}")


class GradcheckReport:
    """Per input: max abs/rel error, the worst element, pass or fail."""

    def __init__(self, inputs):
        self.inputs = inputs

    @property
    def ok(self):
        return all(i.ok for i in self.inputs)

    def __bool__(self):
        return self.ok

    def __iter__(self):
        return iter(self.inputs)

    def __getitem__(self, i):
        return self.inputs[i]

    def worst(self):
        return max(self.inputs, key=lambda i: (not i.ok, i.max_abs_error))

    def raise_if_failed(self):
        if not self.ok:
            w = self.worst()
            raise GradcheckError(
                f"gradcheck failed for {w.name} {w.shape}: at index {w.worst_index} the "
                f"engine says {w.analytic:.6g} but finite differences say {w.numeric:.6g} "
                f"(abs error {w.max_abs_error:.2e})")
        return self

    def __repr__(self):
        head = "gradcheck passed" if self.ok else "gradcheck FAILED"
        return head + "\n" + "\n".join(f"  {i!r}" for i in self.inputs)


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_on_failure=False):
    """Check ``f(*inputs)``'s analytic gradient against central differences.

    ``inputs`` are Tensors or arrays; ``f`` must build its result from its
    arguments. Returns a ``GradcheckReport``; with ``raise_on_failure=True``
    raises ``GradcheckError`` naming the worst element instead.
    """
    with np.errstate(all="ignore"):     # a NaN shows in the report; no numpy warning from here
        return _gradcheck(f, inputs, eps, atol, rtol, seed, raise_on_failure)


def _gradcheck(f, inputs, eps, atol, rtol, seed, raise_on_failure):
    leaves = []
    for k, x in enumerate(inputs):
        data = x.data if isinstance(x, Tensor) else x
        name = (x.name if isinstance(x, Tensor) else None) or f"input {k}"
        leaves.append(Tensor(np.array(data, dtype=np.float64), name=name))
    out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return an nbgraph Tensor, got {type(out).__name__}")
    direction = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    if not out.requires_grad:
        raise ValueError("gradcheck: f's result does not depend on any of its inputs")
    grads = backprop([out], [direction])

    def projected():
        with no_grad():
            return float((f(*leaves).data * direction).sum())

    checks = []
    for leaf in leaves:
        analytic = grads.get(leaf, np.zeros_like(leaf.data))
        numeric = np.zeros_like(leaf.data)
        flat = leaf.data.reshape(-1)           # a view: writes go into leaf.data
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            up = projected()
            flat[i] = keep - eps
            down = projected()
            flat[i] = keep
            numeric.reshape(-1)[i] = (up - down) / (2 * eps)
        err = np.abs(analytic - numeric)
        rel = err / np.maximum(np.abs(numeric), 1e-12)
        bad = ~(err <= atol + rtol * np.abs(numeric))     # a NaN on either side is a mismatch
        worst = int(np.argmax(np.where(bad, err, -1.0) if bad.any() else err)) if err.size else 0
        idx = np.unravel_index(worst, leaf.shape) if leaf.shape else ()
        checks.append(InputCheck(
            name=leaf.name, shape=leaf.shape,
            max_abs_error=float(err.max()) if err.size else 0.0,
            max_rel_error=float(rel.max()) if rel.size else 0.0,
            worst_index=tuple(int(i) for i in idx),
            analytic=float(analytic.reshape(-1)[worst]) if err.size else 0.0,
            numeric=float(numeric.reshape(-1)[worst]) if err.size else 0.0,
            ok=not bad.any()))
    report = GradcheckReport(checks)
    return report.raise_if_failed() if raise_on_failure else report
