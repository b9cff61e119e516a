"""Drawings that travel: the forms of a drawing output, and pages that step offline.

    publish.html_form(pic, position, stepper=True)   # a Stepper's text/html
    publish.html_form(pic)                           # ng.show's Drawing's text/html
    ng.save_html(x, "g.html")                        # one self-contained page that steps
    publish.for_static_views(book)                   # a notebook the way lessons are committed

The HTML form (in every live bundle, and what saved and exported pages use) is
HTML without a blank line:

* the picture is an ``<img>`` whose ``src`` is a data URL of the static SVG of
  the saved position (untrusted JupyterLab keeps it, where it refuses
  ``image/svg+xml``);
* a Stepper's form adds an inline ``<script type="module">``. Where scripts
  run (a trusted notebook, an exported or saved page) it imports the widget's
  own front end (``static/stepper.js``, the file itself, carried as base64 and
  imported from a blob URL: no copy, no network), mounts the same controls as
  the widget on the drawing read back from the ``<img>`` (the SVG is stored
  once) and steps in the page, with no kernel. No control is written in the
  HTML itself. Nothing a Markdown renderer (or its math pass) would touch.

One view cannot be served by HTML: nbconvert's ``sanitize_html`` (a GitHub-like
view) *escapes* every tag it does not allow (``img`` and ``script`` among them)
and prefers ``text/html`` to any image, so a picture carried in HTML shows
there as markup text. Hence the second shape, for notebooks written to disk
(``split_drawing_outputs``, from a kernel run with ``NBGRAPH_PUBLISH=1``): each
drawing is one output of pictures only, ``{image/png, image/svg+xml,
text/plain}``, and a Stepper's picture is followed by an output
``{application/javascript, text/plain: ""}`` whose script (``output_script``)
mounts the same front end on that picture where scripts run.
"""

import base64
import contextlib
import functools
import hashlib
import io
import os
import pathlib
import re
import struct
import tempfile

from . import render

__all__ = ["html_form", "output_forms", "picture_png", "output_script", "split_drawing_outputs",
           "count_drawings", "page_html", "write_page", "save_html", "strip_widget_views",
           "for_static_views", "write_text_atomic", "WIDGET_VIEW", "WIDGET_STATE", "PUBLISH_ENV",
           "KERNELSPEC"]

_STATIC = pathlib.Path(__file__).parent / "static"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_BOX = "nbgraph-html"
_START = f'<div class="{_BOX}"'


@functools.lru_cache(maxsize=1)
def _front_end():
    """(stepper.js, stepper.css) as base64: the widget's own files, read once."""
    return tuple(_b64((_STATIC / name).read_text(encoding="utf-8")) for name in ("stepper.js", "stepper.css"))


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# The widget's front end, mounted on a picture: shared by the two places a Stepper's
# script lives (the HTML form's module script, and the javascript output of a published
# notebook). It imports the widget's module from a blob URL (a fresh URL each time, so a
# re-rendered output mounts again), mounts the Stepper on the SVG read back from the
# picture, and only then removes the picture (if anything fails, the picture stays).
# No "$", "<", "&" or blank line, so a renderer that takes the output for Markdown (and
# its math pass) leaves it alone too.
_MOUNT = """
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const text = (b64) => new TextDecoder().decode(bytes(b64));
const start = (box, img, svg) => {
  const url = URL.createObjectURL(new Blob([bytes("%(js)s")], {type: "text/javascript"}));
  import(url).then(({mount}) => {
    const host = document.createElement("div");
    const css = document.createElement("style");
    css.textContent = text("%(css)s");
    host.appendChild(css);
    box.appendChild(host);
    try {
      const stepper = mount(host, {svg, timeline: JSON.parse(text("%(timeline)s")), position: %(position)d});
      img.remove();
      box.nbgraphStepper = stepper;    // go(p), position, destroy(): for scripts and tests
      box.dispatchEvent(new CustomEvent("nbgraph-mounted", {bubbles: true, detail: stepper}));
    } catch (err) {
      host.remove();
      throw err;
    }
  }).catch((err) => {
    console.error("nbgraph: the Stepper could not start; the picture stays.", err);
  }).finally(() => URL.revokeObjectURL(url));
};
""".strip("\n")

