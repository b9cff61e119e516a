"""The position model: what is known at each position, computed once, read by everyone."""

import json
import warnings

import pytest

import nbgraph as ng
from nbgraph import explain, render
from nbgraph.examples import chain, reference, scalar_mlp
from nbgraph.stepper import Stepper
from nbgraph.timeline import Timeline, check_position


def by_id(t):
    return {u["id"]: u for u in t.units}


def test_reference_positions():
    G = ng.graph(reference())
    t = render.prepare(G).timeline
    assert (t.F, t.B, t.total) == (2, 5, 7)
    u = by_id(t)
    x, y, z, p, g = (G.node(n).id for n in "xyzpg")
    # inputs are known from the start; p at step 1, g at step 2; grads from g back to x
    assert [u[f"ng-n{i}"]["v"] for i in (x, y, z, p, g)] == [0, 0, 0, 1, 2]
    assert [u[f"ng-n{i}"]["g"] for i in (g, z, p, y, x)] == [3, 4, 5, 6, 7]
    assert u[f"ng-o{p}"] == {"id": f"ng-o{p}", "kind": "op", "v": 1, "g": None, "jump": [1, None],
                             "name": "p = x + y"}
    assert u[f"ng-n{p}"]["jump"] == [1, 5] and u[f"ng-n{x}"]["jump"] == [None, 7]   # where clicking goes
    assert (u[f"ng-n{p}"]["name"], u[f"ng-n{p}"]["value"], u[f"ng-n{p}"]["grad"]) == ("p", "4", "-3")
    assert t.active == [None] + [f"ng-n{i}" for i in (p, g, g, z, p, y, x)]
    # forward step 1: the op circle and the edges x -> +, y -> +, + -> p carry the flow
    assert t.flow[0] == ()
    assert t.flow[1][0] == f"ng-o{p}" and len(t.flow[1]) == 4
    assert all(len(f) <= 4 for f in t.flow)
    assert t.head(0) == "start"
    assert t.head(1) == "forward step 1 of 2 · p"
    assert t.head(2) == "forward step 2 of 2 · g"
    assert t.head(3) == "backward step 1 of 5 · g"
    assert t.head(7) == "backward step 5 of 5 · x"
    assert t.explanation(0) == explain.start_text(G)
    steps = G.forward_steps + G.backward_steps
    assert [t.explanation(k + 1) for k in range(7)] == [s.explanation for s in steps]
    assert [t.phase(k) for k in (0, 1, 2, 3, 7)] == ["start", "forward", "forward", "backward", "backward"]


def test_json_follows_the_contract_and_its_rule_gives_the_classes():
    t = render.prepare(reference()).timeline
    data = json.loads(t.to_json())
    assert set(data) == {"F", "B", "total", "units", "active", "flow", "heads", "texts"}
    n = data["total"] + 1
    assert len(data["active"]) == len(data["flow"]) == len(data["heads"]) == len(data["texts"]) == n
    assert {u["kind"] for u in data["units"]} <= {"value", "op", "edge", "scope", "group"}
    # the rule of the contract, applied to the JSON, gives Timeline.classes
    for p in range(n):
        for u, want in zip(data["units"], t.classes(p)):
            got = []
            if u["v"] <= p:
                got.append("ng-v")
            if u["g"] is not None and u["g"] <= p:
                got.append("ng-g")
            if data["active"][p] is not None and data["active"][p] in (u["id"], u.get("copy_of")):
                got.append("ng-active")
            if u["id"] in data["flow"][p]:
                got.append("ng-flow")
            assert " ".join(got) == want
    assert data["texts"][1] == "p = x + y = 1 + 3 = 4"
    assert "\\u" not in t.to_json()              # compact: UTF-8, no escapes


def test_stepper_reads_the_timeline():
    s = Stepper(reference())
    pic = render.prepare(reference())          # same code, same bytes
    t = pic.timeline
    for p in range(t.total + 1):
        s.position = p
        assert s.explanation == t.explanation(p)
        assert s.phase == ("forward" if p <= t.F else "backward")
        assert s.svg == pic.svg_at(p)


def test_scopes_are_units():
    with ng.scope("layer"):
        a = ng.tensor(2.0, name="a")
        b = (a * 3.0).named("b")
    t = render.prepare(b).timeline
    scopes = [u for u in t.units if u["kind"] == "scope"]
    assert scopes == [{"id": "ng-s0", "kind": "scope", "v": 0, "g": None}]


def test_a_step_on_a_collapsed_node_activates_its_box():
    w = ng.parameter(0.5, name="w")
    h = ng.tensor(1.0, name="h0", requires_grad=False)
    for k in range(3):
        with ng.scope(f"t={k}"):
            h = (h * w).tanh().named(f"h{k}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pic = render.prepare(h, collapse=True)
    t = pic.timeline
    G = pic.graph
    groups = {u["name"]: u for u in t.units if u["kind"] == "group"}
    assert set(groups) == {"t=0", "t=1", "t=2"}
    h1 = G.node("h1").id
    p = next(s.index + 1 for s in G.forward_steps if s.node == h1)
    assert t.active[p] == groups["t=1"]["id"]
    assert t.head(p).endswith("· h1")
    # the box is done when all of its members are
    members = [s.index + 1 for s in G.forward_steps if G.nodes[s.node].scope == "t=1"]
    assert groups["t=1"]["v"] == max(members) and groups["t=1"]["jump"][0] == min(members)


def test_check_position():
    assert check_position(3, 7) == 3
    with pytest.raises(ValueError, match="between 0 and 7"):
        check_position(8, 7)
    with pytest.raises(TypeError):
        check_position(True, 7)
    with pytest.raises(TypeError):
        check_position("1", 7)


def json_size(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pic = render.prepare(x)
    return len(pic.graph.nodes), len(pic.timeline.to_json().encode("utf-8"))


def test_json_of_a_1500_node_graph_is_under_1_mb_and_grows_with_the_graph():
    nodes, size = json_size(scalar_mlp(1500))       # a 2-k-k-1 MLP built from scalars
    assert 1400 <= nodes <= 1500
    assert size < 1_000_000, size
    # a chain whose every link shares two leaves (~1,300 dashed copies): linear, not graph x steps
    (n1, s1), (n2, s2) = json_size(chain(750)), json_size(chain(1500))
    assert s2 / s1 < 1.1 * n2 / n1, (s1, s2)


def test_timeline_takes_any_drawn_units():
    """Timeline needs only what it documents: units, edges, scopes, box, opunit."""
    G = ng.graph(reference())

    class U:
        def __init__(self, key, kind, nodes):
            self.key, self.id, self.kind, self.nodes, self.copy_of = key, "u-" + key, kind, nodes, None

    class Drawn:
        units = [U(f"n{n.id}", "value", (n.id,)) for n in G.nodes]
        edges, scopes, scope_id = [], [], {}
        box = {n.id: f"n{n.id}" for n in G.nodes}
        opunit = {}

    t = Timeline(G, Drawn())
    assert t.active[1] == f"u-n{G.node('p').id}" and t.flow[1] == ()
