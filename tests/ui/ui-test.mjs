// Browser test of the store's web UI. Starts a real profpipe-exporter with
// a store output on a scratch run directory (waiting on --ready-fd), sends
// it windows over its real results socket with build/bench/store-feed (the
// goapp CPU profile as service "shop", the 15k-stack synthetic one as
// "big"), then drives Debian's chromium, headless, with playwright-core.
// Each check is one test; the run ends with "ui: N passed, N failed" and a
// screenshot in build/ui/.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CORPUS = path.resolve(ROOT, "../shared/corpus");
const FEED = path.join(ROOT, "build/bench/store-feed");
const OUT = path.join(ROOT, "build/ui");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

// The exporter, started with --ready-fd 3 and waited on (no sleeps).
function startExporter(run, cfg) {
  const log = fs.openSync(path.join(run, "exporter.log"), "a");
  const child = spawn(path.join(ROOT, "bin/profpipe-exporter"),
    ["-c", cfg, "--ready-fd", "3"],
    { stdio: ["ignore", "ignore", log, "pipe"], env: { ...process.env, PROFPIPE_RUN: run } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("exporter not ready in 20 s")), 20000);
    child.stdio[3].on("data", () => { clearTimeout(timer); resolve(child); });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error("exporter exited " + code)); });
  });
}

function feed(run, file, service, start, n, kind = "cpu") {
  return execFileSync(FEED, ["send", "ipc://" + run + "/results.ipc", file, kind, service,
    "127.0.0.1:6060", String(start), String(n), "60"],
  { env: { ...process.env, PROFPIPE_RUN: run } }).toString().trim().split("\n");
}

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, null]);
    console.log("ok   " + name);
  } catch (e) {
    results.push([name, e]);
    console.log("FAIL " + name + ": " + (e && e.stack ? e.stack : e));
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Pixels of the flame canvas that are not background, and those in the
// search highlight colour.
async function canvasStats(page) {
  return page.evaluate(() => {
    const c = document.getElementById("flame");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    let purple = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] && !(d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250)) painted++;
      if (Math.abs(d[i] - 0xab) < 3 && Math.abs(d[i + 1] - 0x47) < 3 && Math.abs(d[i + 2] - 0xbc) < 3) purple++;
    }
    return { painted, purple };
  });
}

