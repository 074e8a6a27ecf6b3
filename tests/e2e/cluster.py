"""A local Quiver cluster for end-to-end tests: etcd and three NATS servers
(started once per test session, on free 127.0.0.1 ports), and per test a
fresh cluster of nodes and dispatchers (its own cluster name, so nothing is
shared with other tests but the servers), stopped by their PIDs."""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import requests

from conftest import BINARY


def free_port():
    """A port free now, below the kernel's ephemeral range (an outgoing
    connection cannot take it before the server that gets it binds it)."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    while True:
        port = random.randrange(max(1024, low - 20000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def metric_values(url, name):
    """Each series of metric `name` at url + "/metrics": {labels: value}."""
    values = {}
    for line in requests.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            series, value = line.rsplit(" ", 1)
            values[series[len(name):]] = float(value)
    return values


def wait_for(what, check, timeout=60, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n" + (open(log).read() if log else ""))
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not become ready:\n" + (open(log).read()[-4000:] if log else ""))


class Services:
    """etcd and a 3-server NATS JetStream cluster."""

    def __init__(self, host="127.0.0.1"):
        """`host`: the address every server listens on (a test that puts a
        node in a network namespace gives its veth's host side)."""
        self.host = host
        self.dir = tempfile.mkdtemp(prefix="quiver-services-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.procs = []
        client, peer = free_port(), free_port()
        host = self.host
        self.etcd = f"{host}:{client}"
        log = os.path.join(self.dir, "etcd.log")
        self._spawn(["etcd", "--name", "e", "--data-dir", os.path.join(self.dir, "etcd"),
                     "--listen-client-urls", f"http://{host}:{client}",
                     "--advertise-client-urls", f"http://{host}:{client}",
                     "--listen-peer-urls", f"http://{host}:{peer}",
                     "--initial-advertise-peer-urls", f"http://{host}:{peer}",
                     "--initial-cluster", f"e=http://{host}:{peer}", "--logger=zap"], log)
        wait_for("etcd", lambda: requests.get(f"http://{self.etcd}/health", timeout=1).ok,
                 proc=self.procs[-1], log=log)
        ports = [(free_port(), free_port(), free_port()) for _ in range(3)]
        urls = []
        for i, (port, route, monitor) in enumerate(ports):
            routes = ",".join(f'"nats-route://{host}:{r}"' for j, (_, r, _) in enumerate(ports) if j != i)
            conf = os.path.join(self.dir, f"nats-{i}.conf")
            with open(conf, "w") as f:
                f.write(f'server_name: "n{i}"\nhost: "{host}"\nport: {port}\n'
                        f'http: "{host}:{monitor}"\n'
                        f'max_payload: 8388608\n'
                        f'jetstream {{\n  store_dir: "{self.dir}/nats-{i}"\n}}\n'
                        f'cluster {{\n  name: "quiver"\n  host: "{host}"\n  port: {route}\n'
                        f'  routes: [{routes}]\n}}\n')
            self._spawn(["nats-server", "-c", conf], os.path.join(self.dir, f"nats-{i}.log"))
            urls.append(f"nats://{host}:{port}")
        self.nats = ",".join(urls)
        # Ready once JetStream's cluster has elected its meta leader.
        for i, (_, _, monitor) in enumerate(ports):
            def has_leader(m=monitor):
                jsz = requests.get(f"http://{host}:{m}/jsz", timeout=1).json()
                return bool(jsz.get("meta_cluster", {}).get("leader"))
            wait_for(f"nats-{i}", has_leader, proc=self.procs[1 + i],
                     log=os.path.join(self.dir, f"nats-{i}.log"))

        self.nats_monitors = [monitor for _, _, monitor in ports]

    def _spawn(self, args, log):
        self.specs = getattr(self, "specs", []) + [(args, log)]
        with open(log, "a") as out:
            self.procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL))

    # Process 0 is etcd, 1..3 the NATS servers.
    def kill9(self, i):
        self.procs[i].kill()
        self.procs[i].wait()

    def terminate(self, i):
        self.procs[i].terminate()
        self.procs[i].wait(timeout=30)

    def start(self, i):
        """Starts process i again over its data (after kill9)."""
        args, log = self.specs[i]
        with open(log, "a") as out:
            self.procs[i] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def running_services():
    """Yields started Services and stops them after (a fixture's body)."""
    running = Services()
    try:
        yield running
    finally:
        running.stop()


class Role:
    """One node or dispatcher process."""

    def __init__(self, args, log):
        self.args, self.log_path = args, log
        self.proc = None

    def start(self):
        with open(self.log_path, "a") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        return self

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return None


class Cluster:
    """Nodes and dispatchers of one cluster name; looks like QuiverProcess to
    tests (url, clients, restart, stop): `url` is the first dispatcher, and a
    restart kills it with SIGKILL and starts it again."""

    def __init__(self, services, tmp, nodes=3, dispatchers=2, replicas=2, node_args=(),
                 netns=None):
        """`netns`: {node index: (namespace, address)}: that node runs in the
        network namespace and listens on the address (its veth's side)."""
        self.services, self.tmp = services, tmp
        self.name = "c" + uuid.uuid4().hex[:12]
        self.clients = []
        self.nodes = []
        common = ["--cluster", self.name, "--etcd", services.etcd, "--nats", services.nats]
        for i in range(nodes):
            # Fixed ports, as a StatefulSet's pods have: a node restarted
            # answers where it did.
            http, grpc = free_port(), free_port()
            ns, host = (netns or {}).get(i, (None, "127.0.0.1"))
            role = Role([*(["ip", "netns", "exec", ns] if ns else []),
                         BINARY, "node", "--id", f"node-{i}", *common,
                         "--data", os.path.join(tmp, f"node-{i}"),
                         "--object-store", "dir:" + os.path.join(tmp, "objects"),
                         "--http", f"{host}:{http}", "--grpc", f"{host}:{grpc}",
                         *node_args],
                        os.path.join(tmp, f"node-{i}.log"))
            role.id = f"node-{i}"
            role.http = f"http://{host}:{http}"
            self.nodes.append(role.start())
        self.dispatchers = []
        for i in range(dispatchers):
            port = free_port()
            role = Role([BINARY, "dispatcher", "--id", f"dispatcher-{i}", *common,
                         "--port", str(port), "--replicas", str(replicas)],
                        os.path.join(tmp, f"dispatcher-{i}.log"))
            role.url = f"http://127.0.0.1:{port}"
            self.dispatchers.append(role.start())
        for node in self.nodes:
            wait_for(node.id, lambda n=node: requests.get(n.http + "/ready", timeout=1).ok,
                     proc=node.proc, log=node.log_path)
        for d in self.dispatchers:
            self._wait_dispatcher(d)

    def _wait_dispatcher(self, d):
        def sees_every_node():
            r = requests.get(d.url + "/api/cluster", timeout=2)
            return r.ok and len(r.json()["result"]["nodes"]) == len(self.nodes)
        wait_for(d.args[3], sees_every_node, proc=d.proc, log=d.log_path)

    @property
    def url(self):
        return self.dispatchers[0].url

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    def log(self):
        return "\n".join(open(r.log_path).read()[-3000:] for r in self.nodes + self.dispatchers)

    def restart(self):
        for client in self.clients:
            client.session.close()
        self.dispatchers[0].kill9()
        self.dispatchers[0].start()
        self._wait_dispatcher(self.dispatchers[0])
        return self

    def stop(self):
        for role in self.dispatchers + self.nodes:
            role.stop()
