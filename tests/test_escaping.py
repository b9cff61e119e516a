"""Any text as a name or scope label: the DOT parses, the SVG is XML, the text
survives in the drawing and, whole, in the position model's JSON.

All user text in markup goes through ``render.escape``; these tests hold it to
that. (The Stepper page puts the JSON's texts in with textContent only; its
own escaping tests live with it.)
"""

import json
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbgraph as ng
from nbgraph import render
from nbgraph.render import escape
from nbgraph.stepper import Stepper

SVG = "{http://www.w3.org/2000/svg}"


def visible(s):
    """What a reader sees of ``s``: the documented substitutions of ``escape``."""
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in s:
        c = ord(ch)
        if ch == "\t":
            out.append(" ")
        elif c < 0x20 and ch != "\n":
            out.append(chr(0x2400 + c))
        elif c == 0x7F:
            out.append("\u2421")
        elif c in (0xFFFE, 0xFFFF) or 0xD800 <= c <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def norm(s):
    return " ".join(s.split())


def build(name, scope):
    with ng.scope(scope):
        a = ng.tensor(2.0, name=name)
        b = (a * a + 1).named(name)
    return b


def check_all(name, scope):
    out = build(name, scope)
    G = ng.graph(out)
    svg = render.render_svg(G, position=3)          # the layout program must accept the DOT
    ET.fromstring(svg)                              # and the SVG must be well-formed XML
    texts = render.shown_texts(svg)
    for n in G.nodes:
        if n.kind == "const":
            continue
        want = norm(visible(render.shorten(n.label)))
        got = norm(" ".join(texts[f"ng-n{n.id}"]))
        assert got.startswith(want), (n.label, got)
    cluster = [v for k, v in texts.items() if k.startswith("ng-s")]
    assert len(cluster) == 1
    assert norm(" ".join(cluster[0])) == norm(visible(render.shorten(scope, 40)))
    # the position model carries the full names, as UTF-8 JSON
    data = json.loads(render.prepare(G).timeline.to_json().encode("utf-8"))
    names = {u["id"]: u["name"] for u in data["units"] if u["kind"] == "value"}
    for n in G.nodes:
        assert names[f"ng-n{n.id}"] == unpaired(n.label)
    assert len(data["texts"]) == len(G.forward_steps) + len(G.backward_steps) + 1
    return svg


def unpaired(s):
    """A lone surrogate cannot travel in UTF-8: it arrives as U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)


any_char = st.characters(exclude_categories=())          # surrogates and controls too
NAMES = st.text(any_char, max_size=40)
SCOPES = st.text(any_char, min_size=1, max_size=24).filter(lambda s: "/" not in s)


@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=NAMES, scope=SCOPES)
def test_any_text_as_name_and_scope(name, scope):
    check_all(name, scope)


EXPLICIT = ["<script>alert(1)</script>", '"', "'", "]", ";", "{", "}", "\n", "\\", "\\n",
            "\\E", "\\N", "\\G", "\\L", "\\l\\r", "\\\\", "&amp;", "&#60;", "node", "digraph",
            "subgraph", "edge", "graph", "strict", "a -> b", "n0",
            "cluster_0", "<<>>", "<br/>", "]]>", "<!-- -->", "\x00\x01\x1b[31m", "\ufffe\uffff",
            "\ud800", "\t tab  and  spaces ", "\r\n", "line one\nline two\nthree\nfour",
            "名前" * 40, "😀🧠∂L/∂w" * 12, "x" * 300, "\u202eRTL\u202c", "e\u0301\u0301"]


@pytest.mark.parametrize("text", EXPLICIT)
def test_explicit_cases(text):
    scope = text.replace("/", "∕") or "s"
    svg = check_all(text, scope)
    assert "<script" not in svg
    s = Stepper(build(text, scope))
    while True:
        ET.fromstring(s.svg)
        assert "<script" not in s.svg and s.explanation
        if s.position == s.total:
            break
        s.step_forward()


def test_long_names_are_cut_with_an_ellipsis():
    svg = check_all("x" * 300, "s" * 100)
    shown = " ".join(" ".join(texts) for texts in render.shown_texts(svg).values())
    assert "x" * 47 + "…" in shown and "x" * 49 not in shown
    assert "s" * 39 + "…" in shown
    # the full name is the box's tooltip (and the timeline's hover name)
    root = ET.fromstring(svg)
    titles = [t.text for t in root.iter(SVG + "title")]
    assert "x" * 300 in titles


def test_escape_itself():
    assert escape("<a href='x'>&</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
    assert escape('"') == "&quot;"
    assert escape("a\nb") == "a\nb" and escape("a\nb", dot=True) == "a<br/>b"
    assert escape("a\r\nb\rc", dot=True) == "a<br/>b<br/>c"
    assert escape("\\N") == "\\N" and escape("\\N", dot=True) == "\\\\N"
    assert escape("\x00\x1b\x7f\t") == "\u2400\u241b\u2421 "
    assert escape("\ud800\ufffe") == "\ufffd\ufffd"
    assert escape("] ; { } \\") == "] ; { } \\"
    assert escape("] ; { } \\", dot=True) == "] ; { } \\\\"
    assert escape(12) == "12"


def test_escaping_suite_speed_report(capsys):
    """Not a check: prints what one name/scope round trip costs (layout included)."""
    t0 = time.perf_counter()
    for i in range(5):
        check_all(f"name{i}", f"scope{i}")
    per = (time.perf_counter() - t0) / 5
    with capsys.disabled():
        print(f"\n[escaping] one round trip (graph, layout, XML, HTML checks): {per * 1000:.1f} ms")
