"""A live Go service's records against Go's own parser, end to end.

goapp's CPU burner and idle goroutines carry goroutine labels
(tests/goapp), which Go writes into their CPU and goroutine profile
samples; its heap samples carry Go's numeric "bytes" label. Every
profile the fetcher sends is taken from its tap (profpipe-tap fetcher
--bytes), as fetched, and read by Go's own parser (build/pprof-folded
-json). The records of that profile must hold the same stacks, with the
same labels and values, for every value type that records pass on
unchanged; and the heap's alloc_space and alloc_objects, which records
carry as the growth since the series' previous profile, must be the
difference of what Go reads from the two.

The input's labels include "workload", a key goapp's pprof labels use too.
A record's labels are one JSON object, so a key can be there once: the
collector's label keeps it, and the service's label comes as
exported_workload (as Prometheus renames a scraped label that clashes).
"""

import base64
import collections
import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN, BUILD, GoApp, Pipeline, pull_config, read_jsonl, wait_until
from test_pull import sent_profiles

ORACLE = os.path.join(BUILD, "pprof-folded")
# The value types whose records carry a profile's values as Go reads them
# (alloc_space and alloc_objects become deltas, and are left out).
KIND_TYPES = {"cpu": ("cpu",), "goroutines": ("goroutine",),
              "mem": ("inuse_space", "inuse_objects"),
              "mutex": ("contentions", "delay"), "block": ("contentions", "delay")}
INPUT_LABELS = {"service": "checkout", "env": "test", "workload": "fleet"}


def free_key(key, taken):
    """key, or exported_key (again and again) until it is not in taken."""
    while key in taken:
        key = "exported_" + key
    return key


def go_view(body):
    """Go's parser's JSON view of the profile body."""
    with tempfile.NamedTemporaryFile(suffix=".pb.gz") as f:
        f.write(body)
        f.flush()
        return json.loads(subprocess.run([ORACLE, "-json", f.name], stdout=subprocess.PIPE,
                                         check=True).stdout)


def go_totals(doc, value_type, origin_keys):
    """{(frames, labels): value} of Go's view in the records' terms:
    frames 'function file', leaf first; labels as records show them (a
    number with its unit after a space), renamed where they clash; no
    zero totals (records leave them out)."""
    col = [t["type"] for t in doc["sample_types"]].index(value_type)
    out = collections.Counter()
    for s in doc["stacks"]:
        if not s["frames"]:
            continue  # no leaf to name: records carry none
        frames = tuple("%s %s" % (fr["name"], fr["file"]) for fr in s["frames"])
        taken = set(origin_keys)
        labels = []
        for lab in s["labels"]:
            key = free_key(lab["key"], taken)
            taken.add(key)
            if "str" in lab:
                labels.append((key, lab["str"]))
            else:
                unit = lab.get("unit", "")
                labels.append((key, "%d%s" % (lab["num"], " " + unit if unit else "")))
        out[frames, frozenset(labels)] += s["values"][col]
    return +out


def record_totals(records, value_type, origin):
    """The same from records, checking that each carries origin's labels."""
    out = collections.Counter()
    for r in records:
        if r["valueTypes"] != value_type:
            continue
        frames = (r["name"],) + (tuple(r["stack"].split("\n")) if r["stack"] else ())
        labels = json.loads(r["labels"])
        for k, v in origin.items():
            if labels.pop(k, None) != v:
                raise AssertionError("record without %s=%s: %s" % (k, v, r["labels"]))
        out[frames, frozenset(labels.items())] += round(float(r["val"]))
    return out


def mem_pairs(sent, tapped):
    """(previous, next) heap profiles, in the order sent (one decoder: the
    order the aggregator took them), both of them tapped."""
    mem = [pid for pid in sent if tapped.get(pid) == "mem"]
    return [(a, b) for a, b in zip(mem, mem[1:])]


