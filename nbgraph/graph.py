"""The graph IR: what the engine recorded, laid out as nodes, edges and steps.

``ng.graph(*outputs)`` walks the tensors back from the outputs and numbers
them in topological order (inputs first). It then offers two lists of steps:

* ``forward_steps`` -- one per op node, in the order a forward pass computes
  them: ``p = x + y = 1 + 3 = 4``.
* ``backward_steps`` -- one per node that needs a gradient, from the output
  back to the leaves. Each lists the chain-rule products that make up the
  node's gradient (one per use of the node) and, for a node used several
  times, their running sum: ``dg/dx = dg/dp · ∂p/∂x = -3 · 1 = -3``.

The backward numbers come from the engine's own ``backprop`` (the very VJP
code ``Tensor.backward`` runs), told to report each product as it is made.
Nothing here touches a tensor's ``.grad``. All of it is built on request,
never while the engine records.
"""

import numpy as np

from .engine import Tensor, backprop, topological_order, vjp
from . import explain
from .text import fill, fmt_number, fmt_param, fmt_shape, fmt_value

__all__ = ["Graph", "Node", "Step", "Contribution", "graph", "fmt_number", "fmt_value"]


# ---------------------------------------------------------------------------
# Nodes and steps
# ---------------------------------------------------------------------------

class Node:
    """One tensor in the graph. ``id`` is its position in topological order."""

    __slots__ = ("id", "tensor", "label", "kind", "op", "params", "inputs", "users",
                 "scope", "value", "requires_grad", "grad", "grad_before")

    def __init__(self, id_, t, label):
        self.id, self.tensor, self.label = id_, t, label
        self.kind, self.op, self.params = t.kind, t._op, t._params or {}
        self.scope, self.requires_grad = t.scope, t.requires_grad
        self.value = t.data.copy()           # a snapshot: later in-place updates don't move it
        self.inputs, self.users, self.grad = [], [], None
        # What the user's leaf held in .grad when the graph was made (None: nothing
        # yet). The steps show one backward pass of their own; if this differs,
        # the leaf's step says why (gradients accumulate).
        self.grad_before = t._grad.copy() if t._op is None and t._grad is not None else None

    @property
    def name(self):
        return self.tensor.name

    @property
    def shape(self):
        return self.value.shape

    @property
    def is_leaf(self):
        return self.op is None

    def formula(self, names, template=None):
        """The op's formula -- or another of its templates, such as a local
        derivative -- with ``names`` (one string per input) put in."""
        p = {k: fmt_param(v) for k, v in self.params.items()}
        shown = {k: v for k, v in self.params.items()
                 if v is not None and not (k == "keepdims" and v is False)}
        p["p"] = "".join(f", {k}={fmt_param(v)}" for k, v in shown.items())
        # fill() parenthesizes a negative name or number only after an operator.
        return fill(template or self.op.formula, names, p)

    def __repr__(self):
        return f"<Node {self.id} {self.label!r} {self.kind} {fmt_shape(self.shape)}>"


class Contribution:
    """One chain-rule product: how a use of a node adds to its gradient."""

    __slots__ = ("user", "index", "upstream", "local", "product", "running")

    def __init__(self, user, index, upstream, local, product, running):
        self.user, self.index = user, index            # user node, which input of it
        self.upstream, self.local = upstream, local    # dL/d(user), ∂(user)/∂(node) or None
        self.product, self.running = product, running  # this use's share, sum so far


class Step:
    """One step of the forward or backward pass; ``explanation`` is built on first read."""

    __slots__ = ("graph", "phase", "index", "node", "contributions", "_text")

    def __init__(self, graph, phase, index, node, contributions=()):
        self.graph, self.phase, self.index, self.node = graph, phase, index, node
        self.contributions, self._text = tuple(contributions), None

    @property
    def value(self):
        """The node's value (forward) or its gradient (backward) at this step."""
        n = self.graph.nodes[self.node]
        return n.value if self.phase == "forward" else n.grad

    @property
    def explanation(self):
        if self._text is None:
            g = self.graph
            self._text = explain.forward_text(g, self) if self.phase == "forward" else explain.backward_text(g, self)
        return self._text

    def __repr__(self):
        return f"<Step {self.phase} {self.index + 1}: {self.explanation.splitlines()[0]}>"


# ---------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------

