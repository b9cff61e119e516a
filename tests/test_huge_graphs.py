"""Graphs too large to lay out: collapsed scopes, a summary, a time limit."""

import time
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nbgraph as ng
from nbgraph import render
from nbgraph.stepper import Stepper

SVG = "{http://www.w3.org/2000/svg}"


def scalar_chain(n_nodes):
    """About n_nodes scalar nodes, no scopes (3 nodes per link)."""
    a = ng.tensor(0.5, name="a")
    h = a
    for _ in range(n_nodes // 3 + 1):
        h = h * 0.999 + a
    return h.named("out")


def scoped_rnn(steps, width=2):
    """An unrolled scalar RNN: one scope per step, shared weights outside."""
    w = ng.parameter(0.5, name="w")
    u = ng.parameter(0.3, name="u")
    h = ng.tensor(0.0, name="h0", requires_grad=False)
    with ng.scope("rnn"):
        for t in range(steps):
            with ng.scope(f"t={t}"):
                x = ng.tensor(float(t % 5) / 5, name=f"x{t}", requires_grad=False)
                acc = h * w
                for _ in range(width):
                    acc = acc + x * u
                h = ng.tanh(acc).named(f"h{t}")
    return (h * h).named("loss")


def node_groups(svg):
    """{id: shown texts} of the boxes (values and collapsed groups)."""
    root = ET.fromstring(svg)
    boxes = {g.get("id") for g in root.iter(SVG + "g")
             if {"ng-value", "ng-group"} & set((g.get("class") or "").split())}
    return {k: v for k, v in render.shown_texts(svg).items() if k in boxes}


def classes_of(svg, uid):
    root = ET.fromstring(svg)
    return set(next(g for g in root.iter(SVG + "g") if g.get("id") == uid).get("class").split())


def test_20000_node_scalar_graph_renders_quickly_with_a_note():
    out = scalar_chain(20000)
    G = ng.graph(out)
    assert len(G.nodes) >= 20000
    t0 = time.perf_counter()
    with pytest.warns(UserWarning, match="Too large to draw in full"):
        svg = render.render_svg(G)
    took = time.perf_counter() - t0
    assert took < 20, took
    ET.fromstring(svg)
    assert "Too large to draw in full" in svg and "20,00" in svg
    groups = node_groups(svg)
    assert len(groups) <= 10
    titles = [texts[0] for texts in groups.values()]
    assert "inputs" in titles and any("ops collapsed" in t for t in titles)
    assert "out" in titles                      # the output keeps its own box
    ops = next(texts for texts in groups.values() if "ops collapsed" in texts[0])
    assert "+ ×" in ops[1] and "* ×" in ops[1]  # the op histogram


def test_stepper_on_a_huge_graph_steps_node_by_node():
    out = scalar_chain(20000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Stepper(out)
    assert s.total == len(s.graph.forward_steps) + len(s.graph.backward_steps)
    ops_box = next(k for k, v in node_groups(s.svg).items() if "ops collapsed" in v[0])
    t0 = time.perf_counter()
    for _ in range(50):
        s.step_forward()
    assert time.perf_counter() - t0 < 5
    assert s.position == 50
    # the active (hidden) node lights its collapsed box; its values are not all known yet
    assert "ng-active" in classes_of(s.svg, ops_box)
    assert "values ?" in node_groups(s.svg)[ops_box]
    assert s.explanation.startswith(s.graph.nodes[s.step.node].label + " = ")
    s.run_to_end()
    assert any(t.startswith("values: all") for t in node_groups(s.svg)[ops_box])
    assert "grad 1" in node_groups(s.svg)[f"ng-n{s.graph.output_ids[0]}"][-1]


def test_scopes_collapse_and_expand():
    loss = scoped_rnn(300, width=2)       # ~ 300 * 7 nodes
    G = ng.graph(loss)
    assert len(G.nodes) > render.MAX_NODES
    with pytest.warns(UserWarning, match="scopes are collapsed"):
        svg = render.render_svg(G)
    groups = node_groups(svg)
    assert [v[0] for v in groups.values()].count("rnn") == 1     # one box for the whole scope
    with pytest.warns(UserWarning):
        svg = render.render_svg(G, expand=["rnn/t=3"])
    groups = node_groups(svg)
    titles = [v[0] for v in groups.values()]
    assert "h3" in titles                         # t=3 is open: its nodes are drawn
    assert "t=4" in titles and "t=3" not in titles  # its siblings are boxes
    assert "h4" not in titles
    with pytest.raises(ValueError, match="no scope 'rnn/t=9999'"):
        render.render_svg(G, expand=["rnn/t=9999"])


def test_stepper_expand_and_hidden_steps():
    loss = scoped_rnn(300, width=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Stepper(loss, expand=["rnn/t=3"])
    G = s.graph
    h3 = G.node("h3").id
    s.position = next(st.index + 1 for st in G.forward_steps if st.node == h3)
    assert s.explanation.startswith("h3 = tanh(")
    assert node_groups(s.svg)[f"ng-n{h3}"][1] != "?"
    assert "ng-active" in classes_of(s.svg, f"ng-n{h3}")


def test_collapse_on_request_and_small_graphs_stay_whole():
    loss = scoped_rnn(3, width=1)
    assert not any("ng-group" in c for c in
                   (g.get("class") or "" for g in ET.fromstring(render.render_svg(loss)).iter(SVG + "g")))
    assert "Scopes are collapsed" not in render.render_svg(loss)
    svg = ng.show(loss, collapse=True).svg
    assert "Scopes are collapsed into boxes" in svg


def test_layout_timeout_gives_a_clear_error():
    loss = scoped_rnn(30, width=1)
    with pytest.raises(render.LayoutTimeoutError) as err:
        render.render_svg(loss, timeout=0.001)
    msg = str(err.value)
    assert "within 0.001 s" in msg and "set_layout_timeout" in msg and "max_nodes" in msg
    with pytest.raises(render.LayoutTimeoutError):
        Stepper(loss, timeout=0.001)


def test_max_nodes_is_configurable():
    loss = scoped_rnn(10, width=1)
    with pytest.warns(UserWarning, match="limit 20"):
        svg = render.render_svg(loss, max_nodes=20)
    assert "limit 20" in svg
    small = np.ones(3)
    assert small.sum() == 3
