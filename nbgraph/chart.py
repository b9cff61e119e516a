"""A line chart that grows while a loop runs, shown as a PNG in an ``ipywidgets.Image``.

The base of ``LossPlot`` and ``GradPlot``, drawn with Pillow (see
``raster``): a frame, a grid, ticks and labels placed in pixels, and the
lines through a data-to-pixel map (log10 first, for a log scale). Redraws
reuse what does not change: the static part (grid, ticks, labels) is drawn
once per set of axis limits and kept; a redraw copies it, draws the lines
(twice the size, then scaled down: smooth edges) and the corner label on
top. The limits change in coarse steps: x follows the run (the next of 1,
1.5, 2, 3, 4, 5, 6, 8 x 10^k above the last x), y only grows, with headroom.

Whenever the static part is drawn, the margins are checked against the
boxes of the labels (measured in the font they are drawn in): a tick label
or axis label that would stick out of the image widens the margin on that
side, and the layout is done again (so the last x tick label is never cut).
"""

import math

import numpy as np

from .raster import SCALE, TAB10, Label, png_bytes, points, rgb

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


def ticks(lo, hi, most):
    """At most ``most + 1`` evenly spaced round values in [lo, hi]: multiples
    of 1, 2, 2.5 or 5 x 10^k, the finest spacing that is few enough."""
    if not hi > lo:
        return [lo]
    e = math.floor(math.log10((hi - lo) / most))
    for m in (1, 2, 2.5, 5, 10, 20, 25, 50):
        step = m * 10.0 ** e
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first <= most:
            # k * m / 10^-e, not k * step: 0.3, not 0.30000000000000004
            return [k * m * 10.0 ** e if e >= 0 else k * m / 10.0 ** -e
                    for k in range(first, last + 1)]
    return [lo, hi]


def log_ticks(lo, hi, most=6):
    """Decades in [lo, hi] (both > 0), every other one (or sparser) if there
    would be more than ``most``."""
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    stride = max(1, math.ceil((last - first + 1) / most))
    return [10.0 ** k for k in range(first, last + 1, stride)]


class Line:
    """One series as drawn: ``label``, ``colour`` (r, g, b) and ``x``, ``y``,
    the points drawn (thinned to the chart's ``max_points``)."""

    def __init__(self, label, colour):
        self.label, self.colour = label, rgb(colour)
        self.x = self.y = np.empty(0)


