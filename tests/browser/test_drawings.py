"""Every text of the lessons' drawings lies inside its box, in Chromium with only DejaVu fonts.

The lessons are run in this process (an IPython shell, no Jupyter server) and every picture
they prepare -- each ``ng.show`` and each ``Stepper`` -- is recorded, then shown in a plain page
at the start, mid-way and at the end. The page measures each visible text and each box.
"""

from __future__ import annotations

import warnings

import nbformat
import pytest

from nbgraph.render import picture as picture_module

from conftest import NOTEBOOKS_DIR

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


def lesson_pictures(name, monkeypatch):
    """Run a lesson's code cells; return every Picture it prepared."""
    from IPython.core.interactiveshell import InteractiveShell

    made = []
    real_init = picture_module.Picture.__init__

    def recording(self, *a, **k):
        real_init(self, *a, **k)
        made.append(self)

    monkeypatch.setattr(picture_module.Picture, "__init__", recording)
    monkeypatch.chdir(NOTEBOOKS_DIR)
    shell = InteractiveShell.instance()
    shell.reset(new_session=True)
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in nb.cells:
            if cell.cell_type == "code":
                result = shell.run_cell(cell.source, silent=True)
                assert result.success, (name, cell.source[:200], result.error_in_exec)
    return made


@pytest.mark.parametrize("lesson", LESSONS)
def test_texts_fit_their_boxes_with_only_dejavu(lesson, dejavu_browser, monkeypatch):
    pictures = lesson_pictures(lesson, monkeypatch)
    assert pictures, f"{lesson} draws nothing"
    page = dejavu_browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        checked = 0
        for pic in pictures:
            t = pic.timeline
            for p in sorted({0, min(1, t.total), t.F, t.total}) + [None]:
                page.set_content(f"<!doctype html><html><body style='margin:0'>{_body(pic.svg_at(p))}"
                                 "</body></html>")
                got = page.evaluate(MEASURE)
                assert got["units"] > 0 and got["texts"] >= got["units"]
                assert not got["bad"], (lesson, p, got["bad"][:5])
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
