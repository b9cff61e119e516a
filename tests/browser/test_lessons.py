"""The lessons, driven like a learner would: in JupyterLab, in Chromium.

Lesson 01's Stepper is also driven in Jupyter Notebook 7 (``notebook7``
fixture): same selectors, same helpers, since Notebook 7 renders notebooks
and widgets with the JupyterLab components.

Contract (as rendered in the browser; all selectors are in this block):
  Stepper  the anywidget of nbgraph/static/stepper.js (root .nbg-stepper): buttons
           with tooltips "Reset", "Step back", "Step forward", "Run to end"; the
           drawing is an inline Graphviz <svg> inside .nbg-view where each graph
           node is <g class="node ...">; for value nodes the first shown <text> is
           the name, later shown texts the value ("4") and the gradient ("grad -3")
           (texts of other states are in the SVG but not displayed); explanation:
           .nbg-panel; progress read-out: .nbg-progress, "forward 1/2 · backward 0/5".
  Lesson 01 builds x=1, y=3, z=-3, p=x+y, g=p*z and displays a Stepper.
  Lesson 03 has a training cell showing an ipywidgets.Image with class
           nbgraph-lossplot and a Button with tooltip "Stop"; after Stop the
           cell finishes and its output contains "stopped".
"""

from __future__ import annotations

import os
import re
import statistics

from playwright.sync_api import expect

# ---- selectors and names: the whole browser contract, in one place --------
LESSON_01 = "01_computational_graphs.ipynb"
LESSON_03_GLOB = "03_*.ipynb"

OUTPUT = ".jp-OutputArea-output"           # one display() in JupyterLab
CELL = ".jp-Cell"
RESET = 'button[title="Reset"]'
STEP_BACK = 'button[title="Step back"]'
STEP_FORWARD = 'button[title="Step forward"]'
RUN_TO_END = 'button[title="Run to end"]'
SVG_BOX = ".nbg-view"                       # the Stepper's drawing area, holding the <svg>
SVG = ".nbg-view svg"
GRAPH_NODE = "g.node"
EXPLANATION = ".nbg-panel"
PROGRESS = ".nbg-progress"
LOSSPLOT = "img.nbgraph-lossplot"           # ipywidgets.Image renders an <img>
STOP = 'button[title="Stop"]'
STOPPED_TEXT = "stopped"

FORWARD_STEPS = 2
BACKWARD_STEPS = 5
FORWARD_VALUES = (("p", 4), ("g", -12))
LEAF_GRADS = (("x", -3), ("y", -3), ("z", 4))
LATENCY_BUDGET_MS = float(os.environ.get("NBGRAPH_LATENCY_BUDGET_MS", "150"))
TRAINING_UPDATES = 2            # loss-plot src changes to see before Stop
TRAINING_TIMEOUT_MS = 60_000

SCOPE_ATTR = "data-nbg-test-scope"

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")

_JS_NODE_TEXTS = """
(svgSel) => {
  const svg = document.querySelector(svgSel);
  if (!svg) return null;
  const nodes = {};
  for (const g of svg.querySelectorAll("g.node")) {
    // only the texts a reader sees: the stylesheet hides the other state's twin
    const texts = [...g.querySelectorAll("text")].filter(t => getComputedStyle(t).display !== "none")
      .map(t => t.textContent.trim());
    if (texts.length) nodes[texts[0]] = texts.slice(1);
  }
  return nodes;
}
"""


_JS_SVG_STATE = """
(svgSel) => {
  const svg = document.querySelector(svgSel);
  if (!svg) return null;
  const classes = (e) => [...e.classList].sort().join(" ");
  return classes(svg) + "|" + [...svg.querySelectorAll("g[id]")]
    .map(g => g.id + ":" + classes(g)).join("|");
}
"""


def _numbers(text: str) -> list[float]:
    return [float(m) for m in _NUMBER.findall(text.replace("\u2212", "-"))]


def _shows_value(texts: list[str], value: float) -> bool:
    return any("grad" not in t and any(abs(n - value) < 1e-9 for n in _numbers(t))
               for t in texts)


def _shows_grad(texts: list[str], grad: float) -> bool:
    return any("grad" in t and any(abs(n - grad) < 1e-9 for n in _numbers(t))
               for t in texts)


def _scope(locator, name: str) -> str:
    """Tag the element behind ``locator`` and return a CSS prefix for it."""
    locator.evaluate(f"(el, v) => el.setAttribute('{SCOPE_ATTR}', v)", name)
    return f'[{SCOPE_ATTR}="{name}"]'


