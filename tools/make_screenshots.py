"""Screenshots of the Stepper in JupyterLab, for the README (docs/images/).

    python tools/make_screenshots.py

Uses the real-browser fixtures of tests/browser/conftest.py (JupyterLab in headless
Chromium, a real kernel) and writes

* docs/images/stepper_in_jupyterlab.png  -- lesson 01 at the last backward step;
* docs/images/stepper_300_nodes.png      -- a 300-node scalar MLP, 40 steps in, zoomed
                                            around the active node;
* docs/images/stepper_dark_theme.png     -- lesson 01 mid-backward in JupyterLab Dark.

Look at them after running it.
"""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "browser"))

from conftest import browser, chromium_executable, jupyter_lab, lab  # noqa: E402,F401  (fixtures)
from stepper_pages import (  # noqa: E402
    JS_RUN_CELL, ROOT, RUN_TO_END, SLIDER, STEP_BACK, STEP_FORWARD, SVG, VIEW, write_notebook)
from playwright.sync_api import expect  # noqa: E402

LESSON_01 = "01_computational_graphs.ipynb"


def stepper_cell(page):
    """The notebook cell (input + output) holding the first Stepper, in view."""
    cell = page.locator(".jp-Cell", has=page.locator(ROOT)).first
    expect(cell.locator(SVG)).to_be_visible(timeout=120_000)
    cell.scroll_into_view_if_needed()
    return cell


def shoot(locator, name):
    path = IMAGES / name
    locator.screenshot(path=str(path))
    print(f"[screenshots] {path}")


def lesson_01(lab):
    lab.open_notebook(LESSON_01)
    assert lab.run_all(), "a cell of lesson 01 failed"
    return stepper_cell(lab.page)


def test_lesson_01(lab):
    cell = lesson_01(lab)
    cell.locator(RUN_TO_END).click()
    expect(cell.locator(SLIDER)).to_have_value("7")
    lab.page.mouse.move(0, 0)
    shoot(cell, "stepper_in_jupyterlab.png")


def test_300_nodes(lab):
    page = lab.page
    name = write_notebook(lab.server.root_dir, "_shot_300.ipynb",
                          "import nbgraph as ng\nfrom nbgraph.examples import scalar_mlp\n"
                          "ng.Stepper(scalar_mlp(300))")
    lab.open_notebook(name)
    page.evaluate(JS_RUN_CELL, 0)
    cell = stepper_cell(page)
    lab.wait_kernel_idle(120_000)
    for _ in range(40):
        cell.locator(STEP_FORWARD).click()
    expect(cell.locator(SLIDER)).to_have_value("40")
    active = cell.locator("svg g.ng-unit.ng-active").first.bounding_box()
    page.mouse.move(active["x"] + active["width"] / 2, active["y"] + active["height"] / 2)
    page.mouse.wheel(0, -700)                      # zoom in around the active node
    page.wait_for_function(
        f"() => document.querySelector('{SVG}').getBoundingClientRect().width > "
        f"2 * document.querySelector('{VIEW}').getBoundingClientRect().width")
    cell.locator(STEP_FORWARD).click()            # the view follows it
    page.mouse.move(0, 0)
    shoot(cell, "stepper_300_nodes.png")


def test_dark_theme(lab):
    """Last: the theme is a user setting of this server for the rest of its life."""
    page = lab.page
    cell = lesson_01(lab)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    cell.locator(RUN_TO_END).click()
    for _ in range(2):
        cell.locator(STEP_BACK).click()
    expect(cell.locator(SLIDER)).to_have_value("5")
    cell.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    shoot(cell, "stepper_dark_theme.png")


if __name__ == "__main__":
    # --confcutdir: the repository's own conftest.py (nbval's hook) must not take the
    # module name `conftest` from the browser harness imported above.
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "-o", "addopts=",
                          "--confcutdir", str(REPO / "tools")]))
