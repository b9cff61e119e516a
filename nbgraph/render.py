"""Drawing the graph: Graph + step position -> DOT -> SVG.

The pipeline, top to bottom:

1. ``_View`` decides *what* is drawn: one box per value (name, value,
   gradient), one small circle per operation, one cluster per scope. A graph
   too large to lay out quickly is collapsed: scopes become single summary
   boxes (``expand=`` opens some), or, without scopes, the whole middle
   becomes one "N ops collapsed" box between the inputs and the outputs.
2. ``_dot`` writes DOT through the ``graphviz`` package. Every piece of user
   text (names, scope labels, op symbols, numbers) goes through ``escape``.
3. The layout program (``graphviz-pure``, or a ``dot`` you chose) turns DOT
   into SVG. It runs **once** per graph and mode, on the fully computed
   state, so every label already has its final width.
4. ``_Template`` cuts that SVG into static pieces and *slots*: each box's
   fill and stroke, each value and gradient text. Showing step ``k`` fills the
   slots -- pure string work, a few milliseconds even for large graphs -- so
   nodes never move while you step.

Colours (``PALETTE``): white with a grey "?" = not computed yet; pale blue =
computed (pale green with a thick teal border: a parameter; small and grey: a
constant); yellow with a thick orange border = the node of the current
forward step, its input edges orange; a thick orange border and an orange
gradient badge = the node of the current backward step, the edges its
gradient comes back along crimson; a peach badge = gradient known. NaN/Inf
is magenta in every mode. With ``color_by="grad"`` a box is filled by the
size of its gradient (largest absolute entry) by decade, on a diverging scale
(``GRAD_BINS`` / ``GRAD_COLORS``: dark blue = vanishing, pale yellow =
moderate, dark red = exploding; grey = exactly 0), with a legend under the
graph. A dashed box is a copy of a heavily shared leaf (large graphs only).

Output is deterministic: node ids come from graph positions, so the same code
gives byte-identical DOT and SVG on every run.
"""

import bisect
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
import weakref

import numpy as np
import graphviz

from .engine import Tensor
from .graph import Graph, graph as _graph
from .text import fmt_number, fmt_shape

__all__ = [
    "escape", "render_svg", "show", "to_dot", "Drawing",
    "set_layout_program", "set_layout_timeout", "find_layout_program",
    "LayoutError", "LayoutTimeoutError", "LayoutProgramNotFound",
    "PALETTE", "GRAD_BINS", "GRAD_COLORS", "MAX_NODES",
]


# ---------------------------------------------------------------------------
# Escaping: the ONE place user text is made safe, for DOT labels and widgets
# ---------------------------------------------------------------------------

