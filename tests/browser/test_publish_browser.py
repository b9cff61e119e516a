"""Lessons that open with their drawings and step without a kernel (issue 15), in Chromium.

* JupyterLab serving the committed lessons, nothing run: untrusted, every drawing output
  shows its picture and no button; trusted the way `make lab` trusts them, every Stepper
  steps in the page (lesson 01's to g = -12); never marked modified, no raw widget repr.
* Notebook 7 the same way: untrusted the pictures and no button; trusted, every Stepper steps.
* Pages from `ng.save_html` and `python -m nbgraph export`, opened from file:// with every
  other request aborted: they step; not one request leaves the page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ARTIFACTS_DIR, NOTEBOOKS_DIR, VIEWPORT

LESSONS = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
LESSON_01 = "01_computational_graphs.ipynb"
LESSON_04 = "04_backprop_through_time.ipynb"

OUTPUT = ".jp-OutputArea-output"
STEPPER = ".nbg-stepper"
STEP_FORWARD = 'button[title="Step forward"]'
RESET = 'button[title="Reset"]'
RUN_TO_END = 'button[title="Run to end"]'
PROGRESS = ".nbg-progress"

# Per output area: what a reader sees of each drawing output.
_JS_OUTPUTS = """
(sel) => [...document.querySelectorAll(sel)].map((o) => {
  const img = o.querySelector("img[src^='data:image/']");
  return {
    mime: o.getAttribute("data-mime-type"),
    text: o.innerText.slice(0, 200),
    picture: !!img && img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0,
    stepper: !!o.querySelector(".nbg-stepper svg.ng-drawing"),
    buttons: [...o.querySelectorAll("button")].filter((b) => b.getClientRects().length).length,
  };
})
"""

# The texts a reader sees on each value box of a Stepper (the stylesheet hides the twin
# texts of the other state): {box id: [name, value, grad...]}.
_JS_BOX_TEXTS = """
(root) => {
  const out = {};
  for (const g of root.querySelectorAll("svg g.ng-unit.ng-value[id]")) {
    out[g.id] = [...g.querySelectorAll("text")]
      .filter((t) => getComputedStyle(t).display !== "none").map((t) => t.textContent.trim());
  }
  return out;
}
"""

_JS_NOTEBOOK_STATE = """
() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const cells = nb.content.widgets.filter((c) => c.model.type === "code" && c.model.outputs.length);
  return {dirty: nb.context.model.dirty, trusted: cells.map((c) => c.model.trusted)};
}
"""


def drawing_outputs(path: Path):
    """(kind, text/plain) of every drawing output saved in the notebook at ``path``."""
    book = nbformat.read(path, as_version=4)
    found = []
    for cell in book.cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/plain", ""))
            if text.startswith("<nbgraph Stepper"):
                found.append(("stepper", text))
            elif text.startswith("<nbgraph drawing"):
                found.append(("drawing", text))
    return found


def other_pictures(path: Path) -> int:
    """How many outputs saved in the notebook are PNG pictures that are not drawings."""
    book = nbformat.read(path, as_version=4)
    return sum("image/png" in out.get("data", {}) and "image/svg+xml" not in out.data
               for cell in book.cells for out in cell.get("outputs", []))


def by_name(boxes: dict) -> dict:
    return {texts[0]: texts[1:] for texts in boxes.values() if texts}


def _copy_lessons(server, folder: str) -> str:
    """Fresh copies of the committed lessons in ``folder`` of the served root."""
    target = server.root_dir / folder
    target.mkdir(exist_ok=True)
    for name in LESSONS:
        shutil.copyfile(NOTEBOOKS_DIR / name, target / name)
    return folder


def _trust(server, folder: str) -> None:
    """What `make lab` does (`python -m nbformat.sign`), in this server's data dir."""
    env = dict(os.environ, JUPYTER_DATA_DIR=str(server.data_dir))
    paths = [str(server.root_dir / folder / n) for n in LESSONS]
    subprocess.run([sys.executable, "-m", "nbformat.sign", *paths], env=env, check=True,
                   capture_output=True, timeout=120)


