"""The decision regions of a 2-D classifier while it trains, with the data on top.

No axes: coordinates matter little here. The plot area is a fixed box of
pixels; the regions are computed in numpy straight into its pixels, and the
points and the frame are laid on them with Pillow. The title and the points
(drawn twice the size, then scaled down: smooth circles) do not change:
they are drawn once, and each redraw starts from copies of them.
"""

import numpy as np

from .raster import RDBU, SCALE, TAB10, Label, gradient, png_bytes, points, rgb

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
    ``image`` the last picture (Pillow); ``area`` the plot area's frame in
    pixels ``(left, top, right, bottom)``; ``point_pixels`` where each data
    point's centre is drawn, (column, row) from the top left.
    """

    ALPHA = 0.45    # how strongly the regions tint the background
    INK = (0, 0, 0)

    def __init__(self, X, y, predict, *, classes=2, grid=40, title="decision boundary",
                 width=3.2, height=2.8, dpi=80):
        import ipywidgets
        self.X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.predict, self.classes, self.grid = predict, int(classes), int(grid)
        self.redraws = 0
        self.image = None
        lo, hi = self.X.min(axis=0), self.X.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-9)
        self.lo, self.hi = lo - pad, hi + pad
        gx, gy = np.meshgrid(np.linspace(self.lo[0], self.hi[0], self.grid),
                             np.linspace(self.lo[1], self.hi[1], self.grid))
        self.points = np.stack([gx.ravel(), gy.ravel()], axis=1)

        if self.classes > 2:
            palette = np.array([rgb(TAB10[k % 10]) for k in range(self.classes)]) / 255.0
            self.point_colours = palette[np.clip(y.astype(np.intp), 0, self.classes - 1)]
        else:
            palette = gradient(RDBU, 256)
            positive = y > (0.0 if y.min() < 0 else 0.5)
            self.point_colours = palette[np.where(positive, 255, 0)]
        # Region colours, already blended with the white background: one look-up per pixel.
        blended = self.ALPHA * palette + (1.0 - self.ALPHA)
        self._colours = np.round(255 * blended).astype(np.uint8)

        self.dpi = dpi
        self.size = W, H = round(width * dpi), round(height * dpi)
        # The plot area, and its pixels' rows and columns in the image.
        self.area = left, top, right, bottom = (round(0.03 * W), round(0.10 * H),
                                                round(0.97 * W), round(0.97 * H))
        self.title = Label(title, (left + right) / 2, top - points(6, dpi), size=9, dpi=dpi,
                           anchor="ms")
        self._background = self._points = None
        # Each point's centre in pixels: x from lo to hi across the area, y upwards.
        span = self.hi - self.lo
        self.point_pixels = np.column_stack([
            left + (self.X[:, 0] - self.lo[0]) / span[0] * (right - left),
            bottom - (self.X[:, 1] - self.lo[1]) / span[1] * (bottom - top)])
        # From the lattice to the pixels of the plot area (rows from the top):
        # the nearest lattice point of each pixel, and for bilinear
        # interpolation the lattice point before it and the next one's weight.
        h, w = bottom - top, right - left
        self._near = (_nearest(h, self.grid)[::-1], _nearest(w, self.grid))
        self._lerp = ([a[::-1] for a in _bilinear(h, self.grid)], _bilinear(w, self.grid))
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{W}px", height=f"{H}px"))
        self.widget.add_class("nbgraph-boundary")

    def redraw(self):
        values = np.asarray(self.predict(self.points)).reshape(self.grid, self.grid)
        self.image = self._draw(self._regions(values))
        self.widget.value = png_bytes(self.image)
        self.redraws += 1

    def close(self):
        """Let the pictures go; the PNG on show stays."""
        self._background = self._points = self.image = None

    def _draw(self, regions):
        """The picture: the title, the RGB pixels ``regions`` in the plot area,
        the points and the frame on them. The title and the points do not
        change: they are drawn once (the points twice the size, then scaled
        down: smooth circles) and laid on each new picture."""
        from PIL import Image, ImageDraw
        left, top, right, bottom = self.area
        if self._background is None:
            self._background = Image.new("RGB", self.size, (255, 255, 255))
            self.title.draw(self._background)
            self._points = self._points_layer()
        image = self._background.copy()
        area = Image.fromarray(regions)
        area.paste(self._points, (0, 0), self._points)      # their alpha lays them on
        image.paste(area, (left, top))
        ImageDraw.Draw(image).rectangle(self.area, outline=self.INK, width=points(0.8, self.dpi))
        return image

    def _points_layer(self):
        """The data points on a transparent layer the size of the plot area."""
        from PIL import Image, ImageDraw
        left, top, right, bottom = self.area
        layer = Image.new("RGBA", ((right - left) * SCALE, (bottom - top) * SCALE), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        # as matplotlib's scatter(s=12) draws them: 12 square points, a thin dark edge
        r = (12 ** 0.5) / 2 * self.dpi / 72.0 * SCALE
        edge = max(1, round(0.4 * self.dpi / 72.0 * SCALE))
        for (cx, cy), colour in zip(self.point_pixels, self.point_colours):
            cx, cy = (cx - left) * SCALE, (cy - top) * SCALE
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb(colour), outline=self.INK,
                         width=edge)
        return layer.resize((right - left, bottom - top), Image.Resampling.BOX)

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
