"""A hand-made drawing + position model following CONTRACT-stepper.md, without Graphviz.

Used by the page-only tests of ``nbgraph/static/stepper.js`` (tests/browser/
test_stepper_browser.py): they drive the browser side alone, with data whose
every field the test chose (hostile names included).
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape as xml_escape

STYLE = """
.ng-unit:not(.ng-v) .ng-val, .ng-unit.ng-v .ng-val0 { display: none; }
.ng-unit:not(.ng-g) .ng-grad, .ng-unit.ng-g .ng-grad0 { display: none; }
.ng-value .ng-bg { fill: #fff; stroke: #b9c0c8; }
.ng-value.ng-v .ng-bg { fill: #e3eefb; stroke: #52606d; }
.ng-unit.ng-active .ng-bg { fill: #ffe066; stroke: #e8590c; stroke-width: 3; }
.ng-edge .ng-stroke { stroke: #8995a3; }
.ng-edge.ng-flow .ng-stroke { stroke: #c2255c; stroke-width: 3; }
"""


def chain(n: int, name=lambda i: f"h{i}", per_row: int = 20) -> dict:
    """A chain h0 -> h1 -> ... -> h{n-1} drawn as value boxes in rows of ``per_row``.

    Forward steps compute h1..h{n-1} (F = n-1); backward steps give every box its
    gradient from the end back (B = n). Returns {svg, timeline, stylesheet, position}.
    """
    F, B = n - 1, n
    total = F + B
    w, h, gap = 110, 60, 40
    cols = min(n, per_row)
    rows = (n + per_row - 1) // per_row
    W, H = cols * (w + gap) + gap, rows * (h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ng-drawing" width="{W}pt" '
             f'height="{H}pt" viewBox="0 0 {W} {H}"><g id="graph0">']
    units, active, flow = [], [None], [[]]
    pos = []
    for i in range(n):
        x, y = gap + (i % per_row) * (w + gap), gap + (i // per_row) * (h + gap)
        pos.append((x, y))
    for i in range(1, n):
        (x0, y0), (x1, y1) = pos[i - 1], pos[i]
        parts.append(f'<g id="ng-e{i}" class="ng-unit ng-edge"><path class="ng-stroke" '
                     f'd="M{x0 + w},{y0 + h / 2} L{x1},{y1 + h / 2}"/></g>')
    for i in range(n):
        x, y = pos[i]
        label = xml_escape(name(i), {'"': "&quot;"})
        parts.append(
            f'<g id="ng-n{i}" class="ng-unit ng-value"><rect class="ng-bg" x="{x}" y="{y}" '
            f'width="{w}" height="{h}"/>'
            f'<text class="ng-name" x="{x + 6}" y="{y + 16}">{label[:14]}</text>'
            f'<text class="ng-val0" x="{x + 6}" y="{y + 34}">?</text>'
            f'<text class="ng-val" x="{x + 6}" y="{y + 34}">{i}</text>'
            f'<text class="ng-grad0" x="{x + 6}" y="{y + 52}">grad ?</text>'
            f'<text class="ng-grad" x="{x + 6}" y="{y + 52}">grad {n - i}</text></g>')
    parts.append("</g></svg>")
    for i in range(n):
        v = i                      # h0 is an input; h_i is computed at step i
        g = F + (n - i)            # the last box gets its gradient first
        units.append({"id": f"ng-n{i}", "kind": "value", "v": v, "g": g, "name": name(i),
                      "value": str(i), "grad": str(n - i), "jump": [v or None, g]})
    for i in range(1, n):
        units.append({"id": f"ng-e{i}", "kind": "edge", "v": i, "g": F + (n - i) + 1})
    heads, texts = ["start"], [f"Nothing is computed yet; {name(0)} is given."]
    for p in range(1, F + 1):
        active.append(f"ng-n{p}")
        flow.append([f"ng-e{p}"])
        heads.append(f"forward step {p} of {F} · {name(p)}")
        texts.append(f"{name(p)} = {name(p - 1)} + 1 = {p}")
    for k in range(1, B + 1):
        i = n - k
        active.append(f"ng-n{i}")
        flow.append([f"ng-e{i + 1}"] if i + 1 < n else [])
        heads.append(f"backward step {k} of {B} · {name(i)}")
        texts.append(f"d{name(n - 1)}/d{name(i)} = {n - i}")
    timeline = {"F": F, "B": B, "total": total, "units": units, "active": active,
                "flow": flow, "heads": heads, "texts": texts}
    return {"svg": "".join(parts), "timeline": json.dumps(timeline), "stylesheet": STYLE,
            "position": 0}
