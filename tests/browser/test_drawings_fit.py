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
  for (const g of document.querySelectorAll('g.ng-value, g.ng-group, g.ng-op')) {
    const box = g.querySelector('.ng-bg');
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
