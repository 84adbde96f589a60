"""Large profiles through the four real stages, handed over by reference
(common/byref.h): a dd-trace-go upload whose cpu and heap attachments are
the real biggo profiles (51-94 KB gzipped, 200-280 KB decoded). The
records must hold exactly the stacks and values the decoder's one-shot
mode reads from the files, and the decoder, the aggregator and the
exporter must each have read their upstream's memfd (a read-only shared
mapping of it in /proc/PID/maps). The same with a decoder that reads as
CPUs without a fast pext do (--portable), against the default one-shot."""

import os
import select
import signal
import subprocess
import unittest

from harness import BIN, CORPUS, Pipeline, free_port, read_jsonl, wait_until
from test_push import (KIND_TYPE, body, curl, folded_oracle, folded_records,
                       push_config, sent_count)

LARGE = {"cpu.pprof": ("cpu", os.path.join(CORPUS, "real", "biggo-cpu-30s.pb.gz")),
         "delta-heap.pprof": ("mem", os.path.join(CORPUS, "real", "biggo-heap.pb.gz"))}


def large_upload(files=None):
    """The v1 upload with its cpu and heap attachments swapped for the
    biggo files (or those of files, by attachment name), and its content
    type."""
    files = files or {name: path for name, (_, path) in LARGE.items()}
    data, ctype = body("ddtrace-v1-event-gzip")
    delim = b"--" + ctype.split("boundary=")[1].strip('"').encode()
    pieces = data.split(delim)
    for i, p in enumerate(pieces[1:-1], 1):
        head, sep, content = p.partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        if name in files:
            with open(files[name], "rb") as f:
                pieces[i] = head + sep + f.read() + b"\r\n"
    return delim.join(pieces), ctype


def memfd_maps(pid):
    """Permissions of each profpipe memfd mapping of the process."""
    with open("/proc/%d/maps" % pid) as f:
        return [l.split()[1] for l in f if "/memfd:profpipe-byref" in l]


class ByReference(unittest.TestCase):
    def test_large_profiles(self):
        p = self.large_profiles(())
        self.assertRegex(p.decoders[0].read_log(),
                         r"info: ready; location ids read (with pext|without "
                         r"pext \(none fast on this CPU\))\n")

    def test_large_profiles_portable(self):
        """--portable reaches the stage: its decoder reads without pext, as
        a CPU without a fast one does, and the records are the same."""
        p = self.large_profiles(("--portable",))
        self.assertIn("info: ready; location ids read without pext "
                      "(--portable)\n", p.decoders[0].read_log())

    def large_profiles(self, decoder_args):
        port = free_port()
        p = Pipeline()
        out = p.path("records.jsonl")
        p.start_all(p.write_config(push_config(port, out, max_size=8 << 20)),
                    decoder_args=decoder_args)
        try:
            data, ctype = large_upload()
            status, _, text = curl(port, None, data=data, ctype=ctype)
            self.assertEqual(status, 200, text)
            want = {KIND_TYPE[kind] for kind, _ in LARGE.values()}
            wait_until(lambda: want <= {r["type"] for r in read_jsonl(out)}, 60,
                       "records of both large profiles")
            records = read_jsonl(out)
            for kind, path in LARGE.values():
                recs = [r for r in records if r["type"] == KIND_TYPE[kind]]
                types = sorted({r["valueTypes"] for r in recs})
                self.assertTrue(types)
                for vt in types:
                    self.assertEqual(folded_records(recs, vt), folded_oracle(path, vt),
                                     "%s %s" % (path, vt))
            # Each hop: the receiver maps its sender's memfd read-only.
            self.assertIn("rw-s", memfd_maps(p.fetcher.proc.pid))
            self.assertIn("r--s", memfd_maps(p.decoders[0].proc.pid))
            self.assertIn("rw-s", memfd_maps(p.decoders[0].proc.pid))
            self.assertIn("r--s", memfd_maps(p.aggregator.proc.pid))
            self.assertIn("rw-s", memfd_maps(p.aggregator.proc.pid))
            self.assertIn("r--s", memfd_maps(p.exporter.proc.pid))
            for s in (p.fetcher, p.decoders[0], p.aggregator, p.exporter):
                self.assertNotIn("by reference", s.read_log())
        finally:
            codes = p.stop_all()
        self.assertEqual(codes, {k: 0 for k in codes}, codes)
        return p


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class StalledTap(unittest.TestCase):
    def test_stalled_tap_holds_few_copies(self):
        """A tap that stops reading (piped into a pager, stopped) costs the
        decoder a few queued Decodeds, not one per profile: its queue is
        counted in messages, and 64 of heap-large's 7.7 MB Decoded had
        held 550 MB. 16 uploads pass a stopped tap; the decoder grows by
        less than half of what queueing them all would take."""
        port = free_port()
        p = Pipeline()
        # Records of 17 heap-large profiles come to 7.5 GB: not kept.
        p.start_all(p.write_config(push_config(port, "/dev/null", max_size=8 << 20)))
        tap = subprocess.Popen([os.path.join(BIN, "profpipe-tap"), "decoder"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=p.env)
        try:
            data, ctype = large_upload(
                {"delta-heap.pprof": os.path.join(CORPUS, "synth", "heap-large.pb.gz")})

            def upload():
                status, _, text = curl(port, None, data=data, ctype=ctype)
                self.assertEqual(status, 200, text)

            # The tap hears the decoder (it dials the tap) before it stops.
            upload()
            per_upload = sent_count(p)  # answered once all were taken
            ready, _, _ = select.select([tap.stdout], [], [], 60)
            self.assertTrue(ready, "the tap printed nothing")
            tap.stdout.readline()
            tap.send_signal(signal.SIGSTOP)
            dec = p.decoders[0].proc.pid
            before = rss_kb(dec)
            for _ in range(16):
                upload()
            wait_until(lambda: sent_count(p) >= 17 * per_upload, 120,
                       "17 uploads decoded")
            grown = rss_kb(dec) - before
            self.assertLess(grown, 16 * 7700 // 2, "decoder grew %d KB" % grown)
        finally:
            tap.kill()  # stopped, with megabytes of JSON still to print
            tap.wait(20)
            tap.stdout.close()
            codes = p.stop_all()
        self.assertEqual(codes, {k: 0 for k in codes}, codes)


if __name__ == "__main__":
    unittest.main()
