"""``ng.Stepper``: step the forward pass, then the backward pass, node by node.

    s = ng.Stepper(g)          # g: an output Tensor (or a Graph)
    s                          # shows the widget in a notebook
    s.step_forward(); s.position, s.phase, s.explanation

Everything shown is a function of ``position``: 0 = nothing computed yet,
then one position per forward step, then one per backward step
(``nbgraph.timeline``). The graph is laid out once (``render.prepare``); the
laid-out SVG, the position model and the stylesheet go to the page once, and
every step then happens in the page (``nbgraph/static/stepper.js``): it only
toggles state classes, so stepping works while the kernel is busy or gone.
``position`` is a synced trait: setting it moves the page, and steps made in
the page come back to it whenever a kernel listens.

A saved notebook keeps a static SVG of the state beside the widget, and
``save_html(path)`` writes a page that steps without Jupyter.
"""

import json
import pathlib

import anywidget
import traitlets

from . import publish, render

__all__ = ["Stepper", "page_html"]

_STATIC = pathlib.Path(__file__).parent / "static"
_JS = _STATIC / "stepper.js"
_CSS = _STATIC / "stepper.css"
_EXPORTS_MARK = "// ---- exports"


class _Position(traitlets.Int):
    """An int in 0..total (numpy integers too); a clear TypeError / ValueError otherwise."""

    def validate(self, obj, value):
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"position must be an int, got {type(value).__name__}")
        value = value.__index__()
        total = obj.total
        if not 0 <= value <= total:
            raise ValueError(f"position must be between 0 and {total}, got {value}")
        return value


