"""A line chart that grows while a loop runs, shown as a PNG in an ``ipywidgets.Image``.

The base of ``LossPlot`` and ``GradPlot``. One matplotlib ``Figure`` drawn
by the Agg renderer directly, without an ``Axes``: an Axes (its tick
objects, spines, formatters) costs more to build and draw than the rest of
the chart together, and a dashboard makes a new chart per run. The frame,
grid, ticks and labels are placed here, in pixels, from matplotlib's own
tick locators; the lines go through a data-to-pixel transform (with
matplotlib's log transform for a log scale). Redraws are blits: the static
part (text is the slowest thing to draw) is drawn once per set of axis
limits and saved; a redraw restores it and draws only the lines and the
corner label on top. The limits change in coarse steps: x follows the run
(the next of 1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k above the last x), y only
grows, with headroom.

Whenever the static part is drawn, the margins are checked against what was
drawn: a tick label or axis label that would stick out of the image widens
the margin on that side, and it is drawn again (so the last x tick label is
never cut). The PNG is written by matplotlib's own writer (``imsave``).
"""

import io
import math

import numpy as np

__all__ = ["Chart", "nice_ceiling", "value_limits"]

_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
PAD = 2     # pixels kept free around the drawn text


def nice_ceiling(v):
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k that is >= v (v > 0)."""
    k = 10.0 ** math.floor(math.log10(v))
    for m in _STEPS:
        if m * k >= v * (1 - 1e-12):
            return m * k
    return 10.0 * k


def value_limits(values, log, previous):
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
        step = nice_ceiling(span) / 5.0
        lo = min(0.0, math.floor(lo / step) * step) if lo >= 0 else math.floor(lo / step) * step
        hi = math.ceil(hi / step) * step
        if hi <= lo:
            hi = lo + step
    if previous is not None:
        if lo >= previous[0] and hi <= previous[1]:
            return previous
        # Outgrown: grow with headroom, so a steadily growing series rebuilds
        # the axes a few times, not often.
        span = previous[1] - previous[0]
        if log:
            lo = lo / 10.0 if lo < previous[0] else lo
            hi = hi * 10.0 if hi > previous[1] else hi
        else:
            lo = lo - 0.5 * span if lo < previous[0] else lo
            hi = hi + 0.5 * span if hi > previous[1] else hi
        lo, hi = min(lo, previous[0]), max(hi, previous[1])
    return lo, hi


def _decade(value, _pos=None):
    """A log axis label: 1e-3, 1e-1, 1, 10, 1e2."""
    k = round(math.log10(value)) if value > 0 else 0
    return f"{value:g}" if k in (0, 1) else f"1e{k}"


def png_of(canvas):
    """The canvas's pixels as PNG bytes, by matplotlib's writer (fastest zlib level)."""
    from matplotlib.image import imsave
    out = io.BytesIO()
    imsave(out, np.asarray(canvas.buffer_rgba()), format="png",
           pil_kwargs={"compress_level": 1})
    return out.getvalue()


def _number(value, _pos=None):
    """A linear axis label: 0, 0.25, 1500, 400000 (no exponent for whole numbers)."""
    if float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.6g}"


def _numbers(values):
    """Labels of one linear axis, with as many decimals each as the finest
    needs (0.0, 0.5, 1.0), as matplotlib's own formatter writes them."""
    texts = [_number(v) for v in values]
    decimals = [len(t.split(".")[1]) if "." in t else 0 for t in texts]
    if not any(decimals) or any("e" in t for t in texts):
        return texts
    return [f"{v:.{max(decimals)}f}" for v in values]


