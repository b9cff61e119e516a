"""Drawings that travel: the HTML form of a drawing output, and pages that step offline.

    publish.html_form(pic, position, stepper=True)   # what a Stepper adds as text/html
    publish.html_form(pic)                           # what ng.show's Drawing adds
    ng.save_html(x, "g.html")                        # one self-contained page that steps

The HTML form is built for every place an output is shown:

* the picture is an ``<img>`` whose ``src`` is a data URL of the static SVG:
  sanitizers (an untrusted notebook, GitHub, nbconvert's ``sanitize_html``)
  keep it, so the drawing always shows;
* a Stepper's form adds an inline ``<script type="module">`` holding the
  widget's own front end (``static/stepper.js`` up to its exports, the file
  itself, not a copy) and the position model. Where scripts run (a trusted
  notebook, an exported page, a saved page) it mounts the same controls as
  the widget and steps in the page, no kernel and no network. The drawing it
  steps is read back from the ``<img>``, so the SVG is stored once.

No control is written in the HTML itself: a sanitized view shows the picture
and no dead buttons.
"""

import base64
import contextlib
import functools
import hashlib
import json
import os
import pathlib
import tempfile

from . import render

__all__ = ["html_form", "page_html", "write_page", "save_html", "strip_widget_views",
           "WIDGET_VIEW", "WIDGET_STATE"]

_STATIC = pathlib.Path(__file__).parent / "static"
# stepper.js ends with its `export` lines after this comment; everything above it is
# plain script that defines mount(), usable inline in a page.
_EXPORTS_MARK = "// ---- exports"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_BOX = "nbgraph-html"


@functools.lru_cache(maxsize=1)
def _front_end():
    """(module body defining mount, stepper.css): the widget's own files, read once."""
    js = (_STATIC / "stepper.js").read_text(encoding="utf-8")
    body = js[:js.index(_EXPORTS_MARK)]
    # Inline, a script ends at the first "</script"; "<!--" changes how it is parsed.
    if "</script" in body.lower() or "<!--" in body:
        raise ValueError("static/stepper.js cannot be inlined: it contains '</script' or '<!--'")
    return body, (_STATIC / "stepper.css").read_text(encoding="utf-8")


def _js_value(value):
    """``value`` as a JavaScript literal that no text inside can end the <script> with."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _data_url(svg):
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# The glue after mount(): finds this output's box (the first one with its key not yet
# mounted: module scripts have no currentScript), reads the SVG back from the <img>,
# mounts the Stepper and only then removes the picture (if anything fails, it stays).
_GLUE = """
{
  const box = [...document.querySelectorAll("div.%(box)s[data-nbgraph=\\"%(key)s\\"]")]
    .find((b) => !b.dataset.nbgraphMounted);
  if (box) {
    box.dataset.nbgraphMounted = "1";
    const img = box.querySelector("img");
    const bytes = Uint8Array.from(atob(img.src.slice(img.src.indexOf(",") + 1)), (c) => c.charCodeAt(0));
    const host = document.createElement("div");
    const css = document.createElement("style");
    css.textContent = %(css)s;
    host.appendChild(css);
    box.appendChild(host);
    try {
      mount(host, {svg: new TextDecoder().decode(bytes), timeline: %(timeline)s, position: %(position)d});
      img.remove();
    } catch (err) {
      host.remove();
      console.error("nbgraph: the Stepper could not start; the picture stays", err);
    }
  }
}
"""


def html_form(picture, position=None, stepper=False, alt=None):
    """The HTML of a drawing output: an ``<img>`` of ``picture.svg_at(position)``,
    and with ``stepper=True`` the script that steps it where scripts run.

    Deterministic: the same picture and position give the same bytes.
    """
    svg = picture.svg_at(position)
    if alt is None:
        at = "final state" if position is None else f"step {position} of {picture.total}"
        alt = f"nbgraph drawing of {picture.graph.loss_label}, {at}"
    img = (f'<img class="nbgraph-picture" src="{_data_url(svg)}" alt="{render.escape(alt)}" '
           'style="max-width:100%;height:auto">')
    if not stepper:
        return f'<div class="{_BOX}">{img}</div>'
    if position is None:
        raise ValueError("a Stepper's HTML form needs a position (0 .. total)")
    timeline = picture.timeline.to_json()
    key = hashlib.sha1(f"{position}\n{timeline}\n{svg}".encode("utf-8")).hexdigest()[:16]
    body, css = _front_end()
    glue = _GLUE % {"box": _BOX, "key": key, "css": _js_value(css), "position": position,
                    "timeline": timeline.replace("<", "\\u003c")}
    return (f'<div class="{_BOX}" data-nbgraph="{key}">{img}\n'
            f'<script type="module">\n{body}{glue}</script>\n</div>')


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>body { margin: 16px; background: #fff; color: #1f2933; font-family: system-ui, sans-serif; }</style>
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
