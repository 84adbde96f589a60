"""Runs tests/e2e/test_*.py (or the modules named) with unittest, verbose,
and ends with the line "e2e: N passed, N failed"."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

loader = unittest.TestLoader()
if len(sys.argv) > 1:
    suite = loader.loadTestsFromNames(sys.argv[1:])
else:
    suite = loader.discover(HERE, pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors)
print("e2e: %d passed, %d failed" % (result.testsRun - failed - len(result.skipped), failed)
      + (", %d skipped" % len(result.skipped) if result.skipped else ""))
sys.exit(1 if failed else 0)