class Graph:
    """Nodes (topological), edges, scopes, and the forward and backward steps."""

    def __init__(self, outputs):
        outputs = tuple(outputs)
        if not outputs or not all(isinstance(o, Tensor) for o in outputs):
            raise TypeError("ng.graph() takes one or more nbgraph Tensors")
        self.outputs = outputs
        order = topological_order(outputs)
        self._of = {}
        self.nodes = []
        unnamed = 0
        for t in order:
            if t.name:
                label = t.name
            elif t.kind == "const" and t.data.size == 1:
                label = fmt_number(t.data.reshape(()))
            else:
                unnamed += 1
                label = f"{'c' if t.kind == 'const' else 'v'}{unnamed}"
            node = Node(len(self.nodes), t, label)
            self._of[t] = node
            self.nodes.append(node)
        self.edges = []
        for node in self.nodes:
            for k, inp in enumerate(node.tensor._inputs):
                src = self._of[inp]
                node.inputs.append(src.id)
                src.users.append((node.id, k))
                self.edges.append((src.id, node.id, k))
        paths = set()
        for node in self.nodes:
            parts = node.scope.split("/") if node.scope else []
            for i in range(1, len(parts) + 1):
                paths.add("/".join(parts[:i]))
        self.scopes = sorted(paths)
        self.output_ids = [self._of[o].id for o in outputs]
        self._forward = self._backward = None

    # -- look-ups -------------------------------------------------------------
    def __len__(self):
        return len(self.nodes)

    def node(self, key):
        """A node by tensor, by id, or by name (the first node so named)."""
        if isinstance(key, Tensor):
            return self._of[key]
        if isinstance(key, int):
            return self.nodes[key]
        for n in self.nodes:
            if n.name == key:
                return n
        raise KeyError(f"no node named {key!r} in this graph")

    @property
    def loss_label(self):
        return " + ".join(self.nodes[i].label for i in self.output_ids)

    def first_nonfinite(self):
        """The first node (forward order) whose value is NaN or Inf, else None.

        If no value is non-finite, the first node whose gradient is; this is
        where a NaN started, since every later node inherits it.
        """
        for n in self.nodes:
            if not np.isfinite(n.value).all():
                return n
        self.backward_steps  # make sure gradients are known
        for step in self.backward_steps:
            n = self.nodes[step.node]
            if n.grad is not None and not np.isfinite(n.grad).all():
                return n
        return None

    # -- steps ------------------------------------------------------------------
    @property
    def forward_steps(self):
        if self._forward is None:
            ops = [n for n in self.nodes if n.op is not None]
            self._forward = [Step(self, "forward", i, n.id) for i, n in enumerate(ops)]
        return self._forward

    @property
    def backward_steps(self):
        if self._backward is None:
            self._backward = self._run_backward()
        return self._backward

    def _run_backward(self):
        contributions = {}
        of = self._of

        def record(user_t, k, inp_t, upstream, product):
            user, node = of[user_t], of[inp_t]
            local = None
            if user_t.data.size == 1 and inp_t.data.size == 1:
                # ∂(user)/∂(node) as a number: the same VJP, fed an upstream of 1.
                local = vjp(user_t, np.ones_like(user_t.data), only=k)[k]
            got = contributions.setdefault(node.id, [])
            running = product if not got else got[-1].running + product
            got.append(Contribution(user.id, k, upstream, local, product, running))

        roots = [o for o in self.outputs if o.requires_grad]
        # NaN/Inf are shown (magenta, first_nonfinite), not warned about from our lines.
        with np.errstate(all="ignore"):
            grads = backprop(roots, [np.ones_like(o.data) for o in roots], record)
        steps = []
        for node in reversed(self.nodes):
            g = grads.get(node.tensor)
            if g is None:
                continue
            node.grad = np.array(g, dtype=np.float64)
            steps.append(Step(self, "backward", len(steps), node.id,
                              contributions.get(node.id, ())))
        return steps

    # -- drawing (the render layer does the work) -------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        # drawing sits in a layer above this one: reach it through the package's public API
        import nbgraph
        data = nbgraph.show(self)._repr_mimebundle_()    # the SVG and its HTML form
        del data["text/plain"]                           # text/plain stays the Graph's repr
        return data

    def __repr__(self):
        return (f"<Graph: {len(self.nodes)} nodes, {len(self.forward_steps)} forward steps, "
                f"output {self.loss_label}>")


def graph(*outputs):
    """The computational graph that produced ``outputs`` (one or more Tensors)."""
    if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
        outputs = tuple(outputs[0])
    from .bridges.micrograd import convert      # micrograd Values -> Tensors (bridge)
    return Graph(convert(outputs))
