"""Small pictures drawn with Pillow: what the live plots share.

The plots of a training dashboard are redrawn while the loop runs, so they
must be cheap: a chart is a few lines, a frame, a grid and a dozen labels.
Pillow draws them in a few milliseconds (matplotlib took ten times longer,
most of it building figures and laying out text). Shapes are drawn at
``SCALE`` times the size and scaled down (anti-aliasing); text is drawn at
the final size, where FreeType's own anti-aliasing keeps it sharp.

Sizes are given as matplotlib gives them: inches and dots per inch for a
picture, points for fonts and line widths.
"""

import functools
import importlib.util
import io
import os

import numpy as np

__all__ = ["SCALE", "Label", "font", "png_bytes", "points", "rgb", "TAB10", "gradient"]

SCALE = 2       # shapes are drawn this many times larger, then scaled down

# matplotlib's default colour cycle (C0 ... C9), as hex.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# ColorBrewer's RdBu (red to blue, 11 steps) and viridis's anchors (dark
# purple to yellow): the published colours, interpolated by ``gradient``.
RDBU = ("#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7",
        "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061")
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e",
           "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")

_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",      # Debian, Ubuntu
    "/usr/share/fonts/TTF/DejaVuSans.ttf",                  # Arch
    "/Library/Fonts/Arial.ttf", "/System/Library/Fonts/Supplemental/Arial.ttf",   # macOS
    "C:/Windows/Fonts/arial.ttf",
)


def rgb(colour):
    """``(r, g, b)`` in 0..255 of "#rrggbb", a grey level "0.3" (as
    matplotlib writes greys) or an (r, g, b[, a]) tuple of floats in 0..1."""
    if isinstance(colour, str):
        if colour.startswith("#"):
            return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        level = round(255 * float(colour))
        return (level, level, level)
    return tuple(int(round(255 * float(c))) for c in colour[:3])


def gradient(anchors, n, stop=1.0):
    """``n`` colours evenly spaced from the first anchor to ``stop`` of the
    way along, interpolating the anchors linearly: an (n, 3) float array in 0..1."""
    table = np.array([rgb(c) for c in anchors], dtype=np.float64) / 255.0
    at = np.linspace(0.0, stop, n) * (len(anchors) - 1)
    return np.stack([np.interp(at, np.arange(len(anchors)), table[:, k]) for k in range(3)],
                    axis=1)


@functools.lru_cache(maxsize=None)
def _font_file():
    """DejaVu Sans, the font the rest of nbgraph is measured in: matplotlib's
    copy (found without importing matplotlib) or the system's; else a common
    sans-serif font; None: Pillow's own."""
    spec = importlib.util.find_spec("matplotlib")
    places = []
    if spec is not None and spec.origin:
        places.append(os.path.join(os.path.dirname(spec.origin),
                                   "mpl-data", "fonts", "ttf", "DejaVuSans.ttf"))
    for path in places + list(_FONT_FILES):
        if os.path.exists(path):
            return path
    return None


@functools.lru_cache(maxsize=64)
def font(size, dpi):
    """The font at ``size`` points on a picture of ``dpi`` dots per inch."""
    from PIL import ImageFont
    pixels = size * dpi / 72.0
    path = _font_file()
    if path is None:
        return ImageFont.load_default(size=pixels)
    return ImageFont.truetype(path, size=pixels)


def points(value, dpi, scale=1):
    """``value`` points as a whole number of pixels (at least 1)."""
    return max(1, int(round(value * dpi / 72.0 * scale)))


class Label:
    """A text placed on a picture, in its pixels (from the top left).

    ``anchor`` is Pillow's two-letter anchor (horizontal l/m/r, vertical
    a(scender)/t/m/s/b/d): the point ``(x, y)`` is that part of the text.
    ``rotation`` 90 turns it to read upwards (a y axis label); the anchor then
    refers to the turned text's box (``"mm"``: its centre).
    """

    def __init__(self, text, x, y, *, size, dpi, anchor="la", colour="#000000", rotation=0):
        self.text, self.x, self.y = str(text), float(x), float(y)
        self.size, self.dpi, self.anchor = size, dpi, anchor
        self.colour, self.rotation = rgb(colour), int(rotation)

    def move_to(self, x, y):
        self.x, self.y = float(x), float(y)

    @property
    def box(self):
        """``(left, top, right, bottom)`` of the drawn text, in pixels."""
        if self.rotation == 90:
            left, top, right, bottom = _bbox(self.text, self.size, self.dpi, "lt")
            w, h = bottom - top, right - left        # turned a quarter
            ax, ay = self.anchor[0], self.anchor[1]
            x0 = self.x - {"l": 0, "m": w / 2, "r": w}[ax]
            y0 = self.y - {"t": 0, "a": 0, "m": h / 2, "b": h, "d": h, "s": h}[ay]
            return (x0, y0, x0 + w, y0 + h)
        left, top, right, bottom = _bbox(self.text, self.size, self.dpi, self.anchor)
        return (self.x + left, self.y + top, self.x + right, self.y + bottom)

    def draw(self, image):
        """Draw on the Pillow ``image``: its coverage (rendered once per text,
        size and turn; labels repeat from one picture to the next) pasted in
        its colour where ``box`` says."""
        if not self.text:
            return
        x0, y0, _, _ = self.box
        image.paste(self.colour, (int(round(x0)), int(round(y0))),
                    _coverage(self.text, self.size, self.dpi, self.rotation))

    def __repr__(self):
        return f"Label({self.text!r} at {self.x:.0f},{self.y:.0f})"


@functools.lru_cache(maxsize=1024)
def _bbox(text, size, dpi, anchor):
    """The box of ``text`` around its anchor point (labels repeat: measured once)."""
    return font(size, dpi).getbbox(text, anchor=anchor)


@functools.lru_cache(maxsize=512)
def _coverage(text, size, dpi, rotation):
    """``text`` rendered as an "L" image of its box: how much of each pixel it covers."""
    from PIL import Image, ImageDraw
    f = font(size, dpi)
    left, top, right, bottom = _bbox(text, size, dpi, "lt")
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=f, fill=255, anchor="lt")
    return mask.transpose(Image.Transpose.ROTATE_90) if rotation == 90 else mask


def png_bytes(image):
    """The Pillow ``image`` as PNG bytes (zlib's fastest level: a live plot is
    redrawn often and its PNG stays on the machine)."""
    out = io.BytesIO()
    image.save(out, format="png", compress_level=1)
    return out.getvalue()
