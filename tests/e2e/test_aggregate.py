"""Windows, deltas and runtime metrics end to end: a real Go service
allocating at a known rate, the four real stages on scratch ipc sockets
with Window: 6 and Metrics: true, and what the aggregator hands on read
from its tap (profpipe-tap aggregator prints each Result as JSON).

Everything is checked against something the aggregator did not compute:
the service's own runtime.MemStats (GET /memstats), the per-profile
results seen on the same tap, and the clock.
"""

import json
import math
import os
import subprocess
import time
import unittest

from harness import BIN, GoApp, Pipeline, pull_config, read_jsonl, wait_until

WINDOW_S = 6
GRACE_S = 3
NS = 1000000000
ALLOC_RATE = 32 << 20  # bytes per second, in 64 KiB pieces
METRICS = ("cpu_cores", "cpu_cores_gc_overhead", "alloc_bytes_per_sec",
           "allocs_per_sec", "alloc_bytes_total", "frees_per_sec",
           "heap_growth_bytes_per_sec", "gcs_per_sec", "gc_pause_time",
           "max_gc_pause_time", "blocked_time", "mutex_delay_time",
           "num_goroutine", "lifetime_heap_bytes", "lifetime_heap_objects")


def read_results(path):
    """The tap's Results, with the 64-bit numbers it prints as strings
    (proto3's JSON mapping) made ints where the test does arithmetic."""
    out = read_jsonl(path)
    for r in out:
        for k in ("profile", "window", "metrics"):
            if r.get(k):
                o = r[k]["origin"]
                o["start_ns"] = int(o.get("start_ns", 0))
                o["end_ns"] = int(o.get("end_ns", 0))
        if r.get("window"):
            r["window"]["n_folded"] = int(r["window"].get("n_folded", 0))
    return out


def totals(d):
    """{value type name: total} of a Decoded as the tap prints it."""
    types = [d["strings"][t["type"]] for t in d["sample_types"] if not t.get("absent")]
    all_types = [d["strings"][t["type"]] for t in d["sample_types"]]
    n = len(all_types)
    out = {t: 0 for t in types}
    for i, v in enumerate(d.get("values") or []):
        if all_types[i % n] in out:
            out[all_types[i % n]] += int(v)
    return out