# The HTML form's module script finds its own box: the first one with its key not yet
# mounted (module scripts have no currentScript).
_FORM_LOADER = (_MOUNT + """
const box = [...document.querySelectorAll('div.%(box)s[data-nbgraph="%(key)s"]')]
  .find((b) => !b.dataset.nbgraphMounted);
if (box) {
  box.dataset.nbgraphMounted = "1";
  const img = box.querySelector("img");
  start(box, img, text(img.src.split(",")[1]));
}
""").rstrip("\n")

# A published notebook's Stepper is two outputs (see ``split_drawing_outputs``): the
# picture, then this script as application/javascript. Where it runs (a trusted notebook:
# ``element`` is its output node; an nbconvert page: ``element`` is its div) it looks for
# the picture in the output just above, an <img> of the very SVG it was made with (FNV-1a
# of the text: a picture from elsewhere is left alone), and mounts the Stepper there. The
# picture may be drawn after this output runs, so it keeps looking for a few frames.
_OUTPUT_LOADER = """// nbgraph Stepper: the stepping controls, mounted on the picture just above
(() => {
""" + _MOUNT + """
const anchor = typeof element === "undefined" ? document.currentScript
  : (element && element.jquery ? element[0] : element);
const fnv = (s) => {
  let h = 0x811c9dc5;
  for (let i = 0; i !== s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
};
const svgOf = (img) => {
  const cut = img.src.indexOf(",");
  const head = img.src.slice(0, cut), body = img.src.slice(cut + 1);
  if (!head.startsWith("data:image/svg+xml")) return null;
  return head.endsWith(";base64") ? text(body) : decodeURIComponent(body);
};
const picture = () => {
  for (let node = anchor, up = 0; node && up !== 4; node = node.parentElement, up++) {
    const prev = node.previousElementSibling;
    const imgs = !prev ? [] : prev.matches("img") ? [prev] : [...prev.querySelectorAll("img")];
    for (const img of imgs) {
      const svg = svgOf(img);
      if (svg !== null && fnv(svg) === "%(hash)s") return {img, svg};
    }
  }
  return null;
};
let frames = 0;
const attempt = () => {
  const found = anchor && anchor.isConnected ? picture() : null;
  if (found) start(found.img.parentElement, found.img, found.svg);
  else if (frames++ !== 300) requestAnimationFrame(attempt);
};
attempt();
})();
"""


def fnv1a(text):
    """FNV-1a (32 bits) of ``text`` as JavaScript sees it (UTF-16 code units), in hex."""
    units = text.encode("utf-16-le")
    h = 0x811C9DC5
    for u in struct.unpack(f"<{len(units) // 2}H", units):
        h = ((h ^ u) * 0x01000193) & 0xFFFFFFFF
    return format(h, "x")


def html_form(picture, position=None, stepper=False, alt=None):
    """The form of a drawing output: an ``<img>`` of ``picture.svg_at(position)``,
    and with ``stepper=True`` the script that steps it where scripts run.

    No blank line; deterministic: the same picture and position give the same bytes.
    """
    svg = picture.svg_at(position)
    if alt is None:
        at = "final state" if position is None else f"step {position} of {picture.total}"
        alt = f"nbgraph drawing of {picture.graph.loss_label}, {at}"
    img = (f'<img class="nbgraph-picture" src="data:image/svg+xml;base64,{_b64(svg)}" '
           f'alt="{render.escape(alt)}" style="max-width:100%;height:auto">')
    if not stepper:
        return f'{_START}>{img}</div>'
    if position is None:
        raise ValueError("a Stepper's form needs a position (0 .. total)")
    timeline = picture.timeline.to_json()
    key = hashlib.sha1(f"{position}\n{timeline}\n{svg}".encode("utf-8")).hexdigest()[:16]
    js, css = _front_end()
    loader = _FORM_LOADER % {"box": _BOX, "key": key, "js": js, "css": css,
                             "timeline": _b64(timeline), "position": position}
    return f'{_START} data-nbgraph="{key}">{img}<script type="module">\n{loader}\n</script></div>'


