"""scripts/profpipe supervises the real stages: up, status, scale, restart,
reload, down; and profpipe-tap shows what passes out of a stage."""

import json
import os
import re
import subprocess
import unittest

from harness import BIN, ROOT, GoApp, Pipeline, pull_config, read_jsonl, wait_until

PROFPIPE = os.path.join(ROOT, "scripts", "profpipe")


def status(env):
    out = subprocess.run([PROFPIPE, "status"], capture_output=True, text=True, env=env,
                         timeout=30).stdout
    rows = {}
    for line in out.splitlines()[1:]:
        name, pid, restarts, state, _ = line.split()
        rows[name] = (pid, int(restarts), state)
    return rows


def alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, ValueError):
        return False


class Supervisor(unittest.TestCase):
    def setUp(self):
        self.app = GoApp()
        self.p = Pipeline()
        self.out = self.p.path("r.jsonl")
        self.cfg = self.p.write_config(pull_config([("127.0.0.1", self.app.port)], self.out,
                                                   interval=1, kinds=("goroutines",)))

    def tearDown(self):
        subprocess.run([PROFPIPE, "down"], env=self.p.env, capture_output=True, timeout=120)
        self.app.stop()

    def cli(self, *args):
        r = subprocess.run([PROFPIPE] + list(args), capture_output=True, text=True,
                           env=self.p.env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_up_scale_restart_down(self):
        self.cli("up", "-c", self.cfg, "--decoders", "1", "--detach")
        rows = status(self.p.env)
        self.assertEqual(set(rows), {"exporter", "aggregator", "decoder.1", "fetcher"})
        self.assertTrue(all(state == "ready" for _, _, state in rows.values()), rows)
        wait_until(lambda: read_jsonl(self.out), 30, "records through the supervised pipeline")

        self.cli("scale", "decoder", "3")
        rows = status(self.p.env)
        decs = {k: v for k, v in rows.items() if k.startswith("decoder.")}
        self.assertEqual(len(decs), 3)
        self.assertTrue(all(alive(pid) for pid, _, _ in decs.values()))

        self.cli("scale", "decoder", "2")
        rows = status(self.p.env)
        self.assertEqual(sorted(k for k in rows if k.startswith("decoder.")),
                         ["decoder.1", "decoder.2"])
        self.assertFalse(alive(decs["decoder.3"][0]))

        old = rows["aggregator"][0]
        self.cli("restart", "aggregator")
        new = status(self.p.env)["aggregator"][0]
        self.assertNotEqual(old, new)
        self.assertFalse(alive(old))
        n = len({r["profileID"] for r in read_jsonl(self.out)})
        wait_until(lambda: len({r["profileID"] for r in read_jsonl(self.out)}) >= n + 3, 30,
                   "records after the aggregator restarted")

        # A stage that dies is restarted by its loop.
        fetcher_pid = status(self.p.env)["fetcher"][0]
        os.kill(int(fetcher_pid), 9)
        wait_until(lambda: status(self.p.env)["fetcher"][1] == 1 and
                   status(self.p.env)["fetcher"][2] == "ready", 30, "fetcher restarted")

        pids = [pid for pid, _, _ in status(self.p.env).values()]
        self.cli("down")
        self.assertFalse(any(alive(pid) for pid in pids))
        exits = {}
        for name in ("exporter", "aggregator", "decoder.1", "decoder.2"):
            with open(os.path.join(self.p.dir, "state", name + ".lastexit")) as f:
                exits[name] = f.read().strip()
        self.assertEqual(exits, {k: "0" for k in exits})

    def test_reload_reads_the_targets_again(self):
        """profpipe reload (the unit's ExecReload): the fetcher takes a
        target added to the file, without a restart."""
        other = GoApp()
        try:
            self.cli("up", "-c", self.cfg, "--decoders", "1", "--detach")
            fetcher = status(self.p.env)["fetcher"][0]

            def instances():
                return {json.loads(r["labels"])["instance"] for r in read_jsonl(self.out)}
            wait_until(lambda: self.app.addr in instances(), 30, "the first target's records")
            self.assertNotIn(other.addr, instances())
            self.p.write_config(pull_config(
                [("127.0.0.1", self.app.port), ("127.0.0.1", other.port)], self.out,
                interval=1, kinds=("goroutines",)))
            out = self.cli("reload")
            self.assertIn("reloading its targets from %s" % self.cfg, out)
            wait_until(lambda: other.addr in instances(), 30, "the added target's records")
            self.assertEqual(status(self.p.env)["fetcher"][:2], (fetcher, 0))
        finally:
            other.stop()

    def test_up_without_decoders(self):
        # Refused before anything starts: a pipeline with no decoder
        # fetches and passes nothing on.
        r = subprocess.run([PROFPIPE, "up", "-c", self.cfg, "--decoders", "0", "--detach"],
                           capture_output=True, text=True, env=self.p.env, timeout=30)
        self.assertEqual(r.returncode, 100)
        self.assertIn("--decoders: at least 1", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.p.dir, "state", "config")))

    def test_reload_without_a_fetcher(self):
        r = subprocess.run([PROFPIPE, "reload"], capture_output=True, text=True,
                           env=self.p.env, timeout=30)
        self.assertEqual(r.returncode, 100)
        self.assertIn("the fetcher is not running in %s" % self.p.dir, r.stderr)

    def test_tap_prints_what_passes(self):
        self.cli("up", "-c", self.cfg, "--decoders", "1", "--detach")
        for stage, key in (("fetcher", "origin"), ("decoder", "stack_hash"),
                           ("aggregator", "profile")):
            r = subprocess.run([os.path.join(BIN, "profpipe-tap"), stage, "--count", "1"],
                               capture_output=True, text=True, env=self.p.env, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            line = r.stdout.strip().splitlines()
            self.assertEqual(len(line), 1)
            msg = json.loads(line[0])
            self.assertIn(key, json.dumps(msg))
            self.assertTrue(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-4", line[0]), line[0][:200])


if __name__ == "__main__":
    unittest.main()