_TRANSLATE = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}  # ␀ ␁ ... ␟
_TRANSLATE.update({0x7F: 0x2421, 0x09: " ", 0xFFFE: 0xFFFD, 0xFFFF: 0xFFFD,
                   ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;",
                   ord('"'): "&quot;", ord("'"): "&#39;"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape(text, dot=False):
    """Make any text safe inside widget HTML or (``dot=True``) a DOT HTML-like label.

    ``& < > " '`` become entities, so the text can neither close the DOT
    label (``>``), nor start an element (``<script>``), nor end an attribute.
    Inside an HTML-like label ``] ; { }`` and quotes have no meaning to DOT.
    ``\\r\\n`` and ``\\r`` become ``\\n``. A tab becomes a space; other control
    characters, which XML forbids, become their visible Unicode pictures
    (U+0001 -> ␁); U+FFFE, U+FFFF and lone surrogates become U+FFFD.

    With ``dot=True`` (text going into DOT): a backslash is doubled, since
    Graphviz reads ``\\N``, ``\\G``, ``\\E``... even in HTML-like labels, and
    a newline becomes ``<br/>``. Otherwise newlines stay (widgets show text
    in a ``pre``-wrapped block).
    """
    s = str(text)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = s.translate(_TRANSLATE)
    if _SURROGATE.search(s):
        s = _SURROGATE.sub("\ufffd", s)
    if dot:
        s = s.replace("\\", "\\\\").replace("\n", "<br/>")
    return s


def _short(text, limit=48, lines=3):
    """Long names are cut (with …) so one node cannot swallow the drawing."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    parts = text.split("\n")
    if len(parts) > lines:
        parts = parts[:lines - 1] + [parts[lines - 1] + " …"]
    parts = [p if len(p) <= limit else p[:limit - 1] + "…" for p in parts]
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# Finding and running the layout program
# ---------------------------------------------------------------------------

class LayoutError(RuntimeError):
    """The layout program failed on a drawing."""


class LayoutTimeoutError(LayoutError):
    """The layout program took longer than the time limit."""


class LayoutProgramNotFound(LayoutError):
    """No layout program could be found."""


_program_choice = None
_timeout = None
DEFAULT_TIMEOUT = 30.0
MAX_NODES = 1500
GHOST_BUDGET = 2000     # ranks spanned by edges before shared leaves get copies
FAN_USES, FAN_SPAN = 8, 200   # ... or a leaf with this many uses spanning this many ranks


def set_layout_program(program):
    """Choose the layout program: ``"dot"`` (a system Graphviz), a path, or
    ``None`` to go back to the default (``graphviz-pure``).

    The environment variable ``NBGRAPH_LAYOUT`` does the same; this call wins.
    """
    global _program_choice
    _program_choice = None if program is None else str(program)


def set_layout_timeout(seconds):
    """Time limit for one run of the layout program (default 30 s; also
    ``NBGRAPH_LAYOUT_TIMEOUT``). ``None`` restores the default."""
    global _timeout
    if seconds is not None and not float(seconds) > 0:
        raise ValueError(f"the layout timeout must be a positive number of seconds, got {seconds!r}")
    _timeout = None if seconds is None else float(seconds)


def _layout_timeout(timeout=None):
    if timeout is not None:
        return float(timeout)
    if _timeout is not None:
        return _timeout
    env = os.environ.get("NBGRAPH_LAYOUT_TIMEOUT")
    return float(env) if env else DEFAULT_TIMEOUT


def find_layout_program():
    """The path of the layout program nbgraph will run.

    A program you chose (``set_layout_program`` or ``NBGRAPH_LAYOUT``) is
    used as given; otherwise ``graphviz-pure`` next to the running Python
    (a kernel's venv may not be on PATH), then on PATH.
    """
    choice = _program_choice or os.environ.get("NBGRAPH_LAYOUT")
    if choice:
        found = shutil.which(choice)
        if found:
            return found
        raise LayoutProgramNotFound(
            f"nbgraph was told to use the layout program {choice!r} "
            "(ng.render.set_layout_program or NBGRAPH_LAYOUT) but it is not on PATH. "
            "Install Graphviz, or drop that setting to use graphviz-pure "
            "(pip install graphviz-pure).")
    names = ["graphviz-pure.exe", "graphviz-pure"] if os.name == "nt" else ["graphviz-pure"]
    here = os.path.dirname(sys.executable)
    for folder in (here, os.path.join(here, "Scripts")):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    found = shutil.which("graphviz-pure")
    if found:
        return found
    raise LayoutProgramNotFound(
        "nbgraph draws graphs with the layout program 'graphviz-pure', which was not found "
        f"next to {sys.executable} nor on PATH. Install it into the kernel's environment: "
        f"{sys.executable} -m pip install graphviz-pure   (or `pip install graphviz-pure`). "
        "To use a system Graphviz instead: ng.render.set_layout_program('dot').")


def _run_layout_program(dot_source, fmt="svg", timeout=None, what="a graph", args=()):
    """Pipe DOT into the layout program; returns its output (bytes)."""
    program = find_layout_program()
    limit = _layout_timeout(timeout)
    try:
        done = subprocess.run([program, f"-T{fmt}", *args], input=dot_source.encode("utf-8"),
                              capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise LayoutTimeoutError(
            f"The layout program ({os.path.basename(program)}) did not finish drawing {what} "
            f"within {limit:g} s and was stopped. Draw less (scopes collapse above "
            f"max_nodes={MAX_NODES} nodes: pass a smaller max_nodes=..., or ng.show(..., "
            "collapse=True)), or allow more time: ng.render.set_layout_timeout(seconds) "
            "or NBGRAPH_LAYOUT_TIMEOUT.") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise LayoutError(
            f"The layout program ({program}) failed on {what} (exit code "
            f"{done.returncode}): {err[-800:]}")
    return done.stdout


# ---------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------

PALETTE = {
    "pending_fill": "#ffffff", "pending_line": "#b9c0c8", "pending_text": "#98a1ab",
    "text": "#1f2933", "line": "#52606d",
    "value_fill": "#e3eefb",           # computed
    "param_line": "#0f6e66", "param_fill": "#dff3ef",
    "const_fill": "#f1f3f5", "const_line": "#aab2bb", "const_text": "#5f6b77",
    "op_fill": "#f4f6f8", "op_text": "#1f2933",
    "grad_fill": "#fde3cc", "grad_text": "#8f3510",
    "active_fill": "#ffe066", "active_line": "#e8590c", "active_grad_fill": "#ffab5e",
    "nonfinite": "#ff00ff", "nonfinite_text": "#ffffff",
    "edge": "#8995a3", "edge_shared": "#b4bec9", "edge_forward": "#e8590c", "edge_backward": "#c2255c",
    "cluster_fill": "#f7f8fa", "cluster_line": "#c5ced8", "cluster_text": "#52606d",
    "group_fill": "#ece8f6", "group_line": "#6c5a9c", "note": "#8f3510",
}

# color_by="grad": the largest |gradient| entry, by decade, on a diverging
# scale (ColorBrewer RdYlBu): cold blue = vanishing, pale = moderate, hot red =
# exploding; exactly 0 is grey, NaN/Inf magenta.
GRAD_BINS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3]
GRAD_COLORS = ["#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#ffffbf",
               "#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026"]
GRAD_ZERO = "#e5e7eb"
_DARK = {"#313695", "#4575b4", "#d73027", "#a50026", PALETTE["nonfinite"]}


def _grad_color(g):
    g = np.asarray(g)
    if g.size == 0:
        return GRAD_ZERO
    if not np.isfinite(g).all():
        return PALETTE["nonfinite"]
    m = float(np.abs(g).max())
    if m == 0.0:
        return GRAD_ZERO
    return GRAD_COLORS[bisect.bisect_right(GRAD_BINS, m)]


def _decade(v):
    return {1.0: "1", 10.0: "10", 100.0: "100", 1e3: "1000", 0.1: "0.1", 0.01: "0.01"}.get(
        v, f"1e{int(round(math.log10(v)))}")


def _bin_label(i):
    if i == 0:
        return f"&lt;{_decade(GRAD_BINS[0])}"
    return f"≥{_decade(GRAD_BINS[i - 1])}"


# ---------------------------------------------------------------------------
# Formatting numbers for the boxes
# ---------------------------------------------------------------------------

def _num(v):
    """Array entries in boxes: 3 significant digits (scalars use fmt_number's 4)."""
    v = float(v)
    if not math.isfinite(v) or (v == int(v) and abs(v) < 1e6):
        return fmt_number(v)
    return f"{v:.3g}"


def _nested(a):
    if a.ndim == 0:
        return _num(a)
    return "[" + ", ".join(_nested(x) for x in a) + "]"


def _finite(a):
    return bool(np.isfinite(a).all())


def _value_lines(a):
    """What a box shows as the value: a number, a small array inline, or shape + summary."""
    a = np.asarray(a)
    if a.size == 1:
        return [fmt_number(a.reshape(()))]
    if a.size == 0:
        return [f"[{fmt_shape(a.shape)}] empty"]
    if a.size <= 6:
        if a.ndim == 1:
            return [_nested(a)]
        if a.ndim == 2 and a.shape[0] <= 3:
            rows = [_nested(r) for r in a]
            return ["[" + rows[0] + ","] + [" " + r + "," for r in rows[1:-1]] + [" " + rows[-1] + "]"]
        return [f"[{fmt_shape(a.shape)}]", ", ".join(_num(v) for v in a.ravel())]
    if not _finite(a):
        bad = "NaN" if np.isnan(a).any() else "Inf"
        return [f"[{fmt_shape(a.shape)}]", f"{bad} in {int((~np.isfinite(a)).sum())} of {a.size}"]
    return [f"[{fmt_shape(a.shape)}]",
            f"mean {_num(a.mean())} · norm {_num(np.sqrt((a * a).sum()))}"]


def _grad_line(g):
    g = np.asarray(g)
    if g.size == 1:
        return f"grad {fmt_number(g.reshape(()))}"
    if g.size == 0:
        return "grad (empty)"
    if g.size <= 6:
        return "grad " + _nested(g)
    if not _finite(g):
        bad = "NaN" if np.isnan(g).any() else "Inf"
        return f"grad: {bad} in {int((~np.isfinite(g)).sum())} of {g.size}"
    return f"grad norm {_num(np.sqrt((g * g).sum()))}"


# ---------------------------------------------------------------------------
# The view: what is drawn (boxes, op circles, groups, edges, clusters)
# ---------------------------------------------------------------------------

class _Unit:
    """One drawn DOT node: a value box ("value"), an op circle ("op") or a group."""

    __slots__ = ("key", "type", "node", "members", "cluster", "title", "info", "index", "ghost")

    def __init__(self, key, type_, node=None, members=(), cluster="", title="", info="", ghost=False):
        self.key, self.type, self.node = key, type_, node
        self.members, self.cluster, self.title, self.info = list(members), cluster, title, info
        self.index, self.ghost = None, ghost


class _View:
    """Units and edges for one graph and one mode; also the step bookkeeping."""

    def __init__(self, g, color_by=None, expand=None, max_nodes=None, collapse=None):
        if color_by not in (None, "state", "grad"):
            raise ValueError(f"color_by must be None or 'grad', got {color_by!r}")
        self.graph = g
        self.color_by = "grad" if color_by == "grad" else None
        self.max_nodes = MAX_NODES if max_nodes is None else int(max_nodes)
        self.expand = tuple(sorted(set(expand or ())))
        for path in self.expand:
            if path not in g.scopes:
                known = ", ".join(repr(s) for s in g.scopes[:12]) or "none"
                raise ValueError(f"expand: no scope {path!r} in this graph (scopes: {known})")
        g.backward_steps                                  # fills node.grad
        nodes = g.nodes
        self.steps = [None] + list(g.forward_steps) + list(g.backward_steps)
        self.F, self.B = len(g.forward_steps), len(g.backward_steps)
        self.fpos = [0] * len(nodes)
        self.bpos = [math.inf] * len(nodes)
        for s in g.forward_steps:
            self.fpos[s.node] = s.index + 1
        for s in g.backward_steps:
            self.bpos[s.node] = self.F + s.index + 1
        self.note = None
        self._sorted = {}
        self.units, self.edges = [], []
        self.box = {}          # node id -> unit key holding its value
        self.opunit = {}       # node id -> unit key holding its op (circle or group)
        too_big = len(nodes) > self.max_nodes
        mode = "full"
        if collapse or (collapse is None and too_big):
            mode = "scopes" if g.scopes else "summary"
        if mode == "scopes":
            self._build_collapsed()
            if len(self.units) > self.max_nodes:
                mode = "summary"
        if mode == "summary":
            self._build_summary()
        elif mode == "full":
            self._build_full()
        self.mode = mode
        if mode != "full":
            n = len(nodes)
            if mode == "summary":
                self.note = (f"Too large to draw in full: {n:,} nodes (limit {self.max_nodes:,}). "
                             "Showing a summary: inputs, the collapsed ops, outputs.")
                if g.scopes:
                    self.note += " Even with scopes collapsed it is too large."
                else:
                    self.note += " Put parts in ng.scope(...) to see them as boxes."
            elif too_big:
                self.note = (f"{n:,} nodes: scopes are collapsed into boxes "
                             f"(limit {self.max_nodes:,}). Open one with expand=['scope/name'].")
            else:
                self.note = "Scopes are collapsed into boxes. Open one with expand=['scope/name']."
            if collapse is None:
                warnings.warn("nbgraph: " + self.note, stacklevel=4)
        self.ghosts = {}
        if mode != "summary":
            self._ghost_hubs()
        for i, u in enumerate(self.units):
            u.index = i
        self.unit = {u.key: u for u in self.units}
        heads = {}
        for tail, head, _, _ in self.edges:
            heads.setdefault(tail, set()).add(head)
        self.loose = {k for k, (tail, head, _, _) in enumerate(self.edges)
                      if self._floating(self.unit[tail]) and len(heads[tail]) > 1}
        # which drawn edges carry each graph edge, for highlighting
        self.carries = {}
        self.result_edge = {}
        for k, e in enumerate(self.edges):
            for pair in e[3]:
                if pair[1] is None:
                    self.result_edge[pair[0]] = k
                else:
                    self.carries.setdefault(pair, []).append(k)

    # -- the three ways of drawing ------------------------------------------------
    def _add_node(self, n, cluster):
        self.units.append(_Unit(f"n{n.id}", "value", node=n.id, cluster=cluster))
        self.box[n.id] = f"n{n.id}"
        if n.op is not None:
            self.units.append(_Unit(f"o{n.id}", "op", node=n.id, cluster=cluster))
            self.opunit[n.id] = f"o{n.id}"

    def _build_full(self):
        for n in self.graph.nodes:
            self._add_node(n, n.scope)
        self._add_edges()

    def _add_edges(self):
        seen = {}
        for src, dst, k in self.graph.edges:
            tail, head = self.box[src], self.opunit[dst]
            if tail == head:
                continue
            individual = tail[0] == "n" and head[0] == "o"
            key = (tail, head, k) if individual else (tail, head)
            if key in seen:
                self.edges[seen[key]][3].add((src, dst))
                continue
            seen[key] = len(self.edges)
            eid = f"e{src}_{dst}_{k}" if individual else f"e_{tail}_{head}"
            self.edges.append((tail, head, eid, {(src, dst)}))
        for n in self.graph.nodes:
            if n.op is not None and self.opunit[n.id] == f"o{n.id}":
                self.edges.append((f"o{n.id}", f"n{n.id}", f"r{n.id}", {(n.id, None)}))

    def _build_collapsed(self):
        g = self.graph
        opened = set()
        for path in self.expand:
            parts = path.split("/")
            opened.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        groups = {}
        for n in g.nodes:
            parts = n.scope.split("/") if n.scope else []
            closed = None
            for i in range(1, len(parts) + 1):
                prefix = "/".join(parts[:i])
                if prefix not in opened:
                    closed = prefix
                    break
            if closed is None:
                self._add_node(n, n.scope)
            else:
                groups.setdefault(closed, []).append(n.id)
        for k, path in enumerate(sorted(groups)):
            key = f"g{k}"
            members = groups[path]
            parent = path.rpartition("/")[0]
            self.units.append(_Unit(key, "group", members=members, cluster=parent,
                                    title=path.rpartition("/")[2], info=self._histogram(members)))
            for i in members:
                self.box[i] = self.opunit[i] = key
        self._add_edges()

    def _build_summary(self):
        g = self.graph
        self.units, self.box, self.opunit = [], {}, {}
        outs = list(dict.fromkeys(g.output_ids))
        leaves = [n.id for n in g.nodes if n.op is None and n.id not in outs]
        ops = [n.id for n in g.nodes if n.op is not None and n.id not in outs]
        if leaves:
            kinds = {}
            for i in leaves:
                kinds[g.nodes[i].kind] = kinds.get(g.nodes[i].kind, 0) + 1
            words = {"leaf": "inputs", "param": "params", "const": "constants"}
            info = ", ".join(f"{c:,} {words.get(k, k)}" for k, c in sorted(kinds.items()))
            named = [g.nodes[i].label for i in leaves if g.nodes[i].name][:4]
            if named:
                info += ": " + ", ".join(_short(s, 16) for s in named) + (" …" if len(named) < len(leaves) else "")
            self.units.append(_Unit("g0", "group", members=leaves, title="inputs", info=info))
            for i in leaves:
                self.box[i] = self.opunit[i] = "g0"
        if ops:
            self.units.append(_Unit("g1", "group", members=ops, title=f"{len(ops):,} ops collapsed",
                                    info=self._histogram(ops)))
            for i in ops:
                self.box[i] = self.opunit[i] = "g1"
        if len(outs) <= 8:
            for i in outs:
                self.units.append(_Unit(f"n{i}", "value", node=i))
                self.box[i] = self.opunit[i] = f"n{i}"
        else:
            self.units.append(_Unit("g2", "group", members=outs, title=f"{len(outs):,} outputs"))
            for i in outs:
                self.box[i] = self.opunit[i] = "g2"
        self._add_edges()

    def _floating(self, u):
        """A leaf's box: dot may rank it anywhere before its users."""
        return u.type == "value" and self.graph.nodes[u.node].op is None

    def _ghost_hubs(self, budget=GHOST_BUDGET):
        """Give a heavily shared leaf a copy beside each far-away user.

        dot pays for every rank an edge spans (a virtual node each) and
        graphviz-pure's positioning grows about quadratically with them: a
        weight used by 300 steps of a chain would take minutes. While the
        estimated total span is above ``budget``, the leaf with the longest
        edges gets a copy ("ghost", dashed border, same texts) per user; so
        does a leaf with a wide fan of long edges (``FAN_USES``/``FAN_SPAN``).
        Small drawings, such as an RNN over a few steps, are left alone.
        """
        units = {u.key: u for u in self.units}
        rank = {u.key: 0 for u in self.units}
        fixed = [e for e in self.edges if not self._floating(units[e[0]])]
        succ, indeg = {}, {k: 0 for k in rank}
        for tail, head, _, _ in fixed:
            succ.setdefault(tail, []).append(head)
            indeg[head] += 1
        ready = [k for k in rank if indeg[k] == 0]
        while ready:
            k = ready.pop()
            for h in succ.get(k, ()):
                rank[h] = max(rank[h], rank[k] + 1)
                indeg[h] -= 1
                if indeg[h] == 0:
                    ready.append(h)
        spans = {}
        for tail, head, _, _ in self.edges:
            if self._floating(units[tail]):
                spans.setdefault(tail, []).append(rank[head])
        cost = {k: sum(r) - len(r) * min(r) for k, r in spans.items() if len(r) > 1}
        total = sum(cost.values()) + sum(max(0, rank[h] - rank[t] - 1) for t, h, _, _ in fixed)
        # a fan of many long edges is unreadable as well as slow
        fan = {k for k, c in cost.items() if len(spans[k]) >= FAN_USES and c > FAN_SPAN}
        if total <= budget and not fan:
            return
        for key in sorted(cost, key=lambda k: (-cost[k], k)):
            if total <= budget and key not in fan:
                continue
            total -= cost[key]
            primary = units[key]
            mine = [k for k, e in enumerate(self.edges) if e[0] == key]
            first = min(rank[self.edges[k][1]] for k in mine)
            copies = {}
            for k in mine:
                tail, head, eid, carried = self.edges[k]
                if rank[head] == first and not copies.get(None):
                    copies[None] = head          # the primary keeps its nearest user
                    continue
                ghost = copies.get(head)
                if ghost is None:
                    ghost = copies[head] = f"{key}_{len(copies)}"
                    self.units.append(_Unit(ghost, "value", node=primary.node, cluster=primary.cluster,
                                            ghost=True))
                    self.ghosts.setdefault(primary.node, []).append(ghost)
                self.edges[k] = (ghost, head, eid, carried)

    def _histogram(self, members):
        count = {}
        for i in members:
            op = self.graph.nodes[i].op
            if op is not None:
                count[op.symbol] = count.get(op.symbol, 0) + 1
        top = sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))
        text = f"{len(members):,} nodes"
        if top:
            text += ": " + ", ".join(f"{_short(s, 12)} ×{c:,}" for s, c in top[:5])
            if len(top) > 5:
                text += ", …"
        return text

    # -- state at a position -------------------------------------------------------
    @property
    def total(self):
        return self.F + self.B

    def active(self, p):
        """(unit keys lit by the step at p, drawn edges lit, phase) -- or empty."""
        step = self.steps[p] if 0 < p < len(self.steps) else None
        if step is None:
            return {}, {}, None
        i = step.node
        g = self.graph
        units, edges = {self.box[i]: step.phase}, {}
        for ghost in self.ghosts.get(i, ()):
            units[ghost] = step.phase
        if step.phase == "forward":
            units[self.opunit[i]] = "forward"
            for j in g.nodes[i].inputs:
                for k in self.carries.get((j, i), ()):
                    edges[k] = "forward"
            if i in self.result_edge:
                edges[self.result_edge[i]] = "forward"
        else:
            for u, _ in g.nodes[i].users:
                for k in self.carries.get((i, u), ()):
                    edges[k] = "backward"
                if u in self.result_edge:
                    edges[self.result_edge[u]] = "backward"
        return units, edges, step.phase

    def unit_state(self, u, p, lit):
        """A small hashable state for a unit at position p."""
        if u.type == "group":
            return (self._count(u, p, "f"), self._count(u, p, "b"), lit.get(u.key))
        i = u.node
        return (p >= self.fpos[i], p >= self.bpos[i], lit.get(u.key))

    def _count(self, u, p, which):
        """How many members of group ``u`` are computed ("f") / have their grad ("b") at p."""
        got = self._sorted.get((u.key, which))
        if got is None:
            pos = self.fpos if which == "f" else self.bpos
            got = self._sorted[(u.key, which)] = sorted(pos[i] for i in u.members)
        return bisect.bisect_right(got, p)

    def final_state(self, u):
        return self.unit_state(u, self.total, {})

    # -- how a unit looks in a state -----------------------------------------------
    def look(self, u, state):
        """Colours and texts of a unit in a state: a dict of roles."""
        P = PALETTE
        if u.type == "op":
            computed, _, lit = state
            if lit:
                return {"fill": P["active_fill"], "line": P["active_line"], "width": 2.5,
                        "fc": P["text"]}
            if computed:
                return {"fill": P["op_fill"], "line": P["line"], "width": 1, "fc": P["op_text"]}
            return {"fill": P["pending_fill"], "line": P["pending_line"], "width": 1,
                    "fc": P["pending_text"]}
        if u.type == "group":
            nf, nb, lit = state
            n = len(u.members)
            nneed = sum(1 for i in u.members if self.bpos[i] != math.inf)
            fill = P["group_fill"] if nf else P["pending_fill"]
            look = {"bg": fill, "line": P["group_line"], "width": 1.5, "namefc": P["text"],
                    "valfc": P["text"] if nf else P["pending_text"],
                    "vals": [f"values {nf:,}/{n:,}"],
                    "gradbg": P["grad_fill"] if nb else fill,
                    "gradfc": P["grad_text"] if nb else P["pending_text"],
                    "grad": f"grads {nb:,}/{nneed:,}" if nneed else None}
            if lit:
                look["line"], look["width"] = P["active_line"], 3
                if lit == "forward":
                    look["bg"] = look["gradbg"] = P["active_fill"]
                else:
                    look["gradbg"] = P["active_grad_fill"]
            return look
        computed, gradknown, lit = state
        n = self.graph.nodes[u.node]
        kind = n.kind
        vals = _value_lines(n.value)
        has_grad = self.bpos[n.id] != math.inf and not (kind == "const" and n.value.size == 1)
        line, width = P["line"], 1
        fill, textc = P["value_fill"], P["text"]
        if kind == "param":
            line, width, fill = P["param_line"], 2, P["param_fill"]
        elif kind == "const":
            line, fill, textc = P["const_line"], P["const_fill"], P["const_text"]
        if not computed:
            fill, line, width = P["pending_fill"], P["pending_line"], 1
            vals = ["?"] + [""] * (len(vals) - 1)
        valfc = textc if computed else P["pending_text"]
        if computed and not _finite(n.value):
            fill, valfc = P["nonfinite"], P["nonfinite_text"]
        look = {"bg": fill, "line": line, "width": width, "namefc": textc, "valfc": valfc,
                "vals": vals, "gradbg": fill, "gradfc": P["pending_text"], "grad": None}
        if has_grad:
            look["grad"] = "grad ?"
            if gradknown:
                look["grad"] = _grad_line(n.grad)
                look["gradbg"], look["gradfc"] = P["grad_fill"], P["grad_text"]
                if not _finite(n.grad):
                    look["gradbg"], look["gradfc"] = P["nonfinite"], P["nonfinite_text"]
                elif self.color_by == "grad":
                    c = _grad_color(n.grad)
                    look["bg"] = look["gradbg"] = c
                    dark = c in _DARK
                    look["namefc"] = look["valfc"] = look["gradfc"] = "#ffffff" if dark else P["text"]
        if computed and not _finite(n.value):
            look["bg"] = P["nonfinite"]
            look["namefc"] = P["nonfinite_text"]
        if u.ghost:
            look["dash"] = True
        if lit:
            look["line"], look["width"] = P["active_line"], 3
            if lit == "forward" and self.color_by != "grad":
                look["bg"] = look["gradbg"] = P["active_fill"]
            elif lit == "backward" and self.color_by != "grad":
                look["gradbg"] = P["active_grad_fill"]
                look["gradfc"] = P["text"]
        return look

    def edge_look(self, lit, k=None):
        """Colour and width of drawn edge ``k``; edges of shared leaves are lighter."""
        P = PALETTE
        if lit == "forward":
            return P["edge_forward"], 2.5
        if lit == "backward":
            return P["edge_backward"], 2.5
        if k in self.loose:
            return P["edge_shared"], 1
        return P["edge"], 1.2



# ---------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------

# Sentinel colours in the layout DOT: the template finds its slots by them.
_ROLES = ["bg", "line", "namefc", "valfc", "gradbg", "gradfc", "opfill", "opline", "opfc", "edge"]
_SENTINEL = {r: f"#fe{k + 1:02x}a7" for k, r in enumerate(_ROLES)}
_ROLE_OF = {v: r for r, v in _SENTINEL.items()}

_FONT = "Helvetica"           # graphviz-pure has Helvetica metrics (Arimo when rasterising)
_SVG_FONTS = "Helvetica,Arial,sans-serif"


def _value_label(view, u, look, c):
    """HTML-like label of a value or group box. ``c`` maps role -> colour."""
    n = view.graph.nodes[u.node] if u.type == "value" else None
    small_const = n is not None and n.kind == "const" and n.value.size == 1
    rows = []
    if small_const:
        # A scalar constant: the label is the number; small and grey.
        return (f'<<table border="1" cellborder="0" cellspacing="0" cellpadding="1" style="rounded" '
                f'bgcolor="{c["bg"]}" color="{c["line"]}"><tr><td>'
                f'<font color="{c["namefc"]}" point-size="10">{escape(_short(n.label, 24), dot=True)}</font>'
                f'</td></tr></table>>')
    title = n.label if n is not None else u.title
    rows.append(f'<tr><td><font color="{c["namefc"]}"><b>{escape(_short(title), dot=True)}</b></font></td></tr>')
    if u.type == "group" and u.info:
        rows.append(f'<tr><td><font color="{PALETTE["group_line"]}" point-size="9">'
                    f'{escape(_short(u.info, 90, 1), dot=True)}</font></td></tr>')
    for v in look["vals"]:
        rows.append(f'<tr><td><font color="{c["valfc"]}">{escape(v, dot=True) or " "}</font></td></tr>')
    if look["grad"] is not None:
        rows.append(f'<tr><td cellpadding="3"><table border="0" cellborder="0" cellspacing="0" cellpadding="1" '
                    f'style="rounded" bgcolor="{c["gradbg"]}"><tr><td><font color="{c["gradfc"]}" '
                    f'point-size="10">{escape(look["grad"], dot=True)}</font></td></tr></table></td></tr>')
    size = "" if u.type == "group" else ' cellpadding="2"'
    return (f'<<table border="1" cellborder="0" cellspacing="1"{size} style="rounded" '
            f'bgcolor="{c["bg"]}" color="{c["line"]}">{"".join(rows)}</table>>')


def _dot(view, position=None, sentinel=False):
    """The DOT (a graphviz.Digraph) of ``view`` at ``position``.

    With ``sentinel=True``: texts of the final state and sentinel colours --
    the input of the one layout run the template is cut from.
    """
    g = view.graph
    if position is None or sentinel:
        p, lit_units, lit_edges = view.total, {}, {}
    else:
        p = _check_position(position, view.total)
        lit_units, lit_edges, _ = view.active(p)
    P = PALETTE
    d = graphviz.Digraph("nbgraph", graph_attr={
        "rankdir": "LR", "bgcolor": "white", "nodesep": "0.22", "ranksep": "0.32",
        "fontname": _FONT, "fontsize": "11", "pad": "0.12", "newrank": "true",
        # graphviz-pure's network simplex can take minutes on nodes with many
        # uses (a weight in every time step); capping its iterations keeps
        # layouts fast and leaves small drawings unchanged.
        "nslimit": "4",
    }, node_attr={"fontname": _FONT, "fontsize": "12", "shape": "plain"},
        edge_attr={"arrowsize": "0.6", "color": P["edge"]})

    def colours(look, keys):
        if sentinel:
            return {k: _SENTINEL[k] for k in keys}
        return {k: look[k] for k in keys}

    def unit_stmt(target, u):
        # with sentinels: the final texts, so every label has its final width from the start
        state = view.final_state(u) if sentinel else view.unit_state(u, p, lit_units)
        look = view.look(u, state)
        if u.type == "op":
            n = g.nodes[u.node]
            sym = escape(_short(n.op.symbol, 12), dot=True)
            c = {"opfill": _SENTINEL["opfill"], "opline": _SENTINEL["opline"],
                 "opfc": _SENTINEL["opfc"]} if sentinel else \
                {"opfill": look["fill"], "opline": look["line"], "opfc": look["fc"]}
            small = len(n.op.symbol) <= 2
            attrs = {"shape": "circle" if len(n.op.symbol) <= 4 else "ellipse",
                     "style": "filled", "fillcolor": c["opfill"], "color": c["opline"],
                     "fontcolor": c["opfc"], "fontsize": "13" if small else "10",
                     "width": "0.32", "height": "0.32", "margin": "0.02"}
            if not sentinel and look["width"] != 1:
                attrs["penwidth"] = str(look["width"])
            target.node(u.key, label=f"<{sym}>", id=u.key, **attrs)
            return
        c = colours({"bg": look["bg"], "line": look["line"], "namefc": look["namefc"],
                     "valfc": look["valfc"], "gradbg": look["gradbg"], "gradfc": look["gradfc"]},
                    ("bg", "line", "namefc", "valfc", "gradbg", "gradfc"))
        label = _value_label(view, u, look, c)
        if not sentinel and look["width"] >= 2:
            label = label.replace('<table border="1"', f'<table border="{int(look["width"])}"', 1)
        if not sentinel and look.get("dash"):
            label = label.replace('style="rounded"', 'style="rounded,dashed"', 1)
        target.node(u.key, label=label, id=u.key)

    # clusters: a tree of scope paths that hold drawn units
    by_cluster = {}
    for u in view.units:
        by_cluster.setdefault(u.cluster, []).append(u)
    paths = set()
    for path in by_cluster:
        parts = path.split("/") if path else []
        paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    order = sorted(paths)
    index = {path: k for k, path in enumerate(order)}

    def fill(target, path):
        for u in by_cluster.get(path, ()):
            unit_stmt(target, u)
        prefix = path + "/" if path else ""
        for child in order:
            if child.startswith(prefix) and "/" not in child[len(prefix):]:
                with target.subgraph(name=f"cluster_{index[child]}") as sub:
                    sub.attr(label=f"<{escape(_short(child.rpartition('/')[2], 40), dot=True)}>",
                             style="rounded,filled", fillcolor=P["cluster_fill"], color=P["cluster_line"],
                             fontcolor=P["cluster_text"], fontsize="11", labeljust="l",
                             id=f"cluster_{index[child]}")
                    fill(sub, child)

    fill(d, "")
    for k, (tail, head, eid, _) in enumerate(view.edges):
        # A leaf used in many places (a shared weight) must not drag its users
        # to the left: its edges do not constrain the ranks.
        extra = {"constraint": "false"} if k in view.loose else {}
        if sentinel:
            d.edge(tail, head, id=eid, color=_SENTINEL["edge"], **extra)
        else:
            colour, width = view.edge_look(lit_edges.get(k), k)
            d.edge(tail, head, id=eid, color=colour, penwidth=f"{width:g}", **extra)
    label = _graph_label(view)
    if label:
        d.attr(label=label, labelloc="t" if view.note else "b", labeljust="l")
    return d


def _graph_label(view):
    rows = []
    if view.note:
        rows.append(f'<tr><td align="left" colspan="{len(GRAD_COLORS) + 3}"><font color="{PALETTE["note"]}" '
                    f'point-size="11">{escape(view.note, dot=True)}</font></td></tr>')
    if view.color_by == "grad":
        cells = [f'<td align="right"><font point-size="9" color="{PALETTE["line"]}">largest |grad|:</font></td>',
                 f'<td bgcolor="{GRAD_ZERO}"><font point-size="9">0</font></td>']
        for i, colour in enumerate(GRAD_COLORS):
            fc = "#ffffff" if colour in _DARK else PALETTE["text"]
            cells.append(f'<td bgcolor="{colour}"><font point-size="9" color="{fc}">{_bin_label(i)}</font></td>')
        cells.append(f'<td bgcolor="{PALETTE["nonfinite"]}"><font point-size="9" color="#ffffff">NaN/Inf</font></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        return None
    return f'<<table border="0" cellborder="0" cellspacing="1" cellpadding="2">{"".join(rows)}</table>>'


# ---------------------------------------------------------------------------
# The template: one layout, many steps
# ---------------------------------------------------------------------------

_CHUNK = 7                      # pieces per cached chunk: 2**7
_BLOCK = re.compile(r'<g id="([^"]+)" class="(node|edge)">(.*?)</g>', re.S)
_ATTR = re.compile(r'(fill|stroke)="(#fe[0-9a-f]{2}a7)"')
_TEXT = re.compile(r'<text ([^>]*)>([^<]*)</text>')
_XY = re.compile(r'(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)')


class _Template:
    """The laid-out SVG cut into static strings and slots.

    ``render(p)`` copies the list of pieces, fills every slot with the string
    for its unit's state at ``p`` and joins: no layout, no XML parsing.
    """

    def __init__(self, view, timeout=None):
        self.view = view
        source = _dot(view, sentinel=True).source
        what = f"a drawing of {len(view.units):,} boxes and {len(view.edges):,} edges"
        svg = _run_layout_program(source, "svg", timeout=timeout, what=what).decode("utf-8")
        svg = svg.replace('font-family="Helvetica,sans-Serif"', f'font-family="{_SVG_FONTS}"')
        self.layout_svg = svg
        self._cut(svg)
        self._cache = {}
        self.edge_strings = {}
        self._filled = None         # the pieces as last filled, for incremental renders
        self._chunks = None         # the same, joined in runs of 2**_CHUNK pieces
        # position -> units whose state changes there (a value computed, a grad known)
        self._events = {}
        for idx, (u, _) in enumerate(self.unit_slots):
            members = u.members if u.type == "group" else [u.node]
            for i in members:
                for q in (view.fpos[i], view.bpos[i]):
                    if 0 < q != math.inf:
                        self._events.setdefault(q, set()).add(idx)

    def _cut(self, svg):
        view = self.view
        parts = []
        unit_slots = {}       # unit index -> list of (part position, role)
        edge_slots = {}       # edge index -> list of (part position, role)
        edge_index = {e[2]: k for k, e in enumerate(view.edges)}
        pos = 0
        seen = set()
        for m in _BLOCK.finditer(svg):
            gid, cls, body = m.group(1), m.group(2), m.group(3)
            start = m.start(3)
            parts.append(svg[pos:start])
            if cls == "node":
                u = view.unit.get(gid)
                if u is None:
                    raise LayoutError(f"internal: unexpected node {gid!r} in the layout")
                seen.add(gid)
                slots = unit_slots.setdefault(u.index, [])
            else:
                k = edge_index.get(gid)
                if k is None:
                    raise LayoutError(f"internal: unexpected edge {gid!r} in the layout")
                slots = edge_slots.setdefault(k, [])
            self._cut_block(body, parts, slots, cls == "edge")
            pos = m.end(3)
        parts.append(svg[pos:])
        missing = set(view.unit) - seen
        if missing:
            raise LayoutError(f"internal: the layout lost nodes {sorted(missing)[:5]}")
        self.parts = parts
        self.unit_slots = [(u, tuple(unit_slots.get(u.index, ()))) for u in view.units]
        self.edge_slots = edge_slots

    def _cut_block(self, body, parts, slots, is_edge):
        # Centre of the box (from the outline drawn in the sentinel line colour)
        # or of the op circle. Every text is re-anchored there, so "?" sits in
        # the middle and a browser's fallback font stays centred too.
        cx = None
        xs = []
        for m in re.finditer(r'<(?:path|polygon)[^>]*stroke="' + _SENTINEL["line"] + r'"[^>]*>', body):
            xs += [float(a) for a, _ in _XY.findall(m.group(0))]
        if xs:
            cx = (min(xs) + max(xs)) / 2
        else:
            m = re.search(r'<ellipse[^>]* cx="(-?[\d.]+)"', body)
            if m:
                cx = float(m.group(1))
        spans = []   # (start, end, replacement or None, role)
        vline = 0
        for m in _TEXT.finditer(body):
            attrs = m.group(1)
            a0 = m.start(1)
            if cx is not None and not is_edge:
                for am in re.finditer(r'text-anchor="start"|(?<![-\w])x="[^"]*"', attrs):
                    rep = 'text-anchor="middle"' if am.group(0).startswith("text") else f'x="{cx:.2f}"'
                    spans.append((a0 + am.start(), a0 + am.end(), rep, None))
            role = None
            if f'fill="{_SENTINEL["valfc"]}"' in attrs:
                role, vline = f"vtext{vline}", vline + 1
            elif f'fill="{_SENTINEL["gradfc"]}"' in attrs:
                role = "gtext"
            if role is not None:
                spans.append((m.start(2), m.end(2), None, role))
        for m in _ATTR.finditer(body):
            role = _ROLE_OF[m.group(2)]
            if is_edge:
                role = "estroke" if m.group(1) == "stroke" else "efill"
            spans.append((m.start(), m.end(), None, role))
        spans.sort()
        last = 0
        for s, e, rep, role in spans:
            parts.append(body[last:s])
            if rep is not None:
                parts.append(rep)
            else:
                slots.append((len(parts), role))
                parts.append("")
            last = e
        parts.append(body[last:])

    # -- strings for a unit in a state ------------------------------------------------
    def _strings(self, u, state, roles):
        key = (u.index, state)
        got = self._cache.get(key)
        if got is None:
            look = self.view.look(u, state)
            got = tuple(_slot_string(look, role, u.type) for _, role in roles)
            self._cache[key] = got
        return got

    def render(self, position=None):
        """The SVG at a step position; ``None`` = everything known, nothing highlighted.

        Incremental: only the units whose state changed since the last call
        (a value computed or a gradient known in between, or a highlight
        moved) get their slots refilled, then the pieces are joined. The
        result depends on ``position`` alone.
        """
        view = self.view
        if position is None:
            p, lit_units, lit_edges = view.total, {}, {}
        else:
            p = _check_position(position, view.total)
            lit_units, lit_edges, _ = view.active(p)
        lit_idx = {view.unit[k].index for k in lit_units}
        if self._filled is None:
            self._filled = self.parts.copy()
            self._states = [None] * len(view.units)
            todo = range(len(view.units))
            edges = self.edge_slots.keys()
        else:
            lo, hi = sorted((self._at, p))
            todo = set(self._lit_idx) | lit_idx
            events = self._events
            if hi - lo < len(events):
                for q in range(lo + 1, hi + 1):
                    todo.update(events.get(q, ()))
            else:
                for q, idx in events.items():
                    if lo < q <= hi:
                        todo.update(idx)
            edges = set(self._lit_edges) | set(lit_edges)
        parts, states, slots_of = self._filled, self._states, self.unit_slots
        fpos, bpos = view.fpos, view.bpos
        dirty = set()
        for idx in todo:
            u, slots = slots_of[idx]
            if u.type == "group":
                state = (view._count(u, p, "f"), view._count(u, p, "b"), lit_units.get(u.key))
            else:
                i = u.node
                state = (p >= fpos[i], p >= bpos[i], lit_units.get(u.key))
            if state != states[idx]:
                states[idx] = state
                for (at, _), text in zip(slots, self._strings(u, state, slots)):
                    parts[at] = text
                    dirty.add(at >> _CHUNK)
        loose = view.loose
        for k in edges:
            lit = lit_edges.get(k)
            key = (lit, k in loose)
            strings = self.edge_strings.get(key)
            if strings is None:
                colour, width = view.edge_look(lit, k)
                strings = self.edge_strings[key] = {
                    "estroke": f'stroke="{colour}" stroke-width="{width:g}"', "efill": f'fill="{colour}"'}
            for at, role in self.edge_slots.get(k, ()):
                parts[at] = strings[role]
                dirty.add(at >> _CHUNK)
        self._at, self._lit_idx, self._lit_edges = p, lit_idx, lit_edges
        # join in chunks and keep them: a step re-joins only the chunks it touched
        chunks, size = self._chunks, 1 << _CHUNK
        if chunks is None:
            chunks = self._chunks = ["".join(parts[c:c + size]) for c in range(0, len(parts), size)]
        else:
            for c in dirty:
                chunks[c] = "".join(parts[c << _CHUNK:(c + 1) << _CHUNK])
        return "".join(chunks)


def _check_position(position, total):
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise TypeError(f"position must be an int, got {type(position).__name__}")
    if not 0 <= position <= total:
        raise ValueError(f"position must be between 0 and {total}, got {position}")
    return int(position)


def _slot_string(look, role, utype):
    if role.startswith("vtext"):
        i = int(role[5:])
        vals = look["vals"]
        return escape(vals[i]) if i < len(vals) else ""
    if role == "gtext":
        return escape(look["grad"] or "")
    if utype == "op":
        if role == "opfill":
            return f'fill="{look["fill"]}"'
        if role == "opline":
            return f'stroke="{look["line"]}" stroke-width="{look["width"]:g}"'
        if role == "opfc":
            return f'fill="{look["fc"]}"'
    if role == "bg":
        return f'fill="{look["bg"]}"'
    if role == "line":
        dash = ' stroke-dasharray="4,2"' if look.get("dash") else ""
        return f'stroke="{look["line"]}" stroke-width="{look["width"]:g}"{dash}'
    if role == "gradbg":
        return f'fill="{look["gradbg"]}"'
    if role in ("namefc", "valfc", "gradfc"):
        return f'fill="{look[role]}"'
    raise LayoutError(f"internal: unknown slot {role!r}")


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

_templates = weakref.WeakKeyDictionary()


def _as_graph(x, who="ng.show"):
    from .bridges.micrograd import convert      # micrograd Values -> Tensors (bridge)
    x = convert(x)
    if isinstance(x, Graph):
        return x
    if isinstance(x, Tensor):
        return _graph(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, Tensor) for t in x):
        return _graph(*x)
    raise TypeError(f"{who} takes an nbgraph Tensor, a list of Tensors or a Graph; "
                    f"got {type(x).__name__}")


def _mode_key(color_by, expand, max_nodes, collapse):
    return (color_by if color_by == "grad" else None, tuple(sorted(set(expand or ()))),
            MAX_NODES if max_nodes is None else int(max_nodes), collapse)


def _template(g, color_by=None, expand=None, max_nodes=None, collapse=None, timeout=None):
    """The template of graph ``g`` in a mode, laid out on first use and kept."""
    key = _mode_key(color_by, expand, max_nodes, collapse)
    per_graph = _templates.setdefault(g, {})
    t = per_graph.get(key)
    if t is None:
        view = _View(g, color_by=color_by, expand=expand, max_nodes=max_nodes, collapse=collapse)
        t = per_graph[key] = _Template(view, timeout=timeout)
    return t


def render_svg(graph_or_tensor, position=None, color_by=None, expand=None, max_nodes=None,
               collapse=None, timeout=None):
    """The SVG (a str) of a graph at a step ``position``.

    ``position`` counts steps: 0 = nothing computed yet, then one per forward
    step, then one per backward step; ``None`` = the end (every value and
    gradient known). ``color_by="grad"`` colours boxes by gradient size.
    Graphs above ``max_nodes`` (default 1500) nodes are collapsed: scopes
    become boxes (``expand=["scope/path"]`` opens some), else a summary.
    ``collapse=True`` collapses scopes whatever the size.
    """
    g = _as_graph(graph_or_tensor, "render_svg")
    return _template(g, color_by, expand, max_nodes, collapse, timeout).render(position)


def to_dot(x, color_by=None, position=None, expand=None, max_nodes=None, collapse=None):
    """The ``graphviz.Digraph`` of the final state (or of ``position``), real colours.

    Nothing is laid out here. To get a picture, use ``ng.show(x).save("g.svg")``.
    """
    g = _as_graph(x, "ng.to_dot")
    view = _View(g, color_by=color_by, expand=expand, max_nodes=max_nodes, collapse=collapse)
    return _dot(view, position)


class Drawing:
    """A static picture of a graph at one position (what ``ng.show`` returns).

    It displays itself as SVG when it is the last expression of a notebook
    cell (``display(ng.show(x))`` shows it mid-cell). ``.svg`` is the SVG
    text, ``.dot`` the ``graphviz.Digraph``, ``.save(path)`` writes ``.svg``,
    ``.png`` (rasterised by the layout program, ``-Tpng``) or ``.dot``/``.gv``.
    """

    def __init__(self, template, position=None):
        self._template = template
        self.position = None if position is None else _check_position(position, template.view.total)

    @property
    def graph(self):
        return self._template.view.graph

    @property
    def svg(self):
        return self._template.render(self.position)

    @property
    def dot(self):
        return _dot(self._template.view, self.position)

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
            data = _run_layout_program(self.dot.source, "png", what=f"{path!r}",
                                       args=[f"-Gdpi={float(dpi):g}"])
        else:
            raise ValueError(f"cannot save as {fmt!r}: use a .svg, .png, .dot or .gv file name")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self):
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def __repr__(self):
        v = self._template.view
        at = "final state" if self.position is None else f"step {self.position}/{v.total}"
        return f"<nbgraph drawing: {len(v.graph.nodes)} nodes, {at}, output {v.graph.loss_label}>"


def show(x_or_graph, color_by=None, expand=None, max_nodes=None, collapse=None):
    """A static drawing of the final state: every value and every gradient.

    Returns a ``Drawing``, which shows itself when it is the last expression of
    a cell (use ``display(ng.show(x))`` mid-cell) and renders in any frontend
    (plain SVG, no widgets). ``.save("g.svg")`` / ``.save("g.png")`` write files.
    """
    g = _as_graph(x_or_graph, "ng.show")
    return Drawing(_template(g, color_by, expand, max_nodes, collapse))
