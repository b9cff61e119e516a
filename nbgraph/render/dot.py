"""DOT: the units written for the layout program, through the ``graphviz`` package.

Every unit carries its element id and its static classes (``id``/``class``
DOT attributes, which the layout program copies onto the unit's ``<g>``).

``layout_dot`` is the input of the one layout run of a picture: every box
shows its final texts, and is made wide enough (``text_width``, DejaVu Sans
metrics) for each text it may show in any state with the widest usual font.
``state_dot`` is a self-contained picture of one position, coloured in DOT
(for a PNG and for ``to_dot``) -- there is no stylesheet outside a browser.
Every piece of user text goes through ``escape``.
"""

import graphviz

from .labels import escape, shorten, text_width
from .look import (PALETTE, GRAD_COLORS, GRAD_ZERO, DARK_BINS, bin_label, finite, grad_bin,
                   grad_line, value_lines)

__all__ = ["Face", "faces", "layout_dot", "state_dot", "FONT", "NAME_SIZE", "GRAD_SIZE"]

FONT = "Helvetica"        # what graphviz-pure measures with (Arimo when rasterising)
NAME_SIZE, GRAD_SIZE, CONST_SIZE, INFO_SIZE = 12, 10, 10, 9


_KIND_CLASS = {"leaf": "ng-leaf", "param": "ng-param", "const": "ng-const"}


class Face:
    """What a unit shows: static classes, its texts when known, and the text
    it shows while its value (``pending``) or gradient (``grad_pending``) is not."""

    __slots__ = ("unit", "classes", "name", "info", "values", "pending", "grad", "grad_pending",
                 "small_const")

    def __init__(self, unit, classes, name, values=(), pending=None, grad=None, grad_pending=None,
                 info=None, small_const=False):
        self.unit, self.classes, self.name, self.info = unit, classes, name, info
        self.values, self.pending = list(values), pending
        self.grad, self.grad_pending, self.small_const = grad, grad_pending, small_const


def faces(drawn, color_by=None):
    """The ``Face`` of every unit of ``drawn`` (a ``Units``), in order."""
    g = drawn.graph
    out = []
    for u in drawn.units:
        if u.kind == "op":
            n = g.nodes[u.node]
            out.append(Face(u, "ng-unit ng-op", shorten(n.op.symbol, 12)))
            continue
        if u.kind == "group":
            members = [g.nodes[i] for i in u.nodes]
            pending = "values ?" if any(m.op is not None for m in members) else None
            need = sum(1 for m in members if m.grad is not None)
            out.append(Face(u, "ng-unit ng-group", shorten(u.title), [f"values: all {len(members):,}"],
                            pending, f"grads: all {need:,}" if need else None, "grads ?" if need else None,
                            info=shorten(u.info, 90)))
            continue
        n = g.nodes[u.node]
        cls = ["ng-unit", "ng-value", _KIND_CLASS.get(n.kind, "ng-result")]
        if u.ghost:
            cls.append("ng-ghost")
        if not finite(n.value):
            cls.append("ng-nanv")
        small_const = n.kind == "const" and n.value.size == 1
        grad = grad_pending = None
        if n.grad is not None and not small_const:
            grad, grad_pending = grad_line(n.grad), "grad ?"
            b = grad_bin(n.grad)
            if b is None:
                cls.append("ng-nang")
            elif color_by == "grad":
                cls.append("ng-gzero" if b == "zero" else f"ng-gbin-{b}")
                if b in DARK_BINS:
                    cls.append("ng-dark")
        pending = None if n.op is None else "?"
        values = [] if small_const else value_lines(n.value)
        out.append(Face(u, " ".join(cls), shorten(n.label, 24 if small_const else 48), values,
                        pending, grad, grad_pending, small_const=small_const))
    return out


