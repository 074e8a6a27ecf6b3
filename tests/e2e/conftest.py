"""Runs the real quiver binary for end-to-end tests."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

BINARY = os.environ.get("QUIVER_BIN", os.path.join(ROOT, "build", "bin", "quiver"))
LISTEN_RE = re.compile(r"listening on https?://[\d.]+:(\d+)")


class QuiverProcess:
    """One server process over a data directory; restartable."""

    def __init__(self, data_dir, extra_args=(), env=None):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.clients = []  # Api objects whose connections a graceful stop closes first
        self.proc = None
        self.port = None
        self.log_path = os.path.join(os.path.dirname(data_dir), "server.log")

    def start(self, timeout=20):
        log = open(self.log_path, "a")
        start_offset = log.tell()
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data", self.data_dir, "--host", "127.0.0.1", "--port", "0",
             *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                f.seek(start_offset)
                match = LISTEN_RE.search(f.read())
            if match:
                self.port = int(match.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("quiver exited early:\n" + self.log())
            time.sleep(0.02)
        raise RuntimeError("quiver did not start:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout=20):
        # Idle keep-alive connections would hold a graceful shutdown until
        # they time out; a well-behaved client closes them.
        for client in self.clients:
            client.session.close()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def restart(self):
        if self.proc and self.proc.poll() is None:
            self.kill9()
        return self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def services():
    """etcd and three NATS servers for the tests that run a cluster."""
    from cluster import running_services
    yield from running_services()


@pytest.fixture
def cluster(services):
    """A fresh local cluster (3 nodes, 2 dispatchers, replicas 2)."""
    from cluster import Cluster
    with tempfile.TemporaryDirectory(prefix="quiver-cluster-") as tmp:
        running = Cluster(services, tmp)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def server():
    with tempfile.TemporaryDirectory(prefix="quiver-e2e-") as tmp:
        process = QuiverProcess(os.path.join(tmp, "data")).start()
        try:
            yield process
        finally:
            process.stop()


class Api:
    """Thin JSON helper: returns (status, body)."""

    def __init__(self, server):
        self.server = server
        self.session = requests.Session()
        server.clients.append(self)

    def call(self, method, path, payload=None, data=None):
        kwargs = {"timeout": 30}
        if data is not None:
            kwargs["data"] = data
        elif payload is not None:
            kwargs["json"] = payload
        response = self.session.request(method, self.server.url + path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if isinstance(body, dict) and "statusCode" in body:
            assert body["statusCode"] == response.status_code, body
        return response.status_code, body

    def post(self, path, payload=None, data=None):
        return self.call("POST", path, payload, data)

    def get(self, path):
        return self.call("GET", path)

    def delete(self, path):
        return self.call("DELETE", path)


@pytest.fixture
def api(server):
    return Api(server)
