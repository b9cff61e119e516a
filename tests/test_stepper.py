"""The Stepper's Python side: the API, the synced ``position``, what is sent to the page.

What the page does with it (buttons, keyboard, hover, kernel busy or gone) is
tested in real Chromium: tests/browser/test_stepper_browser.py.
"""

import base64
import json
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nbgraph as ng
from nbgraph import render
from nbgraph.examples import reference as _reference
from nbgraph.stepper import Stepper, page_html

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "nbgraph" / "static"


def texts(s, name):
    """What a reader sees in the box of node ``name`` in the Stepper's static SVG."""
    return render.shown_texts(s.svg)[f"ng-n{s.graph.node(name).id}"]


def test_reference_example_step_by_step():
    g, (x, y, z, p) = _reference(with_inputs=True)
    s = Stepper(g)
    assert s.position == 0 and s.phase == "forward" and s.total == 7
    assert "?" in texts(s, "p")
    assert s.progress_text() == "forward 0/2 · backward 0/5"
    s.step_forward()
    assert s.position == 1 and "4" in texts(s, "p") and "?" in texts(s, "g")
    assert s.explanation == "p = x + y = 1 + 3 = 4"
    s.step_forward()
    assert "-12" in texts(s, "g") and s.explanation == "g = p * z = 4 * (-3) = -12"
    s.step_forward()
    assert s.phase == "backward" and any("1" in t for t in texts(s, "g")[1:])
    s.run_to_end()
    assert s.position == s.total and s.progress_text() == "forward 2/2 · backward 5/5"
    for name, grad in (("x", "-3"), ("y", "-3"), ("z", "4")):
        assert any(t.endswith(grad) and "grad" in t for t in texts(s, name)), texts(s, name)
    # (the words are explain's; here: the last step is x's gradient, -3)
    assert s.explanation == s.graph.backward_steps[-1].explanation
    assert s.explanation.startswith("dg/dx = dg/dp · ∂p/∂x") and "= -3 · 1 = -3" in s.explanation


def test_svg_is_the_pictures_static_svg_of_each_position():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    pic = render.prepare(g)
    seen = []
    while True:
        assert s.svg == pic.svg_at(s.position)
        seen.append(s.svg)
        if s.position == s.total:
            break
        s.step_forward()
    assert len(set(seen)) == len(seen)            # every step looks different
    for p in range(s.total, -1, -1):
        s.position = p
        assert s.svg == seen[p]


def test_position_is_validated_and_the_ends_hold():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    s.step_back()
    s.reset()
    assert s.position == 0
    s.run_to_end()
    s.step_forward()
    assert s.position == s.total
    for bad, err in ((s.total + 1, ValueError), (-1, ValueError), ("3", TypeError),
                     (2.0, TypeError), (True, TypeError), (None, TypeError)):
        with pytest.raises(err, match="position"):
            s.position = bad
        assert s.position == s.total
    s.position = np.int64(3)                      # numpy integers are fine
    assert s.position == 3 and type(s.position) is int


def test_position_is_a_synced_trait_and_steps_send_only_it():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    assert s.trait_metadata("position", "sync") is True
    state = s.get_state()
    # the heavy data goes with the widget's state, once
    assert state["_drawing"] == render.prepare(g).svg
    assert json.loads(state["_timeline"]) == json.loads(s._timeline)
    assert state["_style"] == render.STYLESHEET
    assert state["_esm"] == (STATIC / "stepper.js").read_text(encoding="utf-8")
    assert state["_css"] == (STATIC / "stepper.css").read_text(encoding="utf-8")
    sent = []
    s.comm.send = lambda data=None, buffers=None, **kw: sent.append(data)
    s.step_forward()
    s.step_forward()
    s.step_back()
    s.run_to_end()
    assert [m["state"] for m in sent] == [{"position": p} for p in (1, 2, 1, 7)]
    assert all(len(json.dumps(m)) < 80 for m in sent)
    # a step made in the page arrives as a state update
    s.set_state({"position": 4})
    assert s.position == 4 and s.svg == render.prepare(g).svg_at(4)
    with pytest.raises(ValueError):
        s.set_state({"position": 99})
    assert s.position == 4


def test_timeline_json_sent_to_the_page_follows_the_contract():
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    tl = json.loads(s._timeline)
    assert (tl["F"], tl["B"], tl["total"]) == (2, 5, 7)
    for key in ("active", "flow", "heads", "texts"):
        assert len(tl[key]) == tl["total"] + 1
    ids = set(re.findall(r'<g id="([^"]+)"', s._drawing.replace("&#45;", "-")))
    assert {u["id"] for u in tl["units"]} <= ids
    assert tl["texts"][0] == s.explanation        # s is at position 0
    assert tl["texts"][1:] == [st.explanation for st in s.graph.forward_steps + s.graph.backward_steps]


