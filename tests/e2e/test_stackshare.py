"""tests/bench/stackshare.py, whose numbers tests/bench/HISTORY.md cites:
on a profile written by hand, where the call paths can be counted, it
must count them; its stacks and frames are the decoder's."""

import os
import subprocess
import sys
import tempfile
import unittest

import pprof_build as pb
from harness import BIN, ROOT

STACKSHARE = os.path.join(ROOT, "tests", "bench", "stackshare.py")


class StackShare(unittest.TestCase):
    def run_on(self, raw):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "p.pb")
            with open(path, "wb") as f:
                f.write(raw)
            p = subprocess.run([sys.executable, STACKSHARE, "-b", BIN, path],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = p.stdout.splitlines()
        self.assertEqual(rows[0], "| file | stacks | frames | "
                         "distinct call paths | frames ÷ paths |")
        self.assertEqual(len(rows), 3)
        return [c.strip() for c in rows[2].strip("|").split("|")]

    def test_shared_root(self):
        # Leaf first: f called from g, g alone, f alone. Root-first paths:
        # g, g>f, f: 3 for 4 frames.
        raw = pb.profile(pb.sample([1, 2]), pb.sample([2]), pb.sample([1]))
        self.assertEqual(self.run_on(raw), ["p.pb", "3", "4", "3", "1.33"])

    def test_labels_share_a_path(self):
        # The same frames with two label sets: two stacks, one path of 2.
        raw = pb.profile(pb.sample([1, 2], labels=[[(1, pb.K), (2, pb.V)]]),
                         pb.sample([1, 2]))
        self.assertEqual(self.run_on(raw), ["p.pb", "2", "4", "2", "2.00"])

    def test_bad_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.pb")
            with open(path, "wb") as f:
                f.write(b"\xff\xff")
            p = subprocess.run([sys.executable, STACKSHARE, "-b", BIN, path],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("stackshare: %s: " % path, p.stderr)
        self.assertNotIn("Traceback", p.stderr)


if __name__ == "__main__":
    unittest.main()
