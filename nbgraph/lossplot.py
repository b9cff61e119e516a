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
figure), and PNG bytes sent to an ``ipywidgets.Image``, whose value the
notebook shows as it changes, even while the cell is still running. Redraws
are throttled: at most one per ``interval`` seconds, and never more than
``budget`` of the elapsed time (a slow machine redraws less often instead of
training slower).

Redraws are cheap because they are blits: the axes, ticks and labels (text
is by far the slowest thing matplotlib draws) are rendered once into a
background, saved; a redraw restores it and draws only the line and its
label on top. The axes are redrawn only when their limits change, which they
do in coarse jumps.

A finished ``fit`` dashboard gives its figures back (``release_figure``) to
``SPARE_FIGURES``, and the next plot that looks the same takes them: building
a figure with axes costs more than drawing it, and a figure comes with the
background it last drew, so running the same ``fit`` cell again draws no
axes at all. (Without this, each finished dashboard would also keep its
figures alive as long as its widgets, i.e. as long as the kernel.)
"""

import math
import struct
import time
import zlib

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

    Drawing into the Agg buffer and encoding its pixels with light
    compression is several times cheaper than ``savefig``.
    """
    canvas.draw()
    return _encode_png(canvas)


class SpareFigures:
    """Figures given back by finished plots, kept for the next plot that
    looks the same: same kind, texts, size, scale, and the same rcParams as
    when the figure was built (so a style change never brings back an old
    look). Holds at most one figure per look, and ``size`` in all."""

    def __init__(self, size=4):
        self.size = int(size)
        self._figures = {}      # look -> figure, oldest first
        self.reused = 0

    def take(self, look):
        """A spare figure for ``look``, or None."""
        figure = self._figures.pop(look, None)
        if figure is None or figure.rc != _rc_snapshot():
            return None
        self.reused += 1
        return figure

    def give(self, figure):
        self._figures.pop(figure.look, None)
        self._figures[figure.look] = figure
        while len(self._figures) > self.size:
            del self._figures[next(iter(self._figures))]

    def clear(self):
        self._figures.clear()


SPARE_FIGURES = SpareFigures()


def _rc_snapshot():
    """The rcParams as a plain dict, read from their storage: copying and
    comparing take microseconds (``rcParams.copy()`` and ``==`` on RcParams
    go through the validating accessors: a fraction of a millisecond)."""
    import matplotlib
    return dict(dict.items(matplotlib.rcParams))


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