def _graph(drawn, name="nbgraph"):
    return graphviz.Digraph(name, graph_attr={
        "rankdir": "LR", "bgcolor": "white", "nodesep": "0.22", "ranksep": "0.32",
        "fontname": FONT, "fontsize": "11", "pad": "0.12", "newrank": "true",
        # graphviz-pure's network simplex can take minutes on nodes with many
        # uses (a weight in every time step); capping its iterations keeps
        # layouts fast and leaves small drawings unchanged.
        "nslimit": "4",
    }, node_attr={"fontname": FONT, "fontsize": str(NAME_SIZE), "shape": "plain"},
        edge_attr={"arrowsize": "0.6", "color": PALETTE["edge"]})


def _box_label(face, look, layout):
    """HTML-like label of a value or group box; ``look`` gives colours and widths.

    With ``layout``: the known texts, and a width that holds every text the
    box may show. Otherwise: the texts of the state in ``look``.
    """
    esc = lambda s: escape(s, dot=True)  # noqa: E731
    if face.small_const:
        w = text_width(face.name, CONST_SIZE) + 4
        return (f'<<table border="1" cellborder="0" cellspacing="0" cellpadding="1" style="{look["style"]}" '
                f'bgcolor="{look["bg"]}" color="{look["line"]}"><tr><td width="{w:.0f}">'
                f'<font color="{look["namefc"]}" point-size="{CONST_SIZE}">{esc(face.name)}</font>'
                f'</td></tr></table>>')
    values = face.values if layout or look["v"] else [face.pending] + [""] * (len(face.values) - 1)
    grad = face.grad if layout or look["g"] else face.grad_pending
    width = max([text_width(face.name, NAME_SIZE, bold=True)]
                + [text_width(v, NAME_SIZE) for v in face.values + [face.pending or ""]]
                + [text_width(face.info or "", INFO_SIZE)]
                + [text_width(t or "", GRAD_SIZE) + 8 for t in (face.grad, face.grad_pending)]) + 6
    rows = [f'<tr><td width="{width:.0f}"><font color="{look["namefc"]}"><b>{esc(face.name)}</b></font></td></tr>']
    if face.info:
        rows.append(f'<tr><td><font color="{PALETTE["group_line"]}" point-size="{INFO_SIZE}">'
                    f'{esc(face.info)}</font></td></tr>')
    for v in values:
        rows.append(f'<tr><td><font color="{look["valfc"]}">{esc(v) or " "}</font></td></tr>')
    if face.grad is not None:
        gw = max(text_width(t, GRAD_SIZE) for t in (face.grad, face.grad_pending)) + 4
        rows.append(f'<tr><td cellpadding="3"><table border="0" cellborder="0" cellspacing="0" cellpadding="1" '
                    f'style="rounded" bgcolor="{look["gradbg"]}"><tr><td width="{gw:.0f}"><font '
                    f'color="{look["gradfc"]}" point-size="{GRAD_SIZE}">{esc(grad)}</font></td></tr>'
                    f'</table></td></tr>')
    pad = "" if face.unit.kind == "group" else ' cellpadding="2"'
    return (f'<<table border="{look["border"]}" cellborder="0" cellspacing="1"{pad} style="{look["style"]}" '
            f'bgcolor="{look["bg"]}" color="{look["line"]}">{"".join(rows)}</table>>')


def _op_attrs(face, look):
    sym = face.name
    small = len(sym) <= 2
    size = 13 if small else 10
    width = max(0.32, (text_width(sym, size) + 8) / 72)
    attrs = {"shape": "circle" if len(sym) <= 4 else "ellipse", "style": "filled",
             "fillcolor": look["bg"], "color": look["line"], "fontcolor": look["namefc"],
             "fontsize": str(size), "width": f"{width:.2f}", "height": "0.32", "margin": "0.02"}
    if look["border"] != 1:
        attrs["penwidth"] = f'{look["border"]:g}'
    return f"<{escape(sym, dot=True)}>", attrs


