// nbgraph Stepper, browser side (an anywidget ES module; plain JS, no build step).
//
// Python sends once: the laid-out SVG (every drawn unit a <g id=... class="ng-unit ...">),
// the position model (Timeline.to_json()) and the stylesheet of the state classes.
// Every step then happens here: the classes ng-v / ng-g / ng-active / ng-flow are
// toggled on the units whose state changed, and the root <svg> gets ng-start /
// ng-forward / ng-backward. The new position goes back to Python in a small message
// the step never waits for, so stepping works while the kernel is busy or gone.
//
// User text (names, values, explanations) enters the DOM only through textContent
// or attribute values, never as markup.

const SPEEDS = [["slow", 1500], ["normal", 800], ["fast", 350], ["fastest", 120]];
const DEFAULT_SPEED = 800;
const LONG_NAME = 24;          // names longer than this are shortened in the panel
const FOLLOW_MARGIN = 24;      // px kept between the active unit and the view's edge
const MIN_SCALE = 0.02, MAX_SCALE = 4;
const SVG_NS = "http://www.w3.org/2000/svg";

// Small icons drawn as SVG paths (no icon font, no network).
const ICONS = {
  reset: "M3 2h2v12H3zM14 2v12L6 8z",
  back: "M12 2v12L4 8z",
  forward: "M4 2v12l8-6z",
  end: "M2 2v12l8-6zM11 2h2v12h-2z",
  play: "M4 2v12l9-6z",
  pause: "M4 2h3v12H4zM9 2h3v12H9z",
  fit: "M2 2h5v2H4v3H2zM9 2h5v5h-2V4H9zM2 9h2v3h3v2H2zM12 9h2v5H9v-2h3z",
};

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "nbg-icon");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.appendChild(path);
  return svg;
}

function button(tip, iconName, label) {
  const b = h("button", "nbg-button");
  b.type = "button";
  b.title = tip;                       // the tooltip ("Reset", "Step back", ...)
  b.setAttribute("aria-label", tip);
  b.appendChild(icon(iconName));
  if (label) b.appendChild(h("span", "nbg-label", label));
  return b;
}

// Parse the SVG as XML (strict, never as HTML) and drop anything that could run code:
// defence in depth, the Python side already escapes every user text.
function parseSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.nodeName !== "svg") throw new Error("nbgraph: the drawing is not an SVG document");
  // <title>s would add the browser's own tooltips (internal ids on edges) over ours.
  for (const bad of root.querySelectorAll("script, foreignObject, title")) bad.remove();
  for (const e of root.querySelectorAll("*")) {
    for (const a of [...e.attributes]) {
      if (/^on/i.test(a.name) || (/href$/i.test(a.name) && /^\s*javascript:/i.test(a.value))) {
        e.removeAttribute(a.name);
      }
    }
  }
  return document.importNode(root, true);
}