class RecordsAgainstGo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = GoApp()
        cls.p = Pipeline()
        out = cls.p.path("records.jsonl")
        cfg = cls.p.write_config(pull_config([("127.0.0.1", cls.app.port)], out, interval=2,
                                             kinds=tuple(KIND_TYPES), labels=INPUT_LABELS))
        cls.p.start_all(cfg)
        tap_path = cls.p.path("tap.jsonl")
        with open(tap_path, "wb") as tap_out:
            tap = subprocess.Popen([os.path.join(BIN, "profpipe-tap"), "fetcher", "--bytes"],
                                   stdout=tap_out, stderr=subprocess.DEVNULL, env=cls.p.env)
        try:
            # The tap hears what is sent once it has dialled: wait for a
            # profile of each kind that it heard and whose records are all
            # written (the fetcher logs a profile as sent once the exporter
            # has acked it).
            # And two heap profiles in a row, for the alloc deltas.
            def heard_and_sent():
                sent = [pid for _, _, pid in sent_profiles(cls.p.fetcher.read_log())]
                tapped = {m["origin"]["profile_id"]: m["origin"]["kind"]
                          for m in read_jsonl(tap_path)}
                kinds = {tapped[pid] for pid in sent if pid in tapped}
                return kinds >= set(KIND_TYPES) and mem_pairs(sent, tapped)
            wait_until(heard_and_sent, 60,
                       "a profile of each kind and two heap profiles in a row, tapped and sent")
        finally:
            tap.terminate()
            tap.wait()
            cls.codes = cls.p.stop_all()
            cls.app.stop()
        cls.tapped = read_jsonl(tap_path)
        cls.sent_order = [pid for _, _, pid in sent_profiles(cls.p.fetcher.read_log())]
        cls.sent = set(cls.sent_order)
        cls.records = read_jsonl(out)

    def origin(self):
        return dict(INPUT_LABELS, __name__="checkout", instance=self.app.addr, job="e2e",
                    zone="z0")

    def test_records_hold_what_go_reads(self):
        origin = self.origin()
        compared = collections.Counter()
        for m in self.tapped:
            o = m["origin"]
            if o["profile_id"] not in self.sent or o["kind"] not in KIND_TYPES:
                continue
            self.assertNotIn("by_ref", {k for k, v in m.items() if v}, "a small profile")
            doc = go_view(base64.b64decode(m["body"]))
            mine = [r for r in self.records if r["profileID"] == o["profile_id"]]
            for vt in KIND_TYPES[o["kind"]]:
                self.assertEqual(record_totals(mine, vt, origin), go_totals(doc, vt, origin),
                                 (o["kind"], vt, o["profile_id"]))
                compared[o["kind"], vt] += 1
        self.assertEqual(set(compared), {(k, vt) for k, vts in KIND_TYPES.items()
                                         for vt in vts}, compared)

    def test_alloc_deltas_are_differences_of_what_go_reads(self):
        # alloc_space and alloc_objects are cumulative in Go's heap
        # profile; a profile's records carry the growth since the one
        # before it in the series (the counters of a live process only
        # grow, so no stack takes the restart rule).
        origin = self.origin()
        bodies = {m["origin"]["profile_id"]: m["body"] for m in self.tapped}
        pairs = mem_pairs(self.sent_order, {m["origin"]["profile_id"]: m["origin"]["kind"]
                                            for m in self.tapped})
        self.assertTrue(pairs)
        for a, b in pairs:
            before, after = (go_view(base64.b64decode(bodies[pid])) for pid in (a, b))
            mine = [r for r in self.records if r["profileID"] == b]
            for vt in ("alloc_space", "alloc_objects"):
                prev = go_totals(before, vt, origin)
                want = go_totals(after, vt, origin)
                want.subtract(prev)
                self.assertGreaterEqual(min(want.values(), default=0), 0, (vt, want))
                self.assertEqual(record_totals(mine, vt, origin), +want, (vt, a, b))

    def test_labels_arrive(self):
        # Not vacuous: the service's labels are in the records, renamed
        # where the input's own label has the key.
        cpu = [json.loads(r["labels"]) for r in self.records
               if r["type"] == "profile_cpu" and r["name"].startswith("main.burnCPU ")]
        self.assertTrue(cpu)
        for labels in cpu:
            self.assertEqual(labels["workload"], "fleet")
            self.assertEqual(labels["exported_workload"], "burn")
            self.assertEqual(labels["endpoint"], "/burn")
        idle = collections.Counter()
        for r in self.records:
            if r["type"] == "profile_goroutines":
                if json.loads(r["labels"]).get("exported_workload") == "idle":
                    idle[r["profileID"]] += round(float(r["val"]))
        # goapp keeps 20 idle goroutines, each labelled once it has run
        self.assertGreaterEqual(max(idle.values(), default=0), 20, idle)
        # Go's numeric label on every heap sample: the allocations' size
        # (Go 1.19's runtime writes it without a unit)
        sizes = [json.loads(r["labels"]).get("bytes") for r in self.records
                 if r["type"] == "profile_mem"]
        self.assertTrue(sizes)
        for size in sizes:
            self.assertRegex(size, r"^[1-9][0-9]*$")

    def test_stages_exit_0(self):
        self.assertEqual(set(self.codes.values()), {0}, self.codes)


if __name__ == "__main__":
    unittest.main()