def _write(drawn, faces_, looks, edge_looks, layout, color_by):
    d = _graph(drawn)
    by_cluster = {}
    for face, look in zip(faces_, looks):
        by_cluster.setdefault(face.unit.cluster, []).append((face, look))

    def unit_stmt(target, face, look):
        u = face.unit
        if u.kind == "op":
            label, attrs = _op_attrs(face, look)
            target.node(u.key, label=label, id=u.id, **{"class": face.classes}, **attrs)
        else:
            target.node(u.key, label=_box_label(face, look, layout), id=u.id, **{"class": face.classes})

    order = drawn.scopes

    def fill(target, path):
        for face, look in by_cluster.get(path, ()):
            unit_stmt(target, face, look)
        prefix = path + "/" if path else ""
        for child in order:
            if child.startswith(prefix) and "/" not in child[len(prefix):]:
                sid = drawn.scope_id[child]
                with target.subgraph(name=f"cluster_{sid[4:]}") as sub:
                    title = shorten(child.rpartition("/")[2], 40)
                    # a cell as wide as the widest usual font needs, text from its left edge
                    label = (f'<<table border="0" cellborder="0" cellpadding="0" cellspacing="0"><tr>'
                             f'<td align="left" width="{text_width(title, 11) + 2:.0f}">'
                             f'{escape(title, dot=True)}</td></tr></table>>')
                    sub.attr(label=label,
                             style="rounded,filled", fillcolor=PALETTE["cluster_fill"],
                             color=PALETTE["cluster_line"], fontcolor=PALETTE["cluster_text"],
                             fontsize="11", labeljust="l", id=sid, **{"class": "ng-unit ng-scope"})
                    fill(sub, child)

    fill(d, "")
    for e, (colour, width) in zip(drawn.edges, edge_looks):
        # A leaf used in many places (a shared weight) must not drag its users
        # to the left: its edges do not constrain the ranks.
        extra = {"constraint": "false"} if e.loose else {}
        cls = "ng-unit ng-edge ng-loose" if e.loose else "ng-unit ng-edge"
        d.edge(drawn.unit[e.tail].key, drawn.unit[e.head].key, id=e.id, color=colour,
               penwidth=f"{width:g}", **{"class": cls}, **extra)
    label = _graph_label(drawn, color_by)
    if label:
        d.attr(label=label, labelloc="t" if drawn.note else "b", labeljust="l")
    return d


def _graph_label(drawn, color_by):
    """The note (collapsed or copied boxes) and, with color_by="grad", the legend.

    Texts are left-aligned in cells sized for the widest usual font."""
    rows = []
    cols = len(GRAD_COLORS) + 3
    if drawn.note:
        w = text_width(drawn.note, 11) + 8
        rows.append(f'<tr><td align="left" width="{w:.0f}" colspan="{cols}"><font color="{PALETTE["note"]}" '
                    f'point-size="11">{escape(drawn.note, dot=True)}</font></td></tr>')
    if color_by == "grad":
        def cell(text, bg, fc):
            w = text_width(text, 9) + 6
            return (f'<td align="left" width="{w:.0f}" bgcolor="{bg}"><font point-size="9" color="{fc}">'
                    f'{escape(text, dot=True)}</font></td>')
        cells = [cell("largest |grad|:", "#ffffff", PALETTE["line"]), cell("0", GRAD_ZERO, PALETTE["text"])]
        for i, colour in enumerate(GRAD_COLORS):
            cells.append(cell(bin_label(i), colour, "#ffffff" if i in DARK_BINS else PALETTE["text"]))
        cells.append(cell("NaN/Inf", PALETTE["nonfinite"], "#ffffff"))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        return None
    return f'<<table border="0" cellborder="0" cellspacing="1" cellpadding="2">{"".join(rows)}</table>>'


# ---------------------------------------------------------------------------
# Colours of a state, in DOT (a PNG has no stylesheet): mirrors style.css
# ---------------------------------------------------------------------------

