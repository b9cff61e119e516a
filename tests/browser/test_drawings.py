"""Drawings in Chromium: every text of the lessons' drawings lies inside its box with only
DejaVu fonts; each state looks as the palette says; a position's SVG works alone as an <img>.

Each lesson runs in a child Python (an IPython shell, no Jupyter server) that records every
picture it prepares -- each ``ng.show`` and each ``Stepper`` -- at the start, after one step,
after the forward pass and at the end; a plain page shows each one and measures every visible
text and every box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import NOTEBOOKS_DIR, REPO_ROOT

LESSONS = sorted(p.name for p in NOTEBOOKS_DIR.glob("0*.ipynb"))

MEASURE = """() => {
  const out = {units: 0, texts: 0, bad: []};
  for (const g of document.querySelectorAll('g.ng-value, g.ng-group, g.ng-op, g.ng-scope')) {
    const box = g.querySelector('.ng-bg') || g.querySelector('polygon, path');
    if (!box) { out.bad.push([g.id, 'no box']); continue; }
    const b = box.getBoundingClientRect();
    out.units += 1;
    for (const t of g.querySelectorAll('text')) {
      if (getComputedStyle(t).display === 'none') continue;
      const r = t.getBoundingClientRect();
      out.texts += 1;
      const eps = 0.5;
      if (r.left < b.left - eps || r.right > b.right + eps || r.top < b.top - eps || r.bottom > b.bottom + eps)
        out.bad.push([g.id, t.textContent, [r.left, r.right, r.top, r.bottom], [b.left, b.right, b.top, b.bottom]]);
    }
  }
  return out;
}"""


# Run in a child process: a lesson may register ops (define_op) or change settings, and
# the rest of the test session must not inherit them.
RUN_LESSON = r"""
import json, sys, warnings
import nbformat
from IPython.core.interactiveshell import InteractiveShell
from nbgraph.render import picture

made = []
real_init = picture.Picture.__init__
def recording(self, *a, **k):
    real_init(self, *a, **k)
    made.append(self)
picture.Picture.__init__ = recording

shell = InteractiveShell.instance()
nb = nbformat.read(sys.argv[1], as_version=4)
warnings.simplefilter("ignore")
for cell in nb.cells:
    if cell.cell_type == "code":
        result = shell.run_cell(cell.source, silent=True)
        if not result.success:
            sys.exit(f"cell failed: {cell.source[:200]!r}: {result.error_in_exec!r}")
svgs = []
for pic in made:
    t = pic.timeline
    for p in sorted({0, min(1, t.total), t.F, t.total}) + [None]:
        svgs.append(pic.svg_at(p))
