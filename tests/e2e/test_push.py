"""The push intake end to end: dd-trace-go's uploads (the three bodies of
../shared/corpus/push, posted with curl as they are) through the four real
stages to jsonl records, and every answer the intake gives: 200 once the
decoders took every profile, 400 naming what is wrong, 401, 404, 405, 413,
503 with Retry-After while no decoder answers, and a bounded load with slow
clients during which nothing accepted is lost."""

import collections
import glob
import gzip
import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import unittest

from harness import BIN, CORPUS, Pipeline, free_port, read_jsonl, wait_until
from test_aggregate import read_results

PUSH = os.path.join(CORPUS, "push")
BODIES = ("ddtrace-v2-zstd", "ddtrace-v1-event-gzip", "ddtrace-legacy-form")
ENDPOINT = "/profiling/v1/input"
EVENT_START = 1793527200  # 2026-11-01T10:00:00.000000001Z, in seconds
NS = 1000000000
KIND_TYPE = {"cpu": "profile_cpu", "mem": "profile_mem", "mutex": "profile_mutex",
             "block": "profile_block", "goroutines": "profile_goroutines"}
ATTACHMENT_KIND = {"cpu.pprof": "cpu", "delta-heap.pprof": "mem", "delta-mutex.pprof": "mutex",
                   "delta-block.pprof": "block", "goroutines.pprof": "goroutines"}
LEGACY_KIND = {"cpu": "cpu", "alloc_objects,alloc_space,inuse_objects,inuse_space": "mem"}


def body(name):
    with open(os.path.join(PUSH, name + ".multipart"), "rb") as f:
        data = f.read()
    with open(os.path.join(PUSH, name + ".content-type")) as f:
        return data, f.read().strip()


def parts(data, ctype):
    """(name, bytes) of each part: the test's own reading of the body."""
    delim = b"--" + ctype.split("boundary=")[1].strip('"').encode()
    out = []
    for p in data.split(delim)[1:-1]:
        head, _, content = p.partition(b"\r\n\r\n")
        out.append((head.split(b'name="')[1].split(b'"')[0].decode(), content[:-2]))
    return out


def zstd_frame(b):
    """b compressed by the zstd tool: one frame."""
    return subprocess.run(["zstd", "-q", "-c"], input=b, stdout=subprocess.PIPE,
                          check=True).stdout


def inflate(b):
    if b[:2] == b"\x1f\x8b":
        return gzip.decompress(b)
    if b[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=b, stdout=subprocess.PIPE, check=True).stdout
    return b


def real_files():
    """sha1 of the inflated bytes -> the real/goapp-* file."""
    out = {}
    for f in glob.glob(os.path.join(CORPUS, "real", "goapp-*.pb.gz")):
        with open(f, "rb") as fh:
            out[hashlib.sha1(gzip.decompress(fh.read())).hexdigest()] = f
    return out


def attachments(name):
    """kind -> the real file the body's attachment of that kind came from."""
    data, ctype = body(name)
    ps = parts(data, ctype)
    real = real_files()
    out = {}
    for pname, content in ps:
        kind = ATTACHMENT_KIND.get(pname)
        if pname.startswith("data["):
            types = dict(ps)["types[%s" % pname[5:]].decode()
            kind = LEGACY_KIND[types]
        if kind is not None:
            out[kind] = real[hashlib.sha1(inflate(content)).hexdigest()]
    return out