class Stepper:
    """The reference-example Stepper as seen in the page."""

    def __init__(self, lab, scope: str):
        self.lab, self.page, self.scope = lab, lab.page, scope
        self.latencies: list[float] = []

    def sel(self, selector: str) -> str:
        return f"{self.scope} {selector}"

    def nodes(self) -> dict[str, list[str]]:
        nodes = self.page.evaluate(_JS_NODE_TEXTS, self.sel(SVG))
        assert nodes is not None, "Stepper drawing has no <svg>"
        return nodes

    def svg_html(self) -> str:
        """The drawing's state: each unit's classes (sorted) -- a step only toggles classes."""
        return self.page.evaluate(_JS_SVG_STATE, self.sel(SVG))

    def progress(self) -> str:
        return self.page.locator(self.sel(PROGRESS)).first.inner_text()

    def click(self, button: str) -> None:
        """Click a Stepper button and wait until the drawing changed."""
        self.latencies.append(self.lab.click_and_measure(self.sel(button), self.sel(SVG_BOX)))

    def expect_progress(self, forward: int, backward: int) -> None:
        expect(self.page.locator(self.sel(PROGRESS)).first).to_have_text(re.compile(
            rf"forward\s*{forward}\s*/\s*{FORWARD_STEPS}\b.*"
            rf"backward\s*{backward}\s*/\s*{BACKWARD_STEPS}\b", re.S))

    def wait_svg_equals(self, html: str, what: str) -> None:
        try:
            self.page.wait_for_function(
                f"([sel, html]) => ({_JS_SVG_STATE.strip()})(sel) === html",
                arg=[self.sel(SVG), html], timeout=10_000)
        except Exception as exc:
            raise AssertionError(f"drawing did not return to {what}") from exc

    def assert_values(self) -> None:
        nodes = self.nodes()
        for name, value in FORWARD_VALUES:
            assert _shows_value(nodes[name], value), f"{name} should show {value}: {nodes[name]}"

    def assert_grads(self) -> None:
        nodes = self.nodes()
        for name, grad in LEAF_GRADS:
            assert _shows_grad(nodes[name], grad), f"{name} should show grad {grad}: {nodes[name]}"

    def report_latency(self, where: str) -> float:
        """Print the click->SVG latencies; return their median."""
        median = statistics.median(self.latencies)
        print(f"[browser] Stepper click->SVG latency in {where} over {len(self.latencies)} "
              f"clicks: median {median:.1f} ms (budget {LATENCY_BUDGET_MS:.0f} ms), "
              f"all {[round(x, 1) for x in self.latencies]}")
        return median


def _find_reference_stepper(lab) -> Stepper:
    """The first displayed Stepper whose graph has nodes x, y, z, p, g."""
    outputs = lab.page.locator(OUTPUT, has=lab.page.locator(SVG_BOX))
    expect(outputs.first).to_be_visible()
    for i in range(outputs.count()):
        scope = _scope(outputs.nth(i), f"stepper-{i}")
        stepper = Stepper(lab, scope)
        if {"x", "y", "z", "p", "g"} <= set(stepper.nodes()):
            for button in (RESET, STEP_BACK, STEP_FORWARD, RUN_TO_END):
                expect(lab.page.locator(stepper.sel(button))).to_have_count(1)
            return stepper
    raise AssertionError("no Stepper drawing with nodes x, y, z, p, g in lesson 01")


def _run_lesson_01(lab) -> Stepper:
    """Open lesson 01, run all cells, return its Stepper at the start, in view."""
    lab.open_notebook(LESSON_01)  # fails if the lesson is missing
    assert lab.run_all(), "a cell of lesson 01 failed"

    stepper = _find_reference_stepper(lab)
    svg = lab.page.locator(stepper.sel(SVG)).first
    expect(svg).to_be_visible()
    svg.scroll_into_view_if_needed()
    stepper.expect_progress(0, 0)
    lab.screenshot("stepper-rendered")
    return stepper


def _forward_pass(lab, stepper: Stepper) -> None:
    """Two steps compute p = x + y = 4, then g = p * z = -12."""
    stepper.click(STEP_FORWARD)
    stepper.expect_progress(1, 0)
    stepper.click(STEP_FORWARD)
    stepper.expect_progress(2, 0)
    stepper.assert_values()
    expect(lab.page.locator(stepper.sel(EXPLANATION)).first).not_to_be_empty()
    lab.screenshot("after-forward-pass")


def test_lesson_01_stepper(lab):
    stepper = _run_lesson_01(lab)
    initial_svg = stepper.svg_html()
    _forward_pass(lab, stepper)

    # Backward pass: five steps; keep the drawing before the last one.
    for _ in range(BACKWARD_STEPS - 1):
        stepper.click(STEP_FORWARD)
    before_last = stepper.svg_html()
    stepper.click(STEP_FORWARD)
    stepper.expect_progress(2, 5)
    stepper.assert_grads()
    lab.screenshot("after-backward-pass")

    # Step back returns exactly to the previous drawing.
    stepper.click(STEP_BACK)
    stepper.wait_svg_equals(before_last, "the state before the last step")
    stepper.expect_progress(2, 4)
    lab.screenshot("after-step-back")

    # Reset returns to the start; Run to end finishes both passes at once.
    stepper.click(RESET)
    stepper.wait_svg_equals(initial_svg, "the initial drawing after Reset")
    stepper.expect_progress(0, 0)
    lab.screenshot("after-reset")
    stepper.click(RUN_TO_END)
    stepper.expect_progress(2, 5)
    stepper.assert_grads()
    lab.screenshot("after-run-to-end")

    median = stepper.report_latency("JupyterLab")
    lab.assert_clean()
    assert median < LATENCY_BUDGET_MS, (
        f"median click->SVG latency {median:.1f} ms exceeds {LATENCY_BUDGET_MS:.0f} ms")


