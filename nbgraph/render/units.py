"""What is drawn: one box per value, one circle per op, one cluster per scope,
and the edges between them -- or, for a graph too large to lay out quickly,
collapsed boxes.

A graph above ``max_nodes`` is collapsed: scopes become single boxes
(``expand=`` opens some), or, without scopes, the whole middle becomes one
"N ops collapsed" box between the inputs and the outputs. A heavily shared
leaf in a big graph gets a dashed copy beside each far-away user.

Every unit has a stable element id (``ng-...``) that the DOT, the SVG, the
timeline and the browser all use.
"""

import warnings

from .labels import shorten

__all__ = ["Unit", "Edge", "Units", "MAX_NODES", "GHOST_BUDGET"]

MAX_NODES = 1500
GHOST_BUDGET = 2000     # ranks spanned by edges before shared leaves get copies
FAN_USES, FAN_SPAN = 8, 200   # ... or a leaf with this many uses spanning this many ranks

COPY_NOTE = ("A dashed box is a copy of a value used in many places (a shared weight), "
             "drawn beside each far-away user to keep the drawing readable; it is the same value.")


class Unit:
    """One drawn DOT node: a value box ("value"), an op circle ("op") or a collapsed box ("group").

    ``key`` is its DOT name, ``id`` its element id; ``nodes`` the graph nodes
    it shows (one, or a group's members); ``copy_of`` the id of the box a
    dashed copy repeats.
    """

    __slots__ = ("key", "id", "kind", "node", "nodes", "cluster", "title", "info", "copy_of")

    def __init__(self, key, kind, node=None, members=(), cluster="", title="", info="", copy_of=None):
        self.key, self.id, self.kind, self.node = key, f"ng-{key}", kind, node
        self.nodes = tuple(members) if kind == "group" else (node,)
        self.cluster, self.title, self.info, self.copy_of = cluster, title, info, copy_of

    @property
    def ghost(self):
        return self.copy_of is not None


class Edge:
    """One drawn edge; ``carries`` the graph edges it stands for: (src, dst) pairs,
    or (node, None) for the edge from an op circle to its result's box."""

    __slots__ = ("tail", "head", "id", "carries", "loose")

    def __init__(self, tail, head, carries):
        self.tail, self.head, self.carries = tail, head, set(carries)
        self.id, self.loose = None, False


