"""The window outputs end to end: a real Go service, the four real stages
with the aggregator closing 5-second windows, and the exporter writing
pprof files, flame graphs, runtime metrics (over HTTP and as line protocol)
and, as the reference, jsonl records per window.

Checked with the tools a user would use: every pprof file opens in
`go tool pprof` and its totals per sample type equal the window's (the sum
of that window's jsonl records); every SVG renders with rsvg-convert and
its JSON tree's root total is the window's; /metrics parses with
python3-prometheus-client's parser, over real HTTP.

"""

import collections
import glob
import json
import os
import re
import subprocess
import unittest
import urllib.request

from harness import GoApp, Pipeline, free_port, pull_config, read_jsonl, wait_until

WINDOW_S = 5
FILE_RE = re.compile(r"/([^/]+)/([^/]+)/([^/]+)/(-?\d+)-(-?\d+)\.(pb\.gz|svg|json)$")
PARSER = "/usr/bin/python3"  # Debian's, where python3-prometheus-client is


def pprof_totals(path):
    """{'type/unit': total} as `go tool pprof -raw` shows the file."""
    env = dict(os.environ, HOME=os.environ.get("HOME", "/tmp"),
               GOCACHE=os.environ.get("GOCACHE", "/tmp/profpipe-e2e-gocache"))
    out = subprocess.run(["go", "tool", "pprof", "-raw", path], env=env,
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("go tool pprof -raw %s: %s" % (path, out.stderr))
    lines = out.stdout.splitlines()
    i = lines.index("Samples:")
    types = [t.split("[")[0] for t in lines[i + 1].split()]
    totals = collections.Counter({t: 0 for t in types})
    for line in lines[i + 2:]:
        if line.startswith("Locations"):
            break
        s = line.strip()
        if not s or not (s[0].isdigit() or s[0] == "-"):
            continue  # a label line
        values = s.split(":")[0].split()
        for t, v in zip(types, values):
            totals[t] += int(v)
    return totals


class Outputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = GoApp()
        cls.p = Pipeline()
        cls.records = cls.p.path("windows.jsonl")
        cls.pprof = cls.p.path("pprof")
        cls.flame = cls.p.path("flame")
        cls.lp = cls.p.path("metrics.lp")
        cls.port = free_port()
        extra = (
            "    Per: window\n"
            "  - Type: pprof\n"
            "    Dir: %s\n"
            "  - Type: flamegraph\n"
            "    Dir: %s\n"
            "  - Type: metrics\n"
            "    Listen: 127.0.0.1:%d\n"
            "    LineProtocol: %s\n"
            "aggregator:\n"
            "  Window: %d\n" % (cls.pprof, cls.flame, cls.port, cls.lp, WINDOW_S))
        cfg = cls.p.write_config(pull_config(
            [("127.0.0.1", cls.app.port)], cls.records, interval=2,
            kinds=("cpu", "mem", "goroutines"), extra=extra))
        cls.p.start_all(cfg, decoders=1)
        # Profiles flow within an interval or two; windows close every
        # WINDOW_S seconds after that. Wait for a CPU window in all three
        # file outputs, or for long enough that windows are not coming.
        def cpu_windows():
            return (glob.glob(os.path.join(cls.pprof, "*", "*", "cpu", "*.pb.gz")) and
                    glob.glob(os.path.join(cls.flame, "*", "*", "cpu", "*.svg")))
        wait_until(cpu_windows, 6 * WINDOW_S + 20, "a CPU window's files")

    @classmethod
    def tearDownClass(cls):
        cls.codes = cls.p.stop_all()
        cls.app.stop()

    def window_records(self):
        """{(kind, instance or 'all', start s): {valueType/unit: total}}"""
        out = collections.defaultdict(collections.Counter)
        for r in read_jsonl(self.records):
            inst = json.loads(r["labels"]).get("instance") or "all"
            key = (r["type"][len("profile_"):], inst.replace(":", "_"), r["__time__"])
            out[key]["%s/%s" % (r["valueTypes"], r["units"])] += int(r["val"].split(".")[0])
        return out

    def test_pprof_files_open_with_the_windows_totals(self):
        want = self.window_records()
        files = sorted(glob.glob(os.path.join(self.pprof, "*", "*", "*", "*.pb.gz")))
        self.assertTrue(files)
        checked = 0
        for f in files:
            m = FILE_RE.search(f)
            self.assertIsNotNone(m, f)
            service, inst, kind, start, end = m.group(1, 2, 3, 4, 5)
            self.assertEqual(service, "checkout")
            self.assertGreater(int(end), int(start))
            got = pprof_totals(f)
            key = (kind, inst, int(start))
            if key not in want:
                continue  # a window with no nonzero record (e.g. idle mutex)
            for t, total in want[key].items():
                self.assertEqual(got[t], total, "%s: %s" % (f, t))
            checked += 1
        self.assertGreater(checked, 0, "no pprof file matched a window's records")

    def test_flame_graphs_render(self):
        want = self.window_records()
        svgs = sorted(glob.glob(os.path.join(self.flame, "*", "*", "*", "*.svg")))
        self.assertTrue(svgs)
        for svg in svgs:
            png = svg + ".png"
            subprocess.run(["rsvg-convert", "-o", png, svg], check=True, timeout=60)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            with open(svg[:-4] + ".json") as f:
                tree = json.load(f)
            root = tree["elements"][0]
            self.assertEqual(root["parentId"], -1)
            self.assertEqual(root["total"], tree["total"])
            self.assertEqual(sum(e["self"] for e in tree["elements"]), tree["total"])
            m = FILE_RE.search(svg)
            key = (m.group(3), m.group(2), int(m.group(4)))
            col = "%s/%s" % (tree["valueType"], tree["unit"])
            if key in want and col in want[key]:
                # Samples with no frames (a goroutine Go shows without a
                # stack) are the root's self: the tree has them, records
                # (which need a leaf frame to name) do not.
                self.assertEqual(tree["total"] - root["self"], want[key][col], svg)

    def test_metrics_parse(self):
        url = "http://127.0.0.1:%d/metrics" % self.port
        wait_until(lambda: b"prof_go_" in urllib.request.urlopen(url, timeout=5).read(),
                   4 * WINDOW_S + 10, "runtime metrics on /metrics")
        script = (
            "import sys, urllib.request\n"
            "from prometheus_client.parser import text_string_to_metric_families\n"
            "body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()\n"
            "for f in text_string_to_metric_families(body):\n"
            "    assert f.type == 'gauge', f\n"
            "    for s in f.samples:\n"
            "        print(s.name, s.labels['service'], s.labels['instance'],"
            " s.labels.get('env'), s.value)\n")
        out = subprocess.run([PARSER, "-c", script, url], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertTrue(lines)
        for line in lines:
            name, service, instance, env, _ = line.split(" ")
            self.assertTrue(name.startswith("prof_go_"), line)
            self.assertEqual(service, "checkout")
            self.assertEqual(env, "test")
        with open(self.lp) as f:
            lp = f.read().splitlines()
        self.assertTrue(lp)
        self.assertRegex(lp[0], r"^profiling_metrics,service=checkout,host=[^ ]+ "
                                r"prof_go_[a-z_]+=[-0-9.e+]+(,[^ ]+)* \d{19}$")


if __name__ == "__main__":
    unittest.main()
