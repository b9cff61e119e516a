"""Read micrograd ``Value`` objects into nbgraph tensors.

    from micrograd.engine import Value
    a = Value(2.0); b = Value(-3.0)
    loss = (a * b + a).relu()
    ng.Stepper(loss)              # ng.graph(loss), ng.show(loss) as well

A micrograd graph is a web of objects: each ``Value`` has ``data``,
``grad``, ``_op`` (text such as ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``) and
``_prev``, the set of values it was made from (``label`` too, in the lecture
version). Nothing here imports micrograd: any object with those attributes is
read. The graph is rebuilt as nbgraph Tensors, one per Value, with the
engine's own ops, so drawings, steps and explanations are exactly those of
nbgraph's tensors. micrograd writes ``a - b`` as ``a + (b * -1)`` and ``a / b``
as ``a * b**-1``; they are drawn as micrograd built them.

The order of the operands. ``_prev`` is a set, ordered by memory address, so
it says nothing about which operand came first. micrograd's ``_backward`` is
a closure over ``self`` and ``other``: when it has them, they give the order
as written (``a * b``; ``a * a`` and ``a + a``, where ``_prev`` holds one
value). Otherwise the operands are put in a canonical order computed from
the graph itself (depth, op, data, label, and how each value is used), which
is the same on every run.

An op nbgraph has no entry for (or whose value its entry does not
reproduce) is drawn with micrograd's op text. Its local derivatives are read
from micrograd: its ``_backward`` is run once with an upstream gradient of 1
(every ``.grad`` it touches is put back), and its explanation says so.
"""

import hashlib
import math
import weakref

import numpy as np

from .. import engine
from ..engine import OPS, Tensor, define_op

__all__ = ["is_value", "convert", "to_tensors", "value_of"]

# tensor -> the Value it was read from (for value_of; dies with the tensor)
_SOURCE = weakref.WeakKeyDictionary()

# micrograd op text -> Tensor method, for the one-input ops
_UNARY = {"ReLU": "relu", "relu": "relu", "tanh": "tanh", "exp": "exp",
          "log": "log", "sigmoid": "sigmoid"}


def is_value(x):
    """Does ``x`` look like a micrograd ``Value`` (``data``, ``_prev``, ``_op``)?"""
    return (not isinstance(x, Tensor) and hasattr(x, "_prev") and hasattr(x, "_op")
            and hasattr(x, "data"))


def convert(x):
    """``x`` with micrograd Values turned into Tensors; anything else unchanged.

    ``x`` is a Value, or a list/tuple that holds some (one shared conversion,
    so outputs that share values share nodes; a tuple is returned).
    """
    if is_value(x):
        return to_tensors([x])[0]
    if isinstance(x, (list, tuple)) and any(is_value(v) for v in x):
        values = [v for v in x if is_value(v)]
        made = iter(to_tensors(values))
        return tuple(next(made) if is_value(v) else v for v in x)
    return x


def value_of(t):
    """The micrograd Value that Tensor ``t`` (or graph node ``t``) was read from, else None."""
    return _SOURCE.get(getattr(t, "tensor", t))


def to_tensors(values):
    """One nbgraph Tensor per output Value (the graph behind them rebuilt)."""
    nodes = _reachable(values)
    operands = {}
    unordered = []
    for v in nodes:
        got = _operands_from_closure(v)
        if got is None:
            unordered.append(v)
        else:
            operands[id(v)] = got
    if unordered:
        key = _canonical_keys(nodes, values)
        for v in unordered:
            operands[id(v)] = _operands_by_key(v, key)
    made = {}
    with np.errstate(all="ignore"):             # a NaN is drawn (and compared), not warned about
        _build(values, operands, made)
    return [made[id(v)] for v in values]


def _build(values, operands, made):
    # Post-order walk from the outputs, operands in order: tensors are made
    # inputs first, so their creation numbers are the same on every run.
    for root in values:
        stack = [(root, False)]
        while stack:
            v, ready = stack.pop()
            if id(v) in made:
                continue
            if ready:
                t = made[id(v)] = _tensor(v, operands[id(v)], made)
                _SOURCE[t] = v
                continue
            stack.append((v, True))
            for o in reversed(operands[id(v)]):
                if is_value(o) and id(o) not in made:
                    stack.append((o, False))


