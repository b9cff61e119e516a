"""The words of each step, with the numbers put in.

``forward_text`` and ``backward_text`` explain one ``Step`` of a ``Graph``;
``start_text`` is what is shown before the first step. The numbers come from
the graph's nodes and from the contributions that the engine's own
``backprop`` reported, so the words never drift from what ``backward()`` does.
"""

from .text import fmt_number, fmt_shape, fmt_value, paren

__all__ = ["start_text", "forward_text", "backward_text"]


def start_text(graph):
    """Position 0: nothing computed yet; which inputs are given; what comes first."""
    given = [n.label for n in graph.nodes if n.op is None and n.kind != "const"]
    text = "Nothing is computed yet"
    if given:
        shown = ", ".join(given[:6]) + (", …" if len(given) > 6 else "")
        text += f"; the inputs {shown} are given"
    if graph.forward_steps:
        first = graph.nodes[graph.forward_steps[0].node].label
        text += f". Step forward to compute {first}."
    else:
        text += "."
    return text


def forward_text(graph, step):
    """A forward step: the formula, then the numbers put in, then the value."""
    n = graph.nodes[step.node]
    ins = [graph.nodes[i] for i in n.inputs]
    symbolic = n.formula([i.label for i in ins])
    text = f"{n.label} = {symbolic}"
    if n.value.size == 1 and all(i.value.size == 1 for i in ins):
        numbers = n.formula([paren(fmt_number(i.value.reshape(()))) for i in ins])
        if numbers != symbolic:
            text += f" = {numbers}"
        return text + f" = {fmt_number(n.value.reshape(()))}"
    shapes = ", ".join(f"{i.label} [{fmt_shape(i.shape)}]" for i in ins)
    return f"{text}\n  from {shapes}\n  = {fmt_value(n.value)}"


def backward_text(graph, step):
    """A backward step: one chain-rule product per use of the node, and their sum."""
    L = graph.loss_label
    n = graph.nodes[step.node]
    lines = []
    if n.id in graph.output_ids:
        lines.append(f"d{L}/d{n.label} = 1  (the seed: the output's gradient with respect to itself)")
    cs = step.contributions
    uses = {}
    for d in cs:
        uses[d.user] = uses.get(d.user, 0) + 1
    for c in cs:
        u = graph.nodes[c.user]
        via = ""
        if len(cs) > 1 or n.id in graph.output_ids:
            twice = uses[c.user] > 1
            via = f"via {u.label}" + (f" (input {c.index + 1})" if twice else "") + ": "
        chain = f"d{L}/d{u.label} · d{u.label}/d{n.label}"
        local_text = u.op.local[c.index] if c.index < len(u.op.local) else ""
        names = [graph.nodes[i].label for i in u.inputs]
        why = ""
        if local_text:
            why = (f"   (d{u.label}/d{n.label} = "
                   f"{u.formula(names, local_text)}"
                   f" for {u.label} = {u.formula(names)})")
        if c.local is not None:
            lines.append(f"{via}d{L}/d{n.label} = {chain} = {fmt_number(c.upstream.reshape(()))} · "
                         f"{paren(fmt_number(c.local.reshape(())))} = {fmt_number(c.product.reshape(()))}{why}")
        else:
            lines.append(f"{via}d{L}/d{n.label} = {chain}{why}\n    "
                         f"upstream {fmt_value(c.upstream)} -> {fmt_value(c.product)}")
    if len(cs) + (n.id in graph.output_ids) > 1:
        if n.grad.size == 1:
            parts = ([1.0] if n.id in graph.output_ids else []) + [float(c.product.sum()) for c in cs]
            total = " + ".join(paren(fmt_number(p)) for p in parts)
            lines.append(f"{n.label} is used {len(parts)} times, so its gradient is the sum: "
                         f"d{L}/d{n.label} = {total} = {fmt_value(n.grad)}")
        else:
            lines.append(f"{n.label} is used {len(cs)} times; the sum of every use: "
                         f"d{L}/d{n.label} = {fmt_value(n.grad)}")
    elif not cs and n.id not in graph.output_ids:
        lines.append(f"d{L}/d{n.label} = {fmt_value(n.grad)}")
    return "\n".join(lines)
