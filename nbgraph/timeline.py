"""Position p: what is known at each step of the walk through a graph.

Position 0 is the start (only the inputs are known), then one position per
forward step, then one per backward step. For every drawn unit -- a value
box, an op circle, a collapsed box, an edge, a scope -- the ``Timeline``
holds the first position at which its value is known (``v``) and at which its
gradient is known (``g``, or None); for every position, the active unit, the
units the flow runs along, a heading and the explanation.

It is computed once from a ``Graph`` and the drawn units, and it is the only
place this logic lives: the static SVG (``render``), the Stepper and the
browser (through ``to_json``) all read it. The state rule is ``classes``:

    ng-v       iff v <= p              ng-g     iff g is not None and g <= p
    ng-active  iff active[p] is the unit (or the box it is a dashed copy of)
    ng-flow    iff the unit is in flow[p]
    root: ng-start (p == 0), ng-forward (1 <= p <= F), ng-backward (p > F)
"""

import json
import re

from . import explain

__all__ = ["Timeline", "check_position", "TEXT_LINES"]

_SURROGATE = re.compile("[\ud800-\udfff]")
TEXT_LINES = 40       # lines of an explanation in the JSON (the full text: ``explanation(p)``)


def check_position(position, total):
    """``position`` as an int in 0..total, or a clear TypeError / ValueError."""
    if isinstance(position, bool) or not hasattr(position, "__index__"):
        raise TypeError(f"position must be an int, got {type(position).__name__}")
    position = position.__index__()
    if not 0 <= position <= total:
        raise ValueError(f"position must be between 0 and {total}, got {position}")
    return position


