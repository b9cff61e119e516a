"""``ng.Stepper``: step the forward pass, then the backward pass, node by node.

    s = ng.Stepper(g)          # g: an output Tensor (or a Graph)
    s                          # shows the widget in a notebook
    s.step_forward(); s.position, s.phase, s.explanation

Everything shown is a pure function of ``position``: 0 = nothing computed
yet, then one position per forward step, then one per backward step. The
graph is laid out once (``nbgraph.render``); a step only restyles the SVG,
so nodes never move. Only standard ipywidgets are used (no custom
JavaScript): it works in JupyterLab, Notebook 7 and VS Code, and a saved
notebook keeps a static SVG of the last state beside the widget.
"""

import ipywidgets as widgets

from . import render
from .render import escape
from .timeline import check_position

__all__ = ["Stepper", "explanation_html"]

_PHASE_COLOUR = {"forward": render.PALETTE["active_line"], "backward": render.PALETTE["edge_backward"],
                 None: render.PALETTE["line"]}

_PANEL_LINES = 40
_SPEEDS = [("slow", 1500), ("normal", 800), ("fast", 350), ("fastest", 120)]


def explanation_html(head, text, phase=None):
    """The explanation panel: a heading and the formula text, both escaped.

    The only elements are the two ``div`` and the ``pre`` written here; every
    piece of text (node names included) goes through ``render.escape``.
    """
    colour = _PHASE_COLOUR.get(phase, _PHASE_COLOUR[None])
    return (f'<div style="border-left:4px solid {colour};background:#f7f8fa;color:#1f2933;'
            f'padding:6px 10px;border-radius:3px">'
            f'<div style="font-size:12px;color:#52606d;margin-bottom:4px">{escape(head)}</div>'
            f'<pre style="margin:0;white-space:pre-wrap;word-break:break-word;font-family:'
            f'Menlo,Consolas,\'DejaVu Sans Mono\',monospace;font-size:13px;line-height:1.45;'
            f'background:transparent;color:#1f2933">{escape(text)}</pre></div>')


