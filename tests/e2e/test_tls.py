"""The stages over tls+tcp://, with certificates made here by openssl: a CA,
and one certificate it signed for every stage (named localhost, the host
dialed). Records go through every hop; a decoder whose certificate another
CA signed gets nothing through, and neither does one that expects its
listener to be another host; a tls+tcp:// URL without the settings, or with
a file that is not there or holds no certificate, is refused at start,
naming what to set."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import (BIN, GoApp, Pipeline, free_port, pull_config, read_jsonl,
                     wait_until)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".pem",
            cwd=d)
    return os.path.join(d, name + ".pem")


def make_cert(d, ca, name, host):
    """A certificate for host signed by ca, with its key, in one PEM file."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % host,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:%s\n" % host)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
            "-out", name + ".crt", cwd=d)
    out = os.path.join(d, name + ".certkey.pem")
    with open(out, "wb") as o:
        for part in (name + ".crt", name + ".key"):
            with open(os.path.join(d, part), "rb") as f:
                o.write(f.read())
    return out


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="profpipe-tls-")
        cls.ca = make_ca(cls.certs, "ca")
        cls.stage_cert = make_cert(cls.certs, "ca", "stage", "localhost")
        make_ca(cls.certs, "other")
        cls.stranger = make_cert(cls.certs, "other", "stranger", "localhost")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        self.app = GoApp()
        self.p = Pipeline()
        self.p.env["PROFPIPE_TLS_CERT"] = self.stage_cert
        self.p.env["PROFPIPE_TLS_CA"] = self.ca
        self.out = self.p.path("records.jsonl")
        self.cfg = self.p.write_config(pull_config([("127.0.0.1", self.app.port)], self.out,
                                                   interval=1, kinds=("goroutines",)))
        self.urls = ["tls+tcp://localhost:%d" % free_port() for _ in range(3)]

    def tearDown(self):
        codes = self.p.stop_all()
        self.app.stop()
        self.assertEqual(codes, {k: 0 for k in codes})

    def start(self, decoder_env=None):
        raw, decoded, results = self.urls
        self.p.start("exporter", ["-c", self.cfg, "--results", results])
        self.p.start("aggregator", ["-c", self.cfg, "--decoded", decoded, "--results", results])
        env = self.p.env
        if decoder_env is not None:
            self.p.env = dict(env, **decoder_env)
        try:
            self.p.start("decoder", ["--raw", raw, "--decoded", decoded])
        finally:
            self.p.env = env
        # Two profiles in flight at most: with no decoder taking them, the
        # third scrape is skipped, and the fetcher says so.
        self.fetcher = self.p.start("fetcher", ["-c", self.cfg, "--raw", raw,
                                                "--inflight", "2"])

    def test_records_over_tls(self):
        self.start()
        recs = wait_until(lambda: read_jsonl(self.out), 30, "records over tls+tcp")
        self.assertEqual({r["type"] for r in recs}, {"profile_goroutines"})

    def assert_nothing_through(self):
        """Profiles are fetched but no decoder takes them: the fetcher's
        two in-flight slots stay full (it says so when it skips a scrape),
        and no record comes out."""
        wait_until(lambda: "skipped: pipeline full" in self.fetcher.read_log(), 30,
                   "the fetcher to find no decoder taking its profiles")
        self.assertEqual(read_jsonl(self.out), [])

    def test_a_stranger_gets_nothing_through(self):
        self.start({"PROFPIPE_TLS_CERT": self.stranger})
        self.assert_nothing_through()

    def test_a_listener_of_another_name_is_not_trusted(self):
        # The decoder's own certificate is fine, but the listeners it dials
        # show "localhost": dialing 127.0.0.1 instead must fail the check.
        self.urls[0] = self.urls[0].replace("localhost", "127.0.0.1")
        self.start()
        self.assert_nothing_through()

    def refused(self, env, want):
        env = dict(self.p.env, **env)
        for k in [k for k, v in env.items() if v is None]:
            del env[k]
        r = subprocess.run([os.path.join(BIN, "profpipe-exporter"), "--results", self.urls[2]],
                           env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 100)  # configuration: not restarted
        self.assertIn(self.urls[2], r.stderr)
        self.assertIn(want, r.stderr)

    def test_settings_refused_at_start(self):
        self.refused({"PROFPIPE_TLS_CA": None}, "PROFPIPE_TLS_CA is not set")
        self.refused({"PROFPIPE_TLS_CERT": ""}, "PROFPIPE_TLS_CERT is not set")
        missing = os.path.join(self.certs, "nope.pem")
        self.refused({"PROFPIPE_TLS_CERT": missing},
                     "PROFPIPE_TLS_CERT=%s: No such file or directory" % missing)
        self.refused({"PROFPIPE_TLS_CA": self.stage_cert + ".key-only"},
                     "PROFPIPE_TLS_CA=%s.key-only" % self.stage_cert)
        # There, but not a certificate: the TLS library's reason.
        junk = os.path.join(self.certs, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        self.refused({"PROFPIPE_TLS_CA": junk}, "%s: PROFPIPE_TLS_CA: " % self.urls[2])
        self.refused({"PROFPIPE_TLS_CERT": junk}, "%s: PROFPIPE_TLS_CERT: " % self.urls[2])


if __name__ == "__main__":
    unittest.main()
