"""End-to-end harness: real binaries, real sockets, a real Go service.

Every stage is started with --ready-fd and waited on until it writes its
newline (never a sleep standing in for readiness), on ipc sockets in a
scratch run directory, and stopped with SIGTERM, expecting exit status 0.
"""

import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "bin")
BUILD = os.path.join(ROOT, "build")
CORPUS = os.path.abspath(os.path.join(ROOT, "..", "shared", "corpus"))
GOAPP = os.path.join(BUILD, "goapp")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what, step=0.05):
    """Poll pred() until it returns a true value; fail naming what."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


class GoApp:
    """The sample Go service from tests/goapp, listening on loopback."""

    def __init__(self, port=None, args=()):
        self.port = port or free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [GOAPP, "-addr", self.addr] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self._readline(15)
        if not line.startswith(b"listening"):
            self.stop()
            raise AssertionError("goapp did not start: %r" % line)

    def _readline(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if r else b""

    def get(self, path, timeout=15):
        with urllib.request.urlopen("http://%s%s" % (self.addr, path), timeout=timeout) as r:
            return r.read()

    def goroutine_total(self):
        text = self.get("/debug/pprof/goroutine?debug=1").decode()
        first = text.splitlines()[0]  # "goroutine profile: total N"
        return int(first.rsplit(" ", 1)[1])

    def memstats(self):
        return json.loads(self.get("/memstats"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Stage:
    """One profpipe-* process, started with --ready-fd and waited on."""

    def __init__(self, run, name, args, instance=None, ready_timeout=20):
        self.run = run
        self.name = name
        self.instance = instance or name
        self.args = args
        self.log_path = os.path.join(run.dir, "%s.log" % self.instance)
        self.start(ready_timeout)

    def start(self, ready_timeout=20):
        r, w = os.pipe()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "profpipe-" + self.name)] + self.args + ["--ready-fd", str(w)],
            pass_fds=[w], stdout=subprocess.DEVNULL, stderr=self.log,
            env=self.run.env)
        os.close(w)
        try:
            ready, _, _ = select.select([r], [], [], ready_timeout)
            got = os.read(r, 1) if ready else b""
        finally:
            os.close(r)
        if got != b"\n":
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s not ready (exit %s): %s" % (
                self.instance, self.proc.returncode, self.read_log()[-2000:]))

    def read_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def terminate(self, timeout=20):
        """SIGTERM and the exit status (the contract says 0)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "did not exit within %ss of SIGTERM" % timeout
        finally:
            self.log.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


class Pipeline:
    """A scratch run directory and the stages started in it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="profpipe-e2e-")
        self.env = dict(os.environ, PROFPIPE_RUN=self.dir)
        self.stages = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_config(self, text):
        p = self.path("profpipe.yaml")
        with open(p, "w") as f:
            f.write(text)
        return p

    def start(self, name, args=(), instance=None):
        s = Stage(self, name, list(args), instance=instance)
        self.stages.append(s)
        return s

    def start_all(self, config, decoders=1, decoder_args=()):
        """Downstream first, as the supervisor does."""
        self.exporter = self.start("exporter", ["-c", config])
        self.aggregator = self.start("aggregator", ["-c", config])
        self.decoders = [self.start("decoder", decoder_args,
                                    instance="decoder.%d" % (i + 1))
                         for i in range(decoders)]
        self.fetcher = self.start("fetcher", ["-c", config])

    def stop_all(self):
        """SIGTERM upstream first; returns {instance: exit status}."""
        order = sorted(self.stages, key=lambda s: ["fetcher", "decoder", "aggregator",
                                                   "exporter", "tap"].index(s.name))
        codes = {}
        for s in order:
            if s.proc.returncode is None or s.proc.poll() is None:
                codes[s.instance] = s.terminate()
            else:
                codes[s.instance] = s.proc.returncode
        return codes


def read_jsonl(path):
    """Every record in a jsonl file; fails on any line that is not JSON."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path, "rb") as f:
        data = f.read()
    # A record is only complete once its newline is written.
    for line in data.split(b"\n")[:-1]:
        out.append(json.loads(line.decode("utf-8")))
    return out


def pull_config(targets, out_path, interval=2, kinds=("cpu", "mem", "goroutines", "mutex", "block"),
                labels=None, extra=""):
    labels = labels or {"service": "checkout", "env": "test"}
    lab = ", ".join("%s: %s" % kv for kv in labels.items())
    addrs = "".join(
        "        - Host: %s\n          Port: %d\n          InstanceLabels: {zone: z%d}\n"
        % (host, port, i) for i, (host, port) in enumerate(targets))
    return (
        "inputs:\n"
        "  - Type: service_go_profile\n"
        "    Name: e2e\n"
        "    Mode: host\n"
        "    Interval: %d\n"
        "    Timeout: 15\n"
        "    BodyLimitSize: 10240\n"
        "    EnabledProfiles: [%s]\n"
        "    Labels: {%s}\n"
        "    Config:\n"
        "      Addresses:\n%s"
        "outputs:\n"
        "  - Type: jsonl\n"
        "    Path: %s\n" % (interval, ", ".join(kinds), lab, addrs, out_path)) + extra
