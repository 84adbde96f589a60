"""tests/bench/soak (`make soak`) and the memory samples it reads from
pipebench -m: a short soak around the real decoders and aggregator gives
one table row per segment, each stage's resident memory as read from
/proc, the aggregator's heap as it logs it on SIGUSR1, and the pipeline's
counts; a pipebench whose output cannot be read,
or whose run lost or refused profiles, fails the soak. Memory is not
judged here, only that it is measured: nothing here is timed."""

import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

from harness import BIN, BUILD, CORPUS, ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
from benchfiles import bench_files  # noqa: E402

SOAK = os.path.join(ROOT, "tests", "bench", "soak")
PIPEBENCH = os.path.join(BUILD, "bench", "pipebench")
FILES = bench_files(CORPUS)
ROW = re.compile(r"^\| ([\d.]+)–([\d.]+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) "
                 r"\| (\d+|–) \| (\d+|–) \| (\d+) \+ (\d+) \|$")


def memory_lines(text):
    out = []
    for line in text.splitlines():
        if line.startswith("memory "):
            kv = dict(w.split("=", 1) for w in line.split()[1:])
            out.append(kv)
    return out


class Soak(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        subprocess.run(["make", "--no-print-directory", "build/bench/pipebench"],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def soak(self, bench_dir, seconds="3"):
        env = dict(os.environ, BENCH_DIR=bench_dir, BIN_DIR=BIN,
                   SOAK_SECONDS=seconds, SOAK_EVERY="0.25",
                   SOAK_SEGMENT="1",
                   SOAK_OUT=os.path.join(self.dir.name, "soak.md"))
        return subprocess.run([SOAK], env=env, capture_output=True,
                              text=True, timeout=120)

    def test_pipebench_memory_lines(self):
        p = subprocess.run([PIPEBENCH, "-b", BIN, "-n", "2", "-a", "-w",
                            "0.3", "-s", "1.5", "-m", "0.25"] + FILES,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        mem = memory_lines(p.stdout)
        self.assertGreaterEqual(len(mem), 4, p.stdout)
        ts = [float(m["t"]) for m in mem]
        self.assertEqual(ts, sorted(ts), p.stdout)
        done = [int(m["profiles"]) for m in mem]
        self.assertEqual(done, sorted(done), p.stdout)
        self.assertGreater(done[-1], 0, p.stdout)
        for m in mem:
            # a stage linked with nng, protobuf-c and libdeflate is
            # megabytes resident; 0 would mean /proc was not read
            self.assertGreater(int(m["aggregator_rss_kb"]), 1024, m)
            dec = [int(k) for k in m["decoder_rss_kb"].split(",")]
            self.assertEqual(len(dec), 2, m)
            for k in dec:
                self.assertGreater(k, 1024, m)
        # and the run's own line still comes last, whole
        last = p.stdout.strip().splitlines()[-1]
        self.assertIn("rejected=0", last)
        self.assertIn("bad_exits=0", last)

    def test_short_soak(self):
        p = self.soak(os.path.join(BUILD, "bench"))
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        rows = [ROW.match(l) for l in p.stdout.splitlines()]
        rows = [r for r in rows if r]
        # 1 s of warm-up and 3 measured, in 1 s segments
        self.assertGreaterEqual(len(rows), 3, p.stdout)
        total = 0
        for r in rows:
            lo, hi = float(r.group(1)), float(r.group(2))
            self.assertAlmostEqual(hi - lo, 1 / 60.0, places=1)
            mn, med, mx = (int(r.group(i)) for i in (4, 5, 6))
            self.assertTrue(0 < mn <= med <= mx, r.group(0))
            self.assertGreater(int(r.group(9)), 0, r.group(0))
            self.assertGreater(int(r.group(10)), 0, r.group(0))
            total += int(r.group(3))
        self.assertGreater(total, 0, p.stdout)
        # the aggregator's heap, from its answers to SIGUSR1: only the
        # last sample's may be cut short by the stop
        heap = [(r.group(7), r.group(8)) for r in rows[:-1]]
        self.assertNotIn("–", sum(heap, ()), p.stdout)
        for in_use, held in heap:
            self.assertTrue(0 < int(in_use) <= int(held), p.stdout)
        self.assertIn("0 rejected, 0 failed, 0 stages did not exit cleanly",
                      p.stdout)
        with open(os.path.join(self.dir.name, "soak.md")) as f:
            self.assertEqual(f.read(), p.stdout)

    def fake(self, script):
        """A bench dir whose pipebench prints script's output."""
        path = os.path.join(self.dir.name, "pipebench")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + script)
        os.chmod(path, stat.S_IRWXU)
        return self.dir.name

    def test_refuses_what_it_cannot_trust(self):
        good_mem = ("echo memory t=0.5 profiles=3 aggregator_rss_kb=9000 "
                    "decoder_rss_kb=8000,8000\n")
        good_end = ("profiles=3 seconds=1 profiles_per_s=3 rejected=0 "
                    "failed=0 bad_exits=0")
        cases = {
            "no output": "exit 0\n",
            "no summary": good_mem,
            "no memory": "echo %s\n" % good_end,
            "garbled memory": "echo memory t=x profiles=3\necho %s\n" %
                              good_end,
            "garbled summary": good_mem + "echo what is this\n",
            "rejected": good_mem + "echo %s\n" % good_end.replace(
                "rejected=0", "rejected=2"),
            "stage exit": good_mem + "echo %s\n" % good_end.replace(
                "bad_exits=0", "bad_exits=1"),
            "pipebench failed": good_mem + "echo %s\nexit 1\n" % good_end,
        }
        for name, script in cases.items():
            with self.subTest(name):
                p = self.soak(self.fake(script))
                self.assertEqual(p.returncode, 1, p.stdout)
                self.assertIn("tests/bench/soak:", p.stderr)
        # the same fake with a clean run is accepted: the cases above
        # fail for what they change, not for the fake
        p = self.soak(self.fake(good_mem + "echo %s\n" % good_end))
        self.assertEqual(p.returncode, 0, p.stderr)

    AGG = "echo 'profpipe-aggregator: info: %s' >&2\n"

    def test_heap_columns(self):
        """The k-th sample gets the aggregator's k-th answer to SIGUSR1;
        its lines at exit (after "stopping:") are no answer, and a line
        that cannot be read fails the soak."""
        mem = ("echo memory t=%s profiles=3 aggregator_rss_kb=90000 "
               "decoder_rss_kb=8000,8000\n")
        answer = (self.AGG % "counters: 3 received" +
                  self.AGG % "windows: 0 sent" +
                  self.AGG % "memory: rss_kb=90000 heap_in_use_kb=%d "
                  "heap_held_kb=%d")
        end = ("echo profiles=3 seconds=1 profiles_per_s=3 rejected=0 "
               "failed=0 bad_exits=0\n")
        stop = (self.AGG % "stopping: 3 received" +
                self.AGG % "memory: rss_kb=1 heap_in_use_kb=1 heap_held_kb=1")
        script = (mem % "0.2" + answer % (20480, 40960) + mem % "0.4" +
                  answer % (40960, 81920) + mem % "1.5" + end + stop)
        p = self.soak(self.fake(script))
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [ROW.match(l) for l in p.stdout.splitlines()]
        rows = [r.groups()[6:8] for r in rows if r]
        # medians of 20 and 40 MB, 40 and 80 MB; the last sample's
        # segment has no answer, and the exit's 1 KB is not taken
        self.assertEqual(rows, [("30", "60"), ("–", "–")], p.stdout)
        self.assertNotIn("profpipe-aggregator: info:", p.stderr)
        bad = mem % "0.2" + (answer % (1, 2)).replace("=1 ", "=x ") + end
        p = self.soak(self.fake(bad))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("cannot read the aggregator's line", p.stderr)


if __name__ == "__main__":
    unittest.main()