async function main() {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), "profpipe-ui-"));
  const port = await freePort();
  const cfg = path.join(run, "profpipe.yaml");
  fs.writeFileSync(cfg, "outputs:\n  - Type: store\n    Path: " + run + "/profpipe.db\n" +
    "    Listen: 127.0.0.1:" + port + "\n    Retention: 0\n");
  fs.mkdirSync(OUT, { recursive: true });
  const exporter = await startExporter(run, cfg);
  let browser;
  try {
    const t0 = Math.floor(Date.now() / 60000) * 60 - 1800;
    feed(run, path.join(CORPUS, "real/goapp-cpu.pb.gz"), "shop", t0, 5);
    feed(run, path.join(CORPUS, "synth/cpu-large.pb.gz"), "big", t0, 2);
    feed(run, path.join(CORPUS, "real/goapp-heap.pb.gz"), "heapsvc", t0, 2, "mem");
    const base = "http://127.0.0.1:" + port + "/";
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    const hash = "#service=shop&kind=cpu&valueType=cpu&from=" + t0 + "&to=" + (t0 + 300);

    await check("page loads with no console errors", async () => {
      await page.goto(base + hash);
      await page.waitForFunction(() => /service=shop/.test(document.body.dataset.shown || ""),
        null, { timeout: 30000 });
      assert(errors.length === 0, "console errors: " + errors.join("; "));
    });

    await check("the flame graph draws", async () => {
      const s = await canvasStats(page);
      assert(s.painted > 5000, "only " + s.painted + " painted pixels");
      const rows = await page.locator("#top tbody tr").count();
      assert(rows > 5, "top-functions table has " + rows + " rows");
    });

    await check("clicking a frame zooms, the breadcrumb zooms out", async () => {
      // the widest child of the root, where the page draws it
      const q = new URLSearchParams({ service: "shop", kind: "cpu", from: t0, to: t0 + 300 });
      const fg = await (await fetch(base + "api/v1/flamegraph?" + q)).json();
      let x = 0;
      let best = null;
      for (const e of fg.elements) {
        if (e.parentId !== 0) continue;
        if (!best || e.total > best.total) best = { total: e.total, mid: x + e.total / 2, sig: e.codeSignature };
        x += e.total;
      }
      const box = await page.locator("#flame").boundingBox();
      await page.mouse.click(box.x + box.width * best.mid / fg.total, box.y + 18 + 9);
      const crumbs = await page.locator("#crumbs a").allTextContents();
      assert(crumbs.length === 2 && crumbs[1] === best.sig, "crumbs: " + JSON.stringify(crumbs));
      await page.locator("#crumbs a").first().click();
      assert(await page.locator("#crumbs a").count() === 1, "breadcrumb did not zoom out");
    });

    await check("search highlights a known hot function and sums it", async () => {
      await page.fill("#search", "sha256");
      await page.waitForFunction(() => document.getElementById("matches").textContent !== "",
        null, { timeout: 10000 });
      const text = await page.locator("#matches").textContent();
      assert(/^[1-9]\d* frames, .*\((\d+\.\d+)%\)$/.test(text), "matches: " + text);
      const pct = Number(text.match(/\((\d+\.\d+)%\)/)[1]);
      assert(pct > 1 && pct <= 100, "sha256 share " + pct);
      const s = await canvasStats(page);
      assert(s.purple > 200, "highlighted pixels: " + s.purple);
      await page.screenshot({ path: path.join(OUT, "store-ui-search.png"), fullPage: true });
      await page.fill("#search", "");
    });

    await check("the top-functions table sorts by cum", async () => {
      await page.click("#top th[data-key=cum]");
      const cls = await page.locator("#top th[data-key=cum]").getAttribute("class");
      assert(/sorted/.test(cls || ""), "cum header not marked sorted");
      const pcts = (await page.locator("#top tbody tr td:nth-child(5)").allTextContents()).map(Number);
      for (let i = 1; i < pcts.length; i++) assert(pcts[i - 1] >= pcts[i], "not sorted by cum");
    });

    await check("diff mode colours against the range before", async () => {
      await page.goto(base + "#service=shop&kind=cpu&valueType=cpu&diff=1&from=" + (t0 + 180) +
        "&to=" + (t0 + 300));
      await page.waitForFunction(() => /baseFrom=/.test(document.body.dataset.shown || ""),
        null, { timeout: 30000 });
      const s = await canvasStats(page);
      assert(s.painted > 5000, "diff drew " + s.painted + " pixels");
    });

    await check("a heap series without CPU shows, with no console errors", async () => {
      await page.goto(base + "#service=heapsvc&kind=mem&valueType=inuse_space&from=" + t0 +
        "&to=" + (t0 + 120));
      await page.waitForFunction(() => /service=heapsvc/.test(document.body.dataset.shown || ""),
        null, { timeout: 30000 });
      const s = await canvasStats(page);
      assert(s.painted > 1000, "drew " + s.painted + " pixels");
      assert(/ B|KiB|MiB/.test(await page.locator("#status").textContent()), "no bytes in status");
      assert(errors.length === 0, "console errors: " + errors.join("; "));
    });

    await check("a 15k-stack service draws its tens of thousands of frames", async () => {
      await page.goto(base + "#service=big&kind=cpu&valueType=cpu&from=" + t0 + "&to=" + (t0 + 120));
      await page.waitForFunction(() => /service=big/.test(document.body.dataset.shown || ""),
        null, { timeout: 60000 });
      const text = await page.locator("#status").textContent();
      const n = Number(text.split(" ")[0].replace(/,/g, ""));
      assert(n >= 10000, "status: " + text);
      const s = await canvasStats(page);
      assert(s.painted > 5000, "drew " + s.painted + " pixels");
      await page.fill("#search", "net/http");
      await page.waitForFunction(() => document.getElementById("matches").textContent !== "",
        null, { timeout: 10000 });
      await page.screenshot({ path: path.join(OUT, "store-ui.png"), fullPage: false });
      assert(errors.length === 0, "console errors: " + errors.join("; "));
    });
  } finally {
    if (browser) await browser.close();
    exporter.kill("SIGTERM");
    await new Promise((r) => exporter.exitCode !== null ? r() : exporter.on("exit", r));
    if (exporter.exitCode !== 0) results.push(["exporter exits 0 on SIGTERM", new Error("exit " + exporter.exitCode)]);
    fs.rmSync(run, { recursive: true, force: true });
  }
}

main().catch((e) => {
  results.push(["setup", e]);
  console.log("FAIL setup: " + (e && e.stack ? e.stack : e));
}).finally(() => {
  const failed = results.filter((r) => r[1]).length;
  console.log("ui: " + (results.length - failed) + " passed, " + failed + " failed");
  process.exit(failed ? 1 : 0);
});
