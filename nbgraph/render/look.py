"""The look: colours (read from the stylesheet), gradient-size bins, and the
texts a box shows for a value and a gradient.

The stylesheet ``style.css`` is the one source of colours: the drawing in a
browser is styled by its rules, and ``PALETTE`` (used where there is no
browser: PNG files and ``to_dot``) reads its custom properties.
"""

import bisect
import math
import re
from importlib import resources

import numpy as np

from ..text import fmt_number, fmt_shape

__all__ = ["STYLESHEET", "PALETTE", "GRAD_BINS", "GRAD_COLORS", "GRAD_ZERO", "DARK_BINS",
           "grad_bin", "grad_color", "bin_label", "value_lines", "grad_line", "finite"]

STYLESHEET = resources.files(__package__).joinpath("style.css").read_text(encoding="utf-8")

PALETTE = {m.group(1).replace("-", "_"): m.group(2)
           for m in re.finditer(r"--ng-([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})", STYLESHEET)}

# color_by="grad": the largest |gradient| entry, by decade, on a diverging
# scale: cold blue = vanishing, pale = moderate, hot red = exploding;
# exactly 0 is grey, NaN/Inf magenta.
GRAD_BINS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3]
GRAD_COLORS = [PALETTE[f"grad_{k}"] for k in range(len(GRAD_BINS) + 1)]
GRAD_ZERO = PALETTE["grad_zero"]
DARK_BINS = {0, 1, 9, 10}          # white text on these


def finite(a):
    return bool(np.isfinite(a).all())


def grad_bin(g):
    """The bin of a gradient: an index into GRAD_COLORS, "zero", or None (NaN/Inf)."""
    g = np.asarray(g)
    if g.size == 0:
        return "zero"
    if not finite(g):
        return None
    m = float(np.abs(g).max())
    if m == 0.0:
        return "zero"
    return bisect.bisect_right(GRAD_BINS, m)


def grad_color(g):
    b = grad_bin(g)
    if b is None:
        return PALETTE["nonfinite"]
    return GRAD_ZERO if b == "zero" else GRAD_COLORS[b]


def _decade(v):
    return {1.0: "1", 10.0: "10", 100.0: "100", 1e3: "1000", 0.1: "0.1", 0.01: "0.01"}.get(
        v, f"1e{int(round(math.log10(v)))}")


def bin_label(i):
    """The legend's text for bin ``i`` (plain text)."""
    if i == 0:
        return f"<{_decade(GRAD_BINS[0])}"
    return f"≥{_decade(GRAD_BINS[i - 1])}"


# -- numbers in boxes ----------------------------------------------------------------

def _num(v):
    """Array entries in boxes: 3 significant digits (scalars use fmt_number's 4)."""
    v = float(v)
    if not math.isfinite(v) or (v == int(v) and abs(v) < 1e6):
        return fmt_number(v)
    return f"{v:.3g}"


def _nested(a):
    if a.ndim == 0:
        return _num(a)
    return "[" + ", ".join(_nested(x) for x in a) + "]"


def value_lines(a):
    """What a box shows as the value: a number, a small array inline, or shape + summary."""
    a = np.asarray(a)
    if a.size == 1:
        return [fmt_number(a.reshape(()))]
    if a.size == 0:
        return [f"[{fmt_shape(a.shape)}] empty"]
    if a.size <= 6:
        if a.ndim == 1:
            return [_nested(a)]
        if a.ndim == 2 and a.shape[0] <= 3:
            rows = [_nested(r) for r in a]
            return ["[" + rows[0] + ","] + [" " + r + "," for r in rows[1:-1]] + [" " + rows[-1] + "]"]
        return [f"[{fmt_shape(a.shape)}]", ", ".join(_num(v) for v in a.ravel())]
    if not finite(a):
        bad = "NaN" if np.isnan(a).any() else "Inf"
        return [f"[{fmt_shape(a.shape)}]", f"{bad} in {int((~np.isfinite(a)).sum())} of {a.size}"]
    return [f"[{fmt_shape(a.shape)}]",
            f"mean {_num(a.mean())} · norm {_num(np.sqrt((a * a).sum()))}"]


def grad_line(g):
    g = np.asarray(g)
    if g.size == 1:
        return f"grad {fmt_number(g.reshape(()))}"
    if g.size == 0:
        return "grad (empty)"
    if g.size <= 6:
        return "grad " + _nested(g)
    if not finite(g):
        bad = "NaN" if np.isnan(g).any() else "Inf"
        return f"grad: {bad} in {int((~np.isfinite(g)).sum())} of {g.size}"
    return f"grad norm {_num(np.sqrt((g * g).sum()))}"
