"""A prepared picture: a graph laid out once, and its SVG at any position.

    pic = render.prepare(x)          # runs the layout program once
    pic.timeline                     # the position model (nbgraph.timeline)
    pic.svg                          # the laid-out SVG: ids and classes, no state
    pic.svg_at(p)                    # a complete SVG of position p, stylesheet inside
"""

import os
import weakref

from ..engine import Tensor
from ..graph import Graph, graph as make_graph
from ..timeline import Timeline, check_position
from .dot import faces as make_faces, layout_dot, state_dot
from .labels import escape
from . import layout
from .look import STYLESHEET, grad_line, value_lines
from .svg import LaidOut
from .units import Units

__all__ = ["Picture", "prepare", "as_graph", "Drawing"]


def as_graph(x, who="ng.show"):
    """A Graph from a Tensor, a list of Tensors or a Graph; a clear TypeError otherwise."""
    from ..bridges.micrograd import convert      # micrograd Values -> Tensors (bridge)
    x = convert(x)
    if isinstance(x, Graph):
        return x
    if isinstance(x, Tensor):
        return make_graph(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, Tensor) for t in x):
        return make_graph(*x)
    raise TypeError(f"{who} takes an nbgraph Tensor, a list of Tensors, a Graph or a micrograd Value; "
                    f"got {type(x).__name__}")


def _hover(graph):
    """The hover texts of a unit: full name, value, gradient."""
    def hover(u):
        if u.kind == "group":
            return {"name": u.title, "value": u.info}
        n = graph.nodes[u.node]
        if u.kind == "op":
            return {"name": f"{n.label} = {n.formula([graph.nodes[i].label for i in n.inputs])}"}
        out = {"name": n.label, "value": "\n".join(value_lines(n.value))}
        if n.grad is not None:
            text = grad_line(n.grad)
            out["grad"] = text[5:] if text.startswith("grad ") else text.partition(": ")[2] or text
        return out
    return hover


def _titles(drawn, faces, timeline):
    """Tooltips (SVG ``<title>``): a box's full name, an op's formula, an edge's ends, a scope's path."""
    titles = {u["id"]: u["name"] for u in timeline.units if "name" in u}
    short = {f.unit.key: f.name for f in faces}
    for e in drawn.edges:
        titles[e.id] = f"{short[e.tail]} → {short[e.head]}"
    for path in drawn.scopes:
        titles[drawn.scope_id[path]] = path
    return titles


class Picture:
    """A graph laid out once; see ``prepare``."""

    def __init__(self, g, color_by=None, expand=None, max_nodes=None, collapse=None, timeout=None):
        if color_by not in (None, "state", "grad"):
            raise ValueError(f"color_by must be None or 'grad', got {color_by!r}")
        self.graph = g
        self.color_by = "grad" if color_by == "grad" else None
        g.backward_steps                                   # fills node.grad
        self.units = Units(g, expand=expand, max_nodes=max_nodes, collapse=collapse)
        self.faces = make_faces(self.units, self.color_by)
        self.timeline = Timeline(g, self.units, hover=_hover(g))
        source = layout_dot(self.units, self.faces, self.color_by).source
        what = f"a drawing of {len(self.units.units):,} boxes and {len(self.units.edges):,} edges"
        svg = layout.run_layout_program(source, "svg", timeout=timeout, what=what,
                                 max_nodes=self.units.max_nodes).decode("utf-8")
        order = [u["id"] for u in self.timeline.units]
        titles = _titles(self.units, self.faces, self.timeline)
        self._laid = LaidOut(svg, order, {f.unit.id: f for f in self.faces}, STYLESHEET, titles)
        self.svg = self._laid.svg
        self.stylesheet = STYLESHEET

    @property
    def total(self):
        return self.timeline.total

    def svg_at(self, p=None):
        """A complete SVG of position ``p``: state classes, stylesheet embedded; renders
        alone, also as an ``<img>``. ``None``: the end, every value and gradient known,
        nothing highlighted."""
        t = self.timeline
        if p is None:
            return self._laid.at(t.classes(t.total, highlight=False), "ng-end")
        p = check_position(p, t.total)
        return self._laid.at(t.classes(p), t.root_class(p))

    def dot(self, p=None):
        """The ``graphviz.Digraph`` of position ``p`` (``None``: the end), coloured in DOT."""
        if p is not None:
            p = check_position(p, self.total)
        return state_dot(self.units, self.faces, self.timeline, p, self.color_by)

    def __repr__(self):
        return (f"<nbgraph Picture: {len(self.graph.nodes)} nodes, {len(self.units.units)} drawn, "
                f"{self.total} steps>")


