/*
 * app.js: the page around the flame graph. Picks a series from
 * /api/v1/series, a time range (presets, or a drag on the time-line drawn
 * from /api/v1/totals: CPU as cores, other kinds as their totals), asks
 * /api/v1/flamegraph or /api/v1/diff, and fills the top-functions table
 * from the same elements. The state lives in the URL's hash, so a view can
 * be linked and reloaded.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { series: [], from: 0, to: 0, sortKey: "self", elements: [] };
  let flame;
  let seq = 0; // answers to older requests are dropped

  function status(text, error) {
    const s = $("status");
    s.textContent = text;
    s.className = error ? "status error" : "status";
  }

  async function getJSON(path, params) {
    const url = path + (params ? "?" + new URLSearchParams(params) : "");
    const r = await fetch(url);
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  function fmtValue(v, unit) {
    unit = unit || state.unit;
    if (unit === "nanoseconds") {
      if (v >= 1e9) return (v / 1e9).toFixed(2) + " s";
      if (v >= 1e6) return (v / 1e6).toFixed(2) + " ms";
      return (v / 1e3).toFixed(1) + " µs";
    }
    if (unit === "bytes") {
      const u = ["B", "KiB", "MiB", "GiB", "TiB"];
      let k = 0;
      while (v >= 1024 && k < u.length - 1) { v /= 1024; k++; }
      return v.toFixed(k ? 1 : 0) + " " + u[k];
    }
    return Math.round(v).toLocaleString();
  }

  function fmtTime(t) {
    return new Date(t * 1000).toISOString().replace(".000", "").replace("T", " ");
  }

  function fill(sel, values, keep) {
    const old = keep !== undefined ? keep : sel.value;
    sel.textContent = "";
    values.forEach((v) => {
      const o = document.createElement("option");
      o.value = v[0];
      o.textContent = v[1];
      sel.appendChild(o);
    });
    if (values.some((v) => v[0] === old)) sel.value = old;
  }

  function uniq(a) {
    return Array.from(new Set(a)).sort();
  }

  function current() {
    return state.series.filter((s) => s.service === $("service").value &&
      s.kind === $("kind").value &&
      ($("instance").value === "" || s.instance === $("instance").value));
  }

  function pickers(hash) {
    const all = state.series;
    fill($("service"), uniq(all.map((s) => s.service)).map((v) => [v, v]), hash.service);
    const sv = all.filter((s) => s.service === $("service").value);
    fill($("kind"), uniq(sv.map((s) => s.kind)).map((v) => [v, v]), hash.kind);
    const kv = sv.filter((s) => s.kind === $("kind").value);
    fill($("instance"), [["", "all"]].concat(
      uniq(kv.map((s) => s.instance)).filter((v) => v !== "").map((v) => [v, v])), hash.instance);
    const vts = [];
    kv.forEach((s) => s.valueTypes.forEach((t) => vts.push(t.type)));
    fill($("valueType"), uniq(vts).map((v) => [v, v]), hash.valueType);
  }

  function params() {
    const p = { service: $("service").value, kind: $("kind").value,
      valueType: $("valueType").value, from: state.from, to: state.to };
    if ($("instance").value) p.instance = $("instance").value;
    return p;
  }

  function saveHash() {
    const p = params();
    if ($("diff").checked) p.diff = "1";
    history.replaceState(null, "", "#" + new URLSearchParams(p));
  }

  function bounds() {
    const cur = current();
    if (!cur.length) return [0, 0];
    return [Math.min(...cur.map((s) => s.from)), Math.max(...cur.map((s) => s.to))];
  }

  function preset(seconds) {
    const [first, last] = bounds();
    state.to = last;
    state.from = seconds === "all" ? first : Math.max(first, last - Number(seconds));
    if (state.from >= state.to) state.from = state.to - 60;
    document.querySelectorAll("#presets button").forEach((b) =>
      b.classList.toggle("on", b.dataset.range === String(seconds)));
    refresh();
  }

  /* ---- the time-line: one point per window over the series' life ---- */

  /* The service's CPU in cores when it has CPU windows, else the
   * selected kind's totals. */
  async function timeline() {
    const [first, last] = bounds();
    const p = params();
    p.from = first;
    p.to = last;
    // ask only for what exists: a 404 would be an error in the console
    const cpu = state.series.some((s) => s.service === p.service && s.kind === "cpu" &&
      (!p.instance || s.instance === p.instance));
    let pts = [];
    try {
      pts = (await getJSON("/api/v1/totals",
        cpu ? { ...p, kind: "cpu", valueType: "cpu" } : p)).points;
    } catch (e) {
      pts = [];
    }
    state.timeline = { first: first, last: last, pts: pts, cpu: cpu };
    drawTimeline();
  }

  function drawTimeline() {
    const c = $("timeline");
    const tl = state.timeline;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 800;
    const h = c.clientHeight || 70;
    c.width = w * dpr;
    c.height = h * dpr;
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    if (!tl || tl.last <= tl.first) return;
    const cpu = tl.cpu;
    const val = (pt) => cpu ? pt.total / 1e9 / Math.max(pt.to - pt.from, 1e-9) : pt.total;
    const max = Math.max(1e-9, ...tl.pts.map(val));
    const x = (t) => (t - tl.first) / (tl.last - tl.first) * w;
    g.fillStyle = "rgba(21,101,192,.12)";
    g.fillRect(x(state.from), 0, Math.max(x(state.to) - x(state.from), 1), h);
    g.strokeStyle = "#1565c0";
    g.beginPath();
    tl.pts.forEach((pt, k) => {
      const y = h - 4 - val(pt) / max * (h - 16);
      if (k) g.lineTo(x(pt.from), y); else g.moveTo(x(pt.from), y);
      g.lineTo(x(pt.to), y);
    });
    g.stroke();
    g.fillStyle = "#555";
    g.font = "11px system-ui";
    g.fillText(cpu ? "max " + max.toFixed(2) + " cores" : "max " + fmtValue(max), 4, 11);
  }

  function timelineDrag() {
    const c = $("timeline");
    let start = null;
    const t = (e) => {
      const tl = state.timeline;
      const r = c.getBoundingClientRect();
      const f = Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1);
      return Math.round(tl.first + f * (tl.last - tl.first));
    };
    c.addEventListener("mousedown", (e) => { if (state.timeline) start = t(e); });
    window.addEventListener("mouseup", (e) => {
      if (start === null) return;
      const end = t(e);
      const a = Math.min(start, end);
      const b = Math.max(start, end);
      start = null;
      if (b - a < 1) return;
      state.from = a;
      state.to = b;
      document.querySelectorAll("#presets button").forEach((x) => x.classList.remove("on"));
      refresh();
    });
  }

  /* ---- the flame graph and the table ---- */

  async function refresh() {
    saveHash();
    drawTimeline();
    const p = params();
    const diff = $("diff").checked;
    const len = state.to - state.from;
    if (diff) {
      p.baseFrom = state.from - len;
      p.baseTo = state.from;
    }
    $("download").href = "/api/v1/profile?" + new URLSearchParams(params());
    $("range").textContent = fmtTime(state.from) + " — " + fmtTime(state.to) +
      (diff ? "   (against " + fmtTime(p.baseFrom) + " — " + fmtTime(p.baseTo) + ")" : "");
    const my = ++seq;
    status("loading…");
    try {
      const t0 = performance.now();
      const data = await getJSON(diff ? "/api/v1/diff" : "/api/v1/flamegraph", p);
      if (my !== seq) return;
      state.unit = data.unit;
      state.elements = data.elements;
      flame.setData(data, diff);
      crumbs([0]);
      table();
      runSearch();
      // what is on screen, for links and for the browser test
      document.body.dataset.shown = new URLSearchParams(p).toString();
      status(data.elements.length.toLocaleString() + " frames" +
        (data.omitted ? " (" + data.omitted.toLocaleString() + " small ones left out)" : "") +
        ", total " + fmtValue(data.total) + (diff ? ", base " + fmtValue(data.baseTotal) : "") +
        " — " + Math.round(performance.now() - t0) + " ms");
    } catch (e) {
      if (my !== seq) return;
      flame.setData({ elements: [] }, false);
      state.elements = [];
      table();
      status(e.message, true);
    }
  }

  function crumbs(path) {
    const nav = $("crumbs");
    nav.textContent = "";
    path.forEach((i, k) => {
      if (k) {
        const s = document.createElement("span");
        s.className = "sep";
        s.textContent = "›";
        nav.appendChild(s);
      }
      const a = document.createElement("a");
      a.textContent = flame.names[i];
      a.addEventListener("click", () => flame.zoomTo(i));
      nav.appendChild(a);
    });
  }

  /* Self and cumulative per function (the signature without its line);
   * cum counts a function once per path, however often it recurses. */
  function table() {
    const els = state.elements;
    const by = new Map();
    const onPath = new Map();
    const stack = [];
    for (let i = 0; i < els.length; i++) {
      const e = els[i];
      while (stack.length && stack[stack.length - 1] !== e.parentId) {
        const j = stack.pop();
        const f = fnName(els[j].codeSignature);
        onPath.set(f, onPath.get(f) - 1);
      }
      stack.push(i);
      if (i === 0) continue;
      const f = fnName(e.codeSignature);
      let row = by.get(f);
      if (!row) by.set(f, row = { name: f, self: 0, cum: 0 });
      row.self += e.self;
      if (!onPath.get(f)) row.cum += e.total;
      onPath.set(f, (onPath.get(f) || 0) + 1);
    }
    const root = els.length ? els[0].total || 1 : 1;
    const rows = Array.from(by.values());
    rows.forEach((r) => { r.selfPct = r.self / root * 100; r.cumPct = r.cum / root * 100; });
    const k = state.sortKey;
    rows.sort((a, b) => k === "name" ? a.name.localeCompare(b.name) : b[k] - a[k]);
    const tb = document.querySelector("#top tbody");
    tb.textContent = "";
    rows.slice(0, 300).forEach((r) => {
      const tr = document.createElement("tr");
      [r.name, fmtValue(r.self), r.selfPct.toFixed(2), fmtValue(r.cum), r.cumPct.toFixed(2)]
        .forEach((v, c) => {
          const td = document.createElement("td");
          td.textContent = v;
          if (c) td.className = "num";
          tr.appendChild(td);
        });
      tr.addEventListener("click", () => { $("search").value = r.name; runSearch(); });
      tb.appendChild(tr);
    });
    document.querySelectorAll("#top th").forEach((th) =>
      th.classList.toggle("sorted", th.dataset.key === k));
  }

  function fnName(sig) {
    const c = sig.lastIndexOf(":");
    return c > 0 ? sig.slice(0, c) : sig;
  }

  function runSearch() {
    const q = $("search").value.trim();
    const r = flame.search(q);
    const root = flame.rootTotal() || 1;
    $("matches").textContent = q ? r.count + " frames, " + fmtValue(r.total) + " (" +
      (100 * r.total / root).toFixed(2) + "%)" : "";
  }

  async function start() {
    flame = new window.FlameGraph($("flame"), $("tooltip"), {
      zoom: crumbs,
      format: (v) => fmtValue(v),
    });
    const hash = Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
    try {
      state.series = (await getJSON("/api/v1/series")).series;
    } catch (e) {
      status(e.message, true);
      return;
    }
    if (!state.series.length) {
      status("the store holds no windows yet");
      return;
    }
    pickers(hash);
    ["service", "kind", "instance"].forEach((id) => $(id).addEventListener("change", () => {
      pickers({});
      timeline().then(() => preset("3600"));
    }));
    $("valueType").addEventListener("change", () => { timeline(); refresh(); });
    $("diff").addEventListener("change", refresh);
    document.querySelectorAll("#presets button").forEach((b) =>
      b.addEventListener("click", () => preset(b.dataset.range)));
    document.querySelectorAll("#top th").forEach((th) => th.addEventListener("click", () => {
      state.sortKey = th.dataset.key;
      table();
    }));
    let timer;
    $("search").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(runSearch, 120);
    });
    window.addEventListener("resize", drawTimeline);
    timelineDrag();
    // a link or the back button changes the hash: show what it names
    window.addEventListener("hashchange", () =>
      applyHash(Object.fromEntries(new URLSearchParams(location.hash.slice(1)))));
    await applyHash(hash);
  }

  async function applyHash(hash) {
    pickers(hash);
    $("diff").checked = hash.diff === "1";
    await timeline();
    if (hash.from && hash.to) {
      state.from = Number(hash.from);
      state.to = Number(hash.to);
      refresh();
    } else {
      preset("3600");
    }
  }

  start();
})();