class Aggregate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = GoApp(args=["-alloc-rate", str(ALLOC_RATE)])
        cls.p = Pipeline()
        out = cls.p.path("records.jsonl")
        cfg = pull_config([("127.0.0.1", cls.app.port)], out, interval=2,
                          extra="aggregator:\n  Window: %d\n  WindowGrace: %d\n"
                          % (WINDOW_S, GRACE_S))
        cfg = cls.p.write_config(cfg.replace("    Labels:", "    Metrics: true\n    Labels:"))
        cls.p.start_all(cfg)
        cls.tap_path = cls.p.path("tap.jsonl")
        cls.tap_out = open(cls.tap_path, "wb")
        cls.tap = subprocess.Popen([os.path.join(BIN, "profpipe-tap"), "aggregator"],
                                   stdout=cls.tap_out, stderr=subprocess.DEVNULL,
                                   env=cls.p.env)
        try:
            cls.run_phases()
        except BaseException:
            cls.shutdown()
            raise
        cls.shutdown()
        cls.results = read_results(cls.tap_path)
        cls.profiles = [r["profile"] for r in cls.results if r.get("profile")]
        cls.windows = [r["window"] for r in cls.results if r.get("window")]
        cls.metrics = [r["metrics"] for r in cls.results if r.get("metrics")]

    @classmethod
    def run_phases(cls):
        # The tap hears the PUB socket only once subscribed: the first
        # result it prints says it is, and only what starts after that
        # moment is counted below.
        wait_until(lambda: read_results(cls.tap_path), 60, "the tap's first result")
        cls.tap_ready_ns = time.time_ns()

        def heap_after(t):
            return [r["profile"] for r in read_results(cls.tap_path)
                    if r.get("profile") and r["profile"]["origin"]["kind"] == "mem"
                    and r["profile"]["origin"]["start_ns"] > t]

        # Phase 1: the alloc rate over >= 8 heap profiles against MemStats,
        # from a heap profile the tap saw (the first delta's baseline) on.
        wait_until(lambda: heap_after(cls.tap_ready_ns), 60, "a heap profile on the tap")
        cls.ms_a, cls.t_a = cls.app.memstats(), time.time_ns()
        wait_until(lambda: len(heap_after(cls.t_a)) >= 8, 90, "8 heap profiles")
        cls.ms_b, cls.t_b = cls.app.memstats(), time.time_ns()

        # Phase 2: the service restarts on the same port.
        port = cls.app.port
        cls.app.stop()
        cls.t_restart = time.time_ns()
        cls.app = GoApp(port=port, args=["-alloc-rate", str(ALLOC_RATE)])
        wait_until(lambda: len(heap_after(cls.t_restart)) >= 3, 90,
                   "3 heap profiles after the restart")
        # A full window after the restart, closed.
        after = (cls.t_restart // (WINDOW_S * NS) + 1) * WINDOW_S * NS
        wait_until(lambda: any(r.get("window") and r["window"]["origin"]["start_ns"] >= after
                               for r in read_results(cls.tap_path)), 60,
                   "a window after the restart")

    @classmethod
    def shutdown(cls):
        cls.t_stop = time.time_ns()
        cls.codes = cls.p.stop_all()
        # The aggregator sent its partial windows before exiting; the
        # tap printed each (it flushes per line) once it came.
        cls.tap.terminate()
        cls.tap.wait(20)
        cls.tap_out.close()
        cls.app.stop()

    def full_windows(self):
        """Windows wholly after the tap was listening, not cut by the stop."""
        return [w for w in self.windows
                if w["origin"]["start_ns"] >= self.tap_ready_ns
                and w["origin"]["end_ns"] - w["origin"]["start_ns"] == WINDOW_S * NS]

    def test_every_stage_exits_0(self):
        self.assertEqual(set(self.codes.values()), {0}, self.codes)

    def test_alloc_deltas_agree_with_memstats(self):
        # The deltas of the heap profiles started between the two /memstats
        # reads cover [start of the one before them, start of the last].
        heap = [p for p in self.profiles if p["origin"]["kind"] == "mem"]
        heap.sort(key=lambda p: p["origin"]["start_ns"])
        inside = [i for i, p in enumerate(heap) if self.t_a < p["origin"]["start_ns"] <= self.t_b]
        self.assertGreaterEqual(len(inside), 8)
        first, last = inside[0], inside[-1]
        self.assertGreater(first, 0, "a heap profile before the span is its baseline")
        span_ns = heap[last]["origin"]["start_ns"] - heap[first - 1]["origin"]["start_ns"]
        got = sum(totals(heap[i])["alloc_space"] for i in inside)
        got_rate = got / (span_ns / NS)
        ms_rate = (self.ms_b["TotalAlloc"] - self.ms_a["TotalAlloc"]) / ((self.t_b - self.t_a) / NS)
        self.assertGreater(ms_rate, ALLOC_RATE * 0.9, "the service allocates at its rate")
        # The honest error budget. Go samples one allocation per 512 KiB on
        # average and scales each sample up, an unbiased estimate whose
        # relative standard deviation is about 1/sqrt(samples); allow 5 of
        # them. And a heap profile counts up to the last completed GC only,
        # so each end of the span can lag by one GC interval (taken from
        # MemStats' NumGC over the span); the two reads and the two profile
        # fetches are at different moments, which a steady rate absorbs.
        samples = got / (512 * 1024)
        gc_interval_s = ((self.t_b - self.t_a) / NS) / max(1, self.ms_b["NumGC"] - self.ms_a["NumGC"])
        tolerance = 5 / math.sqrt(samples) + 2 * gc_interval_s / (span_ns / NS)
        self.assertLess(abs(got_rate - ms_rate) / ms_rate, tolerance,
                        "profile %.0f B/s vs MemStats %.0f B/s (tolerance %.1f%%)"
                        % (got_rate, ms_rate, 100 * tolerance))

    def test_restart_gives_no_negative_value(self):
        heap_after = [p for p in self.profiles if p["origin"]["kind"] == "mem"
                      and p["origin"]["start_ns"] > self.t_restart]
        self.assertGreaterEqual(len(heap_after), 3)
        # The first profile of the new process has alloc values (taken as
        # the delta), the next ones deltas again: all of them >= 0.
        self.assertTrue(any("alloc_space" in totals(p) for p in heap_after))
        for p in self.profiles:
            for v in p.get("values") or []:
                self.assertGreaterEqual(int(v), 0, p["origin"])
        for w in self.windows:
            for v in w["merged"].get("values") or []:
                self.assertGreaterEqual(int(v), 0, w["origin"])
        log = self.p.stages[1].read_log()
        self.assertIn("process restarted", log)

    def test_windows_close_with_their_profiles(self):
        full = self.full_windows()
        kinds = {w["origin"]["kind"] for w in full}
        self.assertEqual(kinds, {"cpu", "mem", "goroutines", "mutex", "block"})
        for w in full:
            o = w["origin"]
            self.assertEqual(o["start_ns"] % (WINDOW_S * NS), 0, "aligned to the wall clock")
            self.assertEqual(o["instance"], self.app.addr)
            self.assertEqual(w["instances"], [self.app.addr])
            self.assertTrue(o["is_delta"])
            mine = [p for p in self.profiles
                    if p["origin"]["kind"] == o["kind"]
                    and o["start_ns"] <= p["origin"]["start_ns"] < o["end_ns"]]
            self.assertEqual(w["n_profiles"], len(mine), o)
            self.assertEqual(w.get("n_folded", 0), 0)
            # The window's totals are its profiles' totals, summed.
            want = {}
            for p in mine:
                for t, v in totals(p).items():
                    want[t] = want.get(t, 0) + v
            got = totals(w["merged"])
            self.assertEqual({t: v for t, v in got.items() if v}, {t: v for t, v in want.items() if v}, o)

    def test_stop_sends_partial_windows(self):
        partial = [w for w in self.windows
                   if w["origin"]["end_ns"] - w["origin"]["start_ns"] < WINDOW_S * NS
                   and w["origin"]["start_ns"] >= self.tap_ready_ns]
        self.assertTrue(partial, "the windows open at SIGTERM were sent")
        for w in partial:
            self.assertLessEqual(w["origin"]["end_ns"], time.time_ns())
            self.assertGreaterEqual(w["origin"]["end_ns"], self.t_stop)

    def test_metrics_present_and_plausible(self):
        by_start = {}
        for m in self.metrics:
            self.assertEqual(m["origin"]["instance"], self.app.addr)
            by_start[m["origin"]["start_ns"]] = {x["name"]: x for x in m["metrics"]}
        full = self.full_windows()
        starts = sorted({w["origin"]["start_ns"] for w in full})
        self.assertGreaterEqual(len(starts), 3)
        # Every metric has its inputs from the second full window on (a
        # delta and a MemStats difference need a snapshot before).
        for s in starts[1:]:
            self.assertIn(s, by_start)
            names = {n[len("prof_go_"):] for n in by_start[s]}
            self.assertEqual(names, set(METRICS), s)
        for s in starts:
            m = {n[len("prof_go_"):]: x["value"] for n, x in by_start[s].items()}
            self.assertGreater(m["cpu_cores"], 0)
            self.assertLessEqual(m["cpu_cores"], os.cpu_count())
            self.assertGreaterEqual(m["cpu_cores_gc_overhead"], 0)
            self.assertLessEqual(m["cpu_cores_gc_overhead"], m["cpu_cores"])
            gor = [w for w in full if w["origin"]["kind"] == "goroutines"
                   and w["origin"]["start_ns"] == s][0]
            self.assertAlmostEqual(m["num_goroutine"],
                                   totals(gor["merged"])["goroutine"] / gor["n_profiles"], places=6)
            heap = [p for p in self.profiles if p["origin"]["kind"] == "mem"
                    and s <= p["origin"]["start_ns"] < s + WINDOW_S * NS]
            alloc = sum(totals(p).get("alloc_space", 0) for p in heap)
            if "alloc_bytes_total" in m:
                self.assertEqual(m["alloc_bytes_total"], alloc)
            if "gcs_per_sec" in m:
                self.assertGreater(m["gcs_per_sec"], 0, "the service allocates 32 MiB/s")
                self.assertGreaterEqual(m["max_gc_pause_time"], 0)
                self.assertGreaterEqual(m["gc_pause_time"], m["max_gc_pause_time"])
            for x in by_start[s].values():
                self.assertTrue(x["unit"])


if __name__ == "__main__":
    unittest.main()
