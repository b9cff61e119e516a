"""Drawings that travel: the HTML form of a drawing output, and pages that step offline.

    publish.html_form(pic, position, stepper=True)   # a Stepper's text/html
    publish.html_form(pic)                           # ng.show's Drawing's text/html
    ng.save_html(x, "g.html")                        # one self-contained page that steps

The form is HTML without a blank line, built for every place an output is shown:

* the picture is an ``<img>`` whose ``src`` is a data URL of the static SVG of
  the saved position: sanitizers keep it (an untrusted notebook in JupyterLab
  or Notebook 7 refuses ``image/svg+xml`` but shows this), so the drawing
  always shows;
* a Stepper's form adds an inline ``<script type="module">``. Where scripts
  run (a trusted notebook, an exported or saved page) it imports the widget's
  own front end (``static/stepper.js``, the file itself, carried as base64 and
  imported from a blob URL: no copy, no network), mounts the same controls as
  the widget on the drawing read back from the ``<img>`` (the SVG is stored
  once) and steps in the page, with no kernel.

No control is written in the HTML itself: a sanitized view shows the picture
and no dead buttons.

It travels as ``text/html``, which JupyterLab and Notebook 7 render sanitized
when untrusted (``<img src="data:...">`` kept, scripts removed) and as is when
trusted (scripts run). One view cannot be served: nbconvert's
``sanitize_html`` *escapes* every tag it does not allow (``img`` and
``script`` among them) and prefers ``text/html`` (then ``text/markdown``) to
``image/svg+xml``, so there any picture carried in HTML shows as markup text.
The form has no blank line and nothing a Markdown math pass would touch
(everything variable is base64), so it survives being rendered as Markdown too.
"""

import base64
import contextlib
import functools
import hashlib
import os
import pathlib
import tempfile

from . import render

__all__ = ["html_form", "page_html", "write_page", "save_html", "strip_widget_views",
           "write_text_atomic", "WIDGET_VIEW", "WIDGET_STATE"]

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


# Run where scripts run. It finds this output's box (the first one with its key not yet
# mounted: module scripts have no currentScript), imports the widget's module from a
# blob URL (a fresh URL each time, so a re-rendered output mounts again), mounts the
# Stepper on the SVG read back from the <img>, and only then removes the picture (if
# anything fails, the picture stays). No "$", "<", "&" or blank line, so a renderer
# that takes the output for Markdown (and its math pass) leaves it alone too.
_LOADER = """
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const text = (b64) => new TextDecoder().decode(bytes(b64));
const box = [...document.querySelectorAll('div.%(box)s[data-nbgraph="%(key)s"]')]
  .find((b) => !b.dataset.nbgraphMounted);
if (box) {
  box.dataset.nbgraphMounted = "1";
  const img = box.querySelector("img");
  const url = URL.createObjectURL(new Blob([bytes("%(js)s")], {type: "text/javascript"}));
  import(url).then(({mount}) => {
    const host = document.createElement("div");
    const css = document.createElement("style");
    css.textContent = text("%(css)s");
    host.appendChild(css);
    box.appendChild(host);
    try {
      const stepper = mount(host, {svg: text(img.src.split(",")[1]),
                                   timeline: JSON.parse(text("%(timeline)s")), position: %(position)d});
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
}
""".strip("\n")


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
    loader = _LOADER % {"box": _BOX, "key": key, "js": js, "css": css,
                        "timeline": _b64(timeline), "position": position}
    return f'{_START} data-nbgraph="{key}">{img}<script type="module">\n{loader}\n</script></div>'


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