# Set in the kernel that executes a notebook for publishing (tools/run_lessons.py,
# ``python -m nbgraph publish``): drawing outputs then also carry what
# ``split_drawing_outputs`` needs (a PNG of the picture; a Stepper's script as
# application/javascript). Off in a live session: no extra layout run per display.
PUBLISH_ENV = "NBGRAPH_PUBLISH"
PNG_DPI = 96          # one PNG pixel per CSS pixel of the SVG (72 pt = 96 px)
PNG_MAX_PX = 1600     # ... but no side longer: a wide graph is shown shrunk to the page anyway
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def output_forms(picture, position=None, stepper=False):
    """The static forms of a drawing output besides ``image/svg+xml`` and ``text/plain``:
    ``text/html`` (``html_form``), and when ``NBGRAPH_PUBLISH=1`` in the environment also
    ``image/png`` and, for a Stepper, ``application/javascript`` (``output_script``)."""
    forms = {"text/html": html_form(picture, position, stepper)}
    if os.environ.get(PUBLISH_ENV) == "1":
        forms["image/png"] = picture_png(picture, position)
        if stepper:
            forms["application/javascript"] = output_script(picture, position)
    return forms


def picture_png(picture, position=None):
    """A PNG (base64) of the picture at ``position``: rasterised by the layout program
    from the DOT of that state (the same path as ``Drawing.save("x.png")``), at the SVG's
    size, or smaller so that no side is longer than ``PNG_MAX_PX``; 256 colours."""
    w, h = (float(v) for v in _SIZE.search(picture.svg_at(position)).groups())
    dpi = min(PNG_DPI, PNG_MAX_PX * 72 / max(w, h, 1))
    png = render.run_layout_program(picture.dot(position).source, "png", args=[f"-Gdpi={dpi:.2f}"],
                                    what=f"the PNG of {render.escape(picture.graph.loss_label)}")
    return base64.b64encode(_palette(png)).decode("ascii")


