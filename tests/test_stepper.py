"""The Stepper widget, driven headlessly through its real ipywidgets controls."""

import random
import xml.etree.ElementTree as ET

import ipywidgets as widgets
import numpy as np
import pytest

import nbgraph as ng
from nbgraph import render
from nbgraph.examples import reference as _reference
from nbgraph.stepper import Stepper

SVG = "{http://www.w3.org/2000/svg}"


def all_widgets(w):
    yield w
    for child in getattr(w, "children", ()):
        yield from all_widgets(child)


def button(stepper, tooltip):
    found = [w for w in all_widgets(stepper) if isinstance(w, widgets.Button) and w.tooltip == tooltip]
    assert len(found) == 1, tooltip
    return found[0]


def by_class(stepper, cls):
    found = [w for w in all_widgets(stepper) if cls in getattr(w, "_dom_classes", ())]
    assert len(found) == 1, cls
    return found[0]


def node_texts(svg, graph, name):
    """Texts a reader sees in the value box of ``name``."""
    texts = render.shown_texts(svg).get(f"ng-n{graph.node(name).id}")
    if texts is None:
        raise AssertionError(f"no node {name}")
    return texts


def test_reference_example_click_by_click():
    g, (x, y, z, p) = _reference(with_inputs=True)
    s = Stepper(g)
    G = s.graph
    fwd, back = button(s, "Step forward"), button(s, "Step back")
    progress = by_class(s, "nbgraph-progress")
    picture = by_class(s, "nbgraph-svg")
    panel = by_class(s, "nbgraph-explanation")

    assert s.position == 0 and s.phase == "forward"
    assert node_texts(s.svg, G, "p")[1] == "?"
    assert "forward 0/2 · backward 0/5" in progress.value

    fwd.click()
    assert s.position == 1
    assert node_texts(s.svg, G, "p")[:2] == ["p", "4"]
    assert node_texts(s.svg, G, "g")[1] == "?"
    assert s.explanation == "p = x + y = 1 + 3 = 4"
    assert "p = x + y = 1 + 3 = 4" in panel.value
    assert "forward 1/2 · backward 0/5" in progress.value

    fwd.click()
    assert node_texts(s.svg, G, "p")[1] == "4" and node_texts(s.svg, G, "g")[1] == "-12"
    assert s.explanation == "g = p * z = 4 * (-3) = -12"
    assert picture.value == s.svg[s.svg.index("<svg"):]

    fwd.click()
    assert s.phase == "backward" and node_texts(s.svg, G, "g")[-1] == "grad 1"
    assert node_texts(s.svg, G, "x")[-1] == "grad ?"
    for _ in range(4):
        fwd.click()
    assert s.position == s.total == 7
    grads = [node_texts(s.svg, G, n)[-1] for n in "xyz"]
    assert grads == ["grad -3", "grad -3", "grad 4"]
    assert "forward 2/2 · backward 5/5" in progress.value
    assert s.explanation.startswith("dg/dx = dg/dp · dp/dx = -3 · 1 = -3")

    # back and forth reproduces the SVG exactly
    at_end = s.svg
    back.click()
    back.click()
    fwd.click()
    fwd.click()
    assert s.svg == at_end


def test_round_trip_every_position():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    seen = []
    while s.position < s.total:
        seen.append(s.svg)
        s.step_forward()
    seen.append(s.svg)
    assert len(set(seen)) == len(seen)            # every step looks different
    for p in range(s.total, -1, -1):
        s.position = p
        assert s.svg == seen[p]


def test_buttons_past_the_ends_do_nothing():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    start = s.svg
    button(s, "Step back").click()
    button(s, "Reset").click()
    assert s.position == 0 and s.svg == start
    button(s, "Run to end").click()
    end = s.svg
    button(s, "Step forward").click()
    button(s, "Run to end").click()
    assert s.position == s.total and s.svg == end
    s.step_forward()
    assert s.position == s.total
    with pytest.raises(ValueError):
        s.position = s.total + 1
    with pytest.raises(ValueError):
        s.position = -1