def _end_sessions(server) -> None:
    for session in server.api("sessions") or []:
        server.api(f"sessions/{session['id']}", method="DELETE", timeout=15)


def _open_and_read(jp, path: str, expect_steppers: int):
    """Open ``path``, wait until every drawing output is drawn, return what is shown."""
    jp.open_notebook(path)
    kinds = drawing_outputs(jp.server.root_dir / path)
    want = len(kinds)
    jp.page.wait_for_function(
        f"""() => {{ const o = ({_JS_OUTPUTS})({json.dumps(OUTPUT)});
             return o.filter((x) => x.picture || x.stepper).length >= {want}
                    && o.filter((x) => x.stepper).length >= {expect_steppers}; }}""",
        timeout=30_000)
    return kinds, jp.page.evaluate(_JS_OUTPUTS, OUTPUT)


def _check_first_open(jp, path: str, trusted: bool):
    kinds = drawing_outputs(jp.server.root_dir / path)
    steppers = sum(k == "stepper" for k, _ in kinds) if trusted else 0
    kinds, outputs = _open_and_read(jp, path, steppers)
    state = jp.page.evaluate(_JS_NOTEBOOK_STATE)
    assert state["trusted"] and all(t == trusted for t in state["trusted"]), (path, state)
    drawn = [o for o in outputs if o["picture"] or o["stepper"]]
    others = other_pictures(jp.server.root_dir / path)      # e.g. a training dashboard's PNG
    assert len(drawn) == len(kinds) + others, (path, outputs)
    # a drawing output shows its PNG untrusted (SVG is refused there) and its SVG trusted,
    # where a Stepper's script (the output after it) mounts the controls in its place
    mimes = [o["mime"] for o in drawn]
    if trusted:
        assert mimes.count("image/svg+xml") == len(kinds) and mimes.count("image/png") == others, mimes
    else:
        assert mimes == ["image/png"] * len(drawn), (path, drawn)
    assert sum(o["stepper"] for o in drawn) == steppers, (path, drawn)
    scripts = [o for o in outputs if o["mime"] in ("application/javascript", "text/plain")
               and not o["text"].strip()]
    assert len(scripts) == sum(k == "stepper" for k, _ in kinds), (path, outputs)   # shown empty
    for o in outputs:
        assert not re.match(r"\s*(<nbgraph |VBox\(|HBox\(|Button\()", o["text"]), (path, o["text"])
        if not trusted:
            assert o["buttons"] == 0, (path, o)
    # the last drawing in view (a Stepper in most lessons) for the screenshot
    jp.page.locator(f"{OUTPUT}:has(img), {OUTPUT}:has({STEPPER})").last \
        .scroll_into_view_if_needed()
    jp.screenshot(f"{'trusted' if trusted else 'untrusted'}-{Path(path).stem}")
    return steppers


def _step_every_stepper(jp, path: str, count: int):
    """Each Stepper of the page steps in the page: Step forward moves its progress."""
    for i in range(count):
        root = jp.page.locator(STEPPER).nth(i)
        root.scroll_into_view_if_needed()
        progress = root.locator(PROGRESS)
        if not progress.inner_text().startswith("forward 0/"):   # a lesson saved mid-way
            root.locator(RESET).click()
        jp.page.wait_for_function(
            r"(el) => /^forward 0\/\d+ · backward 0\//.test(el.textContent)",
            arg=progress.element_handle())
        root.locator(STEP_FORWARD).click()
        jp.page.wait_for_function(
            "(el) => /^forward 1\\//.test(el.textContent)", arg=progress.element_handle())


def _assert_not_modified(jp, path: str):
    state = jp.page.evaluate(_JS_NOTEBOOK_STATE)
    assert state["dirty"] is False, f"{path} is marked modified on open"