class Stepper(anywidget.AnyWidget):
    """Step-through widget for the graph of an output tensor.

    ``Stepper(output_or_graph, color_by=None, expand=None, max_nodes=None,
    collapse=None, timeout=None)``: ``color_by="grad"`` colours boxes by
    gradient size; on huge graphs (more than ``max_nodes``, default 1500)
    scopes are collapsed into boxes, ``expand=["rnn/t=3"]`` opens some. Steps
    still go node by node; a step on a hidden node lights the box it is in.

    In the page: buttons "Reset", "Step back", "Step forward", "Run to end";
    Play with a speed; a slider; ← → Home End when the widget has focus;
    click a node to go to its step; hover it for its name, value and gradient;
    wheel zooms, dragging pans, the view follows the active node.

    Python: ``position`` (synced, settable), ``step_forward()``,
    ``step_back()``, ``reset()``, ``run_to_end()``, ``phase``,
    ``explanation``, ``svg``, ``graph``, ``total``, ``drawing()``,
    ``save(path)``, ``save_html(path)``. The tensors' ``.grad`` are never touched.
    """

    _esm = _JS
    _css = _CSS
    # Sent once when the widget opens; the page does the rest.
    _drawing = traitlets.Unicode("").tag(sync=True)
    _timeline = traitlets.Unicode("").tag(sync=True)
    _style = traitlets.Unicode("").tag(sync=True)
    position = _Position(0).tag(sync=True)

    def __init__(self, output_or_graph, color_by=None, expand=None, max_nodes=None,
                 collapse=None, timeout=None):
        g = render.as_graph(output_or_graph, "ng.Stepper")
        pic = render.prepare(g, color_by=color_by, expand=expand,
                             max_nodes=max_nodes, collapse=collapse, timeout=timeout)
        self._pic = pic
        self._tl = pic.timeline
        self._svg_cache = (None, None)
        super().__init__(_drawing=pic.svg, _timeline=pic.timeline.to_json(),
                         _style=pic.stylesheet)
        self.add_class("nbgraph-stepper")

    # -- state ----------------------------------------------------------------------
    @property
    def graph(self):
        """The ``Graph`` being stepped."""
        return self._pic.graph

    @property
    def total(self):
        """The last position: forward steps + backward steps."""
        return self._tl.total

    @property
    def phase(self):
        """"forward" until the forward pass is done, then "backward"."""
        return "forward" if self.position <= self._tl.F else "backward"

    @property
    def step(self):
        """The graph's ``Step`` at this position (``None`` at position 0)."""
        p, G = self.position, self.graph
        if p == 0:
            return None
        return G.forward_steps[p - 1] if p <= self._tl.F else G.backward_steps[p - 1 - self._tl.F]

    @property
    def explanation(self):
        """The current step's formula with the numbers put in (plain text)."""
        return self._tl.explanation(self.position)

    @property
    def svg(self):
        """A complete static SVG document of the current state."""
        p, svg = self._svg_cache
        if p != self.position:
            p = self.position
            svg = self._pic.svg_at(p)
            self._svg_cache = (p, svg)
        return svg

    def progress_text(self):
        F, B, p = self._tl.F, self._tl.B, self.position
        return f"forward {min(p, F)}/{F} · backward {max(0, p - F)}/{B}"

    # -- moving ---------------------------------------------------------------------
    def step_forward(self):
        """One step on; does nothing at the end."""
        if self.position < self.total:
            self.position += 1

    def step_back(self):
        """One step back; does nothing at the start."""
        if self.position > 0:
            self.position -= 1

    def reset(self):
        """Back to position 0: nothing computed."""
        self.position = 0

    def run_to_end(self):
        """Jump to the end: every value and every gradient known."""
        self.position = self.total

    # -- pictures -----------------------------------------------------------------------
    def drawing(self):
        """A static ``render.Drawing`` of the current state (``.save("x.png")`` etc.)."""
        return render.Drawing(self._pic, self.position)

    def save(self, path, **kwargs):
        """Save the current state as .svg, .png or .dot (see ``Drawing.save``)."""
        return self.drawing().save(path, **kwargs)

    def save_html(self, path):
        """Write a self-contained HTML page that steps this graph (no kernel, no network)."""
        return publish.write_page(self._pic, self.position, path)

    def html(self):
        """The page of ``save_html``: the widget's script, stylesheet and data inlined."""
        return page_html({"svg": self._drawing, "timeline": self._timeline,
                          "stylesheet": self._style, "position": self.position},
                         title=f"nbgraph Stepper: {self.graph.loss_label}")

    # -- display ---------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        # The widget view, plus a static SVG and a text that nbval and static
        # renderers (GitHub, nbviewer) show.
        data, metadata = super()._repr_mimebundle_(**kwargs)
        data["image/svg+xml"] = self.svg
        data.update(publish.output_forms(self._pic, self.position, stepper=True))
        data["text/plain"] = repr(self)
        return data, metadata

    def __repr__(self):
        return (f"<nbgraph Stepper: {len(self.graph.nodes)} nodes, {self.progress_text()}, "
                f"output {self.graph.loss_label}>")


def page_html(data, title="nbgraph Stepper"):
    """A self-contained page stepping ``data`` = {svg, timeline, stylesheet, position}.

    The browser side of the widget (``static/stepper.js`` without its exports)
    mounted on inlined data: no kernel, no network.
    """
    js = _JS.read_text(encoding="utf-8")
    js = js[:js.index(_EXPORTS_MARK)].replace("</script", "<\\/script")
    # JSON inside <script>: every "<" escaped, so no text can close the element.
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{render.escape(title)}</title>\n"
        f"<style>\nbody {{ margin: 16px; background: #fff; }}\n{_CSS.read_text(encoding='utf-8')}"
        "</style>\n</head><body>\n<div id=\"nbgraph-stepper\"></div>\n"
        f"<script type=\"application/json\" id=\"nbgraph-data\">{blob}</script>\n"
        f"<script type=\"module\">\n{js}\n"
        "window.nbgraphStepper = mount(document.getElementById(\"nbgraph-stepper\"),\n"
        "  JSON.parse(document.getElementById(\"nbgraph-data\").textContent));\n"
        "</script>\n</body></html>\n")
