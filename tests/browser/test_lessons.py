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
           nbgraph-lossplot and a Button with class nbgraph-stop and tooltip
           "Stop", next to an HTML status (class nbgraph-status); after Stop
           the button reads "Stopped", the cell finishes and its output
           contains "stopped by user".
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
STOP = 'button.nbgraph-stop[title="Stop"]'
STOP_BUTTON = "button.nbgraph-stop"
STATUS_TEXT = ".nbgraph-status code"
STOPPED_TEXT = "stopped by user"

FORWARD_STEPS = 2
BACKWARD_STEPS = 5
FORWARD_VALUES = (("p", 4), ("g", -12))
LEAF_GRADS = (("x", -3), ("y", -3), ("z", 4))
LATENCY_BUDGET_MS = float(os.environ.get("NBGRAPH_LATENCY_BUDGET_MS", "150"))
TRAINING_REDRAWS = 20           # loss-plot images to see before Stop ...
TRAINING_VISIBLE_S = 5.0        # ... spread over at least this long
STOP_BUDGET_MS = 200            # click -> "Stopped" on the button, measured in the page
MIN_CONTRAST = 4.5              # WCAG AA for text
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


# Each new image of the loss plot, with the page's time it arrived.
_JS_WATCH_SRC = """
(cellSel) => {
  const cell = document.querySelector(cellSel);
  const seen = new Set();
  window.__nbgRedraws = [];
  const record = () => {
    const img = cell.querySelector("img.nbgraph-lossplot");
    const src = img && img.getAttribute("src");
    if (src && !seen.has(src)) { seen.add(src); window.__nbgRedraws.push(performance.now()); }
  };
  record();
  new MutationObserver(record).observe(
    cell, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
}
"""

