"""Any text as a name or scope label: the DOT parses, the SVG is XML, the text
survives, and widget HTML gets no element nbgraph did not put there.

All user text goes through ``render.escape``; these tests hold it to that.
"""

import html.parser
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbgraph as ng
from nbgraph import render
from nbgraph.render import escape
from nbgraph.stepper import Stepper, explanation_html

SVG = "{http://www.w3.org/2000/svg}"
PANEL_TAGS = {"div", "pre"}          # the only elements explanation_html writes


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


class TagCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.depth_pre = set(), [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.depth_pre += tag == "pre"

    def handle_endtag(self, tag):
        self.depth_pre -= tag == "pre"

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        if self.depth_pre:
            self.text.append(data)


def check_panel(html_text, explanation):
    parser = TagCollector()
    parser.feed(html_text)
    parser.close()
    assert parser.tags <= PANEL_TAGS, parser.tags
    shown, full = "".join(parser.text), visible(explanation)
    if "more lines (s.explanation has all)" in shown:     # very long: the panel shows the ends
        head, _, _ = shown.partition("\n…")
        assert full.startswith(head) and full.endswith(shown.rpartition("…\n")[2])
    else:
        assert shown == full


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
    for step in G.forward_steps + G.backward_steps:
        label = G.nodes[step.node].label
        check_panel(explanation_html(f"{step.phase} step · {label}", step.explanation, step.phase),
                    step.explanation)
    return svg


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
        check_panel(s.panel.value, s.explanation)
        assert "<script" not in s.panel.value and "<script" not in s.picture.value
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