class Chart:
    """The drawing of lines over a growing x axis (the data is the caller's).

    ``series``: the label of each line; ``colors`` theirs. ``redraw(xs,
    columns, text)`` draws. ``log``: log-scale y. ``xmax``: a fixed x range instead of one
    that follows the run. ``legend``: "inside" (upper right), "right" (beside
    the axes) or None. ``max_points``: lines are thinned to at most this many
    points, so drawing costs the same however long the run.

    After a redraw: ``area`` is the plot area in pixels ``(x0, y0, x1, y1)``
    from the bottom left; ``tick_labels`` the tick label texts drawn (x
    first), ``axis_labels`` the x and y axis labels, ``title``, ``legend``
    (a matplotlib ``Legend`` or None), ``lines`` (``Line2D``, data in data
    units), ``text`` the corner label.
    """

    TICK = 3.5      # tick length and label pad, points (matplotlib's defaults)

    def __init__(self, series, *, colors=None, title=None, xlabel="step", ylabel="", log=False,
                 xmax=None, legend=None, width=5.0, height=2.8, dpi=80, max_points=2000,
                 margins=(0.14, 0.95, 0.17, 0.95)):
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.scale import LogTransform
        from matplotlib.transforms import Affine2D, IdentityTransform, blended_transform_factory
        self.labels = list(series)
        self.log = bool(log)
        self.xmax = float(xmax) if xmax else None
        self.max_points = int(max_points)
        self.redraws = 0            # images made
        self.full_redraws = 0       # of which with the axes drawn (new limits)
        self.png = b""
        self._ylim = None
        self.drawn_limits = self._background = None
        self.tick_labels = []
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="none")
        self.canvas = FigureCanvasAgg(self.figure)
        W, H = self.canvas.get_width_height(physical=True)
        left, right, bottom, top = margins
        if title:
            top -= 0.07
        self.area = (left * W, bottom * H, right * W, top * H)
        self._rc = {k: matplotlib.rcParams[k] for k in (
            "axes.edgecolor", "axes.linewidth", "grid.color", "grid.linewidth", "xtick.color")}
        # data -> pixels: (log10 of y, for a log scale, then) an affine map set per limits
        self._affine = Affine2D()
        self._data = self._affine
        if self.log:
            self._data = blended_transform_factory(IdentityTransform(), LogTransform(10)) \
                + self._affine
        self._pixels = IdentityTransform()
        self.title = self._label(title or "", fontsize=10, ha="center", va="baseline")
        self.axis_labels = [self._label(xlabel or "", fontsize=9, ha="center", va="top"),
                            self._label(ylabel or "", fontsize=9, ha="right", va="center",
                                        rotation=90)]
        colors = colors or [f"C{i % 10}" for i in range(len(self.labels))]
        self.lines = []
        for label, c in zip(self.labels, colors):
            line = Line2D([], [], color=c, lw=1.5, label=label, transform=self._data)
            line.set_figure(self.figure)
            self.lines.append(line)
        self._legend_place = legend
        self.legend = None
        if legend == "inside":
            self.legend = self.figure.legend(handles=self.lines, fontsize=8, loc="upper right",
                                             bbox_transform=self._pixels)
        elif legend == "right":     # a column per 14 lines, so a deep model's legend fits
            self.legend = self.figure.legend(
                handles=self.lines, fontsize=7, loc="upper left", bbox_transform=self._pixels,
                ncols=max(1, math.ceil(len(self.lines) / 14)), handlelength=1.2,
                borderaxespad=0.0, frameon=False)
        self.text = self._label("", fontsize=8, color="0.3", ha="right", va="baseline")

    def _label(self, text, **kw):
        from matplotlib.text import Text
        t = Text(0, 0, text, transform=self._pixels, **kw)
        t.set_figure(self.figure)
        return t

    # -- drawing ----------------------------------------------------------------
    def _thin(self, values):
        """At most ``max_points`` evenly spaced points: drawing cost stays flat."""
        values = np.asarray(values, dtype=np.float64)
        if len(values) <= self.max_points:
            return values
        return values[np.linspace(0, len(values) - 1, self.max_points).astype(np.intp)]

    def redraw(self, xs, columns, text="", reach=None):
        """Draw the series ``columns`` (one list of values per line, NaN: a
        gap) over ``xs`` and the corner ``text``; the PNG goes to ``png``.
        ``reach``: an x the axis should already reach (where the run is
        expected to be by the next redraw), so that it need not grow -- and
        the axes be drawn again -- at every redraw of a fast run."""
        x = ys = None
        if len(xs):
            x = self._thin(xs)
            ys = [self._thin(v) for v in columns]
            for line, y in zip(self.lines, ys):
                line.set_data(x, y)
        self.text.set_text(text)
        limits = self.limits(x, ys, reach)
        renderer = self.canvas.get_renderer()
        if limits != self.drawn_limits:
            self._draw_axes(limits, renderer)
            self.full_redraws += 1
        else:
            self.canvas.restore_region(self._background)
        for line in self.lines:
            line.draw(renderer)
        self.text.draw(renderer)
        self.png = png_of(self.canvas)
        self.redraws += 1

    def limits(self, x, ys, reach=None):
        """Axis limits that change rarely: x grows in nice steps to just
        beyond the run (or is fixed by ``xmax``); y covers everything seen."""
        if x is None:       # nothing yet: the default ranges
            return (0.0, self.xmax or 1.0), ((1.0, 10.0) if self.log else (0.0, 1.0))
        xhi = self.xmax or nice_ceiling(max(float(x[-1]), reach or 0.0, 1.0))
        ylim = value_limits(np.concatenate(ys), self.log, self._ylim)
        self._ylim = ylim
        return (min(0.0, float(x[0])), xhi), ylim or ((1.0, 10.0) if self.log else (0.0, 1.0))

    def _draw_axes(self, limits, renderer):
        """Draw the static part for ``limits``, with margins that hold every label."""
        self._layout(limits, renderer)
        if self._fit_margins(renderer):
            self._layout(limits, renderer)
        renderer.clear()
        self.figure.patch.draw(renderer)
        for artist in self._static:
            artist.draw(renderer)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.drawn_limits = limits

    def _layout(self, limits, renderer):
        """Place everything for ``limits`` in the current ``area``: the data
        transform, the grid and ticks, the labels, the legend."""
        from matplotlib.collections import LineCollection
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import LogLocator, MaxNLocator
        from matplotlib.transforms import Bbox
        (xlo, xhi), (ylo, yhi) = limits
        x0, y0, x1, y1 = self.area
        if self.log:
            ylo, yhi = math.log10(ylo), math.log10(yhi)
        self._affine.clear().translate(-xlo, -ylo).scale(
            (x1 - x0) / (xhi - xlo), (y1 - y0) / (yhi - ylo)).translate(x0, y0)
        clip = Bbox.from_extents(x0, y0, x1, y1)
        for line in self.lines:
            line.set_clip_box(clip)
        xticks = _inside(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(xlo, xhi),
                         xlo, xhi)
        if self.log:
            yticks = [10 ** v for v in _inside(
                np.log10(LogLocator(base=10, numticks=6).tick_values(10 ** ylo, 10 ** yhi)),
                ylo, yhi)]
            ypix = [y0 + (math.log10(v) - ylo) * (y1 - y0) / (yhi - ylo) for v in yticks]
            ytext = [_decade(v) for v in yticks]
        else:
            yticks = _inside(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(ylo, yhi),
                             ylo, yhi)
            ypix = [y0 + (v - ylo) * (y1 - y0) / (yhi - ylo) for v in yticks]
            ytext = _numbers(yticks)
        xpix = [x0 + (v - xlo) * (x1 - x0) / (xhi - xlo) for v in xticks]
        tick = self.TICK * self.figure.dpi / 72.0
        rc = self._rc
        grid = LineCollection([[(p, y0), (p, y1)] for p in xpix]
                              + [[(x0, p), (x1, p)] for p in ypix],
                              colors=rc["grid.color"], linewidths=rc["grid.linewidth"], alpha=0.3,
                              transform=self._pixels)
        marks = LineCollection([[(p, y0), (p, y0 - tick)] for p in xpix]
                               + [[(x0, p), (x0 - tick, p)] for p in ypix],
                               colors=rc["xtick.color"], linewidths=rc["axes.linewidth"],
                               transform=self._pixels)
        frame = Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, transform=self._pixels,
                          edgecolor=rc["axes.edgecolor"], linewidth=rc["axes.linewidth"])
        labels = [self._label(text, fontsize=8, ha="center", va="top")
                  for text in _numbers(xticks)]
        for t, p in zip(labels, xpix):
            t.set_position((p, y0 - 2 * tick))
        ylabels = [self._label(text, fontsize=8, ha="right", va="center") for text in ytext]
        for t, p in zip(ylabels, ypix):
            t.set_position((x0 - 2 * tick, p))
        self.tick_labels = labels + ylabels
        # Axis labels beyond the tick labels (measured as drawn), as an Axes would place them.
        pad = 4.0 * self.figure.dpi / 72.0
        below = min([y0 - 2 * tick] + [t.get_window_extent(renderer).y0 for t in labels])
        left = min([x0 - 2 * tick] + [t.get_window_extent(renderer).x0 for t in ylabels])
        xlabel, ylabel = self.axis_labels
        xlabel.set_position(((x0 + x1) / 2, below - pad))
        ylabel.set_position((left - pad, (y0 + y1) / 2))
        self.title.set_position(((x0 + x1) / 2, y1 + 6.0 * self.figure.dpi / 72.0))
        self.text.set_position((x0 + 0.98 * (x1 - x0), y0 + 0.92 * (y1 - y0)))
        for artist in (grid, marks, frame):
            artist.set_figure(self.figure)
        self._static = [grid, frame, marks] + self.tick_labels + self.axis_labels + [self.title]
        if self.legend is not None:
            if self._legend_place == "inside":
                # below the corner label
                self.legend.set_bbox_to_anchor((x0, y0, x1 - x0, 0.88 * (y1 - y0)), self._pixels)
            else:
                self.legend.set_bbox_to_anchor((x1 + 0.02 * (x1 - x0), y1), self._pixels)
            self._static.append(self.legend)

    def _fit_margins(self, renderer):
        """Widen the margins where text would stick out of the image (or come
        within ``PAD`` pixels of its edge); True if they changed."""
        W, H = self.canvas.get_width_height(physical=True)
        texts = self.tick_labels + self.axis_labels + [self.title]
        boxes = [t.get_window_extent(renderer) for t in texts if t.get_text()]
        if self.legend is not None:
            boxes.append(self.legend.get_window_extent(renderer))
        over = (max([0.0] + [PAD - b.x0 for b in boxes]), max([0.0] + [b.x1 - (W - PAD) for b in boxes]),
                max([0.0] + [PAD - b.y0 for b in boxes]), max([0.0] + [b.y1 - (H - PAD) for b in boxes]))
        if not any(over):
            return False
        left, right, bottom, top = (math.ceil(v) + 1 if v else 0 for v in over)
        x0, y0, x1, y1 = self.area
        self.area = (x0 + left, y0 + bottom, x1 - right, y1 - top)
        return True


def _inside(ticks, lo, hi):
    """The ticks within [lo, hi] (locators return one beyond each end)."""
    eps = 1e-9 * max(abs(hi - lo), 1e-300)
    return [float(v) for v in ticks if lo - eps <= v <= hi + eps]