def _untrusted_then_trusted(jp, folder_name, when_trusted=None):
    """Each lesson opened untrusted (the pictures, no button, no placeholder text), then
    trusted the way `make lab` trusts them (every Stepper steps before any cell runs);
    never marked modified. ``when_trusted(name)`` checks more in a trusted lesson."""
    server = jp.server
    folder = _copy_lessons(server, folder_name)
    for name in LESSONS:
        path = f"{folder}/{name}"
        _check_first_open(jp, path, trusted=False)
        _assert_not_modified(jp, path)
        _end_sessions(server)
    _trust(server, folder)
    for name in LESSONS:
        path = f"{folder}/{name}"
        steppers = _check_first_open(jp, path, trusted=True)
        _step_every_stepper(jp, path, steppers)
        if when_trusted is not None:
            when_trusted(name)
        _assert_not_modified(jp, path)
        _end_sessions(server)


def test_lessons_in_jupyterlab_untrusted_then_trusted_as_make_lab(lab):
    def lesson_01_reaches_minus_12(name):
        if name != LESSON_01:
            return
        root = lab.page.locator(STEPPER).first
        root.locator(STEP_FORWARD).click()
        lab.page.wait_for_function(
            "(el) => el.textContent.startsWith('forward 2/2')",
            arg=root.locator(PROGRESS).element_handle())
        boxes = by_name(root.evaluate(_JS_BOX_TEXTS))
        assert boxes["g"][0] == "-12" and boxes["p"][0] == "4", boxes
        lab.screenshot("trusted-lesson-01-g-is-minus-12")

    _untrusted_then_trusted(lab, "publish-lab", lesson_01_reaches_minus_12)
    lab.assert_clean()


def test_lessons_in_notebook7_untrusted_then_trusted(notebook7):
    _untrusted_then_trusted(notebook7, "publish-nb7")


# ---- file:// pages with the network cut ------------------------------------------------------

@pytest.fixture
def offline_page(browser):
    """A page on which every request that is not file:// is aborted and recorded."""
    context = browser.new_context(viewport=VIEWPORT)
    left, errors = [], []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            left.append(r.request.url)
            r.abort()
    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield page, left, errors
    finally:
        context.close()


def _pages(tmp_path):
    import nbgraph as ng
    from nbgraph.export import export_notebook
    s = ng.Stepper(ng.examples.reference())
    pages = {"reference": Path(s.save_html(tmp_path / "reference.html"))}
    for name in (LESSON_01, LESSON_04):
        pages[name], _ = export_notebook(NOTEBOOKS_DIR / name, tmp_path / (Path(name).stem + ".html"))
    return pages


def test_saved_and_exported_pages_step_offline(offline_page, tmp_path):
    import nbgraph as ng
    page, left, errors = offline_page
    for what, path in _pages(tmp_path).items():
        page.goto(path.as_uri())
        root = page.locator(STEPPER).first
        root.wait_for()
        progress = root.locator(PROGRESS)
        root.locator(STEP_FORWARD).click()
        page.wait_for_function("(el) => el.textContent.startsWith('forward 1/')",
                               arg=progress.element_handle())
        if what in ("reference", LESSON_01):
            root.locator(STEP_FORWARD).click()
            page.wait_for_function("(el) => el.textContent.startsWith('forward 2/2')",
                                   arg=progress.element_handle())
            assert by_name(root.evaluate(_JS_BOX_TEXTS))["g"][0] == "-12"
        root.locator(RUN_TO_END).click()
        page.wait_for_function("(el) => /backward (\\d+)\\/\\1$/.test(el.textContent)",
                               arg=progress.element_handle())
        boxes = root.evaluate(_JS_BOX_TEXTS)
        if what in ("reference", LESSON_01):
            names = by_name(boxes)
            assert names["z"][-1] == "grad 4" and names["x"][-1] == "grad -3", names
        else:
            # the end of the walk shows what Python draws for the end: every value and grad
            book = nbformat.read(NOTEBOOKS_DIR / what, as_version=4)
            final = next("".join(o.data["image/svg+xml"]) for c in book.cells for o in c.get("outputs", [])
                         if "".join(o.get("data", {}).get("text/plain", "")).startswith("<nbgraph drawing"))
            want = {k: v for k, v in ng.render.shown_texts(final).items() if k in boxes}
            assert want and boxes == want
        page.screenshot(path=str(tmp_path / f"{Path(what).stem}.png"))
    assert left == [], f"requests left the page: {left}"
    assert errors == [], errors


