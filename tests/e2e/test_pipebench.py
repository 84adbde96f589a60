"""tests/bench/pipebench, the harness `make bench` measures the pipeline
with, run briefly around the real decoders (and the real aggregator): it
must get an OK for what it sends, every decoder must have worked, what it
counts must have reached its sink, and every stage must exit 0. Nothing
here is timed: the speed is `make bench`'s business.

The sink count is the check on the profile ids: pipebench writes each
large request once into a memfd and rewrites only its id and its time
before each send, and the aggregator drops an id it has handed on
already, so ids
that failed to change would leave the sink far fewer results than the
profiles answered."""

import os
import subprocess
import sys
import unittest

from harness import BIN, BUILD, CORPUS, ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
from benchfiles import bench_files  # noqa: E402

PIPEBENCH = os.path.join(BUILD, "bench", "pipebench")
# The files make bench feeds it: large ones go by reference, small inline.
FILES = bench_files(CORPUS)


def pipebench(args):
    """Exit status, the key=value pairs of its line, its stderr."""
    p = subprocess.run([PIPEBENCH, "-b", BIN, "-w", "0.3", "-s", "1"] + args + FILES,
                       capture_output=True, text=True, timeout=120)
    pairs = dict(kv.split("=", 1) for kv in p.stdout.split() if "=" in kv)
    return p.returncode, pairs, p.stderr


class PipeBench(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        subprocess.run(["make", "--no-print-directory", "build/bench/pipebench"],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)

    def check_counts(self, rc, kv, err):
        self.assertEqual(rc, 0, err)
        self.assertGreater(int(kv["profiles"]), 0, kv)
        self.assertEqual(kv["rejected"], "0", err)
        self.assertEqual(kv["failed"], "0", err)
        self.assertEqual(kv["bad_exits"], "0", err)
        # the sink counts from the start, profiles only the measured time
        self.assertGreaterEqual(int(kv["sink_msgs"]), int(kv["profiles"]), kv)

    def test_files_are_the_mix(self):
        large = [f for f in FILES if os.path.getsize(f) >= 64 << 10]
        self.assertTrue(large, "no file goes by reference")
        self.assertLess(len(large), len(FILES), "no file goes inline")

    def test_two_decoders(self):
        rc, kv, err = pipebench(["-n", "2"])
        self.check_counts(rc, kv, err)
        each = [float(x) for x in kv["decoder_cpu_each"].split(",")]
        self.assertEqual(len(each), 2, kv)
        for cpu in each:
            self.assertGreater(cpu, 0, kv)

    def test_decoder_and_aggregator(self):
        rc, kv, err = pipebench(["-n", "1", "-a"])
        self.check_counts(rc, kv, err)
        self.assertGreater(float(kv["aggregator_cpu"]), 0, kv)

    def test_inline(self):
        rc, kv, err = pipebench(["-n", "1", "-i", "-a"])
        self.check_counts(rc, kv, err)


if __name__ == "__main__":
    unittest.main()