function shortName(name) {
  return name.length <= LONG_NAME ? name : name.slice(0, LONG_NAME - 8) + "…" + name.slice(-6);
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Sorted (by key) list of units, so that going from position a to b finds the
// units whose key lies in (a, b] by binary search: only they change state.
function sortedBy(units, key) {
  const list = units.filter((u) => u[key] != null).sort((x, y) => x[key] - y[key]);
  return {list, keys: list.map((u) => u[key])};
}

function lowerBound(keys, x) {      // first index with keys[i] >= x
  let lo = 0, hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// Mount a Stepper into `el`. data = {svg, timeline (object or JSON text), stylesheet,
// position}; onPosition(p) is told of every step made in the page.
function mount(el, data, onPosition) {
  const tl = typeof data.timeline === "string" ? JSON.parse(data.timeline) : data.timeline;
  const F = tl.F, B = tl.B, total = tl.total;
  const units = tl.units;
  const byId = new Map(units.map((u) => [u.id, u]));

  // ---- the DOM ------------------------------------------------------------------
  const root = h("div", "nbg-stepper");
  root.tabIndex = 0;
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "nbgraph Stepper: ← → step, Home / End jump");
  if (data.stylesheet) root.appendChild(h("style", null, data.stylesheet));

  const bar = h("div", "nbg-toolbar");
  const resetB = button("Reset", "reset");
  const backB = button("Step back", "back");
  const playB = button("Play", "play", "Play");
  const fwdB = button("Step forward", "forward");
  const endB = button("Run to end", "end");
  const speed = h("select", "nbg-speed");
  speed.title = "Play speed";
  for (const [label, ms] of SPEEDS) {
    const o = h("option", null, label);
    o.value = String(ms);
    speed.appendChild(o);
  }
  speed.value = String(DEFAULT_SPEED);
  const slider = h("input", "nbg-slider");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(total);
  slider.step = "1";
  slider.title = "Drag to any step";
  slider.setAttribute("aria-label", "Position");
  const progress = h("span", "nbg-progress");
  const fitB = button("Fit to width", "fit");
  fitB.classList.add("nbg-fit");
  bar.append(resetB, backB, playB, fwdB, endB, speed, slider, progress, fitB);

  const body = h("div", "nbg-body");
  const view = h("div", "nbg-view");
  const canvas = h("div", "nbg-canvas");
  const svg = parseSvg(data.svg);
  canvas.appendChild(svg);
  view.appendChild(canvas);
  const panel = h("div", "nbg-panel");
  panel.setAttribute("aria-live", "polite");      // a screen reader hears each step's words
  const head = h("div", "nbg-head");
  const text = h("pre", "nbg-text");
  panel.append(head, text);
  body.append(view, panel);
  const tip = h("div", "nbg-tip");
  tip.hidden = true;
  root.append(bar, body, tip);
  el.appendChild(root);

  // Natural size: Graphviz gives points; draw 1 pt = 4/3 px, as a browser shows the file alone.
  const vb = (svg.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
  const natW = (vb.length === 4 && vb[2] > 0 ? vb[2] : 400) * 4 / 3;
  const natH = (vb.length === 4 && vb[3] > 0 ? vb[3] : 300) * 4 / 3;
  svg.setAttribute("width", String(natW));
  svg.setAttribute("height", String(natH));
  view.style.maxWidth = natW + 2 + "px";     // a small drawing keeps its size, panel beside it
  canvas.style.width = natW + "px";
  canvas.style.height = natH + "px";

  // The unit elements, found once; ids are only looked up inside this drawing.
  const elements = new Map();
  for (const g of svg.querySelectorAll("g[id]")) {
    if (byId.has(g.id)) elements.set(g.id, g);
  }
  for (const u of units) u.el = elements.get(u.id) || null;
  // Dashed copies of a unit (a shared leaf drawn again near its users) light up with it.
  const copies = new Map();
  for (const u of units) {
    if (u.copy_of) {
      if (!copies.has(u.copy_of)) copies.set(u.copy_of, []);
      copies.get(u.copy_of).push(u);
    }
  }
  const byV = sortedBy(units, "v");
  const byG = sortedBy(units, "g");

  // Long names: shortened in the panel, the full name on hover.
  // (Names of value boxes and groups only: an op unit's "name" is its formula.)
  const longNames = [...new Set(units.filter((u) => u.kind === "value" || u.kind === "group")
    .map((u) => u.name).filter((n) => n && n.length > LONG_NAME))]
    .sort((a, b) => b.length - a.length);
  const longRe = longNames.length ? new RegExp(longNames.map(escapeRegExp).join("|"), "g") : null;

  // ---- state ------------------------------------------------------------------------
  let pos = 0;
  let shown = null;          // the position whose classes are on the drawing

  function setClass(u, cls, on) {
    if (u && u.el) u.el.classList.toggle(cls, on);
  }

  function setActive(id, on) {
    const u = byId.get(id);
    if (!u) return;
    setClass(u, "ng-active", on);
    for (const c of copies.get(id) || []) setClass(c, "ng-active", on);
  }

  // Toggle the classes of units whose key lies between the old and the new position.
  function sweep(sorted, cls, from, to) {
    const lo = Math.min(from, to), hi = Math.max(from, to);
    const on = to > from;
    for (let i = lowerBound(sorted.keys, lo + 1), n = sorted.keys.length; i < n && sorted.keys[i] <= hi; i++) {
      setClass(sorted.list[i], cls, on);
    }
  }

  function applyState(p) {
    if (shown === null) {              // first time: every unit from scratch
      for (const u of units) {
        setClass(u, "ng-v", u.v != null && u.v <= p);
        setClass(u, "ng-g", u.g != null && u.g <= p);
        setClass(u, "ng-active", false);
        setClass(u, "ng-flow", false);
      }
    } else {
      sweep(byV, "ng-v", shown, p);
      sweep(byG, "ng-g", shown, p);
      setActive(tl.active[shown], false);
      for (const id of tl.flow[shown] || []) setClass(byId.get(id), "ng-flow", false);
    }
    setActive(tl.active[p], true);
    for (const id of tl.flow[p] || []) setClass(byId.get(id), "ng-flow", true);
    const phase = p === 0 ? "ng-start" : p <= F ? "ng-forward" : "ng-backward";
    for (const c of ["ng-start", "ng-forward", "ng-backward"]) svg.classList.toggle(c, c === phase);
    root.dataset.phase = phase.slice(3);
    shown = p;
  }

  // Text with long names replaced by a shortened <span title="full name">.
  function fillText(target, s) {
    target.textContent = "";
    if (!longRe || s.length < LONG_NAME) {
      target.textContent = s;
      return;
    }
    let last = 0;
    longRe.lastIndex = 0;
    for (let m; (m = longRe.exec(s)) !== null;) {
      if (m.index > last) target.appendChild(document.createTextNode(s.slice(last, m.index)));
      const span = h("span", "nbg-name", shortName(m[0]));
      span.title = m[0];
      target.appendChild(span);
      last = m.index + m[0].length;
    }
    if (last < s.length) target.appendChild(document.createTextNode(s.slice(last)));
  }

  function showPanel(p) {
    fillText(head, tl.heads[p] || "");
    fillText(text, tl.texts[p] || "");
    const f = Math.min(p, F), b = Math.max(0, p - F);
    progress.textContent = `forward ${f}/${F} · backward ${b}/${B}`;
    slider.value = String(p);
    resetB.disabled = backB.disabled = p === 0;
    fwdB.disabled = endB.disabled = p === total;
  }

  // ---- moving -------------------------------------------------------------------------
  function go(p, fromPage = true) {
    p = Math.max(0, Math.min(total, Math.round(Number(p)) || 0));
    if (p === shown) return;
    pos = p;
    applyState(p);
    showPanel(p);
    follow();
    if (fromPage && onPosition) onPosition(p);
  }

  // ---- zoom, pan, follow ------------------------------------------------------------------
  let scale = 1, tx = 0, ty = 0;
  let userMoved = false;          // after a wheel zoom or a drag the view is the user's
  let viewW = 0;

  function viewSize() {
    return {w: view.clientWidth, h: view.clientHeight};
  }

  function clampPan() {
    const {w, h: vh} = viewSize();
    const cw = natW * scale, ch = natH * scale;
    const [x0, x1] = cw <= w ? [0, w - cw] : [w - cw, 0];
    const [y0, y1] = ch <= vh ? [0, vh - ch] : [vh - ch, 0];
    tx = Math.min(x1, Math.max(x0, tx));
    ty = Math.min(y1, Math.max(y0, ty));
  }

  function applyTransform() {
    clampPan();
    canvas.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
  }

  function fit() {
    const w = view.clientWidth;
    if (!w) return;
    viewW = w;
    scale = Math.min(1, w / natW);
    // The view is as tall as the fitted drawing, up to the CSS max-height.
    view.style.height = Math.ceil(natH * scale) + "px";
    tx = 0;
    ty = 0;
    userMoved = false;
    rects = null;
    applyTransform();
    follow();
    // Measure the unit boxes while the page is idle, so the first step does not pay for it.
    const idle = window.requestIdleCallback || ((f) => setTimeout(f, 50));
    idle(() => rectOf(units.find((u) => u.el && u.kind !== "edge")));
  }

  // Unit boxes in drawing coordinates, measured once (nodes never move).
  let rects = null;
  function rectOf(u) {
    if (!u || !u.el || !root.isConnected) return null;
    if (rects === null) {
      const c = canvas.getBoundingClientRect();
      if (!c.width) return null;        // not laid out yet (hidden): measure later
      rects = new Map();
      for (const v of units) {
        if (!v.el || v.kind === "edge") continue;
        const r = v.el.getBoundingClientRect();
        rects.set(v.id, {x: (r.left - c.left) / scale, y: (r.top - c.top) / scale,
                         w: r.width / scale, h: r.height / scale});
      }
    }
    return rects.get(u.id) || null;
  }

  // Pan (never zoom) so that the active unit is inside the view.
  function follow() {
    const r = rectOf(byId.get(tl.active[pos]));
    if (!r) return;
    const {w, h: vh} = viewSize();
    if (!w || !vh) return;
    const m = FOLLOW_MARGIN;
    const left = r.x * scale + tx, top = r.y * scale + ty;
    const right = left + r.w * scale, bottom = top + r.h * scale;
    let moved = false;
    // Only along a direction in which the drawing does not fit anyway.
    if (natW * scale > w && (left < m || right > w - m)) {
      tx = w / 2 - (r.x + r.w / 2) * scale;
      moved = true;
    }
    if (natH * scale > vh && (top < m || bottom > vh - m)) {
      ty = vh / 2 - (r.y + r.h / 2) * scale;
      moved = true;
    }
    if (moved) applyTransform();
  }

  function zoomAt(factor, cx, cy) {
    const s = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * factor));
    tx = cx - (cx - tx) * (s / scale);
    ty = cy - (cy - ty) * (s / scale);
    scale = s;
    userMoved = true;
    applyTransform();
  }

  // The wheel zooms once the widget has the focus (a click on it) or with Ctrl held;
  // otherwise it scrolls the notebook as usual, so passing over a drawing never traps it.
  view.addEventListener("wheel", (e) => {
    if (!e.ctrlKey && !root.contains(document.activeElement)) return;
    e.preventDefault();
    const r = view.getBoundingClientRect();
    const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    zoomAt(Math.exp(-dy * 0.002), e.clientX - r.left, e.clientY - r.top);
  }, {passive: false});

  // Drag pans; a press and release without moving is a click on a unit.
  let drag = null;
  view.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = {x: e.clientX, y: e.clientY, tx, ty, moved: false, id: e.pointerId};
    root.focus({preventScroll: true});
  });
  view.addEventListener("pointermove", (e) => {
    if (drag && e.pointerId === drag.id) {
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
        drag.moved = true;
        view.setPointerCapture(e.pointerId);
        view.classList.add("nbg-dragging");
        hideTip();
      }
      if (drag.moved) {
        tx = drag.tx + dx;
        ty = drag.ty + dy;
        userMoved = true;
        applyTransform();
        return;
      }
    }
    if (!tip.hidden) placeTip(e);
  });
  const endDrag = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const wasClick = !drag.moved && e.type === "pointerup";
    view.classList.remove("nbg-dragging");
    drag = null;
    if (wasClick) clickUnit(unitAt(e.target));
  };
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointercancel", endDrag);
  view.addEventListener("dblclick", () => fit());

  function unitAt(target) {
    for (let e = target; e && e !== svg; e = e.parentNode) {
      if (e.id && byId.has(e.id) && e.classList && e.classList.contains("ng-unit")) return byId.get(e.id);
    }
    return null;
  }

  // A click goes to the unit's forward step, or its backward step once the forward pass is done.
  function clickUnit(u) {
    if (!u || u.kind === "edge" || u.kind === "scope") return;
    // `jump` says where to go; without it, the steps where its value and gradient appear.
    const [f, b] = u.jump || [u.v > 0 ? u.v : null, u.g ?? null];
    const target = pos >= F ? (b ?? f) : (f ?? b);
    if (target != null) {
      stopPlay();
      go(target);
    }
  }

  // ---- hover: full name, value, gradient ----------------------------------------------------
  let tipUnit = null;
  function hideTip() {
    tip.hidden = true;
    tipUnit = null;
  }
  function placeTip(e) {
    const r = root.getBoundingClientRect();
    const x = e.clientX - r.left + 14, y = e.clientY - r.top + 14;
    tip.style.left = Math.max(0, Math.min(x, root.clientWidth - tip.offsetWidth - 4)) + "px";
    tip.style.top = y + "px";
  }
  function fillTip(u) {
    tip.textContent = "";
    tip.appendChild(h("div", "nbg-tip-name", u.name != null ? u.name : u.kind));
    if (u.value != null) {
      const known = u.v != null && u.v <= pos;
      tip.appendChild(h("div", "nbg-tip-row", known ? `value ${u.value}`
        : `value: not computed yet${u.v != null ? ` (step ${u.v})` : ""}`));
    }
    if (u.grad != null) {
      const known = u.g != null && u.g <= pos;
      tip.appendChild(h("div", "nbg-tip-row", known ? `grad ${u.grad}`
        : `grad: not computed yet${u.g != null ? ` (step ${u.g})` : ""}`));
    }
  }
  svg.addEventListener("pointerover", (e) => {
    if (drag && drag.moved) return;
    const u = unitAt(e.target);
    if (!u || (u.name == null && u.value == null && u.grad == null)) {
      hideTip();
      return;
    }
    if (u !== tipUnit) {
      tipUnit = u;
      fillTip(u);
    }
    tip.hidden = false;
    placeTip(e);
  });
  svg.addEventListener("pointerleave", hideTip);

  // ---- controls -----------------------------------------------------------------------
  let playTimer = null;
  function stopPlay() {
    if (playTimer !== null) clearTimeout(playTimer);
    playTimer = null;
    playB.title = "Play";
    playB.setAttribute("aria-label", "Play");
    playB.replaceChildren(icon("play"), h("span", "nbg-label", "Play"));
    root.classList.remove("nbg-playing");
  }
  function startPlay() {
    if (pos >= total) go(0);
    playB.title = "Pause";
    playB.setAttribute("aria-label", "Pause");
    playB.replaceChildren(icon("pause"), h("span", "nbg-label", "Pause"));
    root.classList.add("nbg-playing");
    // Ticks are scheduled against the start time, so slow frames do not add up.
    const interval = Number(speed.value) || DEFAULT_SPEED;
    const t0 = performance.now();
    let k = 0;
    const tick = () => {
      go(pos + 1);
      if (pos >= total) {
        stopPlay();
        return;
      }
      k += 1;
      playTimer = setTimeout(tick, Math.max(0, t0 + (k + 1) * interval - performance.now()));
    };
    playTimer = setTimeout(tick, interval);
  }
  const stepAnd = (f) => () => {
    stopPlay();
    f();
  };
  resetB.addEventListener("click", stepAnd(() => go(0)));
  backB.addEventListener("click", stepAnd(() => go(pos - 1)));
  fwdB.addEventListener("click", stepAnd(() => go(pos + 1)));
  endB.addEventListener("click", stepAnd(() => go(total)));
  playB.addEventListener("click", () => (playTimer === null ? startPlay() : stopPlay()));
  speed.addEventListener("change", () => {
    if (playTimer !== null) {
      stopPlay();
      startPlay();
    }
  });
  slider.addEventListener("input", stepAnd(() => go(slider.value)));
  fitB.addEventListener("click", () => fit());

  // ← → Home End while the focus is inside the widget. Heard on the window in the
  // capture phase: the notebook's own shortcuts (also heard early) must not get them.
  const onKey = (e) => {
    const t = e.target;
    if (!(t instanceof Node) || !root.contains(t)) return;
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (t.tagName === "SELECT" || (t.tagName === "INPUT" && t.type !== "range")) return;
    const moves = {ArrowRight: () => pos + 1, ArrowLeft: () => pos - 1, Home: () => 0, End: () => total};
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    e.stopPropagation();
    stopPlay();
    go(move());
  };
  window.addEventListener("keydown", onKey, true);

  const resize = new ResizeObserver(() => {
    const w = view.clientWidth;
    if (!w || w === viewW) return;
    if (!userMoved || viewW === 0) fit();
    else {
      viewW = w;
      applyTransform();
    }
  });
  resize.observe(view);

  go(data.position || 0, false);

  return {
    go: (p) => go(p, false),
    get position() { return pos; },
    destroy() {
      stopPlay();
      window.removeEventListener("keydown", onKey, true);
      resize.disconnect();
      root.remove();
    },
  };
}

// ---- anywidget entry point --------------------------------------------------------------
function render({model, el}) {
  let pending = null;
  // The step never waits for this: the position is handed to the model after the
  // frame, and a send to a kernel that is busy or gone must not break stepping.
  function send(p) {
    if (pending === null) {
      setTimeout(() => {
        const q = pending;
        pending = null;
        try {
          if (model.get("position") !== q) {
            model.set("position", q);
            model.save_changes();
          }
        } catch (err) {
          // No kernel to tell: the page keeps stepping on its own.
        }
      }, 0);
    }
    pending = p;
  }
  const stepper = mount(el, {
    svg: model.get("_drawing"),
    timeline: model.get("_timeline"),
    stylesheet: model.get("_style"),
    position: model.get("position"),
  }, send);
  const onChange = () => stepper.go(model.get("position"));
  model.on("change:position", onChange);
  return () => {
    model.off("change:position", onChange);
    stepper.destroy();
  };
}

// ---- exports (Stepper.save_html inlines everything above this line) --------------------
export {mount};
export default {render};
