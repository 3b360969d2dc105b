// lrbook-live: draws the live figures of the HTML book (loaded on every page by _config.yml).
// A notebook cell (lrbook.live.figure) writes <div class="lrbook-live" data-lrbook-live="spec">
// with a static PNG inside; this script replaces the PNG on screen (it stays for print) by
// SVG drawings and controls, and recomputes with core.js on every input. core.js is a classic
// script loaded before this one (it defines window.lrbookCore), so the figures also run when the
// built book is opened from disk (file://), where browsers refuse to load ES modules; if it is
// missing, this script loads it, and if that fails the static picture stays, with a note saying so.
// Each figure exposes its numbers in <output class="lrbook-live-readout" data-values="...">,
// which tests/live_figures_check.py compares with lrbook's fixtures.
(function () {
  "use strict";
  var base = document.currentScript ? document.currentScript.src.replace(/[^/]*$/, "") : "";
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
  var NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, parent, text) {
    var e = tag.startsWith("svg:") ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    Object.entries(attrs || {}).forEach(function (kv) { e.setAttribute(kv[0], kv[1]); });
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  // text with subscripts written "_{...}" (η_{t}, T_{w}): <sub> in HTML, a lowered tspan in SVG
  function rich(node, text) {
    var svgNode = node.namespaceURI === NS;
    String(text).split(/(_\{[^}]*\})/).forEach(function (part) {
      if (!part) return;
      if (part.slice(0, 2) !== "_{") { node.appendChild(document.createTextNode(part)); return; }
      var sub = part.slice(2, -1);
      if (svgNode) el("svg:tspan", { "baseline-shift": "sub", "font-size": "75%" }, node, sub);
      else el("sub", {}, node, sub);
    });
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v !== "number") return String(v);
    if (v === 0) return "0";
    var a = Math.abs(v);
    return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
  }

  function tickFmt(v) {
    var s = String(Number(v.toPrecision(10)));
    return s.length > 7 ? v.toExponential(1).replace("e-", "e−") : s.replace("-", "−");
  }

  function ticks(lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-12 * step; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  // axes: returns {x: data->px, y: data->px, g: group}
  function axes(svg, box, xlim, ylim, xlabel, ylabel) {
    var W = box.w, H = box.h, L = box.x, T = box.y;
    var sx = function (v) { return L + ((v - xlim[0]) / (xlim[1] - xlim[0])) * W; };
    var sy = function (v) { return T + H - ((v - ylim[0]) / (ylim[1] - ylim[0])) * H; };
    el("svg:rect", { x: L, y: T, width: W, height: H, fill: "#fff", stroke: "#444" }, svg);
    ticks(xlim[0], xlim[1], 6).forEach(function (v) {
      el("svg:line", { x1: sx(v), x2: sx(v), y1: T + H, y2: T + H + 4, stroke: "#444" }, svg);
      el("svg:text", { x: sx(v), y: T + H + 16, "text-anchor": "middle", "font-size": 12 }, svg, tickFmt(v));
    });
    var widest = 0;
    ticks(ylim[0], ylim[1], 5).forEach(function (v) {
      el("svg:line", { x1: L - 4, x2: L, y1: sy(v), y2: sy(v), stroke: "#444" }, svg);
      el("svg:text", { x: L - 6, y: sy(v) + 4, "text-anchor": "end", "font-size": 12 }, svg, tickFmt(v));
      widest = Math.max(widest, tickFmt(v).length);
    });
    rich(el("svg:text", { x: L + W / 2, y: T + H + 34, "text-anchor": "middle", "font-size": 13 }, svg), xlabel);
    // the y label sits left of this panel's tick labels (about 7 px a character at 12 px)
    var ylx = Math.max(12, L - 16 - 7 * widest);
    rich(el("svg:text", { x: ylx, y: T + H / 2, "text-anchor": "middle", "font-size": 13,
      transform: "rotate(-90 " + ylx + " " + (T + H / 2) + ")" }, svg), ylabel);
    var clip = "clip" + Math.random().toString(36).slice(2);
    var defs = el("svg:defs", {}, svg);
    var cp = el("svg:clipPath", { id: clip }, defs);
    el("svg:rect", { x: L, y: T, width: W, height: H }, cp);
    var g = el("svg:g", { "clip-path": "url(#" + clip + ")" }, svg);
    return { x: sx, y: sy, g: g, box: box };
  }

  // contour lines of f on a grid (marching squares, one segment per cell crossing)
  function contours(ax, f, xlim, ylim) {
    var nx = 80, ny = 60, vals = [], all = [];
    for (var j = 0; j <= ny; j++) {
      var row = [];
      for (var i = 0; i <= nx; i++) {
        var v = f([xlim[0] + ((xlim[1] - xlim[0]) * i) / nx, ylim[0] + ((ylim[1] - ylim[0]) * j) / ny]);
        row.push(v); all.push(v);
      }
      vals.push(row);
    }
    all.sort(function (a, b) { return a - b; });
    var levels = [];
    for (var k = 1; k <= 14; k++) levels.push(all[Math.floor(((k / 15) * (k / 15)) * (all.length - 1))]);
    var px = function (i) { return ax.x(xlim[0] + ((xlim[1] - xlim[0]) * i) / nx); };
    var py = function (j) { return ax.y(ylim[0] + ((ylim[1] - ylim[0]) * j) / ny); };
    levels.forEach(function (c) {
      var d = "";
      for (var j = 0; j < ny; j++) for (var i = 0; i < nx; i++) {
        var corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]];
        var pts = [];
        for (var e = 0; e < 4; e++) {
          var a = corners[e], b = corners[(e + 1) % 4];
          var va = vals[a[1]][a[0]] - c, vb = vals[b[1]][b[0]] - c;
          if ((va < 0) !== (vb < 0)) {
            var s = va / (va - vb);
            pts.push([px(a[0] + s * (b[0] - a[0])), py(a[1] + s * (b[1] - a[1]))]);
          }
        }
        for (var p = 0; p + 1 < pts.length; p += 2) {
          d += "M" + pts[p][0].toFixed(1) + " " + pts[p][1].toFixed(1) + "L" + pts[p + 1][0].toFixed(1) + " " + pts[p + 1][1].toFixed(1);
        }
      }
      if (d) el("svg:path", { d: d, stroke: "#b8b8b8", "stroke-width": 1, fill: "none" }, ax.g);
    });
  }

  function polyline(ax, pts, color, markers) {
    var good = pts.filter(function (p) { return p !== null; });
    var d = good.map(function (p, i) { return (i ? "L" : "M") + ax.x(p[0]).toFixed(2) + " " + ax.y(p[1]).toFixed(2); }).join("");
    el("svg:path", { d: d, stroke: color, "stroke-width": 2, fill: "none" }, ax.g);
    if (markers) good.forEach(function (p) { el("svg:circle", { cx: ax.x(p[0]), cy: ax.y(p[1]), r: 2.5, fill: color }, ax.g); });
    if (good.length) el("svg:circle", { cx: ax.x(good[0][0]), cy: ax.y(good[0][1]), r: 4, fill: "#000" }, ax.g);
  }

  // a legend (white box) in the corner of the panel that covers the fewest of `points` (pixels);
  // `avoid` (the start point, the minimum) must not be covered at all; or at `at` = [x, y]
  function legend(svg, ax, keys, points, avoid, at) {
    var w = 30 + 7 * Math.max.apply(null, keys.map(function (k) { return k.length; })), h = 8 + 15 * keys.length;
    var b = ax.box, pad = 6;
    var corners = [[b.x + pad, b.y + pad], [b.x + b.w - pad - w, b.y + pad],
      [b.x + b.w - pad - w, b.y + b.h - pad - h], [b.x + pad, b.y + b.h - pad - h]];
    var cost = corners.map(function (c) {
      var inside = function (p) { return p[0] >= c[0] - 4 && p[0] <= c[0] + w + 4 && p[1] >= c[1] - 4 && p[1] <= c[1] + h + 4; };
      return points.filter(inside).length + 1000 * (avoid || []).filter(inside).length;
    });
    var best = cost.indexOf(Math.min.apply(null, cost));
    var x = at ? at[0] : corners[best][0], y = at ? at[1] : corners[best][1];
    el("svg:rect", { x: x, y: y, width: w, height: h, fill: "#fff", "fill-opacity": 0.85, stroke: "#bbb", rx: 3,
      class: "lrbook-live-legend" }, svg);
    keys.forEach(function (k, i) {
      var ly = y + 11 + 15 * i;
      el("svg:line", { x1: x + 5, x2: x + 23, y1: ly, y2: ly, stroke: COLORS[i % COLORS.length], "stroke-width": 3 }, svg);
      el("svg:text", { x: x + 27, y: ly + 4, "font-size": 12 }, svg, k);
    });
  }

  function pixels(ax, pts) {
    return pts.filter(function (p) { return p !== null; }).map(function (p) { return [ax.x(p[0]), ax.y(p[1])]; });
  }

  function mount(root, core) {
    var spec = JSON.parse(root.getAttribute("data-lrbook-live"));
    var state = {};
    spec.controls.forEach(function (c) { state[c.name] = c.value; });
    var live = el("div", { class: "lrbook-live-ui" });
    root.insertBefore(live, root.firstChild);
    // a figure with a phase plane has a row below the panels for its colour scale and line key
    var svg = el("svg:svg", { role: "img", "aria-label": spec.aria, viewBox: "0 0 720 " + (spec.phase ? 372 : 340), width: "100%",
      class: "lrbook-live-svg", style: "max-width:720px;background:#fff" }, live);
    var form = el("div", { class: "lrbook-live-controls" }, live);
    var readout = el("output", { class: "lrbook-live-readout", "aria-live": "polite" }, live);
    var inputs = {};
    spec.controls.forEach(function (c) {
      var wrap = el("label", { class: "lrbook-live-control", "data-control": c.name }, form);
      rich(el("span", { class: "lrbook-live-label" }, wrap), c.label + " ");
      var input;
      if (c.type === "select") {
        input = el("select", { name: c.name, "aria-label": c.label.replace(/_\{([^}]*)\}/g, "_$1") }, wrap);
        c.options.forEach(function (o) { el("option", { value: o }, input, o); });
        input.value = c.value;
      } else {
        input = el("input", { type: "range", name: c.name, min: c.min, max: c.max, step: c.step,
          value: c.value, "aria-label": c.label.replace(/_\{([^}]*)\}/g, "_$1") }, wrap);
        var shown = el("span", { class: "lrbook-live-value" }, wrap);
        input._shown = shown;
      }
      var onInput = function () {
        state[c.name] = c.type === "select" ? input.value : Number(input.value);
        update();
      };
      input.addEventListener("input", onInput);
      input.addEventListener("change", onInput);
      inputs[c.name] = { input: input, wrap: wrap, control: c };
    });

    function problemOf(values) {
      var s = core.resolve(spec.series[0], values);
      return core.makeProblem(s.problem);
    }

    function stabilityMark(c, values) {
      var p = problemOf(values);
      return (c.marks || []).map(function (m) {
        var v = m.stability === "gd" ? 2 / p.L : 1 / p.L;
        return { label: m.label, value: c.transform === "pow10" ? Math.log10(v) : v, lr: v };
      });
    }

    function draw(values, data) {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var keys = Object.keys(data).filter(function (k) { return k !== "marker"; });
      if (spec.kind === "schedule") {
        var ys = [].concat.apply([], keys.map(function (k) { return data[k]; }));
        var n = Math.max.apply(null, keys.map(function (k) { return data[k].length; }));
        var ymax = Math.max.apply(null, ys.concat([1e-12])) * 1.08;
        var isMom = keys.some(function (k) { return /momentum/.test(k); });
        var ax = axes(svg, { x: 70, y: 12, w: 620, h: 270 }, [0, Math.max(n - 1, 1)], [0, ymax], "step t",
          isMom ? "momentum μ_{t}" : "learning rate η_{t}");
        keys.forEach(function (k, i) {
          polyline(ax, data[k].map(function (v, t) { return [t, v]; }), COLORS[i], false);
        });
        if (data.marker) {
          var t = data.marker[0], v = data.marker[1];
          el("svg:line", { x1: ax.x(t), x2: ax.x(t), y1: ax.y(0), y2: ax.y(ymax), stroke: "#888", "stroke-dasharray": "4 3" }, ax.g);
          el("svg:circle", { cx: ax.x(t), cy: ax.y(v), r: 5, fill: "#d62728" }, ax.g);
        }
        if (values.T_w !== undefined) {
          el("svg:line", { x1: ax.x(values.T_w), x2: ax.x(values.T_w), y1: ax.y(0), y2: ax.y(ymax), stroke: "#2ca02c", "stroke-dasharray": "2 3" }, ax.g);
          rich(el("svg:text", { x: ax.x(values.T_w) + 4, y: 28, "font-size": 12, fill: "#2ca02c" }, svg), "T_{w}");
        }
        var curves = [].concat.apply([], keys.map(function (k) { return pixels(ax, data[k].map(function (v, t) { return [t, v]; })); }));
        legend(svg, ax, keys, curves, []);
        return;
      }
      var problem = problemOf(values);
      var left = 70, width = 620;
      if (spec.phase) { drawPhase(values); left = 430; width = 280; }
      if (problem.dim === 1) {
        var xl = problem.xlim, fy = [0, problem.f([xl[1]]) * 1.05];
        var ax1 = axes(svg, { x: left, y: 12, w: width, h: 270 }, xl, fy, "θ", "f(θ)");
        var curve = [];
        for (var i = 0; i <= 200; i++) { var x = xl[0] + ((xl[1] - xl[0]) * i) / 200; curve.push([x, problem.f([x])]); }
        el("svg:path", { d: curve.map(function (p, i) { return (i ? "L" : "M") + ax1.x(p[0]) + " " + ax1.y(p[1]); }).join(""), stroke: "#888", fill: "none" }, ax1.g);
        keys.forEach(function (k, i) {
          polyline(ax1, data[k].map(function (p) { return p === null ? null : [p[0], problem.f(p)]; }), COLORS[i], true);
        });
      } else {
        var xlim = problem.xlim, ylim = problem.ylim;
        // keep the aspect ratio 1:1 inside the panel (a wide landscape in a narrow panel gets shorter)
        var ratio = (xlim[1] - xlim[0]) / (ylim[1] - ylim[0]);
        var h = Math.min(290, width / ratio), w = Math.min(width, h * ratio);
        // next to the phase plane the panel is short: it goes to the top, its legend below it
        var top = spec.phase ? 6 : 6 + (290 - h) / 2;
        var ax2 = axes(svg, { x: left, y: top, w: w, h: h }, xlim, ylim, "θ_{1}", "θ_{2}");
        contours(ax2, problem.f, xlim, ylim);
        el("svg:path", { d: "M" + (ax2.x(problem.minimizer[0]) - 5) + " " + ax2.y(problem.minimizer[1]) + "l10 0m-5 -5l0 10", stroke: "#000", "stroke-width": 2 }, ax2.g);
        keys.forEach(function (k, i) { polyline(ax2, data[k], COLORS[i], keys.length === 1); });
        var along = [].concat.apply([], keys.map(function (k) { return pixels(ax2, data[k]); }));
        var below = spec.phase && h < 230 ? [left, top + h + 44] : null;
        legend(svg, ax2, keys, along, pixels(ax2, [problem.start, problem.minimizer]), below);
      }
    }

    // heavy ball's contraction factor r at (η·L, μ): the slower of the two eigendirections
    function phaseRate(etaL, mu, curvatures, nesterov) {
      return Math.max.apply(null, curvatures.map(function (h) { return core.momentumContractionFactor(etaL * h, mu, nesterov); }));
    }

    function phaseCurvatures() {
      var p = core.makeProblem(spec.phase.problem);
      return [spec.phase.problem.h_min / p.L, 1.0]; // curvatures h/L
    }

    function shade(r) { return r >= 1 ? "#e8e8e8" : "hsl(210,70%," + (35 + 60 * r) + "%)"; }

    function drawPhase(values) {
      var cx = inputs[spec.phase.x].control, cy = inputs[spec.phase.y].control;
      var ev = phaseCurvatures();
      var ax = axes(svg, { x: 60, y: 6, w: 300, h: 290 }, [cx.min, cx.max], [cy.min, cy.max], "η·L", "μ");
      var n = 60, m = 50;
      for (var i = 0; i < n; i++) for (var j = 0; j < m; j++) {
        var e = cx.min + ((cx.max - cx.min) * (i + 0.5)) / n, u = cy.min + ((cy.max - cy.min) * (j + 0.5)) / m;
        el("svg:rect", { x: ax.x(cx.min + ((cx.max - cx.min) * i) / n), y: ax.y(cy.min + ((cy.max - cy.min) * (j + 1)) / m),
          width: 300 / n + 0.5, height: 290 / m + 0.5, fill: shade(phaseRate(e, u, ev, false)) }, ax.g);
      }
      // Nesterov's stability limit η·L < 2(1 + μ)/(1 + 2μ): left of the dashed curve it converges
      var d = "";
      for (var k = 0; k <= 60; k++) {
        var mu = cy.min + ((cy.max - cy.min) * k) / 60;
        d += (k ? "L" : "M") + ax.x(core.stabilityLimit(mu, true)).toFixed(2) + " " + ax.y(mu).toFixed(2);
      }
      el("svg:path", { d: d, stroke: "#000", "stroke-width": 2, "stroke-dasharray": "6 4", fill: "none",
        class: "lrbook-live-nesterov-limit" }, ax.g);
      // key: colour scale of heavy ball's r, the grey of divergence, Nesterov's limit
      var ky = 356;
      el("svg:text", { x: 20, y: ky + 4, "font-size": 12 }, svg, "heavy ball's r:");
      el("svg:text", { x: 128, y: ky + 4, "font-size": 12, "text-anchor": "end" }, svg, "0");
      for (var q = 0; q < 20; q++) el("svg:rect", { x: 133 + 5 * q, y: ky - 6, width: 5.5, height: 12, fill: shade((q + 0.5) / 20) }, svg);
      el("svg:text", { x: 238, y: ky + 4, "font-size": 12 }, svg, "1");
      el("svg:rect", { x: 258, y: ky - 6, width: 14, height: 12, fill: shade(1), stroke: "#999" }, svg);
      el("svg:text", { x: 277, y: ky + 4, "font-size": 12 }, svg, "r ≥ 1: diverges");
      el("svg:line", { x1: 400, x2: 430, y1: ky, y2: ky, stroke: "#000", "stroke-width": 2, "stroke-dasharray": "6 4" }, svg);
      el("svg:text", { x: 436, y: ky + 4, "font-size": 12 }, svg, "Nesterov's stability limit");
      var dot = el("svg:circle", { cx: ax.x(state[spec.phase.x]), cy: ax.y(state[spec.phase.y]), r: 8, fill: "#d62728",
        stroke: "#fff", "stroke-width": 2, class: "lrbook-live-handle" }, svg);
      el("svg:title", {}, dot, "drag to set η·L and μ (or use the sliders)");
      dot.style.cursor = "grab";
      dot.style.touchAction = "none";
      dot.addEventListener("pointerdown", function (ev2) { dragging = true; ev2.preventDefault(); });
    }

    // dragging the point of the (η·L, μ) plane: listeners on the window, because every
    // update redraws the SVG (and so replaces the point)
    var dragging = false;
    function dragTo(ev2) {
      var cx = inputs[spec.phase.x].control, cy = inputs[spec.phase.y].control;
      var pt = svg.createSVGPoint(); pt.x = ev2.clientX; pt.y = ev2.clientY;
      var q = pt.matrixTransform(svg.getScreenCTM().inverse());
      var e = cx.min + ((q.x - 60) / 300) * (cx.max - cx.min), u = cy.min + ((296 - q.y) / 290) * (cy.max - cy.min);
      setControl(cx.name, Math.min(cx.max, Math.max(cx.min, e)));
      setControl(cy.name, Math.min(cy.max, Math.max(cy.min, u)));
      update();
    }
    if (spec.phase) {
      window.addEventListener("pointermove", function (ev2) { if (dragging) dragTo(ev2); });
      window.addEventListener("pointerup", function (ev2) { if (dragging) { dragTo(ev2); dragging = false; } });
    }

    function setControl(name, v) {
      var inp = inputs[name].input;
      inp.value = String(v); // the browser snaps it to the slider's steps
      state[name] = Number(inp.value);
    }

    function update() {
      spec.controls.forEach(function (c) {
        var vis = core.active(c, state);
        inputs[c.name].wrap.style.display = vis ? "" : "none";
        var inp = inputs[c.name].input;
        if (inp._shown) {
          var raw = state[c.name], val = core.controlValue(c, raw);
          inp._shown.textContent = c.transform === "pow10" || c.transform === "one_minus_pow10"
            ? raw + " → " + fmt(val) : c.integer || c.transform === "times" ? String(raw) : fmt(val);
        }
      });
      var values, data;
      try {
        values = core.parameterValues(spec, state);
        data = core.compute(spec, state);
      } catch (err) {
        readout.textContent = "invalid setting: " + err.message;
        readout.setAttribute("data-values", "null");
        return;
      }
      draw(values, data);
      var text = [];
      spec.controls.forEach(function (c) {
        if (c.marks && core.active(c, state)) {
          stabilityMark(c, values).forEach(function (m) { text.push(m.label + " = " + fmt(m.lr)); });
        }
      });
      Object.keys(data).forEach(function (k) {
        var v = data[k];
        if (k === "marker") { text.push("η at t = " + v[0] + ": " + fmt(v[1])); return; }
        if (spec.kind === "schedule") {
          var sym = /momentum/.test(k) ? "μ" : "η";
          text.push(k + ": " + sym + " at t = 0: " + fmt(v[0]) + ", at t = " + (v.length - 1) + ": " + fmt(v[v.length - 1]));
        } else {
          var last = v[v.length - 1];
          if (last === null) { text.push(k + ": diverged"); return; }
          var p = problemOf(values);
          text.push(k + ": θ after " + (v.length - 1) + " steps = (" + last.map(fmt).join(", ") + "), f = " + fmt(p.f(last)));
        }
      });
      if (spec.phase) {
        var ev = phaseCurvatures(), e = state[spec.phase.x], u = state[spec.phase.y];
        text.push("r per step: heavy ball " + fmt(phaseRate(e, u, ev, false)) + ", Nesterov " + fmt(phaseRate(e, u, ev, true)) +
          " (Nesterov's limit η·L < " + fmt(core.stabilityLimit(u, true)) + ")");
      }
      readout.textContent = text.join(" · ");
      readout.setAttribute("data-values", JSON.stringify(data));
      // datalist ticks for the stability marks
      spec.controls.forEach(function (c) {
        if (!c.marks) return;
        var inp = inputs[c.name].input;
        var box = inp._marks;
        if (!box) {
          var holder = el("span", { class: "lrbook-live-slider" });
          inp.parentNode.insertBefore(holder, inp);
          holder.appendChild(inp);
          box = inp._marks = el("span", { class: "lrbook-live-marks", "aria-hidden": "true" }, holder);
        }
        box.innerHTML = "";
        var marks = stabilityMark(c, values);
        marks.forEach(function (m, i) {
          var f = (m.value - c.min) / (c.max - c.min);
          if (f < 0 || f > 1) return;
          // the thumb's centre travels from 8 px to width − 8 px; with two marks the first one's
          // label goes to the left of its triangle, so that close marks (1/L, 2/L) do not overlap
          var leftLabel = marks.length > 1 && i === 0;
          el("span", { class: "lrbook-live-mark" + (leftLabel ? " lrbook-live-mark-left" : ""),
            style: "left: calc(8px + (100% - 16px) * " + f.toFixed(4) + ")" }, box, leftLabel ? m.label + "▲" : "▲" + m.label);
        });
      });
    }

    root.classList.add("lrbook-live-on");
    update();
    root.setAttribute("data-lrbook-live-ready", "1");
  }

  // the static picture stays; its note says why
  function failed(root, why) {
    var ui = root.querySelector(".lrbook-live-ui");
    if (ui) ui.parentNode.removeChild(ui);
    root.classList.remove("lrbook-live-on");
    var note = root.querySelector(".lrbook-live-note");
    if (note) note.textContent = "The live version of this figure could not start (" + why + "); this is a picture of its default setting.";
    root.setAttribute("data-lrbook-live-failed", why);
  }

  function mountAll(roots, core) {
    roots.forEach(function (root) {
      try { mount(root, core); } catch (err) { failed(root, "error: " + err.message); if (window.console) console.error(err); }
    });
  }

  function start() {
    var roots = Array.prototype.slice.call(document.querySelectorAll(".lrbook-live[data-lrbook-live]"));
    if (!roots.length) return;
    if (window.lrbookCore) { mountAll(roots, window.lrbookCore); return; }
    // core.js was not loaded before this script: load it (a classic script also loads from file://)
    var script = document.createElement("script");
    script.src = base + "core.js";
    script.onload = function () {
      if (window.lrbookCore) mountAll(roots, window.lrbookCore);
      else roots.forEach(function (root) { failed(root, "core.js did not define lrbookCore"); });
    };
    script.onerror = function () { roots.forEach(function (root) { failed(root, "its script core.js did not load"); }); };
    document.head.appendChild(script);
  }

  var css = document.createElement("style");
  css.textContent =
    ".lrbook-live-on > .lrbook-live-static, .lrbook-live-on > .lrbook-live-note { display: none; }" +
    ".lrbook-live-controls { display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; margin: 0.4em 0; font-size: 0.9em; }" +
    ".lrbook-live-control { display: flex; align-items: center; gap: 0.4em; }" +
    ".lrbook-live-slider { position: relative; display: inline-block; padding-bottom: 1.1em; }" +
    ".lrbook-live-slider input { margin: 0; }" +
    ".lrbook-live-marks { position: absolute; left: 0; right: 0; top: 1.3em; height: 1em; }" +
    ".lrbook-live-mark { position: absolute; transform: translateX(-0.45em); font-size: 0.75em; color: #b00; white-space: nowrap; }" +
    ".lrbook-live-mark-left { transform: translateX(calc(-100% + 0.45em)); }" +
    ".lrbook-live-readout { display: block; font-size: 0.85em; font-family: monospace; }" +
    ".lrbook-live-label sub { font-size: 75%; }" +
    ".lrbook-live-ui { background: #fff; color: #222; padding: 0.3em; }" +
    "@media print { .lrbook-live-ui { display: none; } .lrbook-live-on > .lrbook-live-static { display: block; } }";
  document.head.appendChild(css);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
