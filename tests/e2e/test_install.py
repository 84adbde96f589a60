"""make install, and what it installs used as a user would: the example
configuration (scripts/profpipe.yaml, the README's), edited only where a
user must (the address to profile, the paths and ports a test machine can
give), run by the systemd unit's own command line from the installed
tree, with no PROFPIPE_BIN, then stopped the way the unit says systemd
stops it."""

import configparser
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.request

from harness import ROOT, GoApp, free_port, wait_until

PREFIX = "/opt/profpipe"


def readme_block(n):
    """The nth ```yaml block of README.md (0 first)."""
    blocks, cur = [], None
    with open(os.path.join(ROOT, "README.md")) as f:
        for line in f:
            if cur is None and line.rstrip("\n") == "```yaml":
                cur = []
            elif cur is not None and line.startswith("```"):
                blocks.append("".join(cur))
                cur = None
            elif cur is not None:
                cur.append(line)
    return blocks[n]


def unit_service(path):
    """The [Service] section of a systemd unit file, as a dict."""
    cp = configparser.ConfigParser(strict=False, interpolation=None,
                                   comment_prefixes=("#", ";"))
    cp.optionxform = str
    with open(path) as f:
        cp.read_file(f)
    return dict(cp["Service"])


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dest = tempfile.mkdtemp(prefix="profpipe-install-")
        r = subprocess.run(["make", "--no-print-directory", "install",
                            "DESTDIR=" + cls.dest], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError("make install: " + r.stdout + r.stderr)
        cls.root = cls.dest + PREFIX

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def at(self, *parts):
        return os.path.join(self.root, *parts)

    def test_layout(self):
        for stage in ("fetcher", "decoder", "aggregator", "exporter", "tap"):
            self.assertTrue(os.access(self.at("bin", "profpipe-" + stage), os.X_OK), stage)
        self.assertTrue(os.access(self.at("scripts", "profpipe"), os.X_OK))
        for f in ("index.html", "app.js", "flame.js", "style.css"):
            self.assertTrue(os.path.isfile(self.at("exporter", "ui", f)), f)

    def test_example_config_is_the_readmes(self):
        with open(self.at("scripts", "profpipe.yaml")) as f:
            body = "".join(line for line in f if not line.startswith("#"))
        self.assertEqual(body, readme_block(0))

    def test_unit_verifies(self):
        """systemd's own check of the unit, its command pointed at the
        installed tree."""
        with open(self.at("scripts", "profpipe.service")) as f:
            text = f.read().replace(PREFIX, self.root)
        unit = os.path.join(self.dest, "profpipe.service")
        with open(unit, "w") as f:
            f.write(text)
        r = subprocess.run(["systemd-analyze", "verify", unit],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout + r.stderr, "")

    def test_service_runs_and_stops(self):
        svc = unit_service(self.at("scripts", "profpipe.service"))
        self.assertEqual(svc["KillMode"], "mixed")
        self.assertEqual(svc["KillSignal"], "SIGTERM")
        self.assertEqual(svc["RestartPreventExitStatus"], "100")
        self.assertEqual(svc["ExecReload"], PREFIX + "/scripts/profpipe reload")
        stop_timeout = int(svc["TimeoutStopSec"])
        env_key, env_val = svc["Environment"].split("=", 1)
        self.assertEqual(env_key, "PROFPIPE_RUN")

        app = GoApp()
        tmp = tempfile.mkdtemp(prefix="profpipe-svc-")
        ui_port, metrics_port = free_port(), free_port()
        try:
            with open(self.at("scripts", "profpipe.yaml")) as f:
                conf = f.read()
            for old, new in (("Port: 18689", "Port: %d" % app.port),
                             ("Interval: 10", "Interval: 1"),
                             ("/var/lib/profpipe", os.path.join(tmp, "state")),
                             ("127.0.0.1:8080", "127.0.0.1:%d" % ui_port),
                             ("127.0.0.1:9464", "127.0.0.1:%d" % metrics_port)):
                self.assertIn(old, conf)
                conf = conf.replace(old, new)
            os.makedirs(os.path.join(tmp, "state"))
            cfg = os.path.join(tmp, "profpipe.yaml")
            with open(cfg, "w") as f:
                f.write(conf)

            argv = svc["ExecStart"].replace(PREFIX, self.root).split()
            self.assertEqual(argv[-2:], ["-c", "/etc/profpipe.yaml"])
            argv[-1] = cfg
            env = {k: v for k, v in os.environ.items() if not k.startswith("PROFPIPE_")}
            env[env_key] = os.path.join(tmp, "run")
            self.assertNotEqual(env_val, env[env_key])
            out = open(os.path.join(tmp, "stdout"), "w+b")
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
            try:
                def records():
                    out.seek(0)
                    return [r for r in out.read().split(b"\n")
                            if r.startswith(b"{") and "stackID" in json.loads(r)]
                wait_until(records, 60, "records on the supervisor's stdout")

                def ui():
                    try:
                        with urllib.request.urlopen(
                                "http://127.0.0.1:%d/" % ui_port, timeout=2) as r:
                            return r.read()
                    except OSError:
                        return None
                page = wait_until(ui, 30, "the installed UI")
                with open(self.at("exporter", "ui", "index.html"), "rb") as f:
                    self.assertEqual(page, f.read())

                # systemctl reload: the unit's ExecReload, same environment.
                r = subprocess.run(svc["ExecReload"].replace(PREFIX, self.root).split(),
                                   env=env, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                log = os.path.join(tmp, "run", "log", "fetcher.log")
                wait_until(lambda: "reloaded %s" % cfg in open(log).read(), 30,
                           "the fetcher's reload")

                pids = []
                state = os.path.join(tmp, "run", "state")
                for name in os.listdir(state):
                    if name.endswith((".pid", ".child")):
                        with open(os.path.join(state, name)) as f:
                            pids.append(int(f.read().strip()))
                self.assertGreaterEqual(len(pids), 8)  # 4+ stages, loop and child

                # KillMode=mixed: SIGTERM to the main process alone.
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=stop_timeout), 0)
                for pid in pids:
                    with self.assertRaises(ProcessLookupError, msg=str(pid)):
                        os.kill(pid, 0)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                out.close()
        finally:
            app.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