def folded_oracle(path, sample_type):
    """{root;...;leaf: value} from the decoder's one-shot mode."""
    out = subprocess.run([os.path.join(BIN, "profpipe-decoder"), "--format", "folded",
                          "--sample-type", sample_type, path],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    totals = collections.Counter()
    for line in out.splitlines():
        stack, _, v = line.rpartition(" ")
        # A sample without frames (goapp-goroutine has one) has no leaf to
        # name: records, one per stack with a name, carry none.
        if stack:
            totals[stack] += int(v)
    return totals


def folded_records(records, value_type):
    """The same from records: name (leaf) + stack (callers), by function."""
    totals = collections.Counter()
    for r in records:
        if r["valueTypes"] != value_type:
            continue
        frames = [r["name"]] + ([l for l in r["stack"].split("\n")] if r["stack"] else [])
        key = ";".join(f.split(" ")[0] for f in reversed(frames))
        totals[key] += round(float(r["val"]))
    return totals


def curl(port, name, path=ENDPOINT, extra=(), data=None, ctype=None):
    """curl --data-binary @body, as the brief says; returns (status, headers, text)."""
    cmd = ["curl", "-sS", "-i", "-X", "POST", "http://127.0.0.1:%d%s" % (port, path)]
    if name is not None:
        data, ctype = body(name)
    if ctype is not None:
        cmd += ["-H", "Content-Type: " + ctype]
    cmd += list(extra)
    cmd += ["--data-binary", "@-"]
    out = subprocess.run(cmd, input=data or b"", stdout=subprocess.PIPE, check=True,
                         timeout=60).stdout.decode("utf-8", "replace")
    # curl -i prints "HTTP/1.1 100 Continue" first when it asked for one.
    while out.startswith("HTTP/1.1 100"):
        out = out.split("\r\n\r\n", 1)[1]
    head, _, text = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    return status, headers, text


def push_config(port, out, extra_input="", ack_timeout=2, max_size=65536):
    return (
        "inputs:\n"
        "  - Type: profile_push\n"
        "    Listen: 127.0.0.1:%d\n"
        "    Endpoints: [%s]\n"
        "    MaxSize: %d\n"
        "    AckTimeout: %d\n"
        "    Labels: {cluster: eu-1}\n"
        "%s"
        "outputs:\n"
        "  - Type: jsonl\n"
        "    Path: %s\n" % (port, ENDPOINT, max_size, ack_timeout, extra_input, out))


def sent_count(p):
    return p.fetcher.read_log().count(": sent profile ")


class PushBodies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.auth_port = free_port()
        cls.p = Pipeline()
        cls.out = cls.p.path("records.jsonl")
        auth = ("  - Type: profile_push\n"
                "    Listen: 127.0.0.1:%d\n"
                "    Token: s3cret\n" % cls.auth_port)
        cls.p.start_all(cls.p.write_config(push_config(cls.port, cls.out, auth)))

    @classmethod
    def tearDownClass(cls):
        codes = cls.p.stop_all()
        assert codes == {k: 0 for k in codes}, codes

    def post_and_collect(self, name, n_kinds):
        before = {r["profileID"] for r in read_jsonl(self.out)}
        status, _, text = curl(self.port, name)
        self.assertEqual(status, 200, text)
        wait_until(lambda: len({r["profileID"] for r in read_jsonl(self.out)} - before) >= n_kinds,
                   30, "records of %s" % name)
        return [r for r in read_jsonl(self.out) if r["profileID"] not in before]

    def check_body(self, name, tags):
        real = attachments(name)
        records = self.post_and_collect(name, len(real))
        by_kind = collections.defaultdict(list)
        for r in records:
            by_kind[r["type"]].append(r)
        self.assertEqual(set(by_kind), {KIND_TYPE[k] for k in real})
        ids = collections.defaultdict(set)
        for kind, path in real.items():
            recs = by_kind[KIND_TYPE[kind]]
            for r in recs:
                ids[kind].add(r["profileID"])
                self.assertEqual(r["__time__"], EVENT_START)
                labels = json.loads(r["labels"])
                for k, v in tags.items():
                    self.assertEqual(labels.get(k), v, (k, labels))
                self.assertEqual(labels["cluster"], "eu-1")
                self.assertEqual(labels["job"], "profile_push")
            for vt in sorted({r["valueTypes"] for r in recs}):
                self.assertEqual(folded_records(recs, vt), folded_oracle(path, vt),
                                 "%s %s %s" % (name, kind, vt))
        # Each attachment has a profile id of its own.
        self.assertEqual(sum(len(v) for v in ids.values()), len(real))
        return by_kind

    def test_v2_zstd(self):
        by_kind = self.check_body("ddtrace-v2-zstd", {
            "service": "checkout", "env": "prod", "version": "1.4.2", "host": "node-7",
            "runtime-id": "9f0c2d1e-aaaa-bbbb-cccc-123456789abc", "profile_seq": "12",
            "__name__": "checkout", "instance": "node-7"})
        # delta-heap is already a delta: all four types, from the first profile.
        self.assertEqual({r["valueTypes"] for r in by_kind["profile_mem"]},
                         {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"})

    def test_v1_event_gzip(self):
        self.check_body("ddtrace-v1-event-gzip", {
            "service": "checkout", "env": "prod", "host": "node-7", "__name__": "checkout"})

    def test_legacy_form(self):
        self.check_body("ddtrace-legacy-form", {
            "service": "legacy-svc", "env": "staging", "version": "0.9.0",
            "__name__": "legacy-svc"})

    def test_metrics_json_reaches_the_decoder(self):
        # metrics.json has no stacks, so no records; the decoder took it
        # (an attachment it refused would have made the answer a 400).
        status, _, text = curl(self.port, "ddtrace-v2-zstd")
        self.assertEqual(status, 200, text)
        self.assertIn("accepted 6 profiles", text)

    def test_oversize_is_413_and_nothing_enters(self):
        before = sent_count(self.p)
        data, ctype = body("ddtrace-v2-zstd")
        big = data + b"x" * 65536
        status, _, text = curl(self.port, None, data=big, ctype=ctype)
        self.assertEqual(status, 413)
        self.assertIn("over the limit of 65536 bytes", text)
        # Same path again, answered at once: nothing was queued meanwhile.
        status, _, _ = curl(self.port, "ddtrace-legacy-form")
        self.assertEqual(status, 200)
        self.assertEqual(sent_count(self.p), before + 2)

    def expect_400(self, data, ctype, want):
        before = sent_count(self.p)
        status, _, text = curl(self.port, None, data=data, ctype=ctype)
        self.assertEqual(status, 400, text)
        self.assertIn(want, text)
        wait_until(lambda: want in self.p.fetcher.read_log(), 10, "a log line: " + want)
        return before

    def test_truncated_body(self):
        data, ctype = body("ddtrace-v2-zstd")
        before = self.expect_400(data[:len(data) // 2], ctype, "truncated")
        self.assertEqual(sent_count(self.p), before)

    def test_missing_boundary(self):
        data, _ = body("ddtrace-v1-event-gzip")
        self.expect_400(data, "multipart/form-data", "Content-Type has no boundary")

    def test_truncated_zstd_frame(self):
        data, ctype = body("ddtrace-v2-zstd")
        cpu = dict(parts(data, ctype))["cpu.pprof"]
        bad = data.replace(cpu, cpu[:len(cpu) - 100])
        before = self.expect_400(bad, ctype, "cpu.pprof: corrupt or truncated zstd frame")
        self.assertEqual(sent_count(self.p), before)

    def test_zstd_frames(self):
        """A zstd stream may hold several frames, and skippable ones: the
        intake passes each such part on and the decoder reads it whole;
        bytes past the last frame are refused, with where."""
        data, ctype = body("ddtrace-v2-zstd")
        cpu = dict(parts(data, ctype))["cpu.pprof"]
        raw = inflate(cpu)
        half = len(raw) // 2
        skippable = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"note"
        for name, new in (("two frames",
                           zstd_frame(raw[:half]) + zstd_frame(raw[half:])),
                          ("a skippable frame first", skippable + zstd_frame(raw))):
            before = sent_count(self.p)
            status, _, text = curl(self.port, None, data=data.replace(cpu, new),
                                   ctype=ctype)
            self.assertEqual(status, 200, name + ": " + text)
            self.assertGreater(sent_count(self.p), before, name)
        before = self.expect_400(data.replace(cpu, cpu + b"junk"), ctype,
                                 "cpu.pprof: corrupt or truncated zstd frame at byte %d"
                                 % len(cpu))
        self.assertEqual(sent_count(self.p), before)

    def test_corrupt_zstd_frame_refused_by_decoder(self):
        data, ctype = body("ddtrace-v2-zstd")
        cpu = dict(parts(data, ctype))["cpu.pprof"]
        mid = len(cpu) // 2
        bad = data.replace(cpu, cpu[:mid] + bytes(b ^ 0x5a for b in cpu[mid:mid + 64]) + cpu[mid + 64:])
        self.expect_400(bad, ctype, "cpu.pprof: not a profile")

    def test_paths_and_methods(self):
        status, _, _ = curl(self.port, "ddtrace-v2-zstd", path="/nope")
        self.assertEqual(status, 404)
        status, headers, _ = curl(self.port, None, extra=["-X", "GET"])
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "POST")

    def test_token(self):
        status, headers, _ = curl(self.auth_port, "ddtrace-legacy-form")
        self.assertEqual(status, 401)
        status, _, _ = curl(self.auth_port, "ddtrace-legacy-form",
                            extra=["-H", "Authorization: Bearer wrong"])
        self.assertEqual(status, 401)
        status, _, _ = curl(self.auth_port, "ddtrace-legacy-form",
                            extra=["-H", "Authorization: Bearer s3cret"])
        self.assertEqual(status, 200)
        status, _, _ = curl(self.auth_port, "ddtrace-legacy-form", extra=["-H", "DD-API-KEY: s3cret"])
        self.assertEqual(status, 200)
        # Without the token, the answer comes from the head alone: the
        # 30 MB the head announces are never sent, nor waited for.
        with socket.create_connection(("127.0.0.1", self.auth_port), timeout=20) as s:
            s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
                      b" boundary=b\r\nContent-Length: 31457280\r\n\r\n" % ENDPOINT.encode())
            answer = s.recv(4096)
        self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer)
        self.assertIn(b"WWW-Authenticate: Bearer", answer)


class PushManyTags(unittest.TestCase):
    """An input with more labels than an upload has tags, and an upload
    whose service and host come after 64 other tags: both answered 200,
    each profile filed under the service and host the upload names, every
    label kept, and the tags past the 64th counted and logged."""

    LABELS = 200

    def test_labels_and_tags_past_the_cap(self):
        port = free_port()
        p = Pipeline()
        out = p.path("r.jsonl")
        labels = "{%s}" % ", ".join("l%03d: v%d" % (i, i) for i in range(self.LABELS))
        config = push_config(port, out).replace("{cluster: eu-1}", labels)
        data, ctype = body("ddtrace-v2-zstd")
        event = dict(parts(data, ctype))["event"]
        tags = json.loads(event)["tags_profiler"]
        many = ",".join("kube_label_%d:x" % i for i in range(64))
        try:
            p.start_all(p.write_config(config))
            status, _, text = curl(port, None, data=data.replace(
                event, event.replace(tags.encode(), (many + "," + tags).encode())), ctype=ctype)
            self.assertEqual(status, 200, text)
            wait_until(lambda: {r["type"] for r in read_jsonl(out)} >= {"profile_cpu", "profile_mem"},
                       30, "records")
            for r in read_jsonl(out):
                got = json.loads(r["labels"])
                self.assertEqual((got["service"], got["instance"], got["host"]),
                                 ("checkout", "node-7", "node-7"), got)
                self.assertEqual(sum(k.startswith("l") and k[1:].isdigit() for k in got),
                                 self.LABELS)
                self.assertEqual(got["kube_label_63"], "x")
                self.assertNotIn("env", got)  # past the 64th, and not one kept
            wait_until(lambda: "tags skipped" in p.fetcher.read_log(), 10, "a log line")
            self.assertIn('5 tags skipped, over-long or past the 64th (the first: "env")',
                          p.fetcher.read_log())
        finally:
            codes = p.stop_all()
        self.assertEqual(codes, {k: 0 for k in codes})
        self.assertIn("tags_skipped=5", p.fetcher.read_log())


class PushWindows(unittest.TestCase):
    """dd-trace-go uploads a profile at its end, a whole Window after the
    start that places it in a window: that window waits for such profiles
    (here 6 s past its grace of 1 s), so two hosts' uploads of the same
    minute merge into one window, even the one posted after the window
    would have closed by the grace alone."""

    WINDOW = 6
    GRACE = 1

    def upload(self, host, start, end):
        data, ctype = body("ddtrace-v2-zstd")
        event = dict(parts(data, ctype))["event"]

        def rfc3339(ns):
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // NS)) + \
                ".%09dZ" % (ns % NS)
        new = json.loads(event)
        new["start"], new["end"] = rfc3339(start), rfc3339(end)
        new["tags_profiler"] = new["tags_profiler"].replace("host:node-7", "host:" + host)
        return data.replace(event, json.dumps(new).encode()), ctype

    def test_two_hosts_one_window(self):
        port = free_port()
        p = Pipeline()
        out = p.path("r.jsonl")
        config = push_config(port, out) + (
            "aggregator:\n  Window: %d\n  WindowGrace: %d\n  MergeInstances: true\n"
            % (self.WINDOW, self.GRACE))
        tap_path = p.path("tap.jsonl")
        tap_out = open(tap_path, "wb")
        tap = None
        try:
            p.start_all(p.write_config(config))
            tap = subprocess.Popen([os.path.join(BIN, "profpipe-tap"), "aggregator"],
                                   stdout=tap_out, stderr=subprocess.DEVNULL, env=p.env)
            # The tap hears only what comes after it subscribed: a first
            # upload, far in the past (late, so a profile only), says so.
            old = time.time_ns() - 3600 * NS
            data, ctype = self.upload("warmup", old, old + NS)

            def tap_heard():
                status, _, text = curl(port, None, data=data, ctype=ctype)
                self.assertEqual(status, 200, text)
                return read_results(tap_path)
            wait_until(tap_heard, 30, "the tap's first result", step=0.5)
            now = time.time_ns()
            start, end = now - self.WINDOW * NS - NS // 2, now - NS // 2
            w_end = (start // (self.WINDOW * NS) + 1) * self.WINDOW * NS
            data, ctype = self.upload("node-A", start, end)
            status, _, text = curl(port, None, data=data, ctype=ctype)
            self.assertEqual(status, 200, text)
            # Past the moment the grace alone would have closed it.
            while time.time_ns() < w_end + self.GRACE * NS + NS // 2:
                time.sleep(0.05)
            data, ctype = self.upload("node-B", start, end)
            status, _, text = curl(port, None, data=data, ctype=ctype)
            self.assertEqual(status, 200, text)

            def cpu_window():
                return [r["window"] for r in read_results(tap_path)
                        if r.get("window") and r["window"]["origin"]["kind"] == "cpu"
                        and r["window"]["origin"]["start_ns"] == w_end - self.WINDOW * NS]
            wait_until(cpu_window, 30, "the cpu window")
            w = cpu_window()[0]
            self.assertEqual(w["n_profiles"], 2, w["origin"])
            self.assertEqual(w["instances"], ["node-A", "node-B"])
        finally:
            codes = p.stop_all()
            if tap is not None:
                tap.terminate()
                tap.wait(20)
            tap_out.close()
        self.assertEqual(codes, {k: 0 for k in codes})
        log = p.aggregator.read_log()
        self.assertIn(" 0 late profiles", log.split("stopping")[-1])


class PushWithoutDecoders(unittest.TestCase):
    """No decoder: 503 with Retry-After, not an accepted-and-dropped
    upload; once a decoder is back, the same request, retried as 503
    asks, succeeds."""

    def test_503_then_success(self):
        port = free_port()
        p = Pipeline()
        out = p.path("r.jsonl")
        try:
            p.start_all(p.write_config(push_config(port, out, ack_timeout=1)))
            p.decoders[0].terminate()
            status, headers, text = curl(port, "ddtrace-legacy-form")
            self.assertEqual(status, 503, text)
            self.assertEqual(headers["retry-after"], "5")
            wait_until(lambda: "answered 503" in p.fetcher.read_log(), 10, "a log line")
            p.decoders[0].start()
            # The decoder is listening, but the fetcher redials it on its
            # own backoff (up to 1 s), which can outlast one request's
            # AckTimeout: a client told 503 retries, and a retry succeeds.
            answers = []

            def retried():
                status, headers, text = curl(port, "ddtrace-legacy-form")
                answers.append((status, text))
                if status == 503:
                    self.assertEqual(headers["retry-after"], "5")
                return status != 503
            wait_until(retried, 30, "a retried upload to be accepted", step=0)
            self.assertEqual(answers[-1][0], 200, answers)
            wait_until(lambda: {r["type"] for r in read_jsonl(out)} >= {"profile_cpu", "profile_mem"},
                       30, "records after the retry")
        finally:
            codes = p.stop_all()
        self.assertEqual(codes, {k: 0 for k in codes})


class PushLoad(unittest.TestCase):
    """A bounded loopback load (REQUESTS uploads from CLIENTS threads) while
    SLOW clients trickle a request one byte a second: the intake keeps
    answering, and every profile of every 200 reaches the records."""

    REQUESTS = 120
    CLIENTS = 6
    SLOW = 3

    def test_load_with_slow_clients(self):
        port = free_port()
        p = Pipeline()
        out = p.path("r.jsonl")
        data, ctype = body("ddtrace-legacy-form")  # 2 attachments, both with records
        statuses = collections.Counter()
        lock = threading.Lock()
        stop_slow = threading.Event()
        slow_bytes = collections.Counter()

        def slow(i):
            s = socket.create_connection(("127.0.0.1", port))
            req = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" % ENDPOINT.encode()
            try:
                for b in req:
                    if stop_slow.wait(1.0):
                        break
                    s.sendall(bytes([b]))
                    slow_bytes[i] += 1
            except OSError:
                pass
            finally:
                s.close()

        def client(n):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(n):
                c.request("POST", ENDPOINT, body=data, headers={"Content-Type": ctype})
                r = c.getresponse()
                r.read()
                with lock:
                    statuses[r.status] += 1
                if r.getheader("Connection") == "close":
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.close()

        try:
            p.start_all(p.write_config(push_config(port, out, ack_timeout=10)), decoders=2)
            slows = [threading.Thread(target=slow, args=(i,)) for i in range(self.SLOW)]
            for t in slows:
                t.start()
            wait_until(lambda: all(slow_bytes[i] > 0 for i in range(self.SLOW)), 10,
                       "slow clients connected")
            clients = [threading.Thread(target=client, args=(self.REQUESTS // self.CLIENTS,))
                       for _ in range(self.CLIENTS)]
            for t in clients:
                t.start()
            for t in clients:
                t.join(120)
            # The slow clients were still mid-request the whole time.
            still_slow = all(t.is_alive() for t in slows)
            stop_slow.set()
            for t in slows:
                t.join(10)
            self.assertTrue(still_slow, "slow clients finished before the load did")
            self.assertEqual(sum(statuses.values()), self.REQUESTS, statuses)
            self.assertLessEqual(set(statuses), {200, 503}, statuses)
            self.assertGreater(statuses[200], 0, statuses)
            want = 2 * statuses[200]
            wait_until(lambda: len({r["profileID"] for r in read_jsonl(out)}) >= want, 60,
                       "%d profiles in the records" % want)
            self.assertEqual(len({r["profileID"] for r in read_jsonl(out)}), want)
        finally:
            stop_slow.set()
            codes = p.stop_all()
        self.assertEqual(codes, {k: 0 for k in codes})


if __name__ == "__main__":
    unittest.main()
