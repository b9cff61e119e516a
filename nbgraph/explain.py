"""The words of each step, with the numbers put in.

``forward_text`` and ``backward_text`` explain one ``Step`` of a ``Graph``;
``start_text`` is what is shown before the first step. The numbers come from
the graph's nodes and from the contributions that the engine's own
``backprop`` reported, so the words never drift from what ``backward()`` does.

Notation: ``dg/dx`` is the accumulated gradient (how the output ``g`` moves
with ``x``, through every path); ``∂p/∂x`` is the local derivative of one
operation ``p`` with respect to one of its inputs. The chain rule reads
``dg/dx = dg/dp · ∂p/∂x``.
"""

import numpy as np

from .text import fmt_number, fmt_shape, fmt_value, paren

__all__ = ["start_text", "forward_text", "backward_text"]


def _d(L, name):
    return f"d{L}/d{name}"


def _partial(u, name):
    return f"∂{u}/∂{name}"


def _output_label(graph):
    """The output's name as it appears in dL/dx: parenthesized for a sum of outputs."""
    L = graph.loss_label
    return f"({L})" if len(graph.output_ids) > 1 else L


def start_text(graph):
    """Position 0: nothing computed yet; which inputs are given; what comes first;
    which seed the backward pass will start from."""
    given = [n.label for n in graph.nodes if n.op is None and n.kind != "const"]
    text = "Nothing is computed yet"
    if given:
        shown = ", ".join(given[:6]) + (", …" if len(given) > 6 else "")
        text += (f"; the input {shown} is given" if len(given) == 1
                 else f"; the inputs {shown} are given")
    if graph.forward_steps:
        first = graph.nodes[graph.forward_steps[0].node].label
        text += f". Step forward to compute {first}."
    else:
        text += "."
    seeds = [graph.nodes[i] for i in graph.output_ids if graph.nodes[i].requires_grad]
    if not seeds:
        return text + " Nothing here needs a gradient, so there is no backward pass."
    L = _output_label(graph)
    parts = []
    for n in seeds:
        if n.value.size == 1:
            parts.append(f"{_d(L, n.label)} = 1")
        else:
            parts.append(f"{_d(L, n.label)} = ones of shape {fmt_shape(n.shape)}")
    text += (" The backward pass then starts from the seed" + ("s " if len(parts) > 1 else " ")
             + " and ".join(parts))
    arrays = [n for n in seeds if n.value.size != 1]
    if arrays:
        a = arrays[0]
        text += (f": {a.label} is not a single number, so {a.label}.backward() alone would "
                 f"refuse; this shows {a.label}.backward(grad=ones), the gradient of "
                 f"{a.label}.sum()")
    return text + "."


def forward_text(graph, step):
    """A forward step: the formula, then the numbers put in, then the value."""
    n = graph.nodes[step.node]
    ins = [graph.nodes[i] for i in n.inputs]
    symbolic = n.formula([i.label for i in ins])
    text = f"{n.label} = {symbolic}"
    if n.value.size == 1 and all(i.value.size == 1 for i in ins):
        numbers = n.formula([fmt_number(i.value.reshape(())) for i in ins])
        result = fmt_number(n.value.reshape(()))
        if numbers not in (symbolic, result):       # "-v1 = -6", not "-v1 = -6 = -6"
            text += f" = {numbers}"
        return text + f" = {result}"
    shapes = ", ".join(f"{i.label} [{fmt_shape(i.shape)}]" for i in ins)
    return f"{text}\n  from {shapes}\n  = {fmt_value(n.value)}"