def test_play_and_slider_drive_the_position():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    assert isinstance(s.play, widgets.Play) and s.play.max == s.total
    s.play.value = 3                              # what the frontend's Play does
    assert s.position == 3 and s.slider.value == 3
    s.slider.value = 5
    assert s.position == 5 and s.play.value == 5
    s.step_back()
    assert s.play.value == s.slider.value == 4
    s.speed.value = 120
    assert s.play.interval == 120


def test_1000_random_clicks_keep_a_consistent_state():
    g, leaves = _reference(with_inputs=True)
    before = [t.grad.copy() for t in leaves]
    s = Stepper(g)
    buttons = {tip: button(s, tip) for tip in ("Reset", "Step back", "Step forward", "Run to end")}
    rng = random.Random(1234)
    svgs = {}
    expected = 0
    for _ in range(1000):
        choice = rng.choice(list(buttons) + ["play", "slider"])
        if choice == "Reset":
            expected = 0
        elif choice == "Step back":
            expected = max(0, expected - 1)
        elif choice == "Step forward":
            expected = min(s.total, expected + 1)
        elif choice == "Run to end":
            expected = s.total
        if choice == "play":
            expected = rng.randint(0, s.total)
            s.play.value = expected
        elif choice == "slider":
            expected = rng.randint(0, s.total)
            s.slider.value = expected
        else:
            buttons[choice].click()
        assert s.position == expected
        assert s.play.value == s.slider.value == expected
        assert s.phase == ("forward" if expected <= 2 else "backward")
        svgs.setdefault(expected, s.svg)
        assert s.svg == svgs[expected]            # state is a function of position
        assert buttons["Step back"].disabled == (expected == 0)
        assert buttons["Step forward"].disabled == (expected == s.total)
    assert len(svgs) == s.total + 1
    # the user's tensors never changed
    for t, b in zip(leaves, before):
        assert np.array_equal(t.grad, b)
    assert all(float(t.grad) == 0.0 for t in leaves)


def test_user_grads_are_untouched_after_backward():
    g, (x, y, z, p) = _reference(with_inputs=True)
    g.backward()
    grads = [float(t.grad) for t in (x, y, z)]
    s = Stepper(g)
    s.run_to_end()
    s.reset()
    assert [float(t.grad) for t in (x, y, z)] == grads == [-3.0, -3.0, 4.0]


def test_layout_runs_exactly_once_per_stepper(monkeypatch):
    calls = []
    real = render.layout.run_layout_program

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(render.layout, "run_layout_program", counting)
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    for _ in range(3):
        s.run_to_end()
        while s.position:
            s.step_back()
        s.play.value = 4
        s._repr_mimebundle_()
    assert len(calls) == 1
    Stepper(g, color_by="grad").run_to_end()
    assert len(calls) == 2


def test_mimebundle_has_svg_widget_view_and_text():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    s.step_forward()
    bundle = s._repr_mimebundle_()
    assert bundle["image/svg+xml"] == s.svg
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == s.model_id
    assert "forward 1/2" in bundle["text/plain"]
    ET.fromstring(bundle["image/svg+xml"])


def test_explanation_of_a_node_used_twice_shows_both_uses_and_the_sum():
    a = ng.tensor(3.0, name="a")
    b = (a * a).named("b")
    s = Stepper(b)
    s.run_to_end()
    assert s.step.node == s.graph.node("a").id
    text = s.explanation
    assert "input 1" in text and "input 2" in text
    assert "2 times" in text and "= 3 + 3 = 6" in text
    assert "= 3 + 3 = 6" in by_class(s, "nbgraph-explanation").value


def test_stepper_accepts_graph_and_color_by_grad():
    g, _ = _reference(with_inputs=True)
    G = ng.graph(g)
    s = Stepper(G, color_by="grad")
    assert s.graph is G
    s.run_to_end()
    assert "largest |grad|" in s.svg
    with pytest.raises(TypeError):
        Stepper(42)


def test_stepper_tooltips_and_classes():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    tips = sorted(w.tooltip for w in all_widgets(s) if isinstance(w, widgets.Button))
    assert tips == ["Reset", "Run to end", "Step back", "Step forward"]
    for cls in ("nbgraph-progress", "nbgraph-svg", "nbgraph-explanation"):
        assert isinstance(by_class(s, cls), widgets.HTML)
    assert any(isinstance(w, widgets.Play) for w in all_widgets(s))
    assert repr(s).startswith("<nbgraph Stepper")