def _palette(png):
    """The PNG with a 256-colour palette: a third of the bytes, no visible change (flat
    fills, anti-aliased edges). Pillow comes with matplotlib."""
    from PIL import Image
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(
        256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    return out.getvalue()


def output_script(picture, position):
    """The script of a published Stepper's second output: mounts the widget's front end on
    the picture (the SVG of ``position``) in the output just above it."""
    js, css = _front_end()
    return _OUTPUT_LOADER % {"hash": fnv1a(picture.svg_at(position)), "js": js, "css": css,
                             "timeline": _b64(picture.timeline.to_json()), "position": position}


def split_drawing_outputs(book):
    """Rewrite every drawing output of a notebook (a dict, in place) for static views.

    A drawing output carries its HTML form (an ``<img>`` and a script in ``text/html``),
    which sanitizing viewers (GitHub, nbconvert's ``sanitize_html``) show as escaped markup
    text. Each becomes the picture alone, ``{image/png, image/svg+xml, text/plain}``
    (untrusted JupyterLab and Notebook 7 show the PNG; trusted ones and nbconvert, the
    SVG), and a Stepper gets a second output right after it,
    ``{application/javascript, text/plain: ""}``, which steps the picture where scripts
    run and shows nothing elsewhere. The outputs must come from a kernel run with
    ``NBGRAPH_PUBLISH=1`` (they carry the PNG and the script). Returns (drawings, steppers).
    """
    drawings = steppers = 0
    for number, cell in enumerate(book.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if not "".join(data.get("text/html", "")).startswith(_START):
                outputs.append(out)
                continue
            if "image/png" not in data:
                raise ValueError(
                    f"cell {number}: a drawing output without its PNG: run the notebook with "
                    f"{PUBLISH_ENV}=1 in the kernel's environment (python -m nbgraph publish does)")
            script = data.get("application/javascript")
            out["data"] = type(data)((k, data[k]) for k in ("image/png", "image/svg+xml", "text/plain")
                                     if k in data)
            outputs.append(out)
            drawings += 1
            if script is not None:
                node = type(out)           # a NotebookNode in a NotebookNode, a dict in a dict
                outputs.append(node(output_type="display_data", metadata=node(),
                                    data=node({"application/javascript": script, "text/plain": ""})))
                steppers += 1
        cell["outputs"] = outputs
    return drawings, steppers


# What JupyterLab writes on open: a lesson saved with it is not marked modified.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def for_static_views(book):
    """A notebook (a dict, executed with ``NBGRAPH_PUBLISH=1``), in place, the way the
    lessons are committed: no widget view or widget state, drawings split for static
    views (``split_drawing_outputs``), JupyterLab's kernelspec, no timing metadata.
    Returns (drawings, steppers)."""
    strip_widget_views(book)
    counts = split_drawing_outputs(book)
    book.setdefault("metadata", {})["kernelspec"] = dict(KERNELSPEC)
    for cell in book.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
    return counts


def count_drawings(book):
    """(drawings, steppers) in a notebook's outputs, in either form: the HTML form, or the
    published picture and script of ``split_drawing_outputs``."""
    drawings = steppers = 0
    for cell in book.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            html = "".join(data.get("text/html", ""))
            if html.startswith(_START):
                drawings += 1
                steppers += '<script type="module">' in html
            elif 'class="ng-drawing' in "".join(data.get("image/svg+xml", ""))[:2000]:
                drawings += 1
            if "".join(data.get("application/javascript", "")).startswith(_OUTPUT_LOADER[:40]):
                steppers += 1
    return drawings, steppers


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>body { margin: 16px; background: #fff; color: #1f2933; font-family: system-ui, sans-serif; }</style>
<script>
// the page's one Stepper, once mounted, as window.nbgraphStepper (go(p), position)
document.addEventListener("nbgraph-mounted", (e) => { window.nbgraphStepper = e.detail; });
</script>
</head><body>
%(form)s
</body></html>
"""


def page_html(picture, position=0, title=None):
    """One self-contained page that steps ``picture`` from ``position``: the HTML form
    with the widget's script and stylesheet inlined; it fetches nothing."""
    title = title or f"nbgraph Stepper: {picture.graph.loss_label}"
    return _PAGE % {"title": render.escape(title),
                    "form": html_form(picture, position, stepper=True)}


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder, renamed
    into place: the file is either the old one or the whole new one."""
    path = pathlib.Path(path)
    try:
        mode = path.stat().st_mode & 0o777       # keep the old file's permissions
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask                   # what open() would have given
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_page(picture, position, path, title=None):
    """``page_html`` written to ``path`` (atomically); returns ``path``."""
    write_text_atomic(path, page_html(picture, position, title))
    return path


def save_html(x, path, **prepare_args):
    """Write one HTML page that steps ``x`` without Jupyter and without the network.

    ``x``: a Stepper (its page, at its current position), a Drawing from
    ``ng.show`` (at its position, or the end), or a Tensor, a list of Tensors
    or a Graph (prepared with ``prepare_args``, e.g. ``color_by="grad"``, from
    position 0). Returns ``path``.
    """
    own = getattr(type(x), "save_html", None)
    if own is not None and not isinstance(x, render.Drawing):
        if prepare_args:
            raise TypeError("drawing options go to the Stepper when it is made, not to save_html")
        return x.save_html(path)
    if isinstance(x, render.Drawing):
        if prepare_args:
            raise TypeError("drawing options go to ng.show, not to save_html of its drawing")
        pic, position = x.picture, x.position
        return write_page(pic, pic.total if position is None else position, path)
    pic = render.prepare(render.as_graph(x, "ng.save_html"), **prepare_args)
    return write_page(pic, 0, path)


def strip_widget_views(book):
    """Drop widget views and saved widget state from a notebook (a dict, in place).

    A widget view outranks every other form of an output wherever it is present,
    and without the kernel that made it, it is a dead placeholder: outputs keep
    their static forms (text/html, image/*, text/plain). An output that had only
    a widget view and its text repr (``VBox(children=...)``) is dropped.
    Returns the number of widget views removed.
    """
    book.get("metadata", {}).pop("widgets", None)
    removed = 0
    for cell in book.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                removed += 1
                if not set(data) - {"text/plain"}:
                    continue           # nothing to show but the widget's repr
            kept.append(out)
        cell["outputs"] = kept
    return removed
