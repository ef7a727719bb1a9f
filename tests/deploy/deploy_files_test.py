#!/usr/bin/env python3
"""Checks deploy/ against the binary it deploys, since no container engine runs in CI:
every GEMINI_METER_* setting in the Dockerfile, compose file, Kubernetes manifest and systemd
unit is accepted by gemini-meter itself; the image's runtime packages hold every shared
library the binary links; the YAML parses; Prometheus accepts its config; every Grafana
query is valid PromQL over metrics that gemini-meter's /metrics declares.

usage: deploy_files_test.py --binary PATH --source DIR
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

ARGS = None
# In debian:bookworm-slim already (apt itself needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def deploy(*parts):
    return os.path.join(ARGS.source, "deploy", *parts)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run_meter(env, *argv):
    """Runs gemini-meter with only `env` (plus PATH), as a container would."""
    full = {"PATH": "/usr/bin:/bin", **env}
    return subprocess.run([ARGS.binary, *argv], env=full, capture_output=True, text=True, timeout=30)


def dockerfile_env():
    text = read(deploy("Dockerfile")).replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(re.findall(r"(GEMINI_METER_[A-Z_]+)=(\S+)", line))
    return env


def compose_env():
    doc = yaml.safe_load(read(deploy("compose", "compose.yaml")))
    env = dict(doc["services"]["gemini-meter"]["environment"])
    # Compose fills ${VAR:?...} from the shell; the token is not a flag (it is read apart).
    return {k: str(v) for k, v in env.items() if k != "GEMINI_METER_ADMIN_TOKEN"}


def kubernetes_env():
    doc = yaml.safe_load(read(deploy("kubernetes", "sidecar.yaml")))
    containers = doc["spec"]["template"]["spec"]["containers"]
    meter = next(c for c in containers if c["name"] == "gemini-meter")
    return {e["name"]: str(e["value"]) for e in meter["env"]}


def systemd_env():
    env = {}
    for line in read(deploy("systemd", "gemini-meter.service")).splitlines():
        m = re.fullmatch(r"Environment=(GEMINI_METER_[A-Z_]+)=(.*)", line)
        if m:
            env[m.group(1)] = m.group(2).replace("%d", "/run/credentials/gemini-meter.service")
    return env


class EnvironmentAcceptedByTheBinary(unittest.TestCase):
    def check(self, env):
        self.assertTrue(env, "no GEMINI_METER_* setting found")
        # `pricing` parses and validates the whole configuration, then only prints.
        r = run_meter(env, "pricing")
        self.assertEqual(r.returncode, 0, f"{env}\n{r.stderr}")

    def test_dockerfile(self):
        self.check(dockerfile_env())

    def test_compose(self):
        self.check(compose_env())

    def test_kubernetes(self):
        self.check(kubernetes_env())

    def test_systemd(self):
        self.check(systemd_env())

    def test_a_misspelled_or_invalid_setting_is_refused(self):
        # What makes the checks above able to fail.
        r = run_meter({"GEMINI_METER_LISTN": "0.0.0.0:8080"}, "pricing")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("GEMINI_METER_LISTN", r.stderr)
        r = run_meter({"GEMINI_METER_DRAIN_TIMEOUT": "thirty"}, "pricing")
        self.assertNotEqual(r.returncode, 0)


class RuntimeImage(unittest.TestCase):
    def runtime_packages(self):
        text = read(deploy("Dockerfile"))
        final_stage = text[text.rindex("\nFROM "):].replace("\\\n", " ")
        m = re.search(r"apt-get install -y --no-install-recommends ([^&]+)&&", final_stage)
        self.assertIsNotNone(m, "no apt-get install in the final stage")
        return set(m.group(1).split())

    def test_runtime_packages_hold_every_linked_library(self):
        if shutil.which("dpkg") is None:
            self.skipTest("not a Debian machine: dpkg missing")
        ldd = subprocess.run(["ldd", ARGS.binary], capture_output=True, text=True, check=True).stdout
        libs = re.findall(r"=> (/\S+)", ldd)
        self.assertTrue(libs)
        # One dpkg call: it reads its whole file database each time.
        paths = sorted({p for lib in libs for p in (lib, os.path.realpath(lib))})
        out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
        owner = {}
        for line in out.splitlines():
            pkg, _, path = line.partition(": ")
            owner[path] = pkg.split(":")[0]  # "libssl3:amd64" -> "libssl3"
        needed = set()
        for lib in libs:
            pkg = owner.get(lib) or owner.get(os.path.realpath(lib))
            self.assertIsNotNone(pkg, f"{lib} belongs to no Debian package")
            needed.add(pkg)
        missing = needed - BASE_IMAGE_PACKAGES - self.runtime_packages()
        self.assertFalse(missing, f"deploy/Dockerfile's runtime stage lacks {sorted(missing)}")

    def test_tls_trust_store_is_installed(self):
        self.assertIn("ca-certificates", self.runtime_packages())


class Prometheus(unittest.TestCase):
    def test_config_is_accepted_by_promtool(self):
        r = subprocess.run(["promtool", "check", "config", deploy("prometheus", "prometheus.yml")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GrafanaDashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dashboard = json.loads(read(deploy("grafana", "gemini-meter.json")))
        cls.exprs = [t["expr"] for p in cls.dashboard["panels"] for t in p["targets"]]

    def test_every_query_is_valid_promql(self):
        # promtool checks PromQL only inside rule files: each query becomes a recording rule.
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(self.exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            yaml.safe_dump(rules, f)
        try:
            r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            os.unlink(f.name)

    def test_every_metric_is_declared_by_gemini_meter(self):
        with tempfile.TemporaryDirectory() as tmp:
            proxy_port, admin_port = free_port(), free_port()
            env = {"GEMINI_METER_LISTEN": f"127.0.0.1:{proxy_port}",
                   "GEMINI_METER_ADMIN_LISTEN": f"127.0.0.1:{admin_port}",
                   "GEMINI_METER_DATABASE": f"sqlite:{tmp}/usage.db",
                   "GEMINI_METER_UPSTREAM": "http://127.0.0.1:9"}
            proc = subprocess.Popen([ARGS.binary, "serve"], env={"PATH": "/usr/bin:/bin", **env},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                body = None
                for _ in range(100):
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=2) as r:
                            body = r.read().decode()
                        break
                    except OSError:
                        if proc.poll() is not None:
                            self.fail(f"gemini-meter exited: {proc.stderr.read()}")
                        time.sleep(0.1)
                self.assertIsNotNone(body, "no /metrics answer")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        declared = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
        self.assertTrue(declared)
        used = set()
        for e in self.exprs:
            used.update(re.findall(r"gemini_meter_[a-z_]+", e))
        self.assertTrue(used)
        for name in sorted(used):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            self.assertTrue(name in declared or base in declared, f"{name} is not in gemini-meter's /metrics")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
