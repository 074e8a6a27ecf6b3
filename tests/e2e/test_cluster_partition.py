"""A node cut off by a network partition (issue 13): the test puts node-2
in a network namespace of its own, joined to the host by a veth pair, with
etcd and the NATS servers listening on the host side's address; the
partition is a blackhole route in the namespace (every packet to the host
side dropped, as a cut cable would, not refused). Needs root (CI runs as
root) and iproute2."""

import json
import os
import subprocess
import time
import uuid

import pytest
import requests

from conftest import Api
from test_cluster import rows, shards_of, wait_until

LEASE = 3.0  # the nodes' --lease-ms default, in seconds


class Namespace:
    """A network namespace with a veth to the host: host side .1, namespace
    side .2 of a random 10.x.y.z/30."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.name, self.host_if, self.ns_if = f"qvp{tag}", f"qvh{tag}", f"qvn{tag}"
        n = int(tag, 16) % (64 * 256)
        base = f"10.{200 + n // (64 * 64) % 50}.{n // 64 % 256}.{(n % 64) * 4}"
        prefix = base.rsplit(".", 1)[0]
        last = int(base.rsplit(".", 1)[1])
        self.host_ip, self.ns_ip = f"{prefix}.{last + 1}", f"{prefix}.{last + 2}"
        for cmd in (["ip", "netns", "add", self.name],
                    ["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if],
                    ["ip", "link", "set", self.ns_if, "netns", self.name],
                    ["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if],
                    ["ip", "link", "set", self.host_if, "up"],
                    self.inside("ip", "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if),
                    self.inside("ip", "link", "set", self.ns_if, "up"),
                    self.inside("ip", "link", "set", "lo", "up")):
            subprocess.run(cmd, check=True, capture_output=True)

    def inside(self, *cmd):
        return ["ip", "netns", "exec", self.name, *cmd]

    def cut(self):
        subprocess.run(self.inside("ip", "route", "add", "blackhole", f"{self.host_ip}/32"),
                       check=True, capture_output=True)

    def heal(self):
        subprocess.run(self.inside("ip", "route", "del", "blackhole", f"{self.host_ip}/32"),
                       check=True, capture_output=True)

    def get(self, url):
        """GET from inside the namespace (the cut-off node answers there):
        (status, body)."""
        out = subprocess.run(self.inside("curl", "-s", "-m", "2", "-w", "\n%{http_code}", url),
                             capture_output=True, text=True)
        body, _, code = out.stdout.rpartition("\n")
        return int(code or 0), body

    def remove(self):
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


@pytest.fixture(scope="module")
def namespace():
    if os.geteuid() != 0:
        pytest.fail("the partition test makes network namespaces: run it as root (CI does)")
    ns = Namespace()
    try:
        yield ns
    finally:
        ns.remove()


@pytest.fixture(scope="module")
def partition_services(namespace):
    from cluster import Services
    services = Services(host=namespace.host_ip)
    try:
        yield services
    finally:
        services.stop()


def test_a_node_cut_off_steps_down_before_its_lease_ends_and_catches_up_after(
        namespace, partition_services, tmp_path):
    from cluster import Cluster
    cluster = Cluster(partition_services, str(tmp_path), node_args=("--seal-rows", "100"),
                      netns={2: (namespace.name, namespace.ns_ip)})
    try:
        api = Api(cluster)
        assert api.post("/api/load", {"name": "db", "path": "/x"})[0] == 200

        def led_by(node):
            return [s["shard"] for s in shards_of(api)
                    for r in s["replicas"] if r.get("role") == "leader" and r["node"] == node]

        def settled():
            return all(sum(r.get("role") == "leader" for r in s["replicas"]) == 1
                       and all(r.get("state") == "ready" for r in s["replicas"])
                       for s in shards_of(api))
        # A table some of whose shards node-2 leads (a shard's leader is its
        # first replica in placement order, which hashing decides): made
        # again under a new id until one is.
        for attempt in range(10):
            code, body = api.post("/api/db/schema/tables", {
                "name": "t", "shards": 3, "replicas": 3,
                "fields": [{"name": "id", "dataType": "INT", "primaryKey": True},
                           {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 4}]})
            assert code == 200, body
            wait_until("every shard led, every replica ready", settled)
            if led_by("node-2"):
                break
            assert api.delete("/api/db/schema/tables/t")[0] == 200
        acknowledged = []
        for start in range(0, 600, 200):
            assert api.post("/api/db/data/insert",
                            {"table": "t", "data": rows(range(start, start + 200))})[0] == 200
            acknowledged += range(start, start + 200)
        wait_until("every shard led, every replica ready", settled)
        isolated = cluster.nodes[2]
        theirs = led_by("node-2")
        code, body = namespace.get(isolated.http + "/ready")
        assert code == 200, body

        namespace.cut()
        cut_at = time.monotonic()
        # Inside its namespace, the node stops leading and reports itself
        # not ready once its lease may have passed (0.9 x TTL), before etcd
        # lets anyone else take its shards (the TTL).
        stepped_down = None
        while time.monotonic() - cut_at < 20:
            code, body = namespace.get(isolated.http + "/replicas")
            leading = [r for r in json.loads(body)
                       if r.get("role") == "leader"] if code == 200 else ["?"]
            ready, _ = namespace.get(isolated.http + "/ready")
            if not leading and ready == 503:
                stepped_down = time.monotonic() - cut_at
                break
            time.sleep(0.05)
        assert stepped_down is not None, "the cut-off node still leads or says it is ready"
        assert stepped_down < LEASE, stepped_down
        # Writes and reads go on through the other two nodes; the shards the
        # cut-off node led are led by one of them, once its lease expired.
        for start in range(600, 800, 100):
            code, body = api.post("/api/db/data/insert",
                                  {"table": "t", "data": rows(range(start, start + 100))})
            assert code == 200, body
            acknowledged += range(start, start + 100)
        wait_until("its shards led by another node",
                   lambda: all(any(r.get("role") == "leader" and r["node"] != "node-2"
                                   for r in s["replicas"])
                               for s in shards_of(api) if s["shard"] in theirs))
        led_again = time.monotonic() - cut_at
        assert led_again >= stepped_down, (led_again, stepped_down)
        print(f"partition: the cut-off node stepped down {stepped_down:.1f} s after the cut, "
              f"its shards were led again {led_again:.1f} s after")
        assert api.post("/api/rebuild", {})[0] == 200  # the new leaders seal and commit
        code, body = api.post("/api/db/data/get", {"table": "t", "consistency": "STRONG"})
        assert code == 200 and sorted(r["id"] for r in body["result"]) == acknowledged
        # Still cut off: it claims no leadership, whatever it had.
        code, body = namespace.get(isolated.http + "/replicas")
        assert code == 200 and not any(r.get("role") == "leader"
                                       for r in json.loads(body)), body

        namespace.heal()
        healed_at = time.monotonic()

        def whole():
            shards = shards_of(api)
            return all(len(s["replicas"]) == 3
                       and sum(r.get("role") == "leader" for r in s["replicas"]) == 1
                       and all(r.get("state") == "ready" and r.get("lag") == 0
                               for r in s["replicas"])
                       and len({r.get("rows") for r in s["replicas"]}) == 1
                       for s in shards) and shards
        shards = wait_until("node-2 back, every replica caught up", whole, timeout=90)
        print(f"partition healed: every replica caught up {time.monotonic() - healed_at:.1f} s after")
        assert sum(r["rows"] for s in shards for r in s["replicas"] if r["node"] == "node-2") \
            == len(acknowledged), shards
        code, _ = namespace.get(isolated.http + "/ready")
        assert code == 200
        for level in ("STRONG", "EVENTUAL"):
            code, body = api.post("/api/db/data/get", {"table": "t", "consistency": level})
            assert code == 200 and sorted(r["id"] for r in body["result"]) == acknowledged, level
    finally:
        cluster.stop()