class Stepper(widgets.VBox):
    """Step-through widget for the graph of an output tensor.

    ``Stepper(output_or_graph, color_by=None, expand=None, max_nodes=None)``:
    ``color_by="grad"`` colours boxes by gradient size; on huge graphs
    (more than ``max_nodes``, default 1500) scopes are collapsed into boxes,
    ``expand=["rnn/t=3"]`` opens some. Steps still go node by node; a step
    on a hidden node highlights the box it is collapsed into.

    Buttons (tooltips): "Reset", "Step back", "Step forward", "Run to end";
    a Play control with a speed choice steps on its own; a slider scrubs.
    Python API: ``step_forward()``, ``step_back()``, ``reset()``,
    ``run_to_end()``, ``position`` (settable), ``phase``, ``explanation``,
    ``svg``, ``graph``, ``total``, ``drawing()``, ``save(path)``.
    The tensors' ``.grad`` are never touched.
    """

    def __init__(self, output_or_graph, color_by=None, expand=None, max_nodes=None,
                 collapse=None, timeout=None):
        g = render.as_graph(output_or_graph, "ng.Stepper")
        self._picture = render.prepare(g, color_by, expand, max_nodes, collapse, timeout)
        self._timeline = timeline = self._picture.timeline
        self._graph = g
        self._F, self._B = timeline.F, timeline.B
        self._total = timeline.total
        self._position = 0
        self._syncing = False
        self._svg = None

        def button(desc, icon, tip, action):
            b = widgets.Button(description=desc, icon=icon, tooltip=tip,
                               layout=widgets.Layout(width="auto"))
            b.on_click(lambda _b: action())
            return b

        self.reset_button = button("Reset", "undo", "Reset", self.reset)
        self.back_button = button("Back", "step-backward", "Step back", self.step_back)
        self.forward_button = button("Forward", "step-forward", "Step forward", self.step_forward)
        self.end_button = button("End", "fast-forward", "Run to end", self.run_to_end)
        self.buttons = [self.reset_button, self.back_button, self.forward_button, self.end_button]
        self.play = widgets.Play(value=0, min=0, max=self._total, step=1, interval=800,
                                 show_repeat=False, description="Play", tooltip="Play")
        self.speed = widgets.Dropdown(options=_SPEEDS, value=800, description="speed",
                                      tooltip="Play speed",
                                      layout=widgets.Layout(width="150px"),
                                      style={"description_width": "initial"})
        widgets.link((self.speed, "value"), (self.play, "interval"))
        self.slider = widgets.IntSlider(value=0, min=0, max=self._total, step=1, readout=False,
                                        description="", tooltip="Drag to any step",
                                        continuous_update=len(g.nodes) <= 300,
                                        layout=widgets.Layout(width="200px"))
        self.progress = widgets.HTML().add_class("nbgraph-progress")
        self.picture = widgets.HTML(layout=widgets.Layout(overflow="auto", flex="0 1 auto",
                                                          max_width="100%")).add_class("nbgraph-svg")
        self.panel = widgets.HTML(layout=widgets.Layout(flex="0 1 420px", min_width="260px",
                                                        margin="0 0 0 16px")
                                  ).add_class("nbgraph-explanation")
        self.play.observe(self._on_control, names="value")
        self.slider.observe(self._on_control, names="value")
        controls = widgets.HBox(self.buttons + [self.play, self.speed, self.slider],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        body = widgets.HBox([self.picture, self.panel],
                            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__([controls, self.progress, body])
        self.add_class("nbgraph-stepper")
        self._show()

    # -- state ----------------------------------------------------------------------
    @property
    def graph(self):
        """The ``Graph`` being stepped."""
        return self._graph

    @property
    def total(self):
        """The last position: forward steps + backward steps."""
        return self._total

    @property
    def position(self):
        """0 = nothing computed yet; then forward steps; then backward steps."""
        return self._position

    @position.setter
    def position(self, value):
        check_position(value, self._total)
        self._go(int(value))

    @property
    def phase(self):
        """"forward" until the forward pass is done, then "backward"."""
        return "forward" if self._position <= self._F else "backward"

    @property
    def step(self):
        """The ``Step`` shown (``None`` at position 0)."""
        return self._timeline.steps[self._position]

    @property
    def explanation(self):
        """The current step's formula with the numbers put in (plain text)."""
        return self._timeline.explanation(self._position)

    @property
    def svg(self):
        """The SVG (a complete document) of the current state."""
        if self._svg is None:
            self._svg = self._picture.svg_at(self._position)
        return self._svg

    def progress_text(self):
        f = min(self._position, self._F)
        b = max(0, self._position - self._F)
        return f"forward {f}/{self._F} · backward {b}/{self._B}"

    # -- moving ---------------------------------------------------------------------
    def step_forward(self):
        """One step on; does nothing at the end."""
        if self._position < self._total:
            self._go(self._position + 1)

    def step_back(self):
        """One step back; does nothing at the start."""
        if self._position > 0:
            self._go(self._position - 1)

    def reset(self):
        """Back to position 0: nothing computed."""
        self._go(0)

    def run_to_end(self):
        """Jump to the end: every value and every gradient known."""
        self._go(self._total)

    def _on_control(self, change):
        if self._syncing:
            return
        value = change["new"]
        if isinstance(value, int) and 0 <= value <= self._total:
            self._go(value)

    def _go(self, p):
        if p != self._position or self._svg is None:
            self._position = p
            self._svg = None
        self._show()

    def _show(self):
        p = self._position
        self._syncing = True
        try:
            if self.play.value != p:
                self.play.value = p
            if self.slider.value != p:
                self.slider.value = p
        finally:
            self._syncing = False
        self.reset_button.disabled = self.back_button.disabled = p == 0
        self.forward_button.disabled = self.end_button.disabled = p == self._total
        self.progress.value = (f'<span style="font-family:monospace;font-size:12px;color:#52606d">'
                               f'{escape(self.progress_text())}</span>')
        svg = self.svg
        self.picture.value = svg[svg.find("<svg"):]
        self.panel.value = self._panel_html()

    def _panel_html(self):
        step = self.step
        if step is None:
            return explanation_html("start", self.explanation, None)
        text = self.explanation
        lines = text.split("\n")
        if len(lines) > _PANEL_LINES:     # a node used thousands of times: show the ends
            cut = len(lines) - _PANEL_LINES + 4
            text = "\n".join(lines[:_PANEL_LINES - 6] + [f"… {cut} more lines (s.explanation has all) …"]
                             + lines[-5:])
        return explanation_html(self._timeline.head(self._position), text, step.phase)

    # -- pictures -----------------------------------------------------------------------
    def drawing(self):
        """A static ``render.Drawing`` of the current state (``.save("x.png")`` etc.)."""
        return render.Drawing(self._picture, self._position)

    def save(self, path, **kwargs):
        """Save the current state as .svg, .png or .dot (see ``Drawing.save``)."""
        return self.drawing().save(path, **kwargs)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            data = super()._repr_mimebundle_(**kwargs) or {}
        except TypeError:
            data = {}
        data["image/svg+xml"] = self.svg
        data["text/plain"] = repr(self)
        return data

    def __repr__(self):
        return (f"<nbgraph Stepper: {len(self._graph.nodes)} nodes, {self.progress_text()}, "
                f"output {self._graph.loss_label}>")
