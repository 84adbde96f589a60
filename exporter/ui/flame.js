/*
 * flame.js: a flame graph on a canvas, from the API's elements (pre-order,
 * root first, {id, parentId, codeSignature, total, self} and in diff mode
 * baseTotal/baseSelf). Root at the top, callees below. Click a frame to
 * zoom into it, search to highlight frames by name, hover for a tooltip.
 *
 * Built for trees of tens of thousands of elements: the tree is kept in
 * typed arrays, a subtree is a contiguous run of the pre-order (end[i]),
 * and drawing skips any frame narrower than half a pixel together with
 * its whole subtree, so a redraw touches only what can be seen.
 */
"use strict";

(function () {
  const ROW = 18;
  const FONT = "12px ui-monospace, monospace";

  function hashName(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  /* The package part of "pkg/path.Func:line" decides the hue family. */
  function warm(name) {
    const h = hashName(name.replace(/\.[^.]*$/, ""));
    const hue = 10 + (h % 40);
    const light = 55 + ((h >> 8) % 15);
    return "hsl(" + hue + ",80%," + light + "%)";
  }

  function FlameGraph(canvas, tooltip, events) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.events = events || {};
    this.n = 0;
    this.zoom = 0;
    this.match = null;
    this.rects = [];
    canvas.addEventListener("click", (e) => this.onClick(e));
    canvas.addEventListener("mousemove", (e) => this.onMove(e));
    canvas.addEventListener("mouseleave", () => { this.tooltip.hidden = true; });
    window.addEventListener("resize", () => this.draw());
  }

  FlameGraph.prototype.setData = function (data, diff) {
    const els = data.elements || [];
    const n = els.length;
    this.n = n;
    this.diff = !!diff;
    this.unit = data.unit || "";
    this.parent = new Int32Array(n);
    this.total = new Float64Array(n);
    this.self = new Float64Array(n);
    this.base = new Float64Array(n);
    this.depth = new Int32Array(n);
    this.end = new Int32Array(n);
    this.names = new Array(n);
    this.maxDepth = 0;
    for (let i = 0; i < n; i++) {
      const e = els[i];
      this.parent[i] = e.parentId;
      this.total[i] = e.total;
      this.self[i] = e.self;
      this.base[i] = e.baseTotal || 0;
      this.names[i] = e.codeSignature;
      this.depth[i] = e.parentId < 0 ? 0 : this.depth[e.parentId] + 1;
      if (this.depth[i] > this.maxDepth) this.maxDepth = this.depth[i];
    }
    // end[i]: one past the last element of i's subtree (pre-order)
    const stack = [];
    for (let i = 0; i < n; i++) {
      while (stack.length && stack[stack.length - 1] !== this.parent[i]) {
        this.end[stack.pop()] = i;
      }
      stack.push(i);
    }
    while (stack.length) this.end[stack.pop()] = n;
    this.baseRoot = n ? this.base[0] : 0;
    this.zoom = 0;
    this.match = null;
    this.draw();
  };

  FlameGraph.prototype.rootTotal = function () {
    return this.n ? this.total[0] : 0;
  };

  FlameGraph.prototype.path = function (i) {
    const p = [];
    for (let k = i; k >= 0; k = this.parent[k]) p.push(k);
    return p.reverse();
  };

  FlameGraph.prototype.zoomTo = function (i) {
    if (i < 0 || i >= this.n) return;
    this.zoom = i;
    this.draw();
    if (this.events.zoom) this.events.zoom(this.path(i));
  };

  /* Highlight frames whose name contains term (case-insensitive). The
   * matched total counts a frame only when no caller above it matched,
   * so recursion is not counted twice. */
  FlameGraph.prototype.search = function (term) {
    if (!term) {
      this.match = null;
      this.draw();
      return { count: 0, total: 0 };
    }
    const t = term.toLowerCase();
    const m = new Uint8Array(this.n);
    const covered = new Uint8Array(this.n);
    let count = 0;
    let total = 0;
    for (let i = 0; i < this.n; i++) {
      const p = this.parent[i];
      if (p >= 0 && (covered[p] || m[p])) covered[i] = 1;
      if (this.names[i].toLowerCase().indexOf(t) >= 0) {
        m[i] = 1;
        count++;
        if (!covered[i]) total += this.total[i];
      }
    }
    this.match = m;
    this.draw();
    return { count: count, total: total };
  };

  FlameGraph.prototype.color = function (i) {
    if (this.match && !this.match[i]) return "#e0e0e0";
    if (this.match) return "#ab47bc";
    if (!this.diff) return warm(this.names[i]);
    // diff: share of this range vs share of the base range
    const now = this.total[i] / (this.total[0] || 1);
    const before = this.base[i] / (this.baseRoot || 1);
    const d = now - before;
    const k = Math.min(1, Math.abs(d) / Math.max(now, before, 1e-9));
    if (d > 0) return "hsl(0," + Math.round(30 + 60 * k) + "%," + Math.round(85 - 30 * k) + "%)";
    if (d < 0) return "hsl(120," + Math.round(30 + 50 * k) + "%," + Math.round(85 - 30 * k) + "%)";
    return "hsl(0,0%,85%)";
  };

  FlameGraph.prototype.draw = function () {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 800;
    const z = this.zoom;
    const zdepth = this.n ? this.depth[z] : 0;
    const rows = this.n ? this.maxDepth + 1 : 1;
    const h = Math.max(ROW * 4, rows * ROW + 2);
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.height = h + "px";
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = FONT;
    g.textBaseline = "middle";
    this.rects = [];
    if (!this.n || this.total[0] <= 0) return;
    const scale = w / this.total[z];
    // callers of the zoomed frame: full width, above it
    const anc = this.path(z);
    for (let k = 0; k < anc.length - 1; k++) this.box(g, anc[k], 0, w, k);
    // the zoomed subtree; x advances per parent as children are placed
    const next = new Float64Array(this.end[z] - z);
    next[0] = 0;
    this.box(g, z, 0, this.total[z] * scale, zdepth);
    let i = z + 1;
    while (i < this.end[z]) {
      const p = this.parent[i] - z;
      const x = next[p];
      const width = this.total[i] * scale;
      next[p] += width;
      if (width < 0.5) {
        i = this.end[i]; // too narrow to see: skip the whole subtree
        continue;
      }
      next[i - z] = x;
      this.box(g, i, x, width, this.depth[i]);
      i++;
    }
  };

  FlameGraph.prototype.box = function (g, i, x, width, depth) {
    const y = depth * ROW;
    g.fillStyle = this.color(i);
    g.fillRect(x, y, Math.max(width - 0.5, 0.5), ROW - 1);
    this.rects.push(x, y, width, i);
    if (width > 28) {
      g.fillStyle = "#111";
      const name = this.names[i];
      const fit = Math.floor((width - 6) / 7);
      g.fillText(fit < name.length ? name.slice(0, Math.max(fit - 1, 1)) + "…" : name,
        x + 3, y + ROW / 2);
    }
  };

  FlameGraph.prototype.hit = function (e) {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const rc = this.rects;
    for (let k = 0; k < rc.length; k += 4) {
      if (x >= rc[k] && x < rc[k] + rc[k + 2] && y >= rc[k + 1] && y < rc[k + 1] + ROW) {
        return { i: rc[k + 3], x: x, y: y };
      }
    }
    return null;
  };

  FlameGraph.prototype.onClick = function (e) {
    const h = this.hit(e);
    if (h) this.zoomTo(h.i);
  };

  FlameGraph.prototype.onMove = function (e) {
    const h = this.hit(e);
    const tt = this.tooltip;
    if (!h) {
      tt.hidden = true;
      return;
    }
    const i = h.i;
    const root = this.total[0] || 1;
    const fmt = this.events.format || String;
    let text = this.names[i] + "\ntotal " + fmt(this.total[i]) + " (" +
      (100 * this.total[i] / root).toFixed(2) + "%)\nself " + fmt(this.self[i]) + " (" +
      (100 * this.self[i] / root).toFixed(2) + "%)";
    if (this.diff) {
      text += "\nbase total " + fmt(this.base[i]) + " (" +
        (100 * this.base[i] / (this.baseRoot || 1)).toFixed(2) + "%)";
    }
    tt.textContent = "";
    text.split("\n").forEach((line, k) => {
      if (k) tt.appendChild(document.createElement("br"));
      tt.appendChild(document.createTextNode(line));
    });
    tt.hidden = false;
    const left = Math.min(h.x + 16, this.canvas.clientWidth - 300);
    tt.style.left = Math.max(left, 0) + "px";
    tt.style.top = (h.y + 16) + "px";
  };

  window.FlameGraph = FlameGraph;
})();