def _look(face, state, phase):
    """Colours of a unit whose state classes are ``state`` (a set) at ``phase``."""
    P = PALETTE
    v, gk, active, flow = ("ng-v" in state, "ng-g" in state, "ng-active" in state, "ng-flow" in state)
    cls = face.classes.split()
    look = {"v": v, "g": gk, "border": 1, "style": "rounded", "bg": P["pending_fill"],
            "line": P["pending_line"], "namefc": P["pending_text"], "valfc": P["pending_text"],
            "gradbg": P["pending_fill"], "gradfc": P["pending_text"]}
    if face.unit.kind == "op":
        if v:
            look.update(bg=P["op_fill"], line=P["line"], namefc=P["op_text"])
        if flow and phase == "forward":
            look.update(bg=P["active_fill"], line=P["active_line"], namefc=P["text"], border=2.5)
        return look
    if face.unit.kind == "group":
        look.update(line=P["group_line"], namefc=P["text"])
        if v:
            look.update(bg=P["group_fill"], valfc=P["text"], gradbg=P["group_fill"])
    elif v:
        fill, line, text = P["value_fill"], P["line"], P["text"]
        if "ng-param" in cls:
            fill, line, look["border"] = P["param_fill"], P["param_line"], 2
        elif "ng-const" in cls:
            fill, line, text = P["const_fill"], P["const_line"], P["const_text"]
        look.update(bg=fill, line=line, namefc=text, valfc=text, gradbg=fill)
        if "ng-nanv" in cls:
            look.update(bg=P["nonfinite"], gradbg=P["nonfinite"], namefc=P["nonfinite_text"],
                        valfc=P["nonfinite_text"])
    if face.unit.ghost:
        look["style"] = "rounded,dashed"
    if gk and face.grad is not None:
        look.update(gradbg=P["grad_fill"], gradfc=P["grad_text"])
        if "ng-nang" in cls:
            look.update(gradbg=P["nonfinite"], gradfc=P["nonfinite_text"])
        for c in cls:
            if c.startswith("ng-gbin-") or c == "ng-gzero":
                colour = GRAD_ZERO if c == "ng-gzero" else GRAD_COLORS[int(c[8:])]
                look.update(bg=colour, gradbg=colour)
                if "ng-dark" in cls:
                    look.update(namefc="#ffffff", valfc="#ffffff", gradfc="#ffffff")
    if active:
        look.update(line=P["active_line"], border=3)
        if phase == "forward":
            look.update(bg=P["active_fill"], gradbg=P["active_fill"], namefc=P["text"], valfc=P["text"])
        elif phase == "backward":
            look.update(gradbg=P["active_grad_fill"], gradfc=P["text"])
    return look


def _edge_look(e, state, phase):
    if "ng-flow" in state and phase in ("forward", "backward"):
        return PALETTE["edge_" + phase], 2.5
    if e.loose:
        return PALETTE["edge_shared"], 1
    return PALETTE["edge"], 1.2


def layout_dot(drawn, faces_, color_by=None):
    """The DOT laid out once per picture: final texts, widths for every state."""
    final = {"ng-v", "ng-g"}
    looks = [_look(f, final, "start") for f in faces_]
    return _write(drawn, faces_, looks, [_edge_look(e, (), "start") for e in drawn.edges], True, color_by)


def state_dot(drawn, faces_, timeline, p, color_by=None):
    """The DOT of position ``p`` (``None`` = the end, nothing highlighted), coloured in DOT."""
    if p is None:
        states = [{"ng-v", "ng-g"}] * (len(faces_) + len(drawn.edges))
        phase = "end"
    else:
        states = [set(c.split()) for c in timeline.classes(p)]
        phase = timeline.phase(p)
    looks = [_look(f, s, phase) for f, s in zip(faces_, states)]
    edges = [_edge_look(e, s, phase) for e, s in zip(drawn.edges, states[len(faces_):])]
    return _write(drawn, faces_, looks, edges, False, color_by)
