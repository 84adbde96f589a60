"""The pull pipeline end to end: a real Go service, the four real stages on
scratch ipc sockets, iLogtail-shaped records out of the jsonl sink."""

import collections
import json
import os
import re
import signal
import subprocess
import unittest

from harness import GoApp, Pipeline, pull_config, read_jsonl, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))

KINDS = ("cpu", "mem", "goroutines", "mutex", "block")
RECORD_KEYS = {"name", "stack", "stackID", "language", "type", "dataType", "durationNs",
               "profileID", "labels", "units", "valueTypes", "aggTypes", "val", "__time__"}
SENT = re.compile(r"info: (\S+) (\w+): sent profile ([0-9a-f-]{36}) ")
MEMORY = re.compile(r"info: memory: rss_kb=(\d+) heap_in_use_kb=(\d+) heap_held_kb=(\d+)\n")


def sent_profiles(log):
    """(instance, kind, profile id) of every profile the fetcher logged."""
    return [m.groups() for m in SENT.finditer(log)]


class PullPipeline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = GoApp()
        cls.p = Pipeline()
        cls.out = cls.p.path("records.jsonl")
        cfg = cls.p.write_config(pull_config([("127.0.0.1", cls.app.port)], cls.out, interval=3))
        cls.p.start_all(cfg, decoders=1)
        # Wait for records of every kind (mem's first profile has inuse only).
        wait_until(lambda: {r["type"] for r in read_jsonl(cls.out)} >=
                   {"profile_" + k for k in KINDS}, 60, "records of every kind")
        # alloc_* deltas need a second heap profile of the series.
        wait_until(lambda: any(r["valueTypes"] == "alloc_space" for r in read_jsonl(cls.out)),
                   60, "an alloc_space delta")
        cls.goroutines_then = cls.app.goroutine_total()
        cls.records = read_jsonl(cls.out)

    @classmethod
    def tearDownClass(cls):
        cls.codes = cls.p.stop_all()
        cls.app.stop()

    def test_record_shape(self):
        for r in self.records:
            self.assertEqual(set(r), RECORD_KEYS, r)
            self.assertEqual(r["language"], "go")
            self.assertEqual(r["dataType"], "CallStack")
            self.assertEqual(r["aggTypes"], "sum")
            self.assertRegex(r["stackID"], r"^[0-9a-f]{16}$")
            self.assertRegex(r["profileID"],
                             r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            self.assertRegex(r["val"], r"^-?[0-9]+\.[0-9]{2}$")
            self.assertIsInstance(r["__time__"], int)
            self.assertGreater(int(r["durationNs"]), 0)
            self.assertRegex(r["name"], r"^\S+ \S+$", "name is 'function file'")
            labels = json.loads(r["labels"])
            self.assertEqual(labels["__name__"], "checkout")
            self.assertEqual(labels["instance"], self.app.addr)
            self.assertEqual(labels["job"], "e2e")
            self.assertEqual(labels["env"], "test")
            self.assertEqual(labels["zone"], "z0")

    def test_value_types_per_kind(self):
        seen = collections.defaultdict(set)
        for r in self.records:
            seen[r["type"]].add((r["valueTypes"], r["units"]))
        self.assertEqual(seen["profile_cpu"], {("cpu", "nanoseconds")})
        self.assertEqual(seen["profile_goroutines"], {("goroutine", "count")})
        self.assertLessEqual({("inuse_space", "bytes"), ("inuse_objects", "count")},
                             seen["profile_mem"])
        self.assertEqual(seen["profile_mutex"], {("contentions", "count"), ("delay", "nanoseconds")})
        self.assertEqual(seen["profile_block"], {("contentions", "count"), ("delay", "nanoseconds")})

    def test_heap_alloc_is_a_delta_from_the_second_profile(self):
        mem = [r for r in self.records if r["type"] == "profile_mem"]
        order = list(dict.fromkeys(r["profileID"] for r in mem))
        self.assertGreaterEqual(len(order), 2)
        first = {r["valueTypes"] for r in mem if r["profileID"] == order[0]}
        self.assertNotIn("alloc_space", first)
        self.assertNotIn("alloc_objects", first)
        second = [r for r in mem if r["profileID"] == order[1]]
        alloc = sum(float(r["val"]) for r in second if r["valueTypes"] == "alloc_space")
        # goapp allocates 8 MiB/s; a delta over one 3 s interval is far
        # below the service's lifetime total, which grows without bound.
        self.assertGreater(alloc, 0)
        self.assertLess(alloc, self.app.memstats()["TotalAlloc"])

    def test_cpu_names_hot_function(self):
        per_fn = collections.Counter()
        for r in self.records:
            if r["type"] == "profile_cpu":
                per_fn[r["name"].split(" ")[0]] += float(r["val"])
        top = per_fn.most_common(1)[0][0]
        self.assertEqual(top, "main.burnCPU", per_fn.most_common(5))

    def test_stack_is_callers_leaf_to_root(self):
        cpu = [r for r in self.records if r["type"] == "profile_cpu"
               and r["name"].startswith("main.burnCPU ")]
        self.assertTrue(cpu)
        # burnCPU's only caller is cpuLoop, the goroutine's root function
        # (Go's CPU profiler leaves runtime.goexit out).
        for r in cpu:
            self.assertEqual([c.split(" ")[0] for c in r["stack"].split("\n")],
                             ["main.cpuLoop"], r["stack"])

    def test_every_sent_profile_arrives_once(self):
        # The exporter writes a profile's records before the acks travel back
        # (exporter -> aggregator -> decoder -> fetcher) and the fetcher logs
        # the profile as sent, so a profile in the records may not be in the
        # log yet: wait for the log to catch up with the records read.
        got = {r["profileID"] for r in self.records}
        self.assertTrue(got)

        def logged():
            ids = {pid for _, _, pid in sent_profiles(self.p.fetcher.read_log())}
            return ids if got <= ids else None
        wait_until(logged, 30, "the fetcher to log every profile in the records as sent")
        keys = collections.Counter((r["profileID"], r["stackID"], r["valueTypes"],
                                    r["labels"]) for r in self.records)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])