class Units:
    """The units, edges and scope clusters drawn for a graph in one mode."""

    def __init__(self, g, expand=None, max_nodes=None, collapse=None):
        self.graph = g
        self.max_nodes = MAX_NODES if max_nodes is None else int(max_nodes)
        self.expand = tuple(sorted(set(expand or ())))
        for path in self.expand:
            if path not in g.scopes:
                known = ", ".join(repr(s) for s in g.scopes[:12]) or "none"
                raise ValueError(f"expand: no scope {path!r} in this graph (scopes: {known})")
        nodes = g.nodes
        self.note = None
        self.units, self.edges = [], []
        self.box = {}          # node id -> key of the unit holding its value
        self.opunit = {}       # node id -> key of the unit holding its op (circle or group)
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
            self.note = self._collapse_note(mode, too_big)
            if collapse is None:
                warnings.warn("nbgraph: " + self.note, stacklevel=4)
        self.copies = {}       # node id -> keys of its dashed copies
        if mode != "summary":
            self._ghost_hubs()
        self.unit = {u.key: u for u in self.units}
        heads = {}
        for e in self.edges:
            heads.setdefault(e.tail, set()).add(e.head)
        for k, e in enumerate(self.edges):
            e.id = f"ng-e{k}"
            e.loose = self._floating(self.unit[e.tail]) and len(heads[e.tail]) > 1
        # scope clusters: a tree of the scope paths that hold drawn units
        paths = set()
        for u in self.units:
            parts = u.cluster.split("/") if u.cluster else []
            paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        self.scopes = sorted(paths)
        self.scope_id = {path: f"ng-s{k}" for k, path in enumerate(self.scopes)}

    def _collapse_note(self, mode, too_big):
        n = len(self.graph.nodes)
        if mode == "summary":
            note = (f"Too large to draw in full: {n:,} nodes (limit {self.max_nodes:,}). "
                    "Showing a summary: inputs, the collapsed ops, outputs.")
            if self.graph.scopes:
                return note + " Even with scopes collapsed it is too large."
            return note + " Put parts in ng.scope(...) to see them as boxes."
        if too_big:
            return (f"{n:,} nodes: scopes are collapsed into boxes "
                    f"(limit {self.max_nodes:,}). Open one with expand=['scope/name'].")
        return "Scopes are collapsed into boxes. Open one with expand=['scope/name']."

    # -- the three ways of drawing ------------------------------------------------
    def _add_node(self, n, cluster):
        self.units.append(Unit(f"n{n.id}", "value", node=n.id, cluster=cluster))
        self.box[n.id] = f"n{n.id}"
        if n.op is not None:
            self.units.append(Unit(f"o{n.id}", "op", node=n.id, cluster=cluster))
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
                self.edges[seen[key]].carries.add((src, dst))
                continue
            seen[key] = len(self.edges)
            self.edges.append(Edge(tail, head, {(src, dst)}))
        for n in self.graph.nodes:
            if n.op is not None and self.opunit[n.id] == f"o{n.id}":
                self.edges.append(Edge(f"o{n.id}", f"n{n.id}", {(n.id, None)}))

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
            self.units.append(Unit(key, "group", members=members, cluster=parent,
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
                info += ": " + ", ".join(shorten(s, 16) for s in named) + (" …" if len(named) < len(leaves) else "")
            self.units.append(Unit("g0", "group", members=leaves, title="inputs", info=info))
            for i in leaves:
                self.box[i] = self.opunit[i] = "g0"
        if ops:
            self.units.append(Unit("g1", "group", members=ops, title=f"{len(ops):,} ops collapsed",
                                   info=self._histogram(ops)))
            for i in ops:
                self.box[i] = self.opunit[i] = "g1"
        if len(outs) <= 8:
            for i in outs:
                self.units.append(Unit(f"n{i}", "value", node=i))
                self.box[i] = self.opunit[i] = f"n{i}"
        else:
            self.units.append(Unit("g2", "group", members=outs, title=f"{len(outs):,} outputs"))
            for i in outs:
                self.box[i] = self.opunit[i] = "g2"
        self._add_edges()

    def _floating(self, u):
        """A leaf's box: dot may rank it anywhere before its users."""
        return u.kind == "value" and self.graph.nodes[u.node].op is None

    def _ghost_hubs(self, budget=GHOST_BUDGET):
        """Give a heavily shared leaf a copy beside each far-away user.

        dot pays for every rank an edge spans (a virtual node each) and
        graphviz-pure's positioning grows about quadratically with them: a
        weight used by 300 steps of a chain would take minutes. While the
        estimated total span is above ``budget``, the leaf with the longest
        edges gets a copy (dashed border, same texts) per user; so does a
        leaf with a wide fan of long edges (``FAN_USES``/``FAN_SPAN``).
        Small drawings, such as an RNN over a few steps, are left alone.
        """
        units = {u.key: u for u in self.units}
        rank = {u.key: 0 for u in self.units}
        fixed = [e for e in self.edges if not self._floating(units[e.tail])]
        succ, indeg = {}, {k: 0 for k in rank}
        for e in fixed:
            succ.setdefault(e.tail, []).append(e.head)
            indeg[e.head] += 1
        ready = [k for k in rank if indeg[k] == 0]
        while ready:
            k = ready.pop()
            for h in succ.get(k, ()):
                rank[h] = max(rank[h], rank[k] + 1)
                indeg[h] -= 1
                if indeg[h] == 0:
                    ready.append(h)
        spans = {}
        for e in self.edges:
            if self._floating(units[e.tail]):
                spans.setdefault(e.tail, []).append(rank[e.head])
        cost = {k: sum(r) - len(r) * min(r) for k, r in spans.items() if len(r) > 1}
        total = sum(cost.values()) + sum(max(0, rank[e.head] - rank[e.tail] - 1) for e in fixed)
        # a fan of many long edges is unreadable as well as slow
        fan = {k for k, c in cost.items() if len(spans[k]) >= FAN_USES and c > FAN_SPAN}
        if total <= budget and not fan:
            return
        for key in sorted(cost, key=lambda k: (-cost[k], k)):
            if total <= budget and key not in fan:
                continue
            total -= cost[key]
            primary = units[key]
            mine = [e for e in self.edges if e.tail == key]
            first = min(rank[e.head] for e in mine)
            copies = {}
            for e in mine:
                if rank[e.head] == first and not copies.get(None):
                    copies[None] = e.head          # the primary keeps its nearest user
                    continue
                ghost = copies.get(e.head)
                if ghost is None:
                    ghost = copies[e.head] = f"{key}_{len(copies)}"
                    self.units.append(Unit(ghost, "value", node=primary.node, cluster=primary.cluster,
                                           copy_of=primary.id))
                    self.copies.setdefault(primary.node, []).append(ghost)
                e.tail = ghost
        if self.copies and self.note is None:
            self.note = COPY_NOTE
        elif self.copies:
            self.note += " " + COPY_NOTE

    def _histogram(self, members):
        count = {}
        for i in members:
            op = self.graph.nodes[i].op
            if op is not None:
                count[op.symbol] = count.get(op.symbol, 0) + 1
        top = sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))
        text = f"{len(members):,} nodes"
        if top:
            text += ": " + ", ".join(f"{shorten(s, 12)} ×{c:,}" for s, c in top[:5])
            if len(top) > 5:
                text += ", …"
        return text