# Click -> the button reads "Stopped": t0 in a capturing click listener,
# t1 in a MutationObserver callback.
_JS_ARM_STOP = """
(buttonSel) => {
  const btn = document.querySelector(buttonSel);
  window.__nbgStop = {t0: null, dt: null, stopping: null};
  btn.addEventListener("click", () => { window.__nbgStop.t0 = performance.now(); },
                       {capture: true, once: true});
  const obs = new MutationObserver(() => {
    const s = window.__nbgStop;
    if (s.t0 === null) return;
    if (s.stopping === null && btn.textContent.includes("Stopping"))
      s.stopping = performance.now() - s.t0;       // the kernel heard the click
    if (btn.textContent.includes("Stopped")) {
      s.dt = performance.now() - s.t0; obs.disconnect();
    }
  });
  obs.observe(btn, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""

# WCAG contrast of an element's text against what is behind it: backgrounds
# composited from the page down, then the element's own and its ancestors'
# opacity (a disabled ipywidgets button is drawn at reduced opacity).
_JS_CONTRAST = """
(sel) => {
  const el = document.querySelector(sel);
  const parse = (s) => {
    const p = s.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const chain = [];
  for (let n = el; n; n = n.parentElement) chain.unshift(n);
  let behind = [255, 255, 255, 1], opacity = 1;
  for (const n of chain.slice(0, -1)) {
    const style = getComputedStyle(n);
    behind = over(parse(style.backgroundColor), behind);
    opacity *= parseFloat(style.opacity);
  }
  const style = getComputedStyle(el);
  opacity *= parseFloat(style.opacity);
  let bg = over(parse(style.backgroundColor), behind);
  let fg = over(parse(style.color), bg);
  const fade = (c) => [0, 1, 2].map(i => c[i] * opacity + behind[i] * (1 - opacity));
  bg = fade(bg); fg = fade(fg);
  const lum = (c) => {
    const l = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  };
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return {ratio: (hi + 0.05) / (lo + 0.05), text: el.textContent.trim().slice(0, 40),
          fg: fg.map(Math.round), bg: bg.map(Math.round)};
}
"""


def _assert_readable(page, selector: str, where: str) -> None:
    c = page.evaluate(_JS_CONTRAST, selector)
    print(f"[browser] contrast of {selector} ({c['text']!r}) {where}: {c['ratio']:.2f}:1 "
          f"(text {c['fg']} on {c['bg']})")
    assert c["ratio"] >= MIN_CONTRAST, f"{selector} {where}: contrast {c['ratio']:.2f}:1 {c}"


def test_lesson_03_training_stops(lab):
    """Lesson 3 in JupyterLab's dark theme: the curve is redrawn at least 20
    times over at least 5 s while training goes on, then Stop ends it and the
    button says so within 200 ms. No race: the lesson paces its training
    (600 epochs a second; it stops by itself at epoch 8,930, after 15 s at
    the soonest), and the test clicks once 5 s of redraws have been seen
    and checks that the cell is still running first."""
    matches = sorted(p.name for p in lab.server.root_dir.glob(LESSON_03_GLOB))
    assert len(matches) == 1, f"expected one notebooks/{LESSON_03_GLOB}, found {matches}"
    lab.open_notebook(matches[0])
    page = lab.page
    # The theme is a user setting of this server: put it back for the tests after this one.
    try:
        page.evaluate("() => window.jupyterapp.commands.execute("
                      "'apputils:change-theme', {theme: 'JupyterLab Dark'})")
        page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
        lab.start_run_all()

        plot = page.locator(LOSSPLOT)
        expect(plot.first).to_be_attached(timeout=TRAINING_TIMEOUT_MS)
        cell_loc = page.locator(CELL, has=plot).first
        cell = _scope(cell_loc, "training")
        page.evaluate(_JS_WATCH_SRC, cell)
        output = page.locator(f"{cell} .jp-Cell-outputArea")

        # Training is live and watchable: the plot keeps changing, for seconds.
        page.wait_for_function(
            "([n, ms]) => { const r = window.__nbgRedraws;"
            " return r.length >= n && r[r.length - 1] - r[0] >= ms; }",
            arg=[TRAINING_REDRAWS, 1000 * TRAINING_VISIBLE_S], timeout=TRAINING_TIMEOUT_MS)
        redraws = page.evaluate("() => window.__nbgRedraws")
        assert lab.cell_running(cell_loc), "training ended before the test could press Stop"
        expect(output).not_to_contain_text(STOPPED_TEXT)
        page.locator(f"{cell} {STOP}").scroll_into_view_if_needed()
        _assert_readable(page, f"{cell} {STOP_BUTTON}", "while training (dark theme)")
        _assert_readable(page, f"{cell} {STATUS_TEXT}", "while training (dark theme)")
        lab.screenshot("training-running")
        print(f"[browser] {len(redraws)} loss-plot images over {(redraws[-1] - redraws[0]) / 1000:.1f} s"
              f" before Stop")

        page.evaluate(_JS_ARM_STOP, f"{cell} {STOP_BUTTON}")
        page.locator(f"{cell} {STOP}").click()
        page.wait_for_function("() => window.__nbgStop.dt !== null", timeout=TRAINING_TIMEOUT_MS)
        stop = page.evaluate("() => window.__nbgStop")
        stop_ms = stop["dt"]
        print(f"[browser] click -> 'Stopping' {stop['stopping']} ms, -> 'Stopped': {stop_ms:.0f} ms "
              f"(budget {STOP_BUDGET_MS} ms)")
        expect(output).to_contain_text(STOPPED_TEXT, timeout=TRAINING_TIMEOUT_MS)
        page.wait_for_function(
            "(sel) => !document.querySelector(sel).textContent.includes('*')",
            arg=f"{cell} .jp-InputPrompt", timeout=TRAINING_TIMEOUT_MS)
        assert lab.wait_run_all_done(TRAINING_TIMEOUT_MS), "a cell of lesson 03 failed"
        _assert_readable(page, f"{cell} {STOP_BUTTON}", "after Stop (dark theme)")
        _assert_readable(page, f"{cell} {STATUS_TEXT}", "after Stop (dark theme)")
        lab.screenshot("after-stop")
        lab.assert_clean()
    finally:
        page.evaluate("() => window.jupyterapp.commands.execute("
                      "'apputils:change-theme', {theme: 'JupyterLab Light'})")
        page.wait_for_selector("body[data-jp-theme-light='true']", state="attached")
    assert stop_ms <= STOP_BUDGET_MS, f"'Stopped' showed {stop_ms:.0f} ms after the click"