# ---------------------------------------------------------------------------
# Reading the objects (identity via id() is used for look-ups only, never order)
# ---------------------------------------------------------------------------

def _children(v):
    prev = v._prev
    return list(prev) if prev else []


def _reachable(values):
    seen, out, todo = set(), [], list(values)
    while todo:
        v = todo.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        out.append(v)
        todo.extend(c for c in _children(v) if id(c) not in seen)
    return out


def _operands_from_closure(v):
    """The operands in written order, or None if the objects do not tell it.

    A leaf has none. ``_prev`` as a list/tuple is taken as ordered. Else the
    ``self``/``other`` that micrograd's ``_backward`` closes over.
    """
    prev = v._prev
    if not prev:
        return []
    if isinstance(prev, (list, tuple)):
        return list(prev)
    if len(prev) == 1 and not _is_binary(v._op):
        return list(prev)                       # one input: nothing to order
    fn = getattr(v, "_backward", None)
    code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None)
    if code is None or not cells:
        return None
    try:
        env = dict(zip(code.co_freevars, (c.cell_contents for c in cells)))
    except ValueError:                          # an empty cell
        return None
    kids = {id(c) for c in prev}
    first, other = env.get("self"), env.get("other")
    if first is None or id(first) not in kids:
        return None
    if is_value(other) and id(other) in kids and {id(first), id(other)} == kids:
        return [first, other]
    if len(kids) == 1 and _is_binary(v._op) and isinstance(other, (int, float)) \
            and not isinstance(other, bool):
        return [first, other]                   # a plain number as the second operand
    return None


def _is_binary(op):
    return op in ("+", "*")


def _operands_by_key(v, key):
    kids = sorted(_children(v), key=lambda c: key[id(c)])
    if len(kids) == 1 and _is_binary(v._op):
        return kids * 2                         # a + a, a * a (checked against data later)
    return kids


def _canonical_keys(nodes, roots):
    """A sort key per value that depends on the graph only (not on memory).

    Bottom up: height, op, data, label and the children's signatures; top
    down: the signatures of the values that use it, and theirs. Two values
    with equal keys sit in the graph alike, so either order draws the same.
    """
    by_id = {id(v): v for v in nodes}
    order, state = [], {}
    for v in nodes:                             # children before parents
        stack = [v]
        while stack:
            u = stack[-1]
            if state.get(id(u)) == 2:
                stack.pop()
                continue
            if state.get(id(u)) == 1:
                state[id(u)] = 2
                order.append(u)
                stack.pop()
                continue
            state[id(u)] = 1
            stack.extend(c for c in _children(u) if id(c) not in state)
    height, sig, users = {}, {}, {}
    for u in order:
        kids = _children(u)
        height[id(u)] = 1 + max((height[id(c)] for c in kids), default=-1)
        text = "|".join([str(u._op), _label(u) or "", repr(_number(u)), str(height[id(u)])]
                        + sorted(sig[id(c)] for c in kids))
        sig[id(u)] = hashlib.sha1(text.encode()).hexdigest()
        for c in kids:
            users.setdefault(id(c), []).append(u)
    ctx = {}
    root_rank = {}
    for k, r in enumerate(roots):
        root_rank.setdefault(id(r), k)
    for u in reversed(order):                   # users before the values they use
        parts = sorted(ctx[id(w)] + sig[id(w)] for w in users.get(id(u), ()))
        if id(u) in root_rank:
            parts.append(f"root{root_rank[id(u)]}")
        ctx[id(u)] = hashlib.sha1("|".join(parts).encode()).hexdigest()
    return {i: (-height[i], sig[i], ctx[i]) for i in by_id}


def _label(v):
    label = getattr(v, "label", None)
    return str(label) if label not in (None, "") else None


def _number(v):
    try:
        x = float(v.data)
    except (TypeError, ValueError):
        raise TypeError(f"micrograd value {_describe(v)}: data must be a real number, "
                        f"got {type(v.data).__name__} {str(v.data)[:40]!r}") from None
    return x


def _describe(v):
    label = _label(v)
    op = f"op {v._op!r}" if v._op else "a leaf"
    return f"{label!r} ({op})" if label else op


