"""Helpers for the Stepper in a browser, shared by tests/browser/test_stepper_browser.py,
benchmarks/bench_browser.py and tools/make_screenshots.py.

* ``chain``: a hand-made drawing + position model following CONTRACT-stepper.md,
  without Graphviz, for page-only tests whose every field the test chose;
* the page contract (selectors) and JavaScript probes: the state classes and
  the texts a reader sees, click-to-next-frame latency, bytes sent to the kernel;
* notebooks written at test time, and kernel control from the page.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape as xml_escape

import nbformat

# ---- the page contract ---------------------------------------------------------------
ROOT = ".nbg-stepper"
RESET = 'button[title="Reset"]'
STEP_BACK = 'button[title="Step back"]'
STEP_FORWARD = 'button[title="Step forward"]'
RUN_TO_END = 'button[title="Run to end"]'
PLAY = 'button[title="Play"]'
SPEED = "select.nbg-speed"
SLIDER = "input.nbg-slider"
PROGRESS = ".nbg-progress"
VIEW = ".nbg-view"
SVG = ".nbg-view svg"
PANEL = ".nbg-panel"
HEAD = ".nbg-head"
TEXT = ".nbg-text"
TIP = ".nbg-tip"

# The state classes on every unit of the drawing under `sel`, and the root's phase class.
JS_STATE = """
(sel) => {
  const svg = document.querySelector(sel);
  const keep = new Set(["ng-v", "ng-g", "ng-active", "ng-flow"]);
  const units = {};
  for (const g of svg.querySelectorAll("g.ng-unit[id]"))
    units[g.id] = [...g.classList].filter(c => keep.has(c)).sort();
  const root = [...svg.classList].filter(c => /^ng-(start|forward|backward)$/.test(c));
  return {root, units};
}
"""

# {unit id: [texts a reader sees]}: what render.shown_texts reads from a static SVG.
JS_SHOWN = """
(sel) => {
  const svg = document.querySelector(sel);
  if (!svg) return null;
  const out = {};
  for (const g of svg.querySelectorAll("g.ng-unit[id]"))
    out[g.id] = [...g.querySelectorAll("text")]
      .filter(t => getComputedStyle(t).display !== "none").map(t => t.textContent);
  return out;
}
"""

# Click latency as the issue defines it: performance.now() when the click is
# dispatched (a capturing listener) to the next animation frame after the drawing's
# classes changed. Resolves window.__nbgFrame to ms, or null after timeoutMs.
JS_ARM_FRAME = """
([buttonSel, svgSel, timeoutMs]) => {
  const btn = document.querySelector(buttonSel);
  const svg = document.querySelector(svgSel);
  if (!btn || !svg) throw new Error(`missing ${btn ? svgSel : buttonSel}`);
  window.__nbgFrame = new Promise((resolve) => {
    let t0 = null;
    const timer = setTimeout(() => { obs.disconnect(); resolve(null); }, timeoutMs);
    btn.addEventListener("click", () => { t0 = performance.now(); }, {capture: true, once: true});
    const obs = new MutationObserver(() => {
      if (t0 === null) return;
      obs.disconnect();
      requestAnimationFrame(() => { clearTimeout(timer); resolve(performance.now() - t0); });
    });
    obs.observe(svg, {subtree: true, attributes: true, attributeFilter: ["class"]});
  });
  return true;
}
"""

# Count the bytes the page sends on its websockets (to the kernel) from now on.
JS_COUNT_SENT = """
() => {
  if (!window.__nbgSent) {
    window.__nbgSent = {bytes: 0, messages: 0};
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      const n = typeof data === "string" ? new TextEncoder().encode(data).length
              : (data.byteLength ?? data.size ?? 0);
      window.__nbgSent.bytes += n;
      window.__nbgSent.messages += 1;
      return send.call(this, data);
    };
  }
  window.__nbgSent.bytes = 0;
  window.__nbgSent.messages = 0;
  return true;
}
"""

_JS_NOTEBOOK = """(() => { const w = window.jupyterapp.shell.currentWidget;
  return w && w.sessionContext && w.content ? w : null; })()"""

# Run cell `i` of the current notebook (does not wait for it to finish).
JS_RUN_CELL = f"""
async (i) => {{
  const nb = {_JS_NOTEBOOK};
  nb.content.activeCellIndex = i;
  window.jupyterapp.commands.execute("notebook:run-cell");
  return true;
}}
"""

# WCAG contrast ratio of an element's text colour against the background it sits on
# (the first ancestor with an opaque background).
JS_CONTRAST = """
(sel) => {
  const el = document.querySelector(sel);
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let e = el; e && !bg; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) bg = c.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const c = rgb(getComputedStyle(el).color), a = c.length === 4 ? c[3] : 1;
  const fg = lum(c.slice(0, 3).map((v, i) => a * v + (1 - a) * bg[i])), b = lum(bg);
  return (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
}
"""

JS_THEME = """
async (theme) => {
  await window.jupyterapp.commands.execute("apputils:change-theme", {theme});
  return true;
}
"""

JS_INTERRUPT = f"""
async () => {{ await {_JS_NOTEBOOK}.sessionContext.session.kernel.interrupt(); return true; }}
"""

JS_SHUTDOWN = f"""
async () => {{ await {_JS_NOTEBOOK}.sessionContext.shutdown(); return true; }}
"""

JS_KERNEL = f"""
() => {{ const nb = {_JS_NOTEBOOK};
  const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
  return k ? k.status : null; }}