def test_plain_nbconvert_page_of_a_committed_lesson_steps_too(offline_page, tmp_path):
    """`jupyter nbconvert --to html` (JupyterLab's template, unchanged) keeps the HTML form,
    scripts included: offline its CDN scripts fail and the Stepper still steps."""
    from nbconvert import HTMLExporter
    page, left, _errors = offline_page
    html, _ = HTMLExporter().from_filename(str(NOTEBOOKS_DIR / LESSON_01))
    out = tmp_path / "plain.html"
    out.write_text(html, encoding="utf-8")
    page.goto(out.as_uri())
    root = page.locator(STEPPER).first
    root.wait_for()
    for _ in range(2):
        root.locator(STEP_FORWARD).click()
    page.wait_for_function("(el) => el.textContent.startsWith('forward 2/2')",
                           arg=root.locator(PROGRESS).element_handle())
    assert by_name(root.evaluate(_JS_BOX_TEXTS))["g"][0] == "-12"
    # what left the page is the template's own CDN scripts, not ours
    assert left and all(re.match(r"https://cdnjs\.cloudflare\.com/", u) for u in left), left


_JS_STATIC_VIEW = """
() => ({
  images: [...document.images].map((i) => ({kind: i.src.slice(0, 24), loaded: i.complete && i.naturalWidth > 0,
                                           width: i.getBoundingClientRect().width})),
  buttons: [...document.querySelectorAll("button")].filter((b) => b.getClientRects().length).length,
  steppers: document.querySelectorAll(".nbg-stepper").length,
  text: document.body.innerText,
})
"""


def test_sanitized_nbconvert_pages_show_pictures_and_no_button(offline_page, tmp_path):
    """A GitHub-like view: `jupyter nbconvert --to html --HTMLExporter.sanitize_html=True` of
    every committed lesson. Each drawing is a picture that loads; nothing can be clicked,
    no markup shows as text, and no script of ours runs (there is none in the page)."""
    from nbconvert import HTMLExporter
    page, left, errors = offline_page
    shots = ARTIFACTS_DIR / "sanitized"
    shots.mkdir(parents=True, exist_ok=True)
    for name in LESSONS:
        html, _ = HTMLExporter(sanitize_html=True).from_filename(str(NOTEBOOKS_DIR / name))
        out = tmp_path / f"{Path(name).stem}.html"
        out.write_text(html, encoding="utf-8")
        page.goto(out.as_uri())
        page.wait_for_function("() => [...document.images].every((i) => i.complete)")
        seen = page.evaluate(_JS_STATIC_VIEW)
        drawings = len(drawing_outputs(NOTEBOOKS_DIR / name))
        pictures = [i for i in seen["images"] if i["kind"].startswith("data:image/svg+xml")]
        assert len(pictures) == drawings, (name, seen["images"])
        assert all(i["loaded"] and i["width"] > 0 for i in seen["images"]), (name, seen["images"])
        assert seen["buttons"] == 0 and seen["steppers"] == 0, name
        for markup in ("<img", "<script", "<div", "<svg", "nbgraph-html", "<nbgraph "):
            assert markup not in seen["text"], (name, markup)
        if drawings:
            page.locator("img[src^='data:image/svg+xml']").last.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{Path(name).stem}.png"))
    # what left the page is the template's own CDN scripts (MathJax, require.js), not ours
    assert all(re.match(r"https://cdnjs\.cloudflare\.com/", u) for u in left), left
    assert not [e for e in errors if "nbgraph" in e], errors