def prepare(x, color_by=None, expand=None, max_nodes=None, collapse=None, timeout=None):
    """Lay out the graph of ``x`` (a Tensor, a list of Tensors or a Graph) once.

    Returns a ``Picture``: ``.graph``, ``.timeline`` (the position model),
    ``.svg`` (laid out, ids and classes, no state), ``.svg_at(p)`` (a complete
    static SVG of position p), ``.stylesheet``. ``color_by="grad"`` colours
    boxes by gradient size; graphs above ``max_nodes`` (default 1500) nodes
    are collapsed (``expand=["scope/path"]`` opens scopes), ``collapse=True``
    collapses scopes whatever the size; ``timeout`` limits the layout run.

    The picture is kept with the Graph: preparing the same ``Graph`` in the
    same mode again (``ng.show``, a Stepper) reuses it -- the layout runs once
    per graph and mode. A Tensor gives a new Graph, so a new layout.
    """
    return _cached(as_graph(x, "render.prepare"), color_by, expand, max_nodes, collapse, timeout)


_cache = weakref.WeakKeyDictionary()


def _cached(g, color_by=None, expand=None, max_nodes=None, collapse=None, timeout=None):
    """The picture of graph ``g`` in a mode, prepared on first use and kept with the graph."""
    key = (None if color_by == "state" else color_by, tuple(sorted(set(expand or ()))), max_nodes, collapse)
    per_graph = _cache.setdefault(g, {})
    pic = per_graph.get(key)
    if pic is None:
        pic = per_graph[key] = Picture(g, color_by, expand, max_nodes, collapse, timeout)
    return pic


class Drawing:
    """A static picture of a graph at one position (what ``ng.show`` returns).

    It displays itself as SVG when it is the last expression of a notebook
    cell (``display(ng.show(x))`` shows it mid-cell). ``.svg`` is the SVG
    text (stylesheet inside), ``.dot`` the ``graphviz.Digraph``,
    ``.save(path)`` writes ``.svg``, ``.png`` (rasterised by the layout
    program, ``-Tpng``) or ``.dot``/``.gv``.
    """

    def __init__(self, picture, position=None):
        self.picture = picture
        self.position = None if position is None else check_position(position, picture.total)

    @property
    def graph(self):
        return self.picture.graph

    @property
    def svg(self):
        return self.picture.svg_at(self.position)

    @property
    def dot(self):
        return self.picture.dot(self.position)

    def save(self, path, format=None, dpi=144):
        """Write the picture to ``path``; the format comes from the suffix (svg, png, dot, gv).

        PNG is rasterised by the layout program itself (``-Tpng``, bundled
        Arimo font) from the DOT of this state, at ``dpi`` (default 144).
        """
        path = os.fspath(path)
        fmt = (format or os.path.splitext(path)[1].lstrip(".")).lower()
        if fmt == "svg":
            data = self.svg.encode("utf-8")
        elif fmt in ("dot", "gv"):
            data = self.dot.source.encode("utf-8")
        elif fmt == "png":
            data = layout.run_layout_program(self.dot.source, "png", what=f"{escape(path)!r}",
                                      args=[f"-Gdpi={float(dpi):g}"])
        else:
            raise ValueError(f"cannot save as {fmt!r}: use a .svg, .png, .dot or .gv file name")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self):
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..publish import output_forms    # an <img>: shows where SVG is refused (untrusted)
        return {"image/svg+xml": self.svg, **output_forms(self.picture, self.position),
                "text/plain": repr(self)}

    def __repr__(self):
        pic = self.picture
        at = "final state" if self.position is None else f"step {self.position}/{pic.total}"
        return f"<nbgraph drawing: {len(pic.graph.nodes)} nodes, {at}, output {pic.graph.loss_label}>"