"""


def write_notebook(root, name: str, *sources: str) -> str:
    """A notebook of code cells ``sources`` in the server's root; returns its name."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, str(root / name))
    return name


def cell_output(page, i: int) -> str:
    return page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(i).locator(
        ".jp-OutputArea").inner_text()


# ---- a hand-made drawing ------------------------------------------------------------

STYLE = """
.ng-unit:not(.ng-v) .ng-val, .ng-unit.ng-v .ng-val0 { display: none; }
.ng-unit:not(.ng-g) .ng-grad, .ng-unit.ng-g .ng-grad0 { display: none; }
.ng-value .ng-bg { fill: #fff; stroke: #b9c0c8; }
.ng-value.ng-v .ng-bg { fill: #e3eefb; stroke: #52606d; }
.ng-unit.ng-active .ng-bg { fill: #ffe066; stroke: #e8590c; stroke-width: 3; }
.ng-edge .ng-stroke { stroke: #8995a3; }
.ng-edge.ng-flow .ng-stroke { stroke: #c2255c; stroke-width: 3; }
"""


def chain(n: int, name=lambda i: f"h{i}", per_row: int = 20) -> dict:
    """A chain h0 -> h1 -> ... -> h{n-1} drawn as value boxes in rows of ``per_row``.

    Forward steps compute h1..h{n-1} (F = n-1); backward steps give every box its
    gradient from the end back (B = n). Returns {svg, timeline, stylesheet, position}.
    """
    F, B = n - 1, n
    total = F + B
    w, h, gap = 110, 60, 40
    cols = min(n, per_row)
    rows = (n + per_row - 1) // per_row
    W, H = cols * (w + gap) + gap, rows * (h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ng-drawing" width="{W}pt" '
             f'height="{H}pt" viewBox="0 0 {W} {H}"><g id="graph0">']
    units, active, flow = [], [None], [[]]
    pos = []
    for i in range(n):
        x, y = gap + (i % per_row) * (w + gap), gap + (i // per_row) * (h + gap)
        pos.append((x, y))
    for i in range(1, n):
        (x0, y0), (x1, y1) = pos[i - 1], pos[i]
        parts.append(f'<g id="ng-e{i}" class="ng-unit ng-edge"><path class="ng-stroke" '
                     f'd="M{x0 + w},{y0 + h / 2} L{x1},{y1 + h / 2}"/></g>')
    for i in range(n):
        x, y = pos[i]
        label = xml_escape(name(i), {'"': "&quot;"})
        parts.append(
            f'<g id="ng-n{i}" class="ng-unit ng-value"><rect class="ng-bg" x="{x}" y="{y}" '
            f'width="{w}" height="{h}"/>'
            f'<text class="ng-name" x="{x + 6}" y="{y + 16}">{label[:14]}</text>'
            f'<text class="ng-val0" x="{x + 6}" y="{y + 34}">?</text>'
            f'<text class="ng-val" x="{x + 6}" y="{y + 34}">{i}</text>'
            f'<text class="ng-grad0" x="{x + 6}" y="{y + 52}">grad ?</text>'
            f'<text class="ng-grad" x="{x + 6}" y="{y + 52}">grad {n - i}</text></g>')
    parts.append("</g></svg>")
    for i in range(n):
        v = i                      # h0 is an input; h_i is computed at step i
        g = F + (n - i)            # the last box gets its gradient first
        units.append({"id": f"ng-n{i}", "kind": "value", "v": v, "g": g, "name": name(i),
                      "value": str(i), "grad": str(n - i), "jump": [v or None, g]})
    for i in range(1, n):
        units.append({"id": f"ng-e{i}", "kind": "edge", "v": i, "g": F + (n - i) + 1})
    heads, texts = ["start"], [f"Nothing is computed yet; {name(0)} is given."]
    for p in range(1, F + 1):
        active.append(f"ng-n{p}")
        flow.append([f"ng-e{p}"])
        heads.append(f"forward step {p} of {F} · {name(p)}")
        texts.append(f"{name(p)} = {name(p - 1)} + 1 = {p}")
    for k in range(1, B + 1):
        i = n - k
        active.append(f"ng-n{i}")
        flow.append([f"ng-e{i + 1}"] if i + 1 < n else [])
        heads.append(f"backward step {k} of {B} · {name(i)}")
        texts.append(f"d{name(n - 1)}/d{name(i)} = {n - i}")
    timeline = {"F": F, "B": B, "total": total, "units": units, "active": active,
                "flow": flow, "heads": heads, "texts": texts}
    return {"svg": "".join(parts), "timeline": json.dumps(timeline), "stylesheet": STYLE,
            "position": 0}