class GoroutineTotals(unittest.TestCase):
    """Each goroutine profile's records sum to the total Go itself reports
    (goroutine?debug=1) at the same moment. Only goroutines are fetched, so
    no profiling request of the pipeline is in flight between the two."""

    def test_goroutines_sum_to_service_total(self):
        app = GoApp(args=["-goroutines", "50"])
        p = Pipeline()
        out = p.path("r.jsonl")
        p.start_all(p.write_config(pull_config([("127.0.0.1", app.port)], out, interval=1,
                                               kinds=("goroutines",))))
        pairs = []
        try:
            for _ in range(3):
                n = len({r["profileID"] for r in read_jsonl(out)})
                wait_until(lambda: len({r["profileID"] for r in read_jsonl(out)}) > n, 30,
                           "a new goroutine profile")
                pairs.append((read_jsonl(out)[-1]["profileID"], app.goroutine_total()))
        finally:
            codes = p.stop_all()
            app.stop()
        self.assertEqual(codes, {k: 0 for k in codes})
        # Summed after the exporter has drained, so every profile is whole.
        records = read_jsonl(out)
        for latest, service_total in pairs:
            total = sum(float(r["val"]) for r in records if r["profileID"] == latest)
            # The service's count includes the handler answering us; a few
            # goroutines (HTTP connections) come and go.
            self.assertGreater(service_total, 50)
            self.assertAlmostEqual(total, service_total, delta=3)


class StageExits(unittest.TestCase):
    """The whole pipeline on one Go service's goroutine profiles, with
    the signals a supervisor or an operator sends it."""

    def pipeline(self, interval, then):
        """Start it, wait for its first records, call then(p, out), stop
        it upstream first: every stage must exit 0."""
        app = GoApp()
        p = Pipeline()
        out = p.path("r.jsonl")
        try:
            p.start_all(p.write_config(pull_config([("127.0.0.1", app.port)], out,
                                                   interval=interval,
                                                   kinds=("goroutines",))))
            wait_until(lambda: read_jsonl(out), 30, "first records")
            then(p, out)
        finally:
            codes = p.stop_all()
            app.stop()
        self.assertEqual(codes, {k: 0 for k in codes})

    def test_sigterm_each_stage_exits_0(self):
        self.pipeline(2, lambda p, out: None)

    def test_sigusr1_each_stage_logs_memory_and_goes_on(self):
        """USR1 is how an operator (and `make soak`) asks a running stage
        for its counters and memory: every stage answers, and none stops."""
        self.pipeline(1, self.usr1_answered)

    def usr1_answered(self, p, out):
        stages = [p.fetcher] + p.decoders + [p.aggregator, p.exporter]
        for st in stages:
            st.proc.send_signal(signal.SIGUSR1)
        for st in stages:
            wait_until(lambda: MEMORY.search(st.read_log()), 10,
                       "%s's memory line" % st.instance)
            rss, in_use, held = map(int, MEMORY.search(st.read_log()).groups())
            self.assertGreater(rss, 1024, st.instance)
            self.assertGreater(in_use, 0, st.instance)
            self.assertGreaterEqual(held, in_use, st.instance)
        # the counters come first, with what the stage has done so far
        self.assertRegex(p.fetcher.read_log(), r"info: counters: ")
        dec = re.search(r"info: counters: (\d+) decoded, \d+ rejected",
                        p.decoders[0].read_log())
        agg = re.search(r"info: counters: (\d+) received, \d+ handed on",
                        p.aggregator.read_log())
        self.assertGreater(int(dec.group(1)), 0)
        self.assertGreater(int(agg.group(1)), 0)
        # and the pipeline goes on
        n = len(read_jsonl(out))
        wait_until(lambda: len(read_jsonl(out)) > n, 30, "records after USR1")
        self.assertEqual([st.instance for st in stages if st.proc.poll() is not None], [])


