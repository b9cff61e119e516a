"""A live loss curve for a training loop running in a notebook cell.

    with ng.LossPlot() as plot:              # shows the plot in the notebook
        for step in range(500):
            ...
            plot.update(step, float(loss))   # cheap: redraws at most every ~0.2 s
    # leaving the block draws the final curve

or, without ``with``: ``plot = ng.LossPlot(); display(plot)``, then
``plot.update(...)`` in the loop and ``plot.close()`` at the end.

How it works: one matplotlib ``Figure`` drawn by the Agg canvas directly (no
pyplot, so no global state and no extra inline-backend copies of the
figure); each redraw only moves the line data and rescales the axes, renders,
and sends the PNG bytes to an ``ipywidgets.Image``, whose value the notebook
shows as it changes, even while the cell is still running. Redraws are
throttled: at most one per ``interval`` seconds, and never more than
``budget`` of the elapsed time (a slow machine redraws less often instead of
training slower).
"""

import io
import math
import time

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["LossPlot", "png_bytes", "in_notebook"]


def in_notebook():
    """True when running inside an IPython kernel (a notebook or Jupyter console)."""
    import sys
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def png_bytes(canvas):
    """Render ``canvas`` (a FigureCanvasAgg) and encode it as PNG bytes.

    Drawing into the Agg buffer and handing it to Pillow with light
    compression is several times cheaper than ``savefig``.
    """
    canvas.draw()
    return _encode_png(canvas)


class Throttle:
    """Say when it is time to redraw: at most once per ``interval`` seconds, and
    spending at most ``budget`` of the time drawing (measured with ``clock``):
    after a draw that took ``c`` seconds the next one waits ``c (1 - budget) /
    budget``, but never more than ``max_wait``, so the picture never freezes."""

    def __init__(self, interval=0.2, budget=0.05, clock=time.monotonic, max_wait=1.0):
        self.interval, self.budget, self.clock = float(interval), float(budget), clock
        self.max_wait = max(float(max_wait), self.interval)
        self.next_due = -math.inf

    def due(self):
        return self.clock() >= self.next_due

    def run(self, draw):
        start = self.clock()
        draw()
        end = self.clock()
        cost = max(0.0, end - start)
        wait = self.interval
        if self.budget > 0:
            wait = min(max(wait, cost * (1.0 - self.budget) / self.budget), self.max_wait)
        self.next_due = end + wait


