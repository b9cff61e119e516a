"""The decision regions of a 2-D classifier while it trains, with the data on top.

No Axes: coordinates matter little here, and building an Axes (its ticks,
spines, text) costs more than everything else in this picture. The plot area
is a fixed box of pixels; the regions are computed in numpy straight into
the Agg canvas's pixel buffer, and the points and the frame are drawn on
them by Agg. The title, the only static part, is drawn once and restored
from a saved copy (blitting) before each redraw.
"""

import numpy as np

from .chart import png_of

__all__ = ["BoundaryPlot"]


class BoundaryPlot:
    """The decision regions of a 2-D classifier, with the data on top.

    ``predict(points)`` takes an (M, 2) array and returns, per point, either a
    number in [0, 1] (binary: the colour runs from class 0 to class 1) or, if
    ``classes`` > 2, a class index. Each ``redraw()`` evaluates it on a
    ``grid`` x ``grid`` lattice (``points``) and shows the result as tinted
    regions (bilinear between the lattice points for a binary classifier, the
    nearest point's class otherwise), with the data points and a frame on top.

    ``widget`` is an ``ipywidgets.Image`` (CSS class ``nbgraph-boundary``);
    ``close()`` lets the matplotlib figure go (the image stays; a later
    ``redraw()`` makes a new one).
    """

    ALPHA = 0.45    # how strongly the regions tint the background

    def __init__(self, X, y, predict, *, classes=2, grid=40, title="decision boundary",
                 width=3.2, height=2.8, dpi=80):
        import ipywidgets
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

        self._look = (title, float(width), float(height), float(dpi))
        self.figure = None
        x0, y0, x1, y1 = self._figure().area
        # From the lattice to the pixels of the plot area (rows from the top):
        # the nearest lattice point of each pixel, and for bilinear
        # interpolation the lattice point before it and the next one's weight.
        h, w = y1 - y0, x1 - x0
        self._near = (_nearest(h, self.grid)[::-1], _nearest(w, self.grid))
        self._lerp = ([a[::-1] for a in _bilinear(h, self.grid)], _bilinear(w, self.grid))
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-boundary")

    def _figure(self):
        if self.figure is None:
            self.figure = _BoundaryFigure(*self._look)
            self.figure.show_points(self.X, self.point_colours, self.lo, self.hi)
        return self.figure

    def redraw(self):
        values = np.asarray(self.predict(self.points)).reshape(self.grid, self.grid)
        figure = self._figure()
        figure.draw(self._regions(values))
        self.widget.value = png_of(figure.canvas)
        self.redraws += 1

    def close(self):
        """Let the matplotlib figure go; the image on show stays."""
        self.figure = None

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
    points and a frame drawn on top."""

    def __init__(self, title, width, height, dpi):
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.collections import PathCollection
        from matplotlib.markers import MarkerStyle
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import IdentityTransform
        self.background = None
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="none")
        self.canvas = FigureCanvasAgg(self.figure)
        W, H = self.canvas.get_width_height(physical=True)
        # The plot area in pixels from the bottom left, as Agg counts them, and
        # the same area in the pixel buffer (rows from the top).
        x0, y0, x1, y1 = self.area = (round(0.03 * W), round(0.03 * H),
                                      round(0.97 * W), round(0.90 * H))
        self.rows, self.cols = slice(H - y1, H - y0), slice(x0, x1)
        self.title = self.figure.text((x0 + x1) / 2 / W, (y1 + 6 * dpi / 72) / H, title, fontsize=9,
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
            # The title on white: everything else is drawn on top, each time.
            renderer = self.canvas.get_renderer()
            renderer.clear()
            self.figure.patch.draw(renderer)
            self.title.draw(renderer)
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