class Chart:
    """The drawing of lines over a growing x axis (the data is the caller's).

    ``series``: the label of each line; ``colors`` theirs (default: C0, C1...).
    ``redraw(xs, columns, text)`` draws. ``log``: log-scale y. ``xmax``: a
    fixed x range instead of one that follows the run. ``legend``: "inside"
    (upper right, under the corner label), "right" (beside the plot area) or
    None. ``max_points``: lines are thinned to at most this many points (each
    stretch keeps its lowest and highest), so drawing costs the same however
    long the run. Sizes as matplotlib's: ``width`` and ``height`` in inches
    at ``dpi``; ``margins`` (left, right, bottom, top) as fractions of the
    image from its bottom left.

    After a redraw: ``image`` (a Pillow image) and ``png``; ``area``, the plot
    area's frame in pixels ``(left, top, right, bottom)`` from the top left;
    ``tick_labels`` (``raster.Label``: x first), ``axis_labels`` (x, y),
    ``title``, ``text`` (the corner label) and ``legend`` (its labels, or
    None); ``lines`` (``Line``); ``drawn_limits``; ``pixel(x, y)``.
    """

    TICK = 3.5      # tick length and label pad, points (matplotlib's defaults)
    LEGEND_WIDTH = 0.4  # the most of the image's width a legend beside the plot takes
    MIN_AREA = 0.3      # the least of the image's width and height the plot area keeps
    WHITE, INK, GRID = (255, 255, 255), (0, 0, 0), (231, 231, 231)

    def __init__(self, series, *, colors=None, title=None, xlabel="step", ylabel="", log=False,
                 xmax=None, legend=None, width=5.0, height=2.8, dpi=80, max_points=2000,
                 margins=(0.14, 0.95, 0.17, 0.95)):
        self.log = bool(log)
        self.xmax = float(xmax) if xmax else None
        self.max_points = int(max_points)
        self.dpi = dpi
        self.redraws = 0            # images made
        self.full_redraws = 0       # of which with the static part drawn (new limits)
        self.image, self.png = None, b""
        self._ylim = None
        self.drawn_limits = self._background = self._grid = None
        self.tick_labels = []
        self.size = W, H = round(width * dpi), round(height * dpi)
        left, right, bottom, top = margins
        if title:
            top -= 0.07
        self.area = (round(left * W), round((1 - top) * H), round(right * W), round((1 - bottom) * H))
        colors = colors or [TAB10[i % 10] for i in range(len(series))]
        self.lines = [Line(label, c) for label, c in zip(series, colors)]
        self._title = str(title or "")
        self.title = Label(self._title, 0, 0, size=10, dpi=dpi, anchor="ms")
        self.axis_labels = [Label(xlabel or "", 0, 0, size=9, dpi=dpi, anchor="mt"),
                            Label(ylabel or "", 0, 0, size=9, dpi=dpi, anchor="rm", rotation=90)]
        self.text = Label("", 0, 0, size=8, dpi=dpi, anchor="rs", colour="0.3")
        self._legend_place = legend
        self.legend = self._entries = None
        if legend in ("inside", "right"):
            size = 8 if legend == "inside" else 7
            self._entries = [Label(_cut(line.label), 0, 0, size=size, dpi=dpi, anchor="lm")
                             for line in self.lines]
            self.legend = list(self._entries)
        self._legend_box = None
        self._handles = []

    # -- drawing ----------------------------------------------------------------
    def _thin(self, x, y):
        """At most ``max_points`` of the points ``(x, y)``: in order, each of
        ``max_points / 2`` equal runs of points keeps its lowest and its
        highest (a run that is all NaN keeps one NaN: a gap). Drawing then
        costs the same however long the training, and a spike stays in the
        picture however short (even spacing would skip most of them)."""
        y = np.asarray(y, dtype=np.float64)
        n = len(y)
        if n <= self.max_points:
            return x, y
        k = math.ceil(n / (self.max_points // 2))         # points per run
        runs = np.concatenate([y, np.full(-n % k, np.nan)]).reshape(-1, k)
        missing = np.isnan(runs)
        low = np.where(missing, np.inf, runs).argmin(axis=1)
        high = np.where(missing, -np.inf, runs).argmax(axis=1)
        start = np.arange(len(runs)) * k
        keep = np.column_stack([start + np.minimum(low, high), start + np.maximum(low, high)])
        keep = np.minimum(keep.ravel(), n - 1)
        return x[keep], y[keep]

    def redraw(self, xs, columns, text="", reach=None):
        """Draw the series ``columns`` (one list of values per line, NaN: a
        gap) over ``xs`` and the corner ``text``; the PNG goes to ``png``.
        ``reach``: an x the axis should already reach (where the run is
        expected to be by the next redraw), so that it need not grow -- and
        the static part be drawn again -- at every redraw of a fast run."""
        from PIL import Image, ImageDraw
        x = ys = None
        if len(xs):
            x = np.asarray(xs, dtype=np.float64)
            for line, v in zip(self.lines, columns):
                line.x, line.y = self._thin(x, v)
            ys = [line.y for line in self.lines]       # with every series' lowest and highest
        self.text.text = text
        limits = self.limits(x, ys, reach)
        if limits != self.drawn_limits:
            self._draw_static(limits)
            self.full_redraws += 1
        left, top, right, bottom = self.area
        image = self._background.copy()
        # The lines on the plot area's grid at SCALE times the size (clipped
        # by its edges), then scaled down into place.
        area = self._grid.copy()
        if x is not None:
            self._draw_lines(ImageDraw.Draw(area))
        image.paste(area.resize((right - left, bottom - top), Image.Resampling.BOX), (left, top))
        draw = ImageDraw.Draw(image)
        draw.rectangle(self.area, outline=self.INK, width=points(0.8, self.dpi))
        if self._legend_place == "inside":
            self._draw_legend(image, draw)
        self.text.draw(image)
        self.image = image
        self.png = png_bytes(image)
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

    def pixel(self, x, y):
        """Where the data point ``(x, y)`` is drawn: (column, row) from the top
        left of the image, in the limits drawn last. Arrays work too."""
        (xlo, xhi), (ylo, yhi) = self.drawn_limits
        left, top, right, bottom = self.area
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(np.where(y > 0, y, np.nan))
            ylo, yhi = math.log10(ylo), math.log10(yhi)
        return (left + (x - xlo) * ((right - left) / (xhi - xlo)),
                bottom - (y - ylo) * ((bottom - top) / (yhi - ylo)))

    def _draw_lines(self, draw):
        left, top, right, bottom = self.area
        width = points(1.5, self.dpi, SCALE)
        reach = 4 * (bottom - top + right - left)       # keep far-off points drawable
        for line in self.lines:
            if not len(line.x):
                continue
            cols, rows = self.pixel(line.x, line.y)
            xy = np.column_stack([(cols - left) * SCALE, (rows - top) * SCALE])
            ok = np.isfinite(xy).all(axis=1)
            np.clip(xy, -reach * SCALE, reach * SCALE, out=xy)
            # a NaN is a gap: draw each unbroken run on its own
            edges = np.flatnonzero(np.diff(np.concatenate([[False], ok, [False]]).astype(np.int8)))
            for start, stop in zip(edges[::2], edges[1::2]):
                run = xy[start:stop]
                if len(run) == 1:
                    (cx, cy), r = run[0], width / 2
                    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=line.colour)
                else:
                    draw.line(run.ravel().tolist(), fill=line.colour, width=width, joint="curve")

    def _draw_static(self, limits):
        """Draw the static part for ``limits``, with margins that hold every label."""
        from PIL import Image, ImageDraw
        self._layout(limits)
        if self._fit_margins():
            self._layout(limits)
        image = Image.new("RGB", self.size, self.WHITE)
        draw = ImageDraw.Draw(image)
        left, top, right, bottom = self.area
        tick = points(self.TICK, self.dpi)
        # The plot area with its grid, at SCALE times the size for the lines to
        # be drawn on: each grid line covers exactly the SCALE x SCALE blocks
        # of its pixels, so that scaled down it is one sharp pixel wide.
        grid = Image.new("RGB", ((right - left) * SCALE, (bottom - top) * SCALE), self.WHITE)
        fine = ImageDraw.Draw(grid)
        for col in self._xpix:
            draw.line([(col, bottom), (col, bottom + tick)], fill=self.INK)
            c = (col - left) * SCALE
            fine.rectangle([c, 0, c + SCALE - 1, grid.height], fill=self.GRID)
        for row in self._ypix:
            draw.line([(left - tick, row), (left, row)], fill=self.INK)
            r = (row - top) * SCALE
            fine.rectangle([0, r, grid.width, r + SCALE - 1], fill=self.GRID)
        self._grid = grid
        for label in self.tick_labels + self.axis_labels + [self.title]:
            label.draw(image)
        if self._legend_place == "right":
            self._draw_legend(image, draw)
        self._background = image

    def _layout(self, limits):
        """Place the ticks, their labels, the axis labels, the title, the
        corner label and the legend for ``limits`` in the current ``area``."""
        (xlo, xhi), (ylo, yhi) = limits
        left, top, right, bottom = self.area
        self.drawn_limits = limits          # what ``pixel`` places by, from here on
        xticks = _inside(ticks(xlo, xhi, 3), xlo, xhi)
        if self.log:
            yticks = _inside(log_ticks(ylo, yhi), ylo, yhi)
            ytext = [_decade(v) for v in yticks]
        else:
            yticks = _inside(ticks(ylo, yhi, 4), ylo, yhi)
            ytext = _numbers(yticks)
        self._xpix = [round(c) for c in self.pixel(np.array(xticks), np.full(len(xticks), ylo))[0]]
        self._ypix = [round(r) for r in self.pixel(np.full(len(yticks), xlo), np.array(yticks))[1]]
        dpi, gap = self.dpi, 2 * points(self.TICK, self.dpi)
        xlabels = [Label(t, c, bottom + gap, size=8, dpi=dpi, anchor="mt")
                   for t, c in zip(_numbers(xticks), self._xpix)]
        ylabels = [Label(t, left - gap, r, size=8, dpi=dpi, anchor="rm")
                   for t, r in zip(ytext, self._ypix)]
        self.tick_labels = xlabels + ylabels
        # Axis labels beyond the tick labels (measured), as an Axes would place them.
        pad = points(4.0, dpi)
        below = max([bottom + gap] + [t.box[3] for t in xlabels])
        beside = min([left - gap] + [t.box[0] for t in ylabels])
        xlabel, ylabel = self.axis_labels
        xlabel.move_to((left + right) / 2, below + pad)
        ylabel.move_to(beside - pad, (top + bottom) / 2)
        self.title.move_to((left + right) / 2, top - points(6.0, dpi))
        self.title.text = self._title
        while (self.title.box[0] < PAD or self.title.box[2] > self.size[0] - PAD) \
                and len(self.title.text) > 2:
            self.title.text = self.title.text[:-2] + "…"        # a title too long for the picture
        self.text.move_to(left + 0.98 * (right - left), top + 0.08 * (bottom - top))
        if self.legend is not None:
            self._place_legend()

    def _place_legend(self):
        """Rows of (a short line, the label): "inside" under the corner label
        at the right of the plot area; "right" beside it, 14 rows a column,
        as many columns as fit in ``LEGEND_WIDTH`` of the image (the entries
        that do not fit are counted on the last row: "+12 more")."""
        left, top, right, bottom = self.area
        entries = self._entries
        size = entries[0].size
        em = size * self.dpi / 72.0
        handle, row = round(1.6 * em if self._legend_place == "inside" else 1.2 * em), round(1.3 * em)
        rows = len(entries) if self._legend_place == "inside" else 14
        widths = [label.box[2] - label.box[0] for label in entries]
        column = [handle + round(0.5 * em) + max(widths[k:k + rows]) + round(em)
                  for k in range(0, len(widths), rows)]
        shown = len(entries)
        if self._legend_place == "inside":
            x0 = right - round(0.5 * em) - column[0]
            y0 = top + round(0.14 * (bottom - top))
        else:
            x0, y0 = right + round(0.02 * (right - left)), top
            fit = 1
            while fit < len(column) and sum(column[:fit + 1]) <= self.LEGEND_WIDTH * self.size[0]:
                fit += 1
            if fit < len(column):
                column, shown = column[:fit], fit * rows - 1
        def slot(k):        # where entry k starts: its column's left, its row's middle
            c, r = divmod(k, rows)
            return x0 + sum(column[:c]) + round(0.4 * em), y0 + round(0.5 * em) + r * row + row / 2

        self.legend = entries[:shown]
        self._handles = []
        for k, label in enumerate(self.legend):
            x, y = slot(k)
            self._handles.append(((x, y), (x + handle, y), self.lines[k].colour))
            label.move_to(x + handle + round(0.5 * em), y)
        if shown < len(entries):        # the last row of the last column
            self.legend.append(Label(f"+{len(entries) - shown} more", *slot(shown), size=size,
                                     dpi=self.dpi, anchor="lm", colour="0.3"))
        height = min(rows, len(entries)) * row + round(em)
        self._legend_box = (x0, y0, x0 + sum(column), y0 + height)

    def _draw_legend(self, image, draw):
        if self._legend_place == "inside":
            draw.rectangle(self._legend_box, fill=self.WHITE, outline=(204, 204, 204))
        width = points(1.5, self.dpi)
        for (a, b, colour) in self._handles:
            draw.line([a, b], fill=colour, width=width)
        for label in self.legend:
            label.draw(image)

    def _fit_margins(self):
        """Widen the margins where text would stick out of the image (or come
        within ``PAD`` pixels of its edge); True if they changed."""
        W, H = self.size
        texts = self.tick_labels + self.axis_labels + [self.title]
        boxes = [t.box for t in texts if t.text]
        if self._legend_place == "right":
            boxes.append(self._legend_box)
        over = (max([0.0] + [PAD - b[0] for b in boxes]), max([0.0] + [b[2] - (W - PAD) for b in boxes]),
                max([0.0] + [PAD - b[1] for b in boxes]), max([0.0] + [b[3] - (H - PAD) for b in boxes]))
        if not any(over):
            return False
        grow_left, grow_right, grow_top, grow_bottom = (math.ceil(v) + 1 if v else 0 for v in over)
        left, top, right, bottom = self.area
        # The plot area keeps at least MIN_AREA of each side, whatever the text.
        spare_x = max(0, right - left - round(self.MIN_AREA * W))
        spare_y = max(0, bottom - top - round(self.MIN_AREA * H))
        grow_left, grow_right = _share(grow_left, grow_right, spare_x)
        grow_top, grow_bottom = _share(grow_top, grow_bottom, spare_y)
        if not (grow_left or grow_right or grow_top or grow_bottom):
            return False
        self.area = (left + grow_left, top + grow_top, right - grow_right, bottom - grow_bottom)
        return True


def _cut(name, limit=24):
    """A legend entry of at most ``limit`` characters: the end of a long name
    (``…layers.12.attention.W``), where parameter names differ."""
    name = str(name)
    if len(name) <= limit:
        return name
    tail = name[-(limit - 1):]
    dot = tail.find(".")
    return "…" + (tail[dot + 1:] if 0 <= dot < len(tail) - 1 else tail)


def _share(a, b, spare):
    """Margins to grow by ``a`` and ``b`` pixels, scaled down together to at
    most ``spare`` in all."""
    if a + b <= spare:
        return a, b
    scale = spare / (a + b)
    return int(a * scale), int(b * scale)


def _inside(values, lo, hi):
    """The ticks within [lo, hi] (rounding may put one just beyond an end)."""
    eps = 1e-9 * max(abs(hi - lo), 1e-300)
    return [float(v) for v in values if lo - eps <= v <= hi + eps]