class ClockStepsBack(unittest.TestCase):
    """The wall clock stepped back an hour (an NTP correction, a VM
    restored) while the fetcher runs: it goes on scraping on its
    interval. The fetcher runs under clockstep.c, which moves
    CLOCK_REALTIME, gettimeofday and time back once a file appears and
    leaves CLOCK_MONOTONIC alone, as a real step does."""

    def test_scrapes_go_on(self):
        app = GoApp()
        p = Pipeline()
        out = p.path("r.jsonl")
        shim = p.path("clockstep.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", shim,
                        os.path.join(HERE, "clockstep.c"), "-ldl"], check=True)
        stepped = p.path("stepped")
        try:
            cfg = p.write_config(pull_config([("127.0.0.1", app.port)], out, interval=1,
                                             kinds=("goroutines",)))
            p.exporter = p.start("exporter", ["-c", cfg])
            p.aggregator = p.start("aggregator", ["-c", cfg])
            p.decoders = [p.start("decoder")]
            p.env = dict(p.env, LD_PRELOAD=shim, CLOCKSTEP_FILE=stepped,
                         CLOCKSTEP_BACK="3600")
            p.fetcher = p.start("fetcher", ["-c", cfg])
            wait_until(lambda: len(sent_profiles(p.fetcher.read_log())) >= 2, 30,
                       "profiles before the step")
            open(stepped, "w").close()
            n = len(sent_profiles(p.fetcher.read_log()))
            wait_until(lambda: len(sent_profiles(p.fetcher.read_log())) >= n + 3, 30,
                       "three more profiles after the clock stepped back an hour")
        finally:
            codes = p.stop_all()
            app.stop()
        self.assertEqual(codes, {k: 0 for k in codes})


class DecoderKilled(unittest.TestCase):
    """SIGKILL a decoder while profiles flow, start it again: every profile
    the fetcher logged as sent reaches the jsonl output exactly once."""

    def test_no_profile_lost_or_doubled(self):
        apps = [GoApp(), GoApp()]
        p = Pipeline()
        out = p.path("r.jsonl")
        targets = [(h, a.port) for a in apps for h in ("127.0.0.1", "localhost")]
        cfg = p.write_config(pull_config(targets, out, interval=1,
                                         kinds=("goroutines", "mem", "threadcreate")))
        try:
            p.start_all(cfg, decoders=2)
            victim = p.decoders[0]
            for round_ in range(3):
                before = len(sent_profiles(p.fetcher.read_log()))
                wait_until(lambda: len(sent_profiles(p.fetcher.read_log())) >= before + 10,
                           30, "profiles flowing (round %d)" % round_)
                os.kill(victim.proc.pid, signal.SIGKILL)
                victim.proc.wait()
                victim.log.close()
                wait_until(lambda: len(sent_profiles(p.fetcher.read_log())) >= before + 20,
                           30, "profiles flowing past a dead decoder")
                victim.start()
            fetcher_code = p.fetcher.terminate()
            self.assertEqual(fetcher_code, 0)
            sent = {pid for _, _, pid in sent_profiles(p.fetcher.read_log())}
            wait_until(lambda: {r["profileID"] for r in read_jsonl(out)} >= sent, 30,
                       "every sent profile in the output")
        finally:
            codes = p.stop_all()
            for a in apps:
                a.stop()
        self.assertEqual({k: v for k, v in codes.items() if k != "decoder.1" and v != 0}, {})
        records = read_jsonl(out)
        self.assertEqual({r["profileID"] for r in records}, sent)
        keys = collections.Counter((r["profileID"], r["stackID"], r["valueTypes"],
                                    r["labels"]) for r in records)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])
        self.assertGreaterEqual(len(sent), 60)


class Failures(unittest.TestCase):
    def test_refused_target_is_one_line_and_the_rest_goes_on(self):
        app = GoApp()
        p = Pipeline()
        out = p.path("r.jsonl")
        dead = GoApp()
        dead_port = dead.port
        dead.stop()
        cfg = p.write_config(pull_config([("127.0.0.1", dead_port), ("127.0.0.1", app.port)],
                                         out, interval=1, kinds=("goroutines",)))
        try:
            p.start_all(cfg)
            wait_until(lambda: len({r["profileID"] for r in read_jsonl(out)}) >= 3, 30,
                       "profiles from the live target")
            log = p.fetcher.read_log()
        finally:
            codes = p.stop_all()
            app.stop()
        self.assertEqual(codes, {k: 0 for k in codes})
        self.assertRegex(log, r"warn: 127\.0\.0\.1:%d goroutines: .*(refused|connect)" % dead_port)
        live = {json.loads(r["labels"])["instance"] for r in read_jsonl(out)}
        self.assertEqual(live, {app.addr})

    def test_bad_config_is_refused_with_file_and_line(self):
        p = Pipeline()
        cfg = p.write_config("inputs:\n  - Type: service_go_profile\n    Interval: soon\n")
        import subprocess
        from harness import BIN
        r = subprocess.run([os.path.join(BIN, "profpipe-fetcher"), "-c", cfg],
                           capture_output=True, text=True, env=p.env, timeout=20)
        self.assertEqual(r.returncode, 100, r.stderr)
        self.assertIn("%s:3:" % cfg, r.stderr)
        self.assertIn("Interval", r.stderr)


if __name__ == "__main__":
    unittest.main()
