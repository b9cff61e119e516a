"""The HTML form of drawing outputs, save_html and `python -m nbgraph export` (no browser here;
tests/browser/test_publish.py opens what these write)."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nbgraph as ng
from nbgraph import publish, render

ROOT = Path(__file__).resolve().parents[1]
STEPPER_JS = ROOT / "nbgraph" / "static" / "stepper.js"
IMG = re.compile(r'<img\b[^>]*\bsrc="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
FETCHING = re.compile(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="(?!data:)|@import|(?-i:url)\((?!data:)'
                      r'|https?://[^"\s]*\.(?:js|mjs|css|woff2?|ttf)\b', re.I)


def picture_in(html):
    m = IMG.search(html)
    assert m, "no <img> with an SVG data URL"
    return base64.b64decode(m.group(1)).decode("utf-8")


def reference():
    return ng.examples.reference()


def test_stepper_bundle_keeps_its_forms_and_adds_the_html_form():
    s = ng.Stepper(reference())
    s.step_forward()
    data, _ = s._repr_mimebundle_()
    assert set(data) == {"application/vnd.jupyter.widget-view+json", "image/svg+xml", "text/plain",
                         "text/html"}
    html = data["text/html"]
    assert html.startswith('<div class="nbgraph-html"')
    assert picture_in(html) == data["image/svg+xml"] == s.svg      # the picture of this position
    assert data["text/plain"] == repr(s)
    # the widget's own module, not a copy: the file itself, base64 for the blob import
    js = base64.b64encode(STEPPER_JS.read_bytes()).decode("ascii")
    assert f'bytes("{js}")' in html
    assert html.count('<script type="module">') == 1 and html.count("</script>") == 1
    assert "<button" not in html and "<input" not in html and "<select" not in html
    assert "position: 1}" in html


def test_form_would_pass_through_markdown_unchanged():
    """Renderers that treat it as Markdown (marked after a math pass): an HTML block ends
    at a blank line, and "$" or "@@n@@" would start math. The form has none of them."""
    forms = [ng.Stepper(reference())._repr_mimebundle_()[0]["text/html"],
             ng.show(reference())._repr_mimebundle_()["text/html"]]
    for form in forms:
        assert form.startswith('<div class="nbgraph-html"') and form.endswith("</div>")
        assert not re.search(r"\n\s*\n", form)
        assert "$" not in form and "@@" not in form and "\\" not in form


def test_the_front_end_fetches_nothing():
    """What the form imports (the widget's files) loads nothing either: no import(), fetch,
    url(), @import or address other than the SVG namespace."""
    for f in (STEPPER_JS, STEPPER_JS.with_suffix(".css")):
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"\bimport\s*\(|\bimport\s+[\w{*]|\bfetch\s*\(|XMLHttpRequest|"
                             r"url\(|@import|https?://(?!www\.w3\.org/2000/svg\b)", text), f.name


def test_html_form_is_deterministic_and_differs_by_position():
    a, b = ng.Stepper(reference()), ng.Stepper(reference())
    form = "text/html"
    assert a._repr_mimebundle_()[0][form] == b._repr_mimebundle_()[0][form]
    b.run_to_end()
    assert a._repr_mimebundle_()[0][form] != b._repr_mimebundle_()[0][form]


def test_drawing_bundle_has_a_picture_and_no_script():
    d = ng.show(reference())
    data = d._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "text/html", "text/plain"}
    assert picture_in(data["text/html"]) == data["image/svg+xml"] == d.svg
    assert "<script" not in data["text/html"]
    assert data["text/plain"].startswith("<nbgraph drawing: 5 nodes")


def test_graph_display_has_the_picture_form_too():
    G = ng.graph(reference())
    data = G._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "text/html"}         # text/plain: the Graph's repr
    assert picture_in(data["text/html"]) == data["image/svg+xml"]


def test_hostile_names_cannot_end_the_script_or_the_attribute():
    evil = '</script><script>alert(1)</script><!--"'
    x = ng.tensor(1.0, name=evil)
    y = (x * 2.0).named(evil + "y")
    y.backward()
    html = ng.Stepper(y)._repr_mimebundle_()[0]["text/html"]
    assert html.count("</script") == 1 and "<script>" not in html and "<!--" not in html
    alt = re.search(r'alt="([^"]*)"', html).group(1)
    assert "&lt;/script&gt;" in alt and "&quot;" in alt


def test_save_html_stepper_graph_tensor_and_drawing(tmp_path):
    g = reference()
    s = ng.Stepper(g)
    s.step_forward()
    pages = {
        "stepper": Path(s.save_html(tmp_path / "s.html")),
        "tensor": Path(ng.save_html(g, tmp_path / "t.html")),
        "graph": Path(ng.save_html(ng.graph(g), tmp_path / "g.html", color_by="grad")),
        "drawing": Path(ng.save_html(ng.show(g), tmp_path / "d.html")),
        "via ng": Path(ng.save_html(s, tmp_path / "n.html")),
    }
    for what, path in pages.items():
        page = path.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>"), what
        assert not FETCHING.search(page), (what, FETCHING.search(page))
        assert page.count('<script type="module">') == 1, what
        assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask()), what
    assert pages["stepper"].read_text() == pages["via ng"].read_text()
    assert "position: 1}" in pages["stepper"].read_text()          # where the Stepper was
    assert "position: 0}" in pages["tensor"].read_text()
    assert "position: 7}" in pages["drawing"].read_text()          # a final drawing: the end
    assert "ng-gbin-" in picture_in(pages["graph"].read_text())    # options reach prepare
    assert s.position == 1 and float(g.data) == -12.0


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_save_html_errors_leave_nothing_behind(tmp_path):
    with pytest.raises(TypeError, match="ng.save_html takes an nbgraph Tensor"):
        ng.save_html("not a graph", tmp_path / "x.html")
    with pytest.raises(TypeError, match="drawing options go to the Stepper"):
        ng.save_html(ng.Stepper(reference()), tmp_path / "x.html", color_by="grad")
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    target.write_text("old page")

    def broken(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(publish.os, "replace", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ng.save_html(reference(), target)
    assert target.read_text() == "old page"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]   # no temporary left


def test_strip_widget_views():
    view = publish.WIDGET_VIEW
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {publish.WIDGET_STATE: {"state": {}}}
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", execution_count=1,
                               data={view: {"model_id": "a"}, "text/html": "<div/>",
                                     "image/svg+xml": "<svg/>", "text/plain": "<nbgraph Stepper>"}),
        nbformat.v4.new_output("display_data", data={view: {"model_id": "b"},
                                                     "text/plain": "VBox(children=(Button(...),))"}),
        nbformat.v4.new_output("stream", name="stdout", text="done\n"),
    ]
    nb.cells = [cell]
    assert publish.strip_widget_views(nb) == 2
    assert "widgets" not in nb.metadata
    outs = nb.cells[0].outputs
    assert [o.output_type for o in outs] == ["execute_result", "stream"]
    assert set(outs[0].data) == {"text/html", "image/svg+xml", "text/plain"}
    nbformat.validate(nb)


# ---- python -m nbgraph export -------------------------------------------------------------

def _lesson(tmp_path, name="lesson.ipynb"):
    """A small executed notebook, saved as a live kernel would (widget view and state kept)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {publish.WIDGET_STATE: {"state": {}, "version_major": 2,
                                                    "version_minor": 0}}
    md = nbformat.v4.new_markdown_cell("# A lesson\nThe reference example.")
    code = nbformat.v4.new_code_cell("ng.Stepper(g)", execution_count=1)
    data, _ = ng.Stepper(reference())._repr_mimebundle_()
    code.outputs = [nbformat.v4.new_output("execute_result", data=data, execution_count=1)]
    show = nbformat.v4.new_code_cell("ng.show(g)", execution_count=2)
    show.outputs = [nbformat.v4.new_output("execute_result", data=ng.show(reference())._repr_mimebundle_(),
                                           execution_count=2)]
    nb.cells = [md, code, show]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_export_writes_one_offline_page_with_a_progress_line(tmp_path):
    path = _lesson(tmp_path)
    r = _run("nbgraph", "export", str(path), "-o", str(tmp_path / "out.html"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r".*lesson\.ipynb -> .*out\.html: 3 cells, 2 drawings \(1 stepping\), "
                        r"\d+ kB, [\d.]+ s\n", r.stdout), r.stdout
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert not FETCHING.search(page), FETCHING.search(page)
    assert "widget-view+json" not in page and "cdn" not in page.lower()
    assert page.count('<script type="module">') == 1
    assert picture_in(page).startswith("<?xml")
    assert "<h1" in page and "The reference example." in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.ipynb", "out.html"]


def test_export_default_output_and_several_notebooks(tmp_path):
    a, b = _lesson(tmp_path, "a.ipynb"), _lesson(tmp_path, "b.ipynb")
    r = _run("nbgraph", "export", str(a), cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "a.html").is_file(), r.stderr
    out = tmp_path / "site"
    out.mkdir()
    r = _run("nbgraph", "export", str(a), str(b), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "b.html"]


def test_export_errors_are_clear_and_never_leave_a_partial_page(tmp_path):
    good = _lesson(tmp_path, "good.ipynb")
    (tmp_path / "notes.txt").write_text("just text")
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "old.html").write_text("previous page")
    r = _run("nbgraph", "export", str(tmp_path / "missing.ipynb"), cwd=tmp_path)
    assert r.returncode == 1 and "missing.ipynb: no such file" in r.stderr
    assert "Traceback" not in r.stderr
    for bad in ("notes.txt", "broken.ipynb"):
        r = _run("nbgraph", "export", str(tmp_path / bad), "-o", str(tmp_path / "old.html"),
                 cwd=tmp_path)
        assert r.returncode == 1 and f"{bad}: not a Jupyter notebook" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
        assert (tmp_path / "old.html").read_text() == "previous page"
    # one bad notebook among good ones: the good ones are written, the exit status says 1
    r = _run("nbgraph", "export", str(good), str(tmp_path / "notes.txt"), "-o", str(tmp_path),
             cwd=tmp_path)
    assert r.returncode == 1 and (tmp_path / "good.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    r = _run("nbgraph", "frobnicate", cwd=tmp_path)
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_plain_nbconvert_gives_the_same_page(tmp_path):
    """`jupyter nbconvert --to nbgraph.export.OfflineHTMLExporter` is the documented equivalent."""
    path = _lesson(tmp_path)
    r = _run("nbgraph", "export", str(path), "-o", str(tmp_path / "ours.html"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run("jupyter", "nbconvert", "--to", "nbgraph.export.OfflineHTMLExporter",
             "--output", "theirs", str(path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "theirs.html").read_text() == (tmp_path / "ours.html").read_text()


def test_import_nbgraph_does_not_load_nbconvert():
    code = "import sys, nbgraph.publish; print('nbconvert' in sys.modules, 'anywidget' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_export_execute_runs_the_notebook_first_and_a_failing_cell_writes_nothing(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import nbgraph as ng\nng.Stepper(ng.examples.reference())")]
    nbformat.write(nb, tmp_path / "fresh.ipynb")
    r = _run("nbgraph", "export", "fresh.ipynb", "--execute", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 drawing (1 stepping)" in r.stdout
    assert (tmp_path / "fresh.html").read_text().count('<script type="module">') == 1
    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(nb, tmp_path / "broken.ipynb")
    r = _run("nbgraph", "export", "broken.ipynb", "--execute", cwd=tmp_path)
    assert r.returncode == 1 and "broken.ipynb: a cell failed" in r.stderr
    assert "ZeroDivisionError" in r.stderr and not (tmp_path / "broken.html").exists()


# ---- published for static views (NBGRAPH_PUBLISH=1, split_drawing_outputs) -----------------

def test_fnv1a_is_the_hash_the_script_computes():
    """The script compares FNV-1a over UTF-16 code units (what JavaScript's charCodeAt gives)."""
    assert publish.fnv1a("") == "811c9dc5"
    assert publish.fnv1a("a") == "e40c292c" and publish.fnv1a("foobar") == "bf9cf968"   # FNV's own vectors
    assert publish.fnv1a("\u2202") != publish.fnv1a("\u0002")         # a unit is 16 bits, not a byte
    assert publish.fnv1a("\U0001F600") == publish.fnv1a("\ud83d\ude00".encode("utf-16-le", "surrogatepass")
                                                       .decode("utf-16-le", "surrogatepass"))


def test_live_bundles_carry_no_png_or_script_unless_publishing(monkeypatch):
    monkeypatch.delenv(publish.PUBLISH_ENV, raising=False)
    data, _ = ng.Stepper(reference())._repr_mimebundle_()
    assert "image/png" not in data and "application/javascript" not in data
    monkeypatch.setenv(publish.PUBLISH_ENV, "1")
    s = ng.Stepper(reference())
    s.step_forward()
    data, _ = s._repr_mimebundle_()
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[25] == 3       # colour type 3: a palette
    w, h = (int.from_bytes(png[i:i + 4], "big") for i in (16, 20))
    pt = [float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', s.svg).groups()]
    # the SVG's CSS size, give or take the few pixels the layout program pads the PNG with
    assert abs(w - pt[0] * 4 / 3) <= 8 and abs(h - pt[1] * 4 / 3) <= 8, ((w, h), pt)
    script = data["application/javascript"]
    assert script.startswith("// nbgraph Stepper") and "</script" not in script
    assert f'=== "{publish.fnv1a(s.svg)}"' in script and "position: 1}" in script
    js = base64.b64encode(STEPPER_JS.read_bytes()).decode("ascii")
    assert f'bytes("{js}")' in script                                # the widget's own module
    drawing = ng.show(reference())._repr_mimebundle_()
    assert "image/png" in drawing and "application/javascript" not in drawing


def _published_cells(monkeypatch):
    monkeypatch.setenv(publish.PUBLISH_ENV, "1")
    nb = nbformat.v4.new_notebook()
    step = nbformat.v4.new_code_cell("s", execution_count=1)
    data, _ = ng.Stepper(reference())._repr_mimebundle_()
    step.outputs = [nbformat.v4.new_output("stream", name="stdout", text="before\n"),
                    nbformat.v4.new_output("execute_result", data=data, execution_count=1)]
    show = nbformat.v4.new_code_cell("ng.show(g)", execution_count=2)
    show.outputs = [nbformat.v4.new_output("display_data", data=ng.show(reference())._repr_mimebundle_()),
                    nbformat.v4.new_output("display_data", data={"text/html": "<b>a table</b>",
                                                                 "text/plain": "t"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# x"), step, show]
    return nb


def test_split_drawing_outputs_picture_then_script(monkeypatch):
    nb = _published_cells(monkeypatch)
    assert publish.for_static_views(nb) == (2, 1)
    nbformat.validate(nb)
    step, show = nb.cells[1].outputs, nb.cells[2].outputs
    assert [o.output_type for o in step] == ["stream", "execute_result", "display_data"]
    assert set(step[1].data) == {"image/png", "image/svg+xml", "text/plain"}
    assert step[1].execution_count == 1 and step[1].data["text/plain"].startswith("<nbgraph Stepper")
    assert step[2].data == {"application/javascript": step[2].data["application/javascript"], "text/plain": ""}
    assert set(show[0].data) == {"image/png", "image/svg+xml", "text/plain"}
    assert show[1].data["text/html"] == "<b>a table</b>"        # not a drawing: untouched
    assert publish.count_drawings(nb) == (2, 1)
    assert nb.metadata["kernelspec"] == publish.KERNELSPEC
    # the same notebook written and read again is counted the same
    assert publish.count_drawings(nbformat.reads(nbformat.writes(nb), as_version=4)) == (2, 1)


def test_split_needs_the_publishing_kernel(monkeypatch):
    monkeypatch.delenv(publish.PUBLISH_ENV, raising=False)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("s", execution_count=1)
    data, _ = ng.Stepper(reference())._repr_mimebundle_()
    cell.outputs = [nbformat.v4.new_output("execute_result", data=data, execution_count=1)]
    nb.cells = [nbformat.v4.new_markdown_cell("# x"), cell]
    before = nbformat.writes(nb)
    with pytest.raises(ValueError, match=r"cell 2: a drawing output without its PNG: .*NBGRAPH_PUBLISH=1"):
        publish.split_drawing_outputs(nb)
    assert nbformat.writes(nb) == before


def test_publish_command_runs_and_writes_the_static_form(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import nbgraph as ng\ng = ng.examples.reference()\nng.Stepper(g)"),
                nbformat.v4.new_code_cell("ng.show(g)")]
    nbformat.write(nb, tmp_path / "mine.ipynb")
    r = _run("nbgraph", "publish", "mine.ipynb", "-o", "out.ipynb", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"mine\.ipynb -> out\.ipynb: 2 cells, 2 drawings \(1 stepping\), \d+ kB, [\d.]+ s\n",
                        r.stdout), r.stdout
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert [sorted(o.data) for c in out.cells for o in c.outputs] == [
        ["image/png", "image/svg+xml", "text/plain"], ["application/javascript", "text/plain"],
        ["image/png", "image/svg+xml", "text/plain"]]
    assert out.metadata["kernelspec"] == publish.KERNELSPEC
    # the exported page of the published notebook counts it the same, and fetches nothing
    r = _run("nbgraph", "export", "out.ipynb", cwd=tmp_path)
    assert r.returncode == 0 and "2 drawings (1 stepping)" in r.stdout, r.stdout + r.stderr
    assert not FETCHING.search((tmp_path / "out.html").read_text(encoding="utf-8"))
    # a failing cell: an error that says so, the notebook left as it was
    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(nb, tmp_path / "mine.ipynb")
    before = (tmp_path / "mine.ipynb").read_bytes()
    r = _run("nbgraph", "publish", "mine.ipynb", cwd=tmp_path)
    assert r.returncode == 1 and "mine.ipynb: a cell failed" in r.stderr and "ZeroDivisionError" in r.stderr
    assert (tmp_path / "mine.ipynb").read_bytes() == before
    r = _run("nbgraph", "publish", "a.ipynb", "b.ipynb", "-o", "x.ipynb", cwd=tmp_path)
    assert r.returncode == 2 and "-o takes one notebook" in r.stderr