def test_1000_random_moves_keep_a_consistent_state():
    g, leaves = _reference(with_inputs=True)
    before = [t.grad.copy() for t in leaves]
    s = Stepper(g)
    rng = random.Random(1234)
    svgs = {}
    expected = 0
    for _ in range(1000):
        choice = rng.choice(["reset", "back", "forward", "end", "set", "page"])
        if choice == "reset":
            s.reset()
            expected = 0
        elif choice == "back":
            s.step_back()
            expected = max(0, expected - 1)
        elif choice == "forward":
            s.step_forward()
            expected = min(s.total, expected + 1)
        elif choice == "end":
            s.run_to_end()
            expected = s.total
        elif choice == "set":
            expected = rng.randint(0, s.total)
            s.position = expected
        else:
            expected = rng.randint(0, s.total)
            s.set_state({"position": expected})
        assert s.position == expected
        assert s.phase == ("forward" if expected <= 2 else "backward")
        svgs.setdefault(expected, s.svg)
        assert s.svg == svgs[expected]            # state is a function of position
    assert len(svgs) == s.total + 1
    for t, b in zip(leaves, before):              # the user's tensors never changed
        assert np.array_equal(t.grad, b)


def test_user_grads_are_untouched_after_backward():
    g, (x, y, z, p) = _reference(with_inputs=True)
    g.backward()
    s = Stepper(g)
    s.run_to_end()
    s.reset()
    assert [float(t.grad) for t in (x, y, z)] == [-3.0, -3.0, 4.0]


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
        s.position = 4
        s._repr_mimebundle_()
    assert len(calls) == 1
    Stepper(g, color_by="grad").run_to_end()
    assert len(calls) == 2


def test_mimebundle_has_widget_view_static_svg_and_deterministic_text():
    def bundle():
        g, _ = _reference(with_inputs=True)
        s = Stepper(g)
        s.step_forward()
        data, _meta = s._repr_mimebundle_()
        return s, data

    s, data = bundle()
    assert data["image/svg+xml"] == s.svg
    ET.fromstring(data["image/svg+xml"])
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == s.model_id
    assert data["text/plain"] == "<nbgraph Stepper: 5 nodes, forward 1/2 · backward 0/5, output g>"
    assert not re.search(r"0x[0-9a-f]{6,}", data["text/plain"])
    _, again = bundle()
    assert again["text/plain"] == data["text/plain"]
    assert again["image/svg+xml"] == data["image/svg+xml"]


def test_explanation_of_a_node_used_twice_shows_both_uses_and_the_sum():
    a = ng.tensor(3.0, name="a")
    b = (a * a).named("b")
    s = Stepper(b)
    s.run_to_end()
    assert s.step.node == s.graph.node("a").id
    text = s.explanation
    assert "input 1" in text and "input 2" in text
    assert "2 times" in text and "= 3 + 3 = 6" in text
    assert json.loads(s._timeline)["texts"][-1] == text


def test_stepper_accepts_graph_and_color_by_grad():
    g, _ = _reference(with_inputs=True)
    G = ng.graph(g)
    s = Stepper(G, color_by="grad")
    assert s.graph is G
    s.run_to_end()
    assert "ng-gbin-" in s.svg
    with pytest.raises(TypeError, match="ng.Stepper"):
        Stepper(42)


def test_save_drawing_and_self_contained_page(tmp_path):
    g, _ = _reference(with_inputs=True)
    s = Stepper(g)
    s.position = 3
    s.save(tmp_path / "s.svg")
    assert (tmp_path / "s.svg").read_text(encoding="utf-8") == s.svg
    assert s.drawing().svg == s.svg
    page = Path(s.save_html(tmp_path / "s.html")).read_text(encoding="utf-8")
    # the widget's module file inlined (base64, imported from a blob URL: nbgraph.publish)
    js = base64.b64encode((REPO / "nbgraph" / "static" / "stepper.js").read_bytes()).decode()
    assert page.count('<script type="module">') == 1 and js in page
    assert "http://" not in page.replace("http://www.w3.org/", "") and "https://" not in page


def test_page_html_keeps_hostile_text_inside_its_json():
    hostile = '</script><img src=x onerror="window.__pwned=1"><!--'
    data = {"svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
            "timeline": json.dumps({"F": 0, "B": 0, "total": 0, "units": [{"id": "a", "name": hostile}],
                                    "active": [None], "flow": [[]], "heads": [hostile],
                                    "texts": [hostile]}),
            "stylesheet": "", "position": 0}
    html = page_html(data, title=hostile)
    assert "<img src=x" not in html and html.count("</script>") == 2
    blob = html.split('id="nbgraph-data">')[1].split("</script>")[0]
    assert json.loads(json.loads(blob)["timeline"])["heads"] == [hostile]


def test_wheel_carries_the_front_end_files(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "nbgraph", src / "nbgraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                   check=True, timeout=300)
    wheel, = out.glob("nbgraph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("nbgraph/static/stepper.js", "nbgraph/static/stepper.css", "nbgraph/render/style.css"):
        assert f in names, f"{f} missing from {wheel.name}: {sorted(names)}"
    assert zipfile.ZipFile(wheel).read("nbgraph/static/stepper.js") == (STATIC / "stepper.js").read_bytes()
