"""The store output and its HTTP API, end to end.

Windows reach a real profpipe-exporter over its real results socket, sent
by build/bench/store-feed exactly as the aggregator sends them (REQ, one
Result{window} each, waiting for the ack), or come from the whole pull
pipeline and a real Go service. The API is then asked over HTTP, the
database is opened by this (second) process with Python's sqlite3, and
/api/v1/profile is opened with `go tool pprof`.
"""

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import (BUILD, CORPUS, ROOT, GoApp, Pipeline, free_port,
                     pull_config, wait_until)

FEED = os.path.join(BUILD, "bench", "store-feed")
GOAPP_CPU = os.path.join(CORPUS, "real", "goapp-cpu.pb.gz")


def setUpModule():
    # The Makefile names its targets relative to the checkout.
    subprocess.run(["make", "--no-print-directory", "-s", os.path.relpath(FEED, ROOT)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def store_config(db, port, extra=""):
    return ("outputs:\n"
            "  - Type: store\n"
            "    Path: %s\n"
            "    Listen: 127.0.0.1:%d\n"
            "    Retention: 0\n" % (db, port)) + extra


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Api:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def get(self, path, **params):
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def json(self, path, **params):
        status, ctype, body = self.get(path, **params)
        if status != 200:
            raise AssertionError("%s %s: %d %s" % (path, params, status, body[:300]))
        return json.loads(body)


def feed(pipe, n, start, step=60, kind="cpu", service="shop",
         instance="127.0.0.1:6060", path=GOAPP_CPU):
    """Send n windows; [(id, start, total)] as store-feed acked them."""
    out = subprocess.run(
        [FEED, "send", "ipc://%s/results.ipc" % pipe.dir, path, kind, service, instance,
         str(start), str(n), str(step)],
        env=pipe.env, check=True, stdout=subprocess.PIPE, timeout=120).stdout.decode()
    rows = [l.split() for l in out.splitlines()]
    return [(r[1], int(r[2]), int(r[3])) for r in rows]


def pprof_total(path):
    """The sum of every sample's value, as `go tool pprof -raw` reads it."""
    out = subprocess.run(["go", "tool", "pprof", "-raw", path], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=60).stdout.decode()
    lines = out.split("Samples:\n", 1)[1].splitlines()[1:]
    total = 0
    for line in lines:
        if ":" not in line or not line.strip()[0].isdigit():
            break
        total += int(line.split(":")[0])
    return total


class StoreFromWindows(unittest.TestCase):
    """Windows sent by hand over the real socket."""

    @classmethod
    def setUpClass(cls):
        cls.pipe = Pipeline()
        cls.port = free_port()
        cls.db = cls.pipe.path("profpipe.db")
        cfg = cls.pipe.write_config(store_config(cls.db, cls.port))
        cls.exporter = cls.pipe.start("exporter", ["-c", cfg])
        cls.api = Api(cls.port)
        cls.t0 = (int(time.time()) // 60) * 60 - 3600
        cls.windows = feed(cls.pipe, 6, cls.t0)
        cls.other = feed(cls.pipe, 2, cls.t0, instance="127.0.0.1:6061")

    @classmethod
    def tearDownClass(cls):
        codes = cls.pipe.stop_all()
        assert codes == {"exporter": 0}, codes

    def test_series(self):
        series = self.api.json("/api/v1/series")["series"]
        mine = [s for s in series if s["service"] == "shop"]
        self.assertEqual(sorted(s["instance"] for s in mine),
                         ["127.0.0.1:6060", "127.0.0.1:6061"])
        s = [s for s in mine if s["instance"] == "127.0.0.1:6060"][0]
        self.assertEqual(s["kind"], "cpu")
        self.assertEqual(s["from"], self.t0)
        self.assertEqual(s["to"], self.t0 + 6 * 60)
        self.assertEqual(s["windows"], 6)
        self.assertIn({"type": "cpu", "unit": "nanoseconds"}, s["valueTypes"])

    def test_flamegraph_root_is_the_windows_total(self):
        # windows 1..3 of instance :6060, the range given in both notations
        want = sum(w[2] for w in self.windows[1:4])
        for frm, to in ((self.t0 + 60, self.t0 + 240),
                        (rfc3339(self.t0 + 60), rfc3339(self.t0 + 240))):
            fg = self.api.json("/api/v1/flamegraph", service="shop", kind="cpu",
                               instance="127.0.0.1:6060", **{"from": frm, "to": to})
            root = fg["elements"][0]
            self.assertEqual((root["id"], root["parentId"], root["codeSignature"]),
                             (0, -1, "root"))
            self.assertEqual(root["total"], want)
            self.assertEqual(fg["total"], want)
            self.assertEqual(fg["unit"], "nanoseconds")
            kids = sum(e["total"] for e in fg["elements"] if e["parentId"] == 0)
            self.assertEqual(kids + root["self"], want)
            # pre-order: every parent comes before its children
            ids = set()
            for e in fg["elements"]:
                self.assertTrue(e["parentId"] == -1 or e["parentId"] in ids)
                ids.add(e["id"])
        # every instance: both instances' windows in the range
        fg = self.api.json("/api/v1/flamegraph", service="shop", kind="cpu",
                           **{"from": self.t0, "to": self.t0 + 120})
        want = sum(w[2] for w in self.windows[:2]) + sum(w[2] for w in self.other)
        self.assertEqual(fg["elements"][0]["total"], want)

    def test_flamegraph_agrees_with_the_database(self):
        """A second process reads the database the exporter writes."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            (dbtotal,) = con.execute(
                "SELECT SUM(t.total) FROM windows w JOIN window_totals t ON"
                " t.window_id = w.id JOIN value_types v ON v.id = t.value_type_id"
                " JOIN series s ON s.id = w.series_id WHERE s.service = 'shop'"
                " AND v.type = 'cpu'").fetchone()
        finally:
            con.close()
        fg = self.api.json("/api/v1/flamegraph", service="shop", kind="cpu",
                           **{"from": self.t0, "to": self.t0 + 3600})
        self.assertEqual(fg["elements"][0]["total"], dbtotal)
        self.assertEqual(dbtotal, sum(w[2] for w in self.windows + self.other))

    def test_max_nodes(self):
        full = self.api.json("/api/v1/flamegraph", service="shop", kind="cpu",
                             **{"from": self.t0, "to": self.t0 + 3600})
        small = self.api.json("/api/v1/flamegraph", service="shop", kind="cpu",
                              maxNodes=7, **{"from": self.t0, "to": self.t0 + 3600})
        self.assertGreater(len(full["elements"]), 7)
        self.assertLessEqual(len(small["elements"]), 7)
        self.assertEqual(small["omitted"], len(full["elements"]) - len(small["elements"]))
        self.assertEqual(small["elements"][0]["total"], full["elements"][0]["total"])
        ids = {e["id"] for e in small["elements"]}
        for e in small["elements"][1:]:
            self.assertIn(e["parentId"], ids)

    def test_profile_opens_in_go_tool_pprof(self):
        status, ctype, body = self.api.get(
            "/api/v1/profile", service="shop", kind="cpu", instance="127.0.0.1:6060",
            **{"from": self.t0 + 120, "to": self.t0 + 360})
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/octet-stream")
        self.assertEqual(body[:2], b"\x1f\x8b")
        gzip.decompress(body)
        path = self.pipe.path("range.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        self.assertEqual(pprof_total(path), sum(w[2] for w in self.windows[2:6]))

    def test_diff_carries_both_totals(self):
        d = self.api.json("/api/v1/diff", service="shop", kind="cpu",
                          instance="127.0.0.1:6060",
                          **{"from": self.t0 + 300, "to": self.t0 + 360,
                             "baseFrom": self.t0, "baseTo": self.t0 + 60})
        root = d["elements"][0]
        self.assertEqual(root["total"], self.windows[5][2])
        self.assertEqual(root["baseTotal"], self.windows[0][2])
        self.assertEqual(d["baseTotal"], self.windows[0][2])
        # store-feed scales window i by i + 1: every frame grew six-fold
        for e in d["elements"][1:20]:
            self.assertEqual(e["total"], 6 * e["baseTotal"])

    def test_totals(self):
        t = self.api.json("/api/v1/totals", service="shop", kind="cpu",
                          instance="127.0.0.1:6060",
                          **{"from": self.t0, "to": self.t0 + 3600})
        self.assertEqual([p["total"] for p in t["points"]], [w[2] for w in self.windows])
        self.assertEqual([p["from"] for p in t["points"]], [w[1] for w in self.windows])

    def test_each_window_stored_once(self):
        """(A redelivered window is not written twice: test_store.c.)"""
        before = self.api.json("/api/v1/series")
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            n, distinct = con.execute(
                "SELECT COUNT(*), COUNT(DISTINCT uuid) FROM windows").fetchone()
        finally:
            con.close()
        self.assertEqual(n, distinct)
        self.assertEqual(n, 8)
        self.assertEqual(before, self.api.json("/api/v1/series"))

    def test_bad_parameters_are_400_naming_the_parameter(self):
        base = {"service": "shop", "kind": "cpu"}
        cases = [
            ("/api/v1/flamegraph", dict(base, **{"from": "yesterday"}), "from"),
            ("/api/v1/flamegraph", dict(base, to="2024-13-01T00:00:00Z"), "to"),
            ("/api/v1/flamegraph", dict(base, to="2024-02-30T00:00:00Z"), "to"),
            ("/api/v1/flamegraph", dict(base, to="2024-01-01T00:00:00"), "to"),
            ("/api/v1/flamegraph", dict(base, to="1e9"), "to"),
            ("/api/v1/flamegraph", dict(base, to="-5"), "to"),
            ("/api/v1/flamegraph", dict(base, **{"from": "200", "to": "100"}), "from"),
            ("/api/v1/flamegraph", {"kind": "cpu"}, "service"),
            ("/api/v1/flamegraph", {"service": "shop"}, "kind"),
            ("/api/v1/flamegraph", dict(base, colour="red"), "colour"),
            ("/api/v1/flamegraph", dict(base, maxNodes="0"), "maxNodes"),
            ("/api/v1/flamegraph", dict(base, maxNodes="ten"), "maxNodes"),
            ("/api/v1/flamegraph", {"service": "shop", "kind": "weird"}, "valueType"),
            ("/api/v1/diff", base, "baseFrom"),
            ("/api/v1/diff", dict(base, baseFrom="1"), "baseTo"),
            ("/api/v1/diff", dict(base, baseFrom="x", baseTo="1"), "baseFrom"),
            ("/api/v1/profile", dict(base, to="now"), "to"),
            ("/api/v1/metrics", {"service": "shop"}, "name"),
            ("/api/v1/metrics", {"name": "prof_go_cpu_cores"}, "service"),
            ("/api/v1/series", {"x": "1"}, "x"),
        ]
        for path, params, name in cases:
            status, ctype, body = self.api.get(path, **params)
            self.assertEqual(status, 400, (path, params, body))
            self.assertEqual(ctype, "application/json")
            self.assertIn("parameter %s" % name, json.loads(body)["error"], (path, params))
        raw = [
            "/api/v1/flamegraph?service=shop&service=shop&kind=cpu",
            "/api/v1/flamegraph?service=sh%zzop&kind=cpu",
            "/api/v1/flamegraph?service=sh%00op&kind=cpu",
            "/api/v1/flamegraph?service=shop&kind=cpu&from=%",
            "/api/v1/flamegraph?=x&service=shop&kind=cpu",
            "/api/v1/flamegraph?" + "&".join("p%d=1" % i for i in range(40)),
        ]
        for path in raw:
            status, _, body = self.api.get(path)
            self.assertEqual(status, 400, (path, body))
            self.assertIn("error", json.loads(body))

    def test_unknown_series_is_404(self):
        for path, params in [
                ("/api/v1/flamegraph", {"service": "nope", "kind": "cpu"}),
                ("/api/v1/flamegraph", {"service": "shop", "kind": "mem"}),
                ("/api/v1/flamegraph", {"service": "shop", "kind": "cpu",
                                        "instance": "10.0.0.9:1"}),
                ("/api/v1/flamegraph", {"service": "shop", "kind": "cpu",
                                        "valueType": "alloc_space"}),
                ("/api/v1/profile", {"service": "nope", "kind": "cpu"}),
                ("/api/v1/totals", {"service": "nope", "kind": "cpu"}),
                ("/api/v1/metrics", {"service": "shop", "name": "prof_go_nope"}),
                ("/api/v1/nope", {})]:
            status, ctype, body = self.api.get(path, **params)
            self.assertEqual(status, 404, (path, params, body))
        status, _, _ = self.api.get("/api/v1/flamegraph", service="shop", kind="cpu",
                                    **{"from": 1, "to": 2})
        self.assertEqual(status, 200)  # a known series, an empty range

    def test_ui_is_served(self):
        status, ctype, body = self.api.get("/")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/html"))
        self.assertIn(b"<canvas", body)
        for f in ("/app.js", "/flame.js", "/style.css"):
            self.assertEqual(self.api.get(f)[0], 200, f)


class StoreSurvivesSigkill(unittest.TestCase):
    def test_kill_during_writes(self):
        """SIGKILL while windows stream in: the database opens, passes its
        integrity check, and holds every window acked before the kill."""
        pipe = Pipeline()
        port = free_port()
        db = pipe.path("profpipe.db")
        cfg = pipe.write_config(store_config(db, port))
        exporter = pipe.start("exporter", ["-c", cfg])
        t0 = (int(time.time()) // 60) * 60 - 7200
        heap = os.path.join(CORPUS, "synth", "heap-large.pb.gz")
        sender = subprocess.Popen(
            [FEED, "send", "ipc://%s/results.ipc" % pipe.dir, heap, "mem", "big", "h:1",
             str(t0), "100", "60"], env=pipe.env, stdout=subprocess.PIPE)
        acked = []
        try:
            while len(acked) < 4:
                line = sender.stdout.readline().decode()
                self.assertTrue(line, "store-feed ended early")
                acked.append(line.split()[1])
            exporter.proc.send_signal(signal.SIGKILL)
            exporter.proc.wait()
            exporter.log.close()
        finally:
            sender.kill()
            sender.wait()
        # whatever store-feed printed after reading the 4th line was acked too
        rest = sender.stdout.read().decode().split("\n")
        acked += [l.split()[1] for l in rest if l.startswith("window ")]
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            have = {r[0] for r in con.execute("SELECT uuid FROM windows")}
        finally:
            con.close()
        for a in acked:
            self.assertIn(a, have)
        # and the exporter reopens it and goes on
        exporter.start()
        self.assertEqual(len(feed(pipe, 1, t0 + 7200, kind="mem", service="big",
                                  instance="h:1", path=heap)), 1)
        self.assertEqual(exporter.terminate(), 0)


class StoreFromPipeline(unittest.TestCase):
    def test_real_go_service(self):
        """The whole pull pipeline with small windows: the API's flame graph
        is the windows' total, and the pprof opens with the same total."""
        app = GoApp()
        pipe = Pipeline()
        try:
            port = free_port()
            db = pipe.path("profpipe.db")
            text = pull_config([("127.0.0.1", app.port)], pipe.path("unused.jsonl"),
                               interval=2, kinds=("cpu",))
            text = text.split("outputs:\n")[0] + store_config(db, port) + (
                "aggregator:\n  Window: 2\n  WindowGrace: 2\n")
            pipe.start_all(pipe.write_config(text))
            api = Api(port)

            def windows():
                s = [x for x in api.json("/api/v1/series")["series"] if x["kind"] == "cpu"]
                return s if s and s[0]["windows"] >= 3 else None
            s = wait_until(windows, 90, "three CPU windows in the store")[0]
            frm, to = s["from"], s["to"]
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
            try:
                (want,) = con.execute(
                    "SELECT SUM(t.total) FROM windows w JOIN window_totals t ON"
                    " t.window_id = w.id JOIN value_types v ON"
                    " v.id = t.value_type_id JOIN series s ON s.id = w.series_id"
                    " WHERE s.service = ? AND s.kind = 'cpu' AND v.type = 'cpu'"
                    " AND w.start_ns >= ? AND w.start_ns < ?",
                    (s["service"], frm * 10**9, to * 10**9)).fetchone()
            finally:
                con.close()
            fg = api.json("/api/v1/flamegraph", service=s["service"], kind="cpu",
                          **{"from": frm, "to": to})
            self.assertGreater(want, 0)
            self.assertEqual(fg["elements"][0]["total"], want)
            status, _, body = api.get("/api/v1/profile", service=s["service"], kind="cpu",
                                      **{"from": frm, "to": to})
            self.assertEqual(status, 200)
            path = pipe.path("p.pb.gz")
            with open(path, "wb") as f:
                f.write(body)
            self.assertEqual(pprof_total(path), want)
            sigs = [e["codeSignature"] for e in fg["elements"]]
            self.assertTrue(any(x.startswith("main.") for x in sigs), sigs[:20])
        finally:
            codes = pipe.stop_all()
            app.stop()
        self.assertTrue(all(c == 0 for c in codes.values()), codes)


if __name__ == "__main__":
    unittest.main()