class LossPlot:
    """A loss curve that grows while a loop runs.

    ``update(step, loss, second=None)`` records a point (cheap) and redraws
    when the throttle allows; ``close()`` (or leaving a ``with`` block) draws
    the final state. ``second="val loss"`` adds a second series (validation
    loss, accuracy...); with ``second_axis=True`` it gets its own y axis on
    the right (for numbers on another scale, such as an accuracy).
    ``log=True`` puts the loss on a log scale. ``xmax`` fixes the x range
    (e.g. the number of epochs); otherwise it grows in steps of 1, 2, 5 x 10^k.

    ``widget`` is the ``ipywidgets.Image`` (CSS class ``nbgraph-lossplot``);
    displaying the LossPlot displays it. ``redraws`` counts the redraws.
    ``clock`` (default ``time.monotonic``) may be replaced, e.g. by a fake
    clock in tests.
    """

    def __init__(self, *, title=None, xlabel="step", ylabel="loss", label="loss", second=None,
                 second_axis=False, log=False, interval=0.2, budget=0.05, clock=time.monotonic,
                 xmax=None, width=5.0, height=2.8, dpi=80, max_points=2000, draw_now=True):
        self.steps, self.losses, self.seconds = [], [], []
        self.redraws = 0            # images sent
        self.full_redraws = 0       # of which with the axes redrawn (limits changed)
        self.xmax = float(xmax) if xmax else None
        self._background = self._drawn_limits = self._ylim = self._y2lim = None
        self.log = bool(log)
        self.xlabel = xlabel
        self.max_points = int(max_points)
        self.throttle = Throttle(interval, budget, clock)
        self._dirty = False
        self._shown = False

        self.figure = Figure(figsize=(width, height), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        # Fixed margins: no layout engine to run on every redraw.
        self.figure.subplots_adjust(left=0.14, right=0.86 if second_axis else 0.97,
                                    bottom=0.17, top=0.88 if title else 0.95)
        ax = self.ax = self.figure.add_subplot(1, 1, 1)
        if title:
            ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.locator_params(axis="x", nbins=4)
        if not self.log:
            ax.locator_params(axis="y", nbins=4)
        ax.grid(True, alpha=0.3)
        if self.log:
            ax.set_yscale("log")
        (self.line,) = ax.plot([], [], color="C0", lw=1.5, label=label)
        self.second_label = second
        self.ax2 = None
        self.line2 = None
        if second:
            target = ax
            if second_axis:
                target = self.ax2 = ax.twinx()
                self.ax2.set_ylabel(second, fontsize=9)
                self.ax2.tick_params(labelsize=8)
            (self.line2,) = target.plot([], [], color="C1", lw=1.5, label=second)
            handles = [self.line, self.line2]
            ax.legend(handles=handles, labels=[h.get_label() for h in handles], fontsize=8,
                      loc="upper right")
        self.text = ax.text(0.5 if second else 0.98, 0.92, "", transform=ax.transAxes,
                            fontsize=8, color="0.3", ha="center" if second else "right")
        # Animated artists are left out of the full draw and blitted on top of it.
        self._animated = [a for a in (self.line, self.line2, self.text) if a is not None]
        for artist in self._animated:
            artist.set_animated(True)

        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-lossplot")
        if draw_now:
            self.redraw()    # show empty axes straight away

    # -- recording ------------------------------------------------------------
    def update(self, step, loss, second=None):
        """Record ``loss`` (and ``second``) at ``step``; redraw if it is time.

        Returns True when this call redrew the image.
        """
        self.record(step, loss, second)
        if self.throttle.due():
            self.throttle.run(self._draw)
            return True
        return False

    def record(self, step, loss, second=None):
        """Record a point without drawing (a dashboard decides when to redraw)."""
        self.steps.append(float(step))
        self.losses.append(float(loss))
        if self.line2 is not None:
            self.seconds.append(math.nan if second is None else float(second))
        self._dirty = True

    def redraw(self):
        """Draw now, whatever the throttle says."""
        self.throttle.run(self._draw)

    def close(self):
        """Final redraw (only if something changed since the last one)."""
        if self._dirty:
            self.redraw()

    def __enter__(self):
        self.show()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def show(self):
        """Display the plot once, if running in a notebook."""
        if not self._shown and in_notebook():
            from IPython.display import display
            display(self.widget)
            self._shown = True

    @property
    def png(self):
        """The PNG bytes on show."""
        return bytes(self.widget.value)

    def _repr_mimebundle_(self, **kwargs):
        self._shown = True
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        last = f", last loss {self.losses[-1]:.4g}" if self.losses else ""
        return f"LossPlot({len(self.losses)} points{last}, {self.redraws} redraws)"

    # -- drawing ------------------------------------------------------------
    def _thin(self, values):
        """At most ``max_points`` evenly spaced points: drawing cost stays flat."""
        n = len(values)
        if n <= self.max_points:
            return np.asarray(values, dtype=np.float64)
        idx = np.linspace(0, n - 1, self.max_points).astype(np.intp)
        return np.asarray(values, dtype=np.float64)[idx]

    def _draw(self):
        """Redraw. The axes (ticks, labels, grid) are drawn only when their
        limits change, which they do in coarse jumps; otherwise the saved
        background is restored and only the lines are drawn on it (blitting)."""
        x = y = y2 = None
        if self.steps:
            x, y = self._thin(self.steps), self._thin(self.losses)
            self.line.set_data(x, y)
            if self.line2 is not None:
                y2 = self._thin(self.seconds)
                self.line2.set_data(x, y2)
            self.text.set_text(f"{self.xlabel} {self.steps[-1]:g}: {self.losses[-1]:.4g}")
        limits = self._limits(x, y, y2)
        if limits != self._drawn_limits or self._background is None:
            self._apply_limits(limits)
            self.canvas.draw()                  # everything but the animated artists
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._drawn_limits = limits
            self.full_redraws += 1
        else:
            self.canvas.restore_region(self._background)
        for artist in self._animated:
            artist.axes.draw_artist(artist)
        self.widget.value = _encode_png(self.canvas)
        self.redraws += 1
        self._dirty = False

    def _limits(self, x, y, y2):
        """Axis limits that change rarely: x grows in nice steps (or is fixed by
        ``xmax``), y covers everything seen so far with headroom (whole decades
        on a log scale)."""
        if x is None:
            return (0.0, self.xmax or 1.0), None, None
        xhi = self.xmax or _nice_ceiling(max(float(x[-1]), 1.0))
        xlim = (min(0.0, float(x[0])), xhi)
        ylim = _value_limits(y if (y2 is None or self.ax2 is not None) else np.concatenate([y, y2]),
                             self.log, self._ylim)
        self._ylim = ylim
        y2lim = None
        if self.ax2 is not None and y2 is not None:
            y2lim = self._y2lim = _value_limits(y2, False, self._y2lim)
        return xlim, ylim, y2lim

    def _apply_limits(self, limits):
        xlim, ylim, y2lim = limits
        self.ax.set_xlim(*xlim)
        if ylim is not None:
            self.ax.set_ylim(*ylim)
        if y2lim is not None:
            self.ax2.set_ylim(*y2lim)


def _encode_png(canvas):
    from PIL import Image
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.save(out, format="png", compress_level=1)
    return out.getvalue()


def _nice_ceiling(v):
    """The smallest of 1, 2, 5 x 10^k that is >= v."""
    k = 10.0 ** math.floor(math.log10(v))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * k >= v:
            return m * k
    return 10.0 * k


def _value_limits(values, log, previous):
    """y limits covering ``values`` and the previous limits; they only ever
    grow, in coarse steps, so the axes are rarely redrawn."""
    values = values[np.isfinite(values)]
    if log:
        values = values[values > 0]
    if values.size == 0:
        return previous
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo = 10.0 ** math.floor(math.log10(lo))
        hi = 10.0 ** math.ceil(math.log10(hi))
        if hi <= lo:
            hi = lo * 10.0
    else:
        if previous is None:
            hi = hi + 0.15 * max(hi - min(lo, 0.0), abs(hi), 1e-3)   # headroom: a loss may rise first
        span = max(hi - lo, abs(hi) * 0.1, 1e-3)
        step = _nice_ceiling(span) / 5.0
        lo = min(0.0, math.floor(lo / step) * step) if lo >= 0 else math.floor(lo / step) * step
        hi = math.ceil(hi / step) * step
        if hi <= lo:
            hi = lo + step
    if previous is not None:
        if lo >= previous[0] and hi <= previous[1]:
            return previous
        # Outgrown: grow with headroom, so a steadily growing series (an
        # accuracy, a diverging loss) rebuilds the axes a few times, not often.
        span = previous[1] - previous[0]
        if log:
            if lo < previous[0]:
                lo = lo / 10.0
            if hi > previous[1]:
                hi = hi * 10.0
        else:
            if lo < previous[0]:
                lo = lo - 0.5 * span
            if hi > previous[1]:
                hi = hi + 0.5 * span
        lo, hi = min(lo, previous[0]), max(hi, previous[1])
    return lo, hi


class BoundaryPlot:
    """The decision regions of a 2-D classifier, with the data on top.

    ``predict(points)`` takes an (M, 2) array and returns, per point, either a
    number in [0, 1] (binary: the colour runs from class 0 to class 1) or, if
    ``classes`` > 2, a class index. The data points stay fixed; each
    ``redraw()`` recomputes the regions on a ``grid`` x ``grid`` lattice and
    blits the image and the points onto the saved axes.
    """

    def __init__(self, X, y, predict, *, classes=2, grid=40, title="decision boundary",
                 width=3.2, height=2.8, dpi=80):
        from matplotlib.colors import ListedColormap
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.predict, self.classes, self.grid = predict, int(classes), int(grid)
        self.redraws = 0
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-9)
        lo, hi = lo - pad, hi + pad
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], self.grid), np.linspace(lo[1], hi[1], self.grid))
        self.points = np.stack([gx.ravel(), gy.ravel()], axis=1)

        self.figure = Figure(figsize=(width, height), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.03, right=0.97, bottom=0.03, top=0.9)
        ax = self.ax = self.figure.add_subplot(1, 1, 1)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])       # the coordinates matter little here, and text is
        ax.set_yticks([])       # the slowest thing to draw
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        extent = (lo[0], hi[0], lo[1], hi[1])
        if self.classes > 2:
            cmap = ListedColormap([f"C{k % 10}" for k in range(self.classes)])
            vmin, vmax, interp = -0.5, self.classes - 0.5, "nearest"
            colours = y.astype(np.float64)
        else:
            cmap, vmin, vmax, interp = "RdBu", 0.0, 1.0, "bilinear"
            colours = (y > (0.0 if y.min() < 0 else 0.5)).astype(np.float64)
        self.image = ax.imshow(np.full((self.grid, self.grid), np.nan), extent=extent,
                               origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, alpha=0.45,
                               interpolation=interp, aspect="auto", animated=True)
        self.scatter = ax.scatter(X[:, 0], X[:, 1], c=colours, cmap=cmap, vmin=vmin, vmax=vmax,
                                  s=12, edgecolors="k", linewidths=0.4, animated=True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-boundary")

    def redraw(self):
        values = np.asarray(self.predict(self.points), dtype=np.float64)
        self.image.set_data(values.reshape(self.grid, self.grid))
        self.canvas.restore_region(self._background)
        self.ax.draw_artist(self.image)
        self.ax.draw_artist(self.scatter)
        self.widget.value = _encode_png(self.canvas)
        self.redraws += 1

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
