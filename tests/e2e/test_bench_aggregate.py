"""tests/bench/bench_aggregate, which make bench runs to show where the
aggregator's CPU per profile goes: it must say of each file what the
decoder says of it (its stacks and frames, from profpipe-decoder
--format json), run each step at least once, and exit 0. Nothing here is
timed: the speed is make bench's business."""

import json
import os
import subprocess
import unittest

from harness import BIN, BUILD, CORPUS, ROOT

BENCH_AGGREGATE = os.path.join(BUILD, "bench", "bench_aggregate")
# A CPU profile (passed on as it is), a cumulative heap profile (deltas)
# and a threadcreate profile (a stack with no frames).
FILES = [os.path.join(CORPUS, "real", f) for f in (
    "biggo-cpu-30s.pb.gz", "biggo-heap.pb.gz", "goapp-threadcreate.pb.gz")]


class BenchAggregate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        subprocess.run(["make", "--no-print-directory",
                        "build/bench/bench_aggregate"],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)

    def test_rows_match_the_decoder(self):
        p = subprocess.run([BENCH_AGGREGATE, "0"] + FILES,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [line.split("\t") for line in p.stdout.splitlines()]
        self.assertEqual([r[0] for r in rows], FILES)
        for path, stacks, frames, iters, *steps in rows:
            d = subprocess.run(
                [os.path.join(BIN, "profpipe-decoder"), "--format", "json",
                 path], capture_output=True, text=True, check=True)
            want = json.loads(d.stdout)["stacks"]
            self.assertEqual(int(stacks), len(want), path)
            self.assertEqual(int(frames),
                             sum(len(s["frames"]) for s in want), path)
            self.assertGreaterEqual(int(iters), 1, path)
            for us in steps:
                self.assertGreaterEqual(float(us), 0.0, path)

    def test_usage(self):
        p = subprocess.run([BENCH_AGGREGATE], capture_output=True, text=True)
        self.assertEqual(p.returncode, 100)
        self.assertIn("usage: bench_aggregate MIN FILE", p.stderr)

    def test_bad_file(self):
        bad = os.path.join(CORPUS, "bad", "corrupt-protobuf.pb.gz")
        p = subprocess.run([BENCH_AGGREGATE, "0", bad],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bench_aggregate: %s: " % bad, p.stderr)


if __name__ == "__main__":
    unittest.main()
