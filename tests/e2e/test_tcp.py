"""The stages over tcp://, as DESIGN spreads them over hosts: every hop
(fetcher to decoders, decoders to aggregator, aggregator to exporter) on a
loopback tcp:// address given by flag. A memfd reference cannot cross
hosts, so the senders send inline over tcp (they pass references over
ipc:// only), large messages too: a dd-trace-go upload whose
delta-heap.pprof is heap-large (3 MB gzipped, 8 MB once decoded, past
nng's default 1 MB limit on a message received) must come out with the
stacks and values the one-shot decoder reads. (Built with BUS_MAX_MSG at
1 MB, this test fails: the upload is answered 503.)"""

import json
import os
import subprocess
import unittest

from harness import BIN, CORPUS, Pipeline, free_port, read_jsonl, wait_until
from test_push import (ENDPOINT, body, curl, folded_oracle, folded_records, parts,
                       push_config)

HEAP_LARGE = os.path.join(CORPUS, "synth", "heap-large.pb.gz")


class OverTcp(unittest.TestCase):
    def setUp(self):
        self.p = Pipeline()
        self.port = free_port()
        self.out = self.p.path("records.jsonl")
        cfg = self.p.write_config(push_config(self.port, self.out, max_size=32 << 20,
                                              ack_timeout=10))
        raw, decoded, results = ("tcp://127.0.0.1:%d" % free_port() for _ in range(3))
        self.p.start("exporter", ["-c", cfg, "--results", results])
        self.p.start("aggregator", ["-c", cfg, "--decoded", decoded, "--results", results])
        for i in (1, 2):
            self.p.start("decoder", ["--raw", raw, "--decoded", decoded],
                         instance="decoder.%d" % i)
        self.p.start("fetcher", ["-c", cfg, "--raw", raw])

    def tearDown(self):
        codes = self.p.stop_all()
        self.assertEqual(codes, {k: 0 for k in codes})

    def test_large_upload_inline(self):
        data, ctype = body("ddtrace-v1-event-gzip")
        old = dict(parts(data, ctype))["delta-heap.pprof"]
        with open(HEAP_LARGE, "rb") as f:
            big = f.read()
        boundary = ctype.split("boundary=")[1].encode()
        self.assertNotIn(boundary, big)
        self.assertEqual(data.count(old), 1)
        data = data.replace(old, big)

        status, _, text = curl(self.port, None, path=ENDPOINT, data=data, ctype=ctype)
        self.assertEqual(status, 200, text)

        types = [t["type"] for t in json.loads(subprocess.run(
            [os.path.join(BIN, "profpipe-decoder"), "--format", "json", HEAP_LARGE],
            stdout=subprocess.PIPE, check=True).stdout)["sample_types"]]
        want = {vt: folded_oracle(HEAP_LARGE, vt) for vt in types}

        def got():
            recs = [r for r in read_jsonl(self.out) if r["type"] == "profile_mem"]
            return {vt: folded_records(recs, vt) for vt in types}, recs
        # Records are written as the exporter gets them: wait until all of
        # them are in, or fail on what the last look found.
        try:
            wait_until(lambda: got()[0] == want, 60, "the heap profile's records")
        except AssertionError:
            self.assertEqual(got()[0], want)
        self.assertEqual(len({r["profileID"] for r in got()[1]}), 1)
        # No stage tried a reference and had it refused.
        for s in self.p.stages:
            self.assertNotIn("by reference", s.read_log(), s.instance)


class BadAddresses(unittest.TestCase):
    def test_an_address_that_cannot_work_is_exit_100(self):
        """A socket address that cannot work as written is the
        configuration's fault: exit 100 (usage or config), which the
        supervisor and systemd leave stopped, not 111, which they restart
        for ever. Each stage, and the tap."""
        p = Pipeline()
        cfg = p.write_config("inputs:\n  - Type: profile_push\n"
                             "    Listen: 127.0.0.1:%d\n" % free_port())
        no_tls = {k: v for k, v in p.env.items() if not k.startswith("PROFPIPE_TLS")}
        cases = [
            (["profpipe-decoder", "--raw", "bogus-url"], p.env),
            (["profpipe-decoder", "--decoded", "tcp://no-port"], p.env),
            (["profpipe-decoder", "--raw", "foo://x"], p.env),
            (["profpipe-aggregator", "--decoded", "bogus-url"], p.env),
            (["profpipe-aggregator", "--results", "tls+tcp://localhost:7000"], no_tls),
            (["profpipe-exporter", "--results", "bogus-url"], p.env),
            (["profpipe-fetcher", "-c", cfg, "--raw", "bogus-url"], p.env),
            (["profpipe-tap", "fetcher", "--url", "bogus-url"], p.env),
        ]
        for args, env in cases:
            r = subprocess.run([os.path.join(BIN, args[0])] + args[1:], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 100, "%s: %s" % (args, r.stderr))
            self.assertIn(args[-1], r.stderr)


if __name__ == "__main__":
    unittest.main()
