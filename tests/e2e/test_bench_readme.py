"""tests/bench/readme, which puts the tables of the last `make bench` into
the README between its bench markers: only that span changes, a second
run changes nothing, and a README or a bench output it cannot trust is
refused with the file left as it was. Also that the repository's README
holds one run, between one pair of markers."""

import os
import subprocess
import tempfile
import unittest

from harness import ROOT

SCRIPT = os.path.join(ROOT, "tests", "bench", "readme")
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def bench_md(when):
    return ("Measured by `make bench` on 2 cores; %s.\n\n"
            "| file | profpipe |\n|---|---|\n| a.pb.gz | 1.0 |\n\n"
            "Goals, from these numbers:\n\n- one: **met**\n" % when)


class BenchReadme(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.bench = os.path.join(self.dir.name, "bench.md")
        self.readme = os.path.join(self.dir.name, "README.md")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def read(self, path):
        with open(path, encoding="utf-8") as f:
            return f.read()

    def run_script(self):
        return subprocess.run([SCRIPT, self.bench, self.readme],
                              capture_output=True, text=True, timeout=30)

    def test_replaces_only_between_markers(self):
        before = "# t\n\nintro\n\n"
        after = "\nlater text\n"
        self.write(self.readme, before + BEGIN + "\nold table\n" + END + after)
        self.write(self.bench, bench_md("run one"))
        p = self.run_script()
        self.assertEqual(p.returncode, 0, p.stderr)
        got = self.read(self.readme)
        self.assertTrue(got.startswith(before + BEGIN + "\n"), got)
        self.assertTrue(got.endswith(END + after), got)
        self.assertIn("run one", got)
        self.assertNotIn("old table", got)
        self.assertIn("- one: **met**", got)

        # A newer run replaces the older; the same run again changes nothing.
        self.write(self.bench, bench_md("run two"))
        self.assertEqual(self.run_script().returncode, 0)
        once = self.read(self.readme)
        self.assertIn("run two", once)
        self.assertNotIn("run one", once)
        self.assertEqual(self.run_script().returncode, 0)
        self.assertEqual(self.read(self.readme), once)

    def test_refuses_a_readme_without_one_pair_of_markers(self):
        self.write(self.bench, bench_md("run"))
        for readme in ("no markers\n",
                       BEGIN + "\n" + END + "\n" + BEGIN + "\n" + END + "\n",
                       END + "\nx\n" + BEGIN + "\n",
                       BEGIN + "\nonly the start\n"):
            with self.subTest(readme=readme):
                self.write(self.readme, readme)
                p = self.run_script()
                self.assertEqual(p.returncode, 1)
                self.assertIn("README.md", p.stderr)
                self.assertEqual(self.read(self.readme), readme)
                self.assertFalse(os.path.exists(self.readme + ".tmp"))

    def test_refuses_what_is_not_bench_output(self):
        readme = "x\n" + BEGIN + "\nkept\n" + END + "\n"
        self.write(self.readme, readme)
        for bench in ("", "some other file\n",
                      "Measured by `make bench` but no verdicts\n",
                      bench_md("run") + END + "\n"):
            with self.subTest(bench=bench):
                self.write(self.bench, bench)
                p = self.run_script()
                self.assertEqual(p.returncode, 1)
                self.assertIn("bench.md", p.stderr)
                self.assertEqual(self.read(self.readme), readme)

    def test_missing_file_is_an_error(self):
        self.write(self.readme, BEGIN + "\n" + END + "\n")
        p = self.run_script()
        self.assertEqual(p.returncode, 1)
        self.assertIn("make bench", p.stderr)

    def test_repository_readme_holds_one_run(self):
        text = self.read(os.path.join(ROOT, "README.md"))
        self.assertEqual(text.count(BEGIN), 1)
        self.assertEqual(text.count(END), 1)
        run = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
        self.assertTrue(run.startswith("Measured by `make bench`"), run[:80])
        self.assertIn("Goals, from these numbers:", run)


if __name__ == "__main__":
    unittest.main()
