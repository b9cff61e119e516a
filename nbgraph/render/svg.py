"""The laid-out SVG with ids and classes, and the SVG of a position.

The layout program copies each unit's DOT ``id`` and ``class`` onto its
``<g>``. ``LaidOut`` then names the parts of each unit by their place in it
(the units' labels are ours, so their order is known): the box's fill
``ng-bg``, outline ``ng-line``, gradient badge ``ng-badge``; texts ``ng-name``,
``ng-info``, ``ng-val``, ``ng-grad``; an edge's ``ng-stroke`` and ``ng-head``.
A text that reads differently before it is known gets a twin in the same
place (``ng-val0`` "?", ``ng-grad0`` "grad ?"); the stylesheet shows one.
Box texts are centred on their box, so a wider font grows them evenly into
the room ``text_width`` left.

A position's SVG is this one SVG with the state classes of the position
(``Timeline.classes``) and the stylesheet embedded: joining strings, no
layout, no parsing.
"""

import html
import re

from .labels import escape
from .layout import LayoutError

__all__ = ["LaidOut", "shown_texts"]

_BLOCK = re.compile(r'<g id="([^"]+)" class="([^"]+)">\n(.*?)</g>', re.S)
_SHAPE = re.compile(r'<(path|polygon|ellipse) ')
_TEXT = re.compile(r'<text ([^>]*)>([^<]*)</text>\n?')
_XY = re.compile(r'(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)')
_TITLE = re.compile(r'<title>[^<]*</title>')
_COMMENT = re.compile(r'(<!--.*?-->)', re.S)
_ROOT = re.compile(r'<svg [^>]*?(?=>)')


def _centred(attrs, x):
    """A text's attributes anchored at its middle, at ``x``."""
    attrs = attrs.replace('text-anchor="start"', 'text-anchor="middle"')
    return re.sub(r'(?<![-\w])x="[^"]*"', f'x="{x}"', attrs)


