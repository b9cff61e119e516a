"""A line chart that grows while a loop runs, shown as a PNG in an ``ipywidgets.Image``.

The base of ``LossPlot`` and ``GradPlot``. One matplotlib ``Figure`` drawn
by the Agg canvas directly (no pyplot: no global state, no inline-backend
copies). Redraws are blits: the axes, ticks and labels (text is the slowest
thing matplotlib draws) are drawn once per set of axis limits and saved; a
redraw restores them and draws only the lines and the corner label on top.
The limits change in coarse steps: x follows the run (the next of 1, 1.5, 2,
3, 4, 5, 6, 8 x 10^k above the last x), y only grows, with headroom.

Whenever the axes are drawn, the margins are checked against what was drawn:
a tick label or axis label that would stick out of the image widens the
margin on that side, and the axes are drawn again (so the last x tick label
is never cut). The PNG is written by matplotlib's own writer (``imsave``).
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


class Chart:
    """The drawing of lines over a growing x axis (the data is the caller's).

    ``series``: the label of each line; ``colors`` theirs. ``redraw(xs,
    columns, text)`` draws. ``log``: log-scale y. ``xmax``: a fixed x range instead of one
    that follows the run. ``legend``: "inside" (upper right), "right" (beside
    the axes) or None. ``max_points``: lines are thinned to at most this many
    points, so drawing costs the same however long the run.
    """

    def __init__(self, series, *, colors=None, title=None, xlabel="step", ylabel="", log=False,
                 xmax=None, legend=None, width=5.0, height=2.8, dpi=80, max_points=2000,
                 margins=(0.14, 0.95, 0.17, 0.95)):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        self.labels = list(series)
        self.log = bool(log)
        self.xmax = float(xmax) if xmax else None
        self.max_points = int(max_points)
        self.redraws = 0            # images made
        self.full_redraws = 0       # of which with the axes drawn (new limits)
        self.png = b""
        self._ylim = None
        self.drawn_limits = self._background = None
        # Fixed margins, no layout engine: nothing is recomputed per redraw.
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="none")
        self.canvas = FigureCanvasAgg(self.figure)
        left, right, bottom, top = margins
        if title:
            top -= 0.07
        ax = self.ax = self.figure.add_axes((left, bottom, right - left, top - bottom))
        if title:
            ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.locator_params(axis="x", nbins=3)      # few ticks: text is slow to draw
        if log:
            # Decades only, written 1e-3 (mathtext's 10⁻³ and minor ticks cost
            # more to draw than the rest of the chart together).
            from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_formatter(FuncFormatter(_decade))
        else:
            ax.locator_params(axis="y", nbins=4)
        ax.grid(True, alpha=0.3)
        colors = colors or [f"C{i % 10}" for i in range(len(self.labels))]
        self.lines = [ax.plot([], [], color=c, lw=1.5, label=label)[0]
                      for label, c in zip(self.labels, colors)]
        if legend == "inside":
            ax.legend(handles=self.lines, fontsize=8, loc="upper right")
        elif legend == "right":     # a column per 14 lines, so a deep model's legend fits
            ax.legend(handles=self.lines, fontsize=7, loc="upper left",
                      ncols=max(1, math.ceil(len(self.lines) / 14)), handlelength=1.2,
                      bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
        self.text = ax.text(0.98, 0.92, "", transform=ax.transAxes, fontsize=8, color="0.3",
                            ha="right")
        # Animated artists are left out of the full draw and blitted on top of it.
        self.animated = self.lines + [self.text]
        for artist in self.animated:
            artist.set_animated(True)

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
        if limits != self.drawn_limits:
            self._draw_axes(limits)
            self.full_redraws += 1
        else:
            self.canvas.restore_region(self._background)
        for artist in self.animated:
            self.ax.draw_artist(artist)
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

    def _draw_axes(self, limits):
        """Draw the background for ``limits``, with margins that hold every label."""
        xlim, ylim = limits
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self.canvas.draw()                      # everything but the animated artists
        if self._fit_margins():
            self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.drawn_limits = limits

    def _fit_margins(self):
        """Widen the margins where drawn text sticks out of the image (or
        comes within ``PAD`` pixels of its edge); True if they changed.
        Measures the texts as just drawn (their layout is cached), without
        asking the axes to lay out their ticks again."""
        renderer = self.canvas.get_renderer()
        W, H = self.canvas.get_width_height(physical=True)
        ax = self.ax
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        texts = [t.label1 for t in ax.xaxis.get_major_ticks() if x0 <= t.get_loc() <= x1]
        texts += [t.label1 for t in ax.yaxis.get_major_ticks()
                  if min(y0, y1) <= t.get_loc() <= max(y0, y1)]
        texts += [ax.xaxis.label, ax.yaxis.label, ax.title]
        boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
        if ax.get_legend() is not None:
            boxes.append(ax.get_legend().get_window_extent(renderer))
        over = (max([0.0] + [PAD - b.x0 for b in boxes]), max([0.0] + [b.x1 - (W - PAD) for b in boxes]),
                max([0.0] + [PAD - b.y0 for b in boxes]), max([0.0] + [b.y1 - (H - PAD) for b in boxes]))
        if not any(over):
            return False
        left, right, bottom, top = (math.ceil(v) + 1 if v else 0 for v in over)
        pos = ax.get_position()
        ax.set_position((pos.x0 + left / W, pos.y0 + bottom / H,
                         pos.width - (left + right) / W, pos.height - (bottom + top) / H))
        return True