# ---------------------------------------------------------------------------
# Rebuilding one value as a Tensor
# ---------------------------------------------------------------------------

def _tensor(v, operands, made):
    data = _number(v)
    if not operands:
        t = Tensor(data, name=_label(v))
        # A leaf keeps the .grad micrograd holds, as a user's own tensor would:
        # the steps then say so when it is not one backward pass's worth.
        grad = getattr(v, "grad", 0)
        if isinstance(grad, (int, float)) and grad:
            t.grad = float(grad)
        return t
    ins = [made[id(o)] if is_value(o) else float(o) for o in operands]
    t = _mapped(v._op, ins)
    if t is None or not _close(float(t.data), data):
        t = _opaque(v, operands, made)
    else:
        t.data = np.array(data)     # micrograd's own number (math.tanh and np.tanh may differ in the last bit)
    if _label(v):
        t.name = _label(v)
    return t


def _close(a, b):
    """Does the engine's value agree with micrograd's (NaN agrees with NaN)?"""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (a != a and b != b)


def _mapped(op, ins):
    """The engine's op for micrograd's op text, or None."""
    op = str(op)
    if len(ins) == 2 and op == "+":
        return _as_tensor(ins[0]) + ins[1]
    if len(ins) == 2 and op == "*":
        return _as_tensor(ins[0]) * ins[1]
    if len(ins) == 1 and op.startswith("**"):
        try:
            k = float(op[2:])
        except ValueError:
            return None
        return ins[0] ** k
    if len(ins) == 1 and op in _UNARY:
        return getattr(ins[0], _UNARY[op])()
    return None


def _as_tensor(x):
    return x if isinstance(x, Tensor) else engine.tensor(x, requires_grad=False)


def _opaque(v, operands, made):
    """An op nbgraph cannot map: micrograd's value and local derivatives, recorded."""
    kids, seen = [], set()
    for o in operands:                          # distinct Values, in operand order
        if is_value(o) and id(o) not in seen:
            seen.add(id(o))
            kids.append(o)
    local = _local_derivatives(v, kids)
    apply = _opaque_op(str(v._op), len(kids))
    params = {f"d{k}": d for k, d in enumerate(local)}
    return apply(*(made[id(c)] for c in kids), value=_number(v), **params)


def _local_derivatives(v, kids):
    """d(v)/d(kid) for each kid, by running micrograd's own ``_backward`` once.

    Upstream 1, every kid's grad 0; all the ``.grad`` values touched are put back.
    """
    backward = getattr(v, "_backward", None)
    if not callable(backward):
        raise TypeError(f"micrograd value {_describe(v)} with {len(kids)} input(s): nbgraph has "
                        "no op for it and it has no _backward to read its derivatives from")
    saved = [(u, u.grad) for u in [v, *kids]]
    try:
        for c in kids:
            c.grad = 0.0
        v.grad = 1.0
        backward()
        return [float(c.grad) for c in kids]
    except Exception as err:
        raise TypeError(f"micrograd value {_describe(v)}: its _backward failed while nbgraph "
                        f"read its local derivatives: {err}") from err
    finally:
        for u, g in saved:
            u.grad = g


_OPAQUE = {}


def _opaque_op(text, n):
    """The engine entry for micrograd op ``text`` with ``n`` inputs (made once).

    Its forward is the value micrograd recorded (param ``value``), its VJP the
    recorded local derivatives (``d0``, ``d1``...). Applied without them (as
    code that tries every op in the table may), the value is unknown: NaN.
    """
    name = f"micrograd {text} ({n})"
    if name not in _OPAQUE:
        if name in OPS:                         # registered earlier (e.g. module reloaded)
            _OPAQUE[name] = lambda *a, **p: engine.apply(name, *a, **p)
        else:
            shown = text.replace("{", "{{").replace("}", "}}") or "?"

            def forward(*xs, value=math.nan, **_):
                return np.full(np.broadcast_shapes(*(x.shape for x in xs)), value)

            def vjp_for(k):
                return lambda g, out, *xs, **p: g * p.get(f"d{k}", math.nan)
            _OPAQUE[name] = define_op(
                name, text or "?", f"{shown}({{all}})", forward,
                [vjp_for(k) for k in range(n)],
                local=["the number micrograd's own _backward gives"] * n)
    return _OPAQUE[name]
