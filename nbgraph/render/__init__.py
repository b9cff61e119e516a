"""Drawing the graph: Graph -> units -> DOT -> one layout -> SVG with ids and
classes; a position only changes classes.

The pipeline, one module per stage:

``units``    what is drawn: a box per value, a circle per op, a cluster per
             scope; big graphs collapsed; dashed copies of heavily shared leaves.
``look``     colours (from ``style.css``, the one stylesheet), gradient bins,
             the texts a box shows.
``labels``   user text: ``escape`` (the one place it is made safe),
             shortening, widths measured for the widest usual font.
``dot``      DOT with element ids and classes, through the ``graphviz`` package.
``layout``   finding and running the layout program (``graphviz-pure``).
``svg``      the laid-out SVG: parts named by class, the SVG of a position.
``picture``  ``prepare`` / ``Picture``: all of the above, once per graph;
             ``Drawing`` (what ``ng.show`` returns).

The position model itself (what is known at position p) is
``nbgraph.timeline``. Colours: white with a grey "?" = not computed yet; pale
blue = computed (pale green with a thick teal border: a parameter; small and
grey: a constant); yellow with a thick orange border = the node of the current
forward step, its op and input edges orange; a thick orange border and an
orange gradient badge = the node of the current backward step, the edges its
gradient comes back along crimson; a peach badge = gradient known. NaN/Inf is
magenta in every mode. With ``color_by="grad"`` a box is filled by the size
of its gradient by decade (``GRAD_BINS``/``GRAD_COLORS``), with a legend. A
dashed box is a copy of a heavily shared leaf (large graphs; a note says so).

Output is deterministic: ids come from graph positions, so the same code
gives byte-identical DOT and SVG on every run.
"""

from .labels import escape, shorten, text_width, FONT_STACK
from .layout import (LayoutError, LayoutTimeoutError, LayoutProgramNotFound, set_layout_program,
                     set_layout_timeout, find_layout_program, run_layout_program)
from .look import PALETTE, GRAD_BINS, GRAD_COLORS, GRAD_ZERO, STYLESHEET, grad_color
from .units import MAX_NODES, COPY_NOTE
from .picture import Picture, Drawing, prepare, as_graph
from .svg import shown_texts
from . import layout
from ..timeline import check_position

__all__ = [
    "prepare", "Picture", "Drawing", "show", "to_dot", "render_svg", "escape", "shorten",
    "set_layout_program", "set_layout_timeout", "find_layout_program",
    "LayoutError", "LayoutTimeoutError", "LayoutProgramNotFound", "shown_texts",
    "PALETTE", "GRAD_BINS", "GRAD_COLORS", "MAX_NODES", "STYLESHEET",
]


def render_svg(graph_or_tensor, position=None, color_by=None, expand=None, max_nodes=None,
               collapse=None, timeout=None):
    """The SVG (a str, stylesheet inside) of a graph at a step ``position``.

    ``position`` counts steps: 0 = nothing computed yet, then one per forward
    step, then one per backward step; ``None`` = the end (every value and
    gradient known, nothing highlighted). Other arguments as ``prepare``.
    The layout runs once per graph and mode; later calls only set classes.
    """
    g = as_graph(graph_or_tensor, "render_svg")
    return prepare(g, color_by, expand, max_nodes, collapse, timeout).svg_at(position)


def to_dot(x, color_by=None, position=None, expand=None, max_nodes=None, collapse=None):
    """The ``graphviz.Digraph`` of the final state (or of ``position``), coloured in DOT.

    Nothing is laid out here. To get a picture, use ``ng.show(x).save("g.svg")``.
    """
    from .dot import faces, state_dot
    from .units import Units
    from ..timeline import Timeline
    g = as_graph(x, "ng.to_dot")
    if color_by not in (None, "state", "grad"):
        raise ValueError(f"color_by must be None or 'grad', got {color_by!r}")
    color_by = "grad" if color_by == "grad" else None
    g.backward_steps
    drawn = Units(g, expand=expand, max_nodes=max_nodes, collapse=collapse)
    timeline = Timeline(g, drawn)
    if position is not None:
        position = check_position(position, timeline.total)
    return state_dot(drawn, faces(drawn, color_by), timeline, position, color_by)


def show(x_or_graph, color_by=None, expand=None, max_nodes=None, collapse=None):
    """A static drawing of the final state: every value and every gradient.

    Returns a ``Drawing``, which shows itself when it is the last expression of
    a cell (use ``display(ng.show(x))`` mid-cell) and renders in any frontend
    (plain SVG with its stylesheet inside, no widgets). ``.save("g.svg")`` /
    ``.save("g.png")`` write files.
    """
    g = as_graph(x_or_graph, "ng.show")
    return Drawing(prepare(g, color_by, expand, max_nodes, collapse))