def _contribution_line(graph, L, n, c, via):
    """One chain-rule product: dL/dn = dL/du · ∂u/∂n, with its numbers."""
    u = graph.nodes[c.user]
    names = [graph.nodes[i].label for i in u.inputs]
    local = u.op.local
    if c.index < len(local):
        local_text = local[c.index]
    else:       # concat/stack: one text for any number of inputs
        local_text = local[0] if len(local) == 1 and callable(u.op.vjp) else ""
    target, upstream = _d(L, n.label), _d(L, u.label)
    if "upstream" in local_text:
        # A matrix product: the template is the vector-Jacobian product itself
        # (e.g. "(upstream) @ {1}ᵀ"), so the chain rule is written as that product.
        rule = u.formula(names, local_text).replace("(upstream)", upstream)
        return (f"{via}{target} = {rule}   (for {u.label} = {u.formula(names)})\n"
                f"    {upstream} = {fmt_value(c.upstream)}  →  {target} = {fmt_value(c.product)}")
    chain = f"{target} = {upstream} · {_partial(u.label, n.label)}"
    why = ""
    if local_text:
        why = (f"   ({_partial(u.label, n.label)} = {u.formula(names, local_text)}"
               f" for {u.label} = {u.formula(names)})")
    if c.local is not None:
        numbers = (f"{fmt_number(c.upstream.reshape(()))} · {paren(fmt_number(c.local.reshape(())))}"
                   f" = {fmt_number(c.product.reshape(()))}")
        return f"{via}{chain} = {numbers}{why}"
    return (f"{via}{chain}{why}\n"
            f"    {upstream} = {fmt_value(c.upstream)}  →  {target} = {fmt_value(c.product)}")


def _accumulation_note(L, n):
    """Why the user's ``.grad`` differs from this one backward pass, if it does."""
    before = n.grad_before
    if before is None or n.grad is None or before.shape != n.grad.shape or not before.any():
        return None     # never set, or cleared: nothing to reconcile
    with np.errstate(all="ignore"):        # NaN/Inf gradients are shown, not warned about
        if np.allclose(before, n.grad, rtol=1e-9, atol=1e-12, equal_nan=True):
            return None
        how_often = "more than once"
        usable = np.isfinite(n.grad) & (n.grad != 0)
        if usable.any():
            g = n.grad[usable]
            i = np.argmax(np.abs(g))
            k = float(before[usable][i] / g[i])       # a whole number if it is k passes
            if k >= 2 and abs(k - round(k)) < 1e-9 and np.allclose(before, round(k) * n.grad,
                                                                   equal_nan=True):
                how_often = f"{int(round(k))} times"
    return (f"Note: {n.label}.grad is {fmt_value(before)}, not {fmt_value(n.grad)}: gradients "
            f"accumulate, and backward() has added into {n.label}.grad {how_often} since it was "
            f"last cleared (or from another output). These steps show one backward pass of their "
            f"own; call {n.label}.zero_grad() (or optimizer.zero_grad()) before backward() to match.")


def backward_text(graph, step):
    """A backward step: one chain-rule product per use of the node, and their sum."""
    L = _output_label(graph)
    n = graph.nodes[step.node]
    is_output = n.id in graph.output_ids
    lines = []
    if is_output:
        seed = "1" if n.grad.size == 1 else f"ones of shape {fmt_shape(n.shape)}"
        lines.append(f"{_d(L, n.label)} = {seed}   (the seed: the output's gradient with respect to itself)")
    cs = step.contributions
    uses = {}
    for c in cs:
        uses[c.user] = uses.get(c.user, 0) + 1
    for c in cs:
        via = ""
        if len(cs) > 1 or is_output:
            twice = uses[c.user] > 1
            via = f"via {graph.nodes[c.user].label}" + (f" (input {c.index + 1})" if twice else "") + ": "
        lines.append(_contribution_line(graph, L, n, c, via))
    if len(cs) + is_output > 1:
        if n.grad.size == 1:
            parts = ([1.0] if is_output else []) + [float(c.product.sum()) for c in cs]
            total = " + ".join([fmt_number(parts[0])] + [paren(fmt_number(p)) for p in parts[1:]])
            lines.append(f"{n.label} is used {len(parts)} times, so its gradient is the sum: "
                         f"{_d(L, n.label)} = {total} = {fmt_value(n.grad)}")
        else:
            lines.append(f"{n.label} is used {len(cs) + is_output} times; its gradient is the sum "
                         f"of every use: {_d(L, n.label)} = {fmt_value(n.grad)}")
    elif not cs and not is_output:
        lines.append(f"{_d(L, n.label)} = {fmt_value(n.grad)}")
    note = _accumulation_note(L, n)
    if note:
        lines.append(note)
    return "\n".join(lines)