class Timeline:
    """The position model of a graph as drawn.

    ``Timeline(graph, drawn, hover=None)``: ``drawn`` holds the drawn units
    (``.units`` with ``id``, ``kind``, ``nodes``, ``copy_of``; ``.edges`` with
    ``id``, ``carries``; ``.scopes`` / ``.scope_id``; ``.box`` and ``.opunit``
    mapping a node id to the key of the unit that shows it). ``hover(unit)``
    gives the hover texts of a unit (a dict, or None).
    """

    def __init__(self, graph, drawn, hover=None):
        self.graph = graph
        fsteps, bsteps = graph.forward_steps, graph.backward_steps
        self.steps = [None] + list(fsteps) + list(bsteps)
        self.F, self.B = len(fsteps), len(bsteps)
        self.total = self.F + self.B
        fpos = [0] * len(graph.nodes)
        bpos = [None] * len(graph.nodes)
        for s in fsteps:
            fpos[s.node] = s.index + 1
        for s in bsteps:
            bpos[s.node] = self.F + s.index + 1
        self.units = []           # dicts, in drawing order: the JSON's "units"
        unit_of = {}
        for u in drawn.units:
            grads = [bpos[i] for i in u.nodes if bpos[i] is not None]
            steps = [fpos[i] for i in u.nodes if fpos[i] > 0]
            entry = {"id": u.id, "kind": u.kind, "v": max(fpos[i] for i in u.nodes),
                     "g": max(grads) if grads and u.kind != "op" else None}
            # where clicking the unit goes: its forward step, its backward step
            entry["jump"] = [min(steps) if steps else None,
                             min(grads) if grads and u.kind != "op" else None]
            if u.copy_of:
                entry["copy_of"] = u.copy_of
            if hover is not None:
                entry.update(hover(u) or {})
            unit_of[u.key] = u.id
            self.units.append(entry)
        carries = {}
        for e in drawn.edges:
            vs, gs = [], []
            for src, dst in e.carries:
                vs.append(fpos[src])
                if bpos[src] is not None:
                    gs.append(bpos[src])
                carries.setdefault((src, dst), []).append(e.id)
            self.units.append({"id": e.id, "kind": "edge", "v": min(vs), "g": min(gs) if gs else None})
        for path in drawn.scopes:
            self.units.append({"id": drawn.scope_id[path], "kind": "scope", "v": 0, "g": None})
        # the step of each position: its active unit and where its flow runs
        self.active = [None] * (self.total + 1)
        self.flow = [()] * (self.total + 1)
        nodes = graph.nodes
        for p in range(1, self.total + 1):
            step = self.steps[p]
            i = step.node
            self.active[p] = unit_of[drawn.box[i]]
            flow = []
            if step.phase == "forward":
                op = drawn.opunit.get(i)
                if op is not None and op != drawn.box[i]:
                    flow.append(unit_of[op])
                for j in nodes[i].inputs:
                    flow += carries.get((j, i), ())
                flow += carries.get((i, None), ())
            else:
                for u, _ in nodes[i].users:
                    flow += carries.get((i, u), ())
                    flow += carries.get((u, None), ())
            self.flow[p] = tuple(dict.fromkeys(flow))
        self._index = {u["id"]: k for k, u in enumerate(self.units)}

    # -- words ----------------------------------------------------------------------
    def head(self, p):
        """``"start"``, or ``"forward step 1 of 2 · p"`` / ``"backward step …"``."""
        step = self.steps[check_position(p, self.total)]
        if step is None:
            return "start"
        count = self.F if step.phase == "forward" else self.B
        return f"{step.phase} step {step.index + 1} of {count} · {self.graph.nodes[step.node].label}"

    def explanation(self, p):
        """The words of position ``p``: the start text, or the step's formula with numbers."""
        step = self.steps[check_position(p, self.total)]
        return explain.start_text(self.graph) if step is None else step.explanation

    def text(self, p, lines=TEXT_LINES):
        """The explanation as a panel shows it: at most ``lines`` lines (a node used
        thousands of times sums thousands of products: the first and last ones are kept)."""
        text = self.explanation(p)
        parts = text.split("\n")
        if len(parts) <= lines:
            return text
        cut = len(parts) - lines + 1
        return "\n".join(parts[:lines - 6] + [f"… {cut} more lines …"] + parts[-5:])

    def phase(self, p):
        """"start", "forward" or "backward"."""
        p = check_position(p, self.total)
        return "start" if p == 0 else "forward" if p <= self.F else "backward"

    # -- the state rule -----------------------------------------------------------------
    def root_class(self, p):
        return "ng-" + self.phase(p)

    def classes(self, p, highlight=True):
        """The state classes of every unit at ``p`` (a list of strings, in ``units`` order);
        ``highlight=False`` leaves out ng-active and ng-flow (a picture of the end)."""
        p = check_position(p, self.total)
        active, flow = self.active[p], set(self.flow[p])
        if not highlight:
            active, flow = None, set()
        out = []
        for u in self.units:
            c = []
            if u["v"] <= p:
                c.append("ng-v")
            g = u["g"]
            if g is not None and g <= p:
                c.append("ng-g")
            if active is not None and (u["id"] == active or u.get("copy_of") == active):
                c.append("ng-active")
            if u["id"] in flow:
                c.append("ng-flow")
            out.append(" ".join(c))
        return out

    # -- JSON for the browser --------------------------------------------------------------
    def to_dict(self):
        n = self.total + 1
        return {"F": self.F, "B": self.B, "total": self.total, "units": self.units,
                "active": self.active, "flow": [list(f) for f in self.flow],
                "heads": [self.head(p) for p in range(n)],
                "texts": [self.text(p) for p in range(n)]}

    def to_json(self):
        """Compact JSON (see CONTRACT): grows with the graph, not with graph × steps.

        UTF-8 as it is; a lone surrogate in a name (which UTF-8 cannot carry)
        becomes U+FFFD, as in the drawing."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return _SURROGATE.sub("\ufffd", text)

    def __repr__(self):
        return f"<Timeline: {len(self.units)} units, forward {self.F}, backward {self.B}>"