def test_lesson_01_stepper_notebook7(notebook7):
    """Lesson 01's Stepper in Jupyter Notebook 7, at /notebooks/<path>."""
    nb, page = notebook7, notebook7.page
    stepper = _run_lesson_01(nb)
    # The page really is Notebook 7, not JupyterLab behind another URL.
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    assert f"/notebooks/{LESSON_01}" in page.url, page.url

    _forward_pass(nb, stepper)

    stepper.click(RUN_TO_END)
    stepper.expect_progress(FORWARD_STEPS, BACKWARD_STEPS)
    stepper.assert_grads()
    end_svg, end_nodes = stepper.svg_html(), stepper.nodes()
    nb.screenshot("after-run-to-end")

    # Step back undoes exactly the last backward step: one leaf loses its
    # gradient, every other node reads as before; stepping forward again
    # gives back the very same drawing.
    stepper.click(STEP_BACK)
    stepper.expect_progress(FORWARD_STEPS, BACKWARD_STEPS - 1)
    back_nodes = stepper.nodes()
    assert stepper.svg_html() != end_svg, "Step back did not change the drawing"
    lost = [name for name, grad in LEAF_GRADS if not _shows_grad(back_nodes[name], grad)]
    assert len(lost) == 1, f"Step back should take one leaf's gradient away: {back_nodes}"
    unchanged = {n: t for n, t in end_nodes.items() if n not in lost}
    assert {n: back_nodes.get(n) for n in unchanged} == unchanged, (
        f"Step back changed more than {lost[0]}: {end_nodes} -> {back_nodes}")
    nb.screenshot("after-step-back")
    stepper.click(STEP_FORWARD)
    stepper.wait_svg_equals(end_svg, "the end drawing after Step back + Step forward")
    stepper.expect_progress(FORWARD_STEPS, BACKWARD_STEPS)

    median = stepper.report_latency("Notebook 7")
    nb.assert_clean()
    assert median < LATENCY_BUDGET_MS, (
        f"median click->SVG latency {median:.1f} ms exceeds {LATENCY_BUDGET_MS:.0f} ms")


_JS_WATCH_SRC = """
(cellSel) => {
  const cell = document.querySelector(cellSel);
  const seen = new Set();
  window.__nbgSrcChanges = 0;
  const record = () => {
    const img = cell.querySelector("img.nbgraph-lossplot");
    if (img && img.getAttribute("src")) seen.add(img.getAttribute("src"));
    window.__nbgSrcChanges = Math.max(0, seen.size - 1);
  };
  record();
  new MutationObserver(record).observe(
    cell, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
}
"""


def test_lesson_03_training_stops(lab):
    matches = sorted(p.name for p in lab.server.root_dir.glob(LESSON_03_GLOB))
    assert len(matches) == 1, f"expected one notebooks/{LESSON_03_GLOB}, found {matches}"
    lab.open_notebook(matches[0])
    lab.start_run_all()

    page = lab.page
    plot = page.locator(LOSSPLOT)
    expect(plot.first).to_be_attached(timeout=TRAINING_TIMEOUT_MS)
    cell_loc = page.locator(CELL, has=plot).first
    cell = _scope(cell_loc, "training")
    page.evaluate(_JS_WATCH_SRC, cell)
    output = page.locator(f"{cell} .jp-Cell-outputArea")

    # Training is live: the plot keeps changing and it has not stopped yet.
    page.wait_for_function(f"() => window.__nbgSrcChanges >= {TRAINING_UPDATES}",
                           timeout=TRAINING_TIMEOUT_MS)
    running = lab.cell_running(cell_loc)
    expect(output).not_to_contain_text(STOPPED_TEXT)
    page.locator(f"{cell} {STOP}").scroll_into_view_if_needed()
    lab.screenshot("training-running")
    print(f"[browser] loss plot updated {page.evaluate('() => window.__nbgSrcChanges')} "
          f"times before Stop (cell prompt running: {running})")

    page.locator(f"{cell} {STOP}").click()
    expect(output).to_contain_text(STOPPED_TEXT, timeout=TRAINING_TIMEOUT_MS)
    page.wait_for_function(
        "(sel) => !document.querySelector(sel).textContent.includes('*')",
        arg=f"{cell} .jp-InputPrompt", timeout=TRAINING_TIMEOUT_MS)
    assert lab.wait_run_all_done(TRAINING_TIMEOUT_MS), "a cell of lesson 03 failed"
    lab.screenshot("after-stop")
    lab.assert_clean()