def _figure_attribute(name):
    return property(lambda self: getattr(self._acquire_figure(), name),
                    doc=f"The figure's ``{name}`` (a matplotlib object).")


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
    displaying the LossPlot displays it. ``redraws`` counts the redraws,
    ``full_redraws`` those that had to draw the axes too. ``clock`` (default
    ``time.monotonic``) may be replaced, e.g. by a fake clock in tests.
    ``figure``, ``ax``, ``ax2``, ``line``, ``line2`` and ``text`` are the
    matplotlib objects; ``release_figure()`` gives them up for reuse by the
    next plot (the image on show stays; drawing again takes a figure again).
    """

    figure = _figure_attribute("figure")
    canvas = _figure_attribute("canvas")
    ax = _figure_attribute("ax")
    ax2 = _figure_attribute("ax2")
    line = _figure_attribute("line")
    line2 = _figure_attribute("line2")
    text = _figure_attribute("text")

    def __init__(self, *, title=None, xlabel="step", ylabel="loss", label="loss", second=None,
                 second_axis=False, log=False, interval=0.2, budget=0.05, clock=time.monotonic,
                 xmax=None, width=5.0, height=2.8, dpi=80, max_points=2000, draw_now=True):
        self.steps, self.losses, self.seconds = [], [], []
        self.redraws = 0            # images sent
        self.full_redraws = 0       # of which with the axes drawn (new limits, new figure)
        self.xmax = float(xmax) if xmax else None
        self._ylim = self._y2lim = None
        self.log = bool(log)
        self.xlabel = xlabel
        self.second_label = second
        self.second_axis = bool(second and second_axis)
        self.max_points = int(max_points)
        self.throttle = Throttle(interval, budget, clock)
        self._dirty = False
        self._shown = False
        self._look = ("loss", title, xlabel, ylabel, label, second, self.second_axis, self.log,
                      float(width), float(height), float(dpi))
        self._figure = None
        self._acquire_figure()
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-lossplot")
        if draw_now:
            self.redraw()    # show empty axes straight away

    def _acquire_figure(self):
        if self._figure is None:
            figure = SPARE_FIGURES.take(self._look)
            if figure is None:
                figure = _LossFigure(self._look)
            else:
                figure.clear_data()
            self._figure = figure
        return self._figure

    def release_figure(self):
        """Give the matplotlib figure to the next plot that looks the same
        (see ``SPARE_FIGURES``); the image on show stays as it is."""
        if self._figure is not None:
            SPARE_FIGURES.give(self._figure)
            self._figure = None

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
        if self.second_label:
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
        figure = self._acquire_figure()
        x = y = y2 = None
        if self.steps:
            x, y = self._thin(self.steps), self._thin(self.losses)
            figure.line.set_data(x, y)
            if figure.line2 is not None:
                y2 = self._thin(self.seconds)
                figure.line2.set_data(x, y2)
            figure.text.set_text(f"{self.xlabel} {self.steps[-1]:g}: {self.losses[-1]:.4g}")
        if figure.draw(self._limits(x, y, y2)):
            self.full_redraws += 1
        self.widget.value = _encode_png(figure.canvas)
        self.redraws += 1
        self._dirty = False

    def _limits(self, x, y, y2):
        """Axis limits that change rarely: x grows in nice steps (or is fixed by
        ``xmax``), y covers everything seen so far with headroom (whole decades
        on a log scale)."""
        if x is None:       # nothing yet: the default ranges
            empty = (1.0, 10.0) if self.log else (0.0, 1.0)
            return (0.0, self.xmax or 1.0), empty, (0.0, 1.0) if self.second_axis else None
        xhi = self.xmax or _nice_ceiling(max(float(x[-1]), 1.0))
        xlim = (min(0.0, float(x[0])), xhi)
        ylim = _value_limits(y if (y2 is None or self.second_axis) else np.concatenate([y, y2]),
                             self.log, self._ylim)
        self._ylim = ylim
        y2lim = None
        if self.second_axis and y2 is not None:
            y2lim = self._y2lim = _value_limits(y2, False, self._y2lim)
        return xlim, ylim, y2lim


class _LossFigure:
    """The matplotlib side of a LossPlot: an Agg figure with its axes, the
    lines and their label, drawn by blitting. Reusable: a plot that is done
    with it gives it to the next one that looks the same (``SPARE_FIGURES``),
    background included."""

    def __init__(self, look):
        _, title, xlabel, ylabel, label, second, second_axis, log, width, height, dpi = look
        self.look, self.rc = look, _rc_snapshot()
        self.background = self.drawn_limits = None
        # No layout engine (fixed margins instead: nothing to recompute per
        # redraw, whatever figure.autolayout says) and no subplot grid.
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="none")
        self.canvas = FigureCanvasAgg(self.figure)
        left, right = 0.14, (0.86 if second_axis else 0.97)
        bottom, top = 0.17, (0.88 if title else 0.95)
        ax = self.ax = self.figure.add_axes((left, bottom, right - left, top - bottom))
        if title:
            ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        # Few ticks: text is by far the slowest thing matplotlib draws.
        ax.locator_params(axis="x", nbins=3)
        if not log:
            ax.locator_params(axis="y", nbins=4)
        ax.grid(True, alpha=0.3)
        if log:
            ax.set_yscale("log")
        (self.line,) = ax.plot([], [], color="C0", lw=1.5, label=label)
        self.ax2 = self.line2 = None
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
        self.animated = [a for a in (self.line, self.line2, self.text) if a is not None]
        for artist in self.animated:
            artist.set_animated(True)

    def clear_data(self):
        for line in (self.line, self.line2):
            if line is not None:
                line.set_data([], [])
        self.text.set_text("")

    def draw(self, limits):
        """Restore the background drawn for ``limits`` (drawing it first if it
        was drawn for other limits) and draw the animated artists on it.
        Returns True if it had to draw the background."""
        full = limits != self.drawn_limits
        if full:
            xlim, ylim, y2lim = limits
            self.ax.set_xlim(*xlim)
            if ylim is not None:
                self.ax.set_ylim(*ylim)
            if y2lim is not None:
                self.ax2.set_ylim(*y2lim)
            self.canvas.draw()                  # everything but the animated artists
            self.background = self.canvas.copy_from_bbox(self.figure.bbox)
            self.drawn_limits = limits
        else:
            self.canvas.restore_region(self.background)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        return full


def _encode_png(canvas):
    """The canvas's pixels as PNG bytes, written here: 8-bit RGB (the figures
    are opaque), rows unfiltered, zlib at its fastest level. About twice as
    fast as Pillow's encoder, which picks each row's filter by trying them
    all, and for these pictures (flat colours, smooth tints) no bigger."""
    rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]
    height, width, _ = rgb.shape
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)   # a row: filter type 0, pixels
    rows[:, 1:].reshape(height, width, 3)[...] = rgb
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)     # 8 bits, RGB
    return b"".join([b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", header),
                     _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
                     _png_chunk(b"IEND", b"")])


def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


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
    ``classes`` > 2, a class index. Each ``redraw()`` evaluates it on a
    ``grid`` x ``grid`` lattice (``points``) and shows the result as tinted
    regions (bilinear between the lattice points for a binary classifier, the
    nearest point's class otherwise), with the data points and a frame on top.

    No Axes: coordinates matter little here, and building an Axes (its ticks,
    spines, text) costs more than everything else in this picture. The plot
    area is a fixed box of pixels; the regions are computed in numpy straight
    into the Agg canvas's pixel buffer, and the points and the frame are
    drawn on them by Agg. The title, the only static part, is drawn once and
    restored from a saved copy (blitting) before each redraw.
    ``release_figure()`` works as ``LossPlot``'s.
    """

    ALPHA = 0.45    # how strongly the regions tint the background

    def __init__(self, X, y, predict, *, classes=2, grid=40, title="decision boundary",
                 width=3.2, height=2.8, dpi=80):
        import matplotlib
        from matplotlib.colors import to_rgb
        self.X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.predict, self.classes, self.grid = predict, int(classes), int(grid)
        self.redraws = 0
        lo, hi = self.X.min(axis=0), self.X.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-9)
        self.lo, self.hi = lo - pad, hi + pad
        gx, gy = np.meshgrid(np.linspace(self.lo[0], self.hi[0], self.grid),
                             np.linspace(self.lo[1], self.hi[1], self.grid))
        self.points = np.stack([gx.ravel(), gy.ravel()], axis=1)

        if self.classes > 2:
            palette = np.array([to_rgb(f"C{k % 10}") for k in range(self.classes)])
            self.point_colours = palette[np.clip(y.astype(np.intp), 0, self.classes - 1)]
        else:
            palette = matplotlib.colormaps["RdBu"](np.linspace(0.0, 1.0, 256))[:, :3]
            positive = y > (0.0 if y.min() < 0 else 0.5)
            self.point_colours = palette[np.where(positive, 255, 0)]
        # Region colours, already blended with the background: one look-up per pixel.
        background = np.array(to_rgb(matplotlib.rcParams["axes.facecolor"]))
        blended = self.ALPHA * palette + (1.0 - self.ALPHA) * background
        self._colours = np.round(255 * blended).astype(np.uint8)

        self._look = ("boundary", title, float(width), float(height), float(dpi))
        self._figure = None
        x0, y0, x1, y1 = self._acquire_figure().area
        # From the lattice to the pixels of the plot area (rows from the top):
        # the nearest lattice point of each pixel, and for bilinear
        # interpolation the lattice point before it and the next one's weight.
        h, w = y1 - y0, x1 - x0
        self._near = (_nearest(h, self.grid)[::-1], _nearest(w, self.grid))
        self._lerp = ([a[::-1] for a in _bilinear(h, self.grid)], _bilinear(w, self.grid))
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-boundary")

    def _acquire_figure(self):
        if self._figure is None:
            figure = SPARE_FIGURES.take(self._look) or _BoundaryFigure(self._look)
            figure.show_points(self.X, self.point_colours, self.lo, self.hi)
            self._figure = figure
        return self._figure

    def release_figure(self):
        """Give the matplotlib figure to the next plot that looks the same."""
        if self._figure is not None:
            SPARE_FIGURES.give(self._figure)
            self._figure = None

    def redraw(self):
        values = np.asarray(self.predict(self.points)).reshape(self.grid, self.grid)
        figure = self._acquire_figure()
        figure.draw(self._regions(values))
        self.widget.value = _encode_png(figure.canvas)
        self.redraws += 1

    def _regions(self, values):
        """RGB pixels of the plot area (top row first) for the lattice ``values``
        (row k of the lattice at the k-th y from the bottom, as ``points``)."""
        near = np.ix_(*self._near)
        if self.classes > 2:    # class indices: each pixel takes its nearest lattice point's
            classes = np.clip(values.astype(np.intp), 0, self.classes - 1)
            return np.take(self._colours, classes[near], axis=0)
        finite = np.isfinite(values)
        values = np.where(finite, values, 0.0)
        # Gathers, not matrix products: a product this size would wake the BLAS
        # thread pool, whose threads then spin on the other core for a while.
        (iy, fy), (ix, fx) = self._lerp
        rows = values[iy] * (1.0 - fy)[:, None] + values[iy + 1] * fy[:, None]
        level = rows[:, ix] * (1.0 - fx) + rows[:, ix + 1] * fx
        rgb = np.take(self._colours, np.clip(level * 255.0 + 0.5, 0.0, 255.0).astype(np.intp),
                      axis=0)
        if not finite.all():    # a diverged model: leave its NaN parts blank
            rgb[~finite[near]] = 255
        return rgb

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class _BoundaryFigure:
    """The matplotlib side of a BoundaryPlot: an Agg figure with the title (the
    background, drawn once), the plot area as a box of pixels, and the data
    points and a frame drawn on top. Reusable, as ``_LossFigure``."""

    def __init__(self, look):
        import matplotlib
        from matplotlib.collections import PathCollection
        from matplotlib.markers import MarkerStyle
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import IdentityTransform
        _, title, width, height, dpi = look
        self.look, self.rc = look, _rc_snapshot()
        self.background = None
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="none")
        self.canvas = FigureCanvasAgg(self.figure)
        W, H = self.canvas.get_width_height(physical=True)
        # The plot area in pixels from the bottom left, as Agg counts them, and
        # the same area in the pixel buffer (rows from the top).
        x0, y0, x1, y1 = self.area = (round(0.03 * W), round(0.03 * H),
                                      round(0.97 * W), round(0.90 * H))
        self.rows, self.cols = slice(H - y1, H - y0), slice(x0, x1)
        self.figure.text((x0 + x1) / 2 / W, (y1 + 6 * dpi / 72) / H, title, fontsize=9,
                         ha="center", va="baseline")
        marker = MarkerStyle("o")       # as Axes.scatter(..., s=12) draws its points
        self.scatter = PathCollection(
            [marker.get_path().transformed(marker.get_transform())], sizes=[12],
            transform=IdentityTransform(), edgecolors="k", linewidths=0.4, animated=True)
        self.frame = Rectangle((x0, y0), x1 - x0, y1 - y0, transform=IdentityTransform(),
                               fill=False, edgecolor=matplotlib.rcParams["axes.edgecolor"],
                               linewidth=matplotlib.rcParams["axes.linewidth"], animated=True)
        self.figure.add_artist(self.scatter)
        self.figure.add_artist(self.frame)

    def show_points(self, X, colours, lo, hi):
        """Put the points ``X`` on the area, which spans ``lo`` to ``hi`` in data units."""
        from matplotlib.transforms import Bbox, BboxTransform
        x0, y0, x1, y1 = self.area
        self.scatter.set_offsets(X)
        self.scatter.set_offset_transform(BboxTransform(Bbox([lo, hi]),
                                                        Bbox([[x0, y0], [x1, y1]])))
        self.scatter.set_facecolor(colours)

    def draw(self, regions):
        """Restore the background, fill the area with the RGB pixels ``regions``
        and draw the points and the frame on them."""
        if self.background is None:
            self.canvas.draw()      # the title: everything else is animated
            self.background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self.background)
        np.asarray(self.canvas.buffer_rgba())[self.rows, self.cols, :3] = regions
        self.figure.draw_artist(self.scatter)
        self.figure.draw_artist(self.frame)


def _pixel_positions(n_pixels, n_grid):
    """Where the centres of ``n_pixels`` pixels fall on a lattice of ``n_grid``
    points that spans them edge to edge, in lattice units (0 .. n_grid - 1)."""
    return (np.arange(n_pixels) + 0.5) / n_pixels * (n_grid - 1)


def _bilinear(n_pixels, n_grid):
    """Per pixel: the lattice point before it and the weight of the next one."""
    u = _pixel_positions(n_pixels, n_grid)
    i = np.minimum(u.astype(np.intp), n_grid - 2)
    return i, u - i


def _nearest(n_pixels, n_grid):
    """Per pixel: the nearest lattice point."""
    return np.rint(_pixel_positions(n_pixels, n_grid)).astype(np.intp)