class LaidOut:
    """The laid-out SVG of a picture, cut into pieces with a class slot per unit.

    ``order`` lists the element ids of the units in the timeline's order;
    ``faces`` maps an id to its ``Face`` (boxes and ops); ``titles`` an id to
    its tooltip (the full, unshortened name).
    """

    def __init__(self, svg, order, faces, stylesheet, titles=None):
        # Graphviz writes every "-" as "&#45;" (for comments, where "--" is illegal);
        # outside comments a plain "-" is the same XML and keeps ids and texts searchable
        svg = "".join(part if part.startswith("<!--") else part.replace("&#45;", "-")
                      for part in _COMMENT.split(svg))
        index = {uid: k for k, uid in enumerate(order)}
        self.slots = [None] * len(order)
        pieces = []
        root = _ROOT.search(svg)
        if root is None:
            raise LayoutError("internal: the layout program returned no <svg> element")
        pieces.append(svg[:root.end()])
        self.root_slot = len(pieces)
        pieces += ["", ">\n"]
        self.style_slot = len(pieces)
        pieces.append("")
        pos = root.end() + 1
        if svg[pos:pos + 1] == "\n":
            pos += 1
        for m in _BLOCK.finditer(svg, pos):
            uid, cls = html.unescape(m.group(1)), html.unescape(m.group(2))
            k = index.get(uid)
            if k is None:
                continue
            pieces.append(svg[pos:m.end(2)])           # ... class="node ng-unit ng-value
            self.slots[k] = len(pieces)
            pieces.append("")                           # the state classes go here
            body = m.group(3)
            if titles and uid in titles:         # the browser's tooltip: the full name
                body = _TITLE.sub(lambda _m: f"<title>{escape(titles[uid])}</title>", body, count=1)
            face = faces.get(uid)
            if face is None:
                body = self._edge(body) if "ng-edge" in cls.split() else body
            elif face.unit.kind == "op":
                body = self._op(body)
            else:
                body = self._box(body, face)
            pieces.append(f'">\n{body}</g>')
            pos = m.end()
        pieces.append(svg[pos:])
        lost = [order[k] for k, s in enumerate(self.slots) if s is None]
        if lost:
            raise LayoutError(f"internal: the layout lost units {lost[:5]}")
        self.pieces = pieces
        self.stylesheet = stylesheet
        if "]]>" in stylesheet:
            raise ValueError("the stylesheet must not contain ']]>'")
        self.style = f'<style type="text/css"><![CDATA[\n{stylesheet}]]></style>\n'

    # -- naming the parts of a unit ----------------------------------------------------
    @staticmethod
    def _classed(body, names, what):
        """Give the n-th shape in ``body`` the class names[n]."""
        out, last, n = [], 0, 0
        for m in _SHAPE.finditer(body):
            if n < len(names) and names[n]:
                out.append(body[last:m.end()])
                out.append(f'class="{names[n]}" ')
                last = m.end()
            n += 1
        if n != len(names):
            raise LayoutError(f"internal: {what} has {n} shapes, expected {len(names)}")
        out.append(body[last:])
        return "".join(out)

    def _edge(self, body):
        return self._classed(body, ["ng-stroke", "ng-head"], "an edge")

    def _op(self, body):
        body = self._classed(body, ["ng-bg"], "an op circle")
        cx = re.search(r' cx="([^"]*)"', body).group(1)     # the symbol centred on the circle
        return _TEXT.sub(lambda m: '<text class="ng-name" ' + _centred(m.group(1), cx) + f">{m.group(2)}</text>\n",
                         body, count=1)

    def _box(self, body, face):
        shapes = ["ng-bg", "ng-line"] + (["ng-badge"] if face.grad is not None else [])
        body = self._classed(body, shapes, f"the box {face.unit.id}")
        first = _SHAPE.search(body)
        end = body.index(">", first.end())
        xs = [float(x) for x, _ in _XY.findall(body[first.end():end])]
        centre = f"{(min(xs) + max(xs)) / 2:.2f}"
        roles = [("ng-name", None)]
        if face.info:
            roles.append(("ng-info", None))
        for k in range(len(face.values)):
            roles.append(("ng-val", face.pending if k == 0 else None))
        if face.small_const:
            roles = [("ng-name", None)]
        if face.grad is not None:
            roles.append(("ng-grad", face.grad_pending))
        texts = list(_TEXT.finditer(body))
        if len(texts) != len(roles):
            raise LayoutError(f"internal: the box {face.unit.id} has {len(texts)} texts, "
                              f"expected {len(roles)}")
        out, last = [], 0
        for m, (role, twin) in zip(texts, roles):
            attrs = _centred(m.group(1), centre)
            out.append(body[last:m.start()])
            out.append(f'<text class="{role}" {attrs}>{m.group(2)}</text>\n')
            if twin is not None:
                out.append(f'<text class="{role}0" {attrs}>{escape(twin)}</text>\n')
            last = m.end()
        out.append(body[last:])
        return "".join(out)

    # -- pictures --------------------------------------------------------------------------
    @property
    def svg(self):
        """The laid-out SVG: ids and unit classes, no state classes, no stylesheet."""
        pieces = self.pieces.copy()
        pieces[self.root_slot] = ' class="ng-drawing"'
        return "".join(pieces)

    def at(self, classes, root_class):
        """A complete SVG: ``classes`` (one string per unit, in order) applied,
        the root's phase class, and the stylesheet embedded."""
        pieces = self.pieces.copy()
        pieces[self.root_slot] = f' class="ng-drawing {root_class}"'
        pieces[self.style_slot] = self.style
        for at, c in zip(self.slots, classes):
            if c:
                pieces[at] = " " + c
        return "".join(pieces)


_SVGNS = "{http://www.w3.org/2000/svg}"
_HIDDEN = {"ng-val": lambda c: "ng-v" not in c, "ng-val0": lambda c: "ng-v" in c,
           "ng-grad": lambda c: "ng-g" not in c, "ng-grad0": lambda c: "ng-g" in c}


def shown_texts(svg):
    """{element id: [texts a reader sees]} for every unit of a position's SVG.

    The stylesheet's rule for texts that change with the state, read in
    Python (for tests and tools): ``ng-val``/``ng-grad`` show once the unit
    has ``ng-v``/``ng-g``, their twins ``ng-val0``/``ng-grad0`` until then.
    """
    import xml.etree.ElementTree as ET
    out = {}
    for g in ET.fromstring(svg).iter(_SVGNS + "g"):
        classes = set((g.get("class") or "").split())
        if "ng-unit" not in classes:
            continue
        out[g.get("id")] = ["".join(t.itertext()) for t in g.iter(_SVGNS + "text")
                            if not _HIDDEN.get(t.get("class"), lambda c: False)(classes)]
    return out