json.dump(svgs, open(sys.argv[2], "w"))
"""


def lesson_svgs(name, tmp_path):
    """Every picture a lesson prepares (each ng.show and Stepper), at the start, after
    one step, after the forward pass, at the end, and as ng.show draws it."""
    out = tmp_path / "svgs.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", RUN_LESSON, str(NOTEBOOKS_DIR / name), str(out)],
                          cwd=NOTEBOOKS_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("lesson", LESSONS)
def test_texts_fit_their_boxes_with_only_dejavu(lesson, dejavu_browser, tmp_path):
    svgs = lesson_svgs(lesson, tmp_path)
    assert svgs, f"{lesson} draws nothing"
    page = dejavu_browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        checked = 0
        for k, svg in enumerate(svgs):
            page.set_content(f"<!doctype html><html><body style='margin:0'>{_body(svg)}</body></html>")
            got = page.evaluate(MEASURE)
            assert got["units"] > 0 and got["texts"] >= got["units"]
            assert not got["bad"], (lesson, k, got["bad"][:5])
            checked += got["texts"]
        # Helvetica (first in the drawing's font stack) really falls back to DejaVu Sans here
        widths = page.evaluate("""() => { const c = document.createElement('canvas').getContext('2d');
            return ['12px Helvetica', '12px "DejaVu Sans"', '12px monospace'].map(
                f => { c.font = f; return c.measureText('grad norm 0.1234').width; }); }""")
        assert widths[0] == widths[1] != widths[2], widths
        assert checked > 0
    finally:
        page.close()


def _body(svg):
    return svg[svg.index("<svg"):]


# -- the stylesheet, as Chromium applies it ---------------------------------------------------

STYLE_OF = """(sel) => { const out = {};
  for (const g of document.querySelectorAll(sel)) {
    const part = c => { const e = g.querySelector(c); return e && getComputedStyle(e); };
    const bg = part('.ng-bg'), line = part('.ng-line'), badge = part('.ng-badge'), stroke = part('.ng-stroke');
    out[g.id] = {bg: bg && bg.fill, bgStroke: bg && bg.stroke, line: line && line.stroke,
                 width: line && line.strokeWidth, dash: line && line.strokeDasharray,
                 badge: badge && badge.fill, edge: stroke && stroke.stroke};
  }
  return out; }"""


def rgb(hex_colour):
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))


def styles(page, svg):
    page.set_content(f"<!doctype html><html><body>{_body(svg)}</body></html>")
    return page.evaluate(STYLE_OF, "g.ng-unit")


def test_states_look_as_the_palette_says(dejavu_browser):
    import nbgraph as ng
    from nbgraph import render
    from nbgraph.examples import reference

    P = render.PALETTE
    G = ng.graph(reference())
    pic = render.prepare(G)
    x, p, g, z = (f"ng-n{G.node(n).id}" for n in "xpgz")
    op_p = f"ng-o{G.node('p').id}"
    page = dejavu_browser.new_page()
    try:
        s = styles(page, pic.svg_at(0))           # the start: p pending, x given
        assert s[p]["bg"] == rgb(P["pending_fill"]) and s[p]["line"] == rgb(P["pending_line"])
        assert s[x]["bg"] == rgb(P["value_fill"]) and s[x]["badge"] == "none"
        s = styles(page, pic.svg_at(1))           # forward step 1 computes p
        assert s[p]["bg"] == rgb(P["active_fill"]) and s[p]["line"] == rgb(P["active_line"])
        assert s[p]["width"] == "3px"
        assert s[op_p]["bg"] == rgb(P["active_fill"])
        flow = [k for k in pic.timeline.flow[1] if k.startswith("ng-e")]
        assert {s[k]["edge"] for k in flow} == {rgb(P["edge_forward"])}
        s = styles(page, pic.svg_at(4))           # backward step 2: dg/dz
        assert s[z]["badge"] == rgb(P["active_grad_fill"]) and s[z]["line"] == rgb(P["active_line"])
        assert s[g]["badge"] == rgb(P["grad_fill"]) and s[g]["bg"] == rgb(P["value_fill"])
        assert {s[k]["edge"] for k in pic.timeline.flow[4]} == {rgb(P["edge_backward"])}
        s = styles(page, pic.svg_at(None))        # the end: nothing highlighted
        assert s[p]["line"] == rgb(P["line"]) and s[op_p]["bg"] == rgb(P["op_fill"])

        w = ng.parameter(2.0, name="w")
        with __import__("numpy").errstate(invalid="ignore"):
            out = (ng.sqrt(ng.tensor(-1.0, name="neg")) * w).named("out")
        G2 = ng.graph(out)
        s = styles(page, ng.show(out).svg)
        assert s[f"ng-n{G2.node('out').id}"]["bg"] == rgb(P["nonfinite"])
        assert s[f"ng-n{G2.node('neg').id}"]["badge"] == rgb(P["nonfinite"])
        assert s[f"ng-n{G2.node('w').id}"]["line"] == rgb(P["param_line"])
        tiny = ng.tensor(1e-7, name="tiny")
        ab = (tiny * ng.tensor(50.0, name="big")).named("ab")
        G3 = ng.graph(ab)
        s = styles(page, ng.show(ab, color_by="grad").svg)
        assert s[f"ng-n{G3.node('tiny').id}"]["bg"] == rgb(render.GRAD_COLORS[8])
        assert s[f"ng-n{G3.node('big').id}"]["bg"] == rgb(render.GRAD_COLORS[0])
    finally:
        page.close()


def test_dashed_copies_and_a_static_svg_as_an_img(dejavu_browser, tmp_path):
    import base64
    import warnings as w

    from nbgraph import render
    from nbgraph.examples import chain, reference

    page = dejavu_browser.new_page()
    try:
        with w.catch_warnings():
            w.simplefilter("ignore")
            pic = render.prepare(chain(300))
        copy = next(u for u in pic.timeline.units if u.get("copy_of"))
        s = styles(page, pic.svg_at(None))
        assert s[copy["id"]]["dash"] not in ("none", "", None)
        assert s[copy["copy_of"]]["dash"] in ("none", "", None)
        # a position's SVG alone, as an <img>: the stylesheet inside still styles it
        ref = render.prepare(reference())
        counts = []
        for p in (0, 1):
            data = base64.b64encode(ref.svg_at(p).encode()).decode()
            page.set_content(f'<!doctype html><img id="i" src="data:image/svg+xml;base64,{data}">')
            page.wait_for_function("document.getElementById('i').complete")
            counts.append(page.evaluate("""([r, g, b]) => {
                const i = document.getElementById('i'), c = document.createElement('canvas');
                c.width = i.naturalWidth; c.height = i.naturalHeight;
                const x = c.getContext('2d'); x.drawImage(i, 0, 0);
                const d = x.getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let k = 0; k < d.length; k += 4)
                  if (Math.abs(d[k] - r) < 4 && Math.abs(d[k + 1] - g) < 4 && Math.abs(d[k + 2] - b) < 4) n++;
                return [n, c.width, [d[0], d[1], d[2], d[3]]]; }""",
                [int(render.PALETTE["active_fill"][i:i + 2], 16) for i in (1, 3, 5)]))
        (n0, width, corner), (n1, _, _) = counts
        assert width > 100 and corner == [255, 255, 255, 255]      # a light background
        assert n0 == 0 and n1 > 500                                # position 1 lights p in yellow
    finally:
        page.close()
