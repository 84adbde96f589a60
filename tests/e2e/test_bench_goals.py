"""tests/bench/goalmath, which says in make bench's goal lines what 10x
Go's parser would take on a file below it: the speed as a share of
libdeflate's inflate alone, and the share of profpipe's work beyond
inflating that would have to go. Checked by applying the cut it gives to
the time it was computed from, which must then come out at the goal."""

import os
import sys
import unittest

from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
from goalmath import describe, goal_needs  # noqa: E402


def speed_after(inflate, profpipe, cut):
    """profpipe's speed once cut of its time beyond inflating is gone."""
    beyond = 1.0 / profpipe - 1.0 / inflate
    return 1.0 / (1.0 / inflate + (1.0 - cut) * beyond)


class GoalNeeds(unittest.TestCase):
    def test_cut_reaches_the_goal(self):
        for go, inflate, profpipe in ((23.1, 334.4, 183.2),
                                      (16.5, 318.4, 140.5),
                                      (1.0, 100.0, 2.0)):
            share, cut = goal_needs(10.0, go, inflate, profpipe)
            self.assertGreater(cut, 0.0)
            self.assertLess(cut, 1.0)
            self.assertAlmostEqual(share, 10.0 * go / inflate)
            self.assertAlmostEqual(speed_after(inflate, profpipe, cut),
                                   10.0 * go, places=6)

    def test_met_needs_nothing(self):
        self.assertEqual(goal_needs(10.0, 20.0, 400.0, 210.0)[1], 0.0)
        self.assertEqual(goal_needs(10.0, 20.0, 400.0, 200.0)[1], 0.0)

    def test_inflate_alone_too_slow(self):
        share, cut = goal_needs(10.0, 30.0, 290.0, 200.0)
        self.assertIsNone(cut)
        self.assertAlmostEqual(share, 300.0 / 290.0)
        self.assertIn("libdeflate alone is 0.97x",
                      describe("g.pb.gz", share, cut))

    def test_describe(self):
        self.assertEqual(describe("b.pb.gz", 0.691, 0.4567),
                         "b.pb.gz: 0.69x libdeflate's speed, 46% less work "
                         "beyond inflating")

    def test_refuses_nonpositive(self):
        with self.assertRaises(ValueError):
            goal_needs(10.0, 0.0, 300.0, 100.0)


if __name__ == "__main__":
    unittest.main()
