#!/usr/bin/env python3
"""Failover, measured: a local cluster (etcd, 3 NATS servers, 3 nodes, 2
dispatchers) holds a table of one shard with 2 replicas while a writer, a
STRONG reader and a watcher of /api/cluster run without pause. --kills
times, the node of the shard's leader is killed with SIGKILL; from that
instant the script times

  write   the first write acknowledged among those sent after the kill
  read    the first STRONG read answered among those sent after the kill
  leader  a replica on another node reports itself leader
  seal    that leader committed a checkpoint past the one at the kill
  placed  the shard has 2 ready replicas again, none on the dead node (the
          coordinator placed the lost one on the third node, which loaded the
          leader's objects and the stream's tail)

then starts the dead node again and waits for the shard to be whole before
the next kill. Prints p50 and max of each over the kills; when a write or
read after a kill waited over a second, keeps every process's log.

  python3 bench/cluster_failover.py --bin build/bin/quiver [--kills 20]
"""

import argparse
import glob
import os
import shutil
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = [{"name": "id", "dataType": "INT", "primaryKey": True},
          {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 4}]


class Load:
    """Back-to-back requests of one kind; remembers (sent, answered, ok)."""

    def __init__(self, url, kind):
        self.url, self.kind = url, kind
        self.calls = []
        self.failures = 0
        self.stopping = False
        self.next_id = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _body(self):
        if self.kind == "write":
            ids = range(self.next_id, self.next_id + 20)
            return "/api/db/data/insert", {"table": "t", "upsert": True, "data": [
                {"id": i, "v": [float(i), 1.0, 0.0, float(i % 7)]} for i in ids]}
        return "/api/db/data/query", {"table": "t", "queryField": "v", "limit": 5,
                                      "queryVector": [1.0, 1.0, 0.0, 1.0],
                                      "consistency": "STRONG"}

    def _run(self):
        session = requests.Session()
        while not self.stopping:
            path, body = self._body()
            sent = time.monotonic()
            try:
                ok = session.post(self.url + path, json=body, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            answered = time.monotonic()
            self.calls.append((sent, answered, ok))
            if ok and self.kind == "write":
                self.next_id += 20
            if not ok:
                self.failures += 1
                time.sleep(0.01)
            else:
                time.sleep(0.02)

    def first_ok_after(self, t):
        done = [answered for sent, answered, ok in list(self.calls) if ok and sent >= t]
        return min(done) - t if done else None


def shard(url):
    body = requests.get(url + "/api/cluster", timeout=5).json()["result"]
    return next(s for t in body["tables"] if t["table"] == "t" for s in t["shards"])


def leader_of(s):
    return next((r for r in s["replicas"] if r.get("role") == "leader"), None)


def whole(s):
    return (len(s["replicas"]) == 2 and leader_of(s) is not None
            and all(r.get("state") == "ready" for r in s["replicas"]))


def wait(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, KeyError, StopIteration):
            pass
        time.sleep(0.02)
    sys.exit(f"{what}: not within {timeout} s")


def one_kill(cluster, url, writer, reader):
    s = wait("the shard whole", lambda: shard(url) if whole(shard(url)) else None)
    old = leader_of(s)
    victim = old["node"]
    checkpoint = s["checkpointLsn"]
    node = cluster.nodes[int(victim.split("-")[1])]
    killed = time.monotonic()
    node.kill9()
    marks = {}
    while len(marks) < 3:
        s = shard(url)
        now = time.monotonic() - killed
        new = leader_of(s)
        if new and new["node"] != victim:
            marks.setdefault("leader", now)
            if s["checkpointLsn"] > checkpoint:
                marks.setdefault("seal", now)
        if len(s["replicas"]) == 2 and all(r["node"] != victim and r.get("state") == "ready"
                                           for r in s["replicas"]):
            marks.setdefault("placed", now)
        if now > 120:
            sys.exit(f"not whole 120 s after the kill: {marks} {s}")
        time.sleep(0.02)
    marks["write"] = wait("a write after the kill", lambda: writer.first_ok_after(killed))
    marks["read"] = wait("a STRONG read after the kill", lambda: reader.first_ok_after(killed))
    node.start()
    wait(f"{victim} ready again", lambda: requests.get(node.http + "/ready", timeout=1).ok)
    return marks


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/bin/quiver")
    p.add_argument("--kills", type=int, default=20)
    args = p.parse_args()
    os.environ["QUIVER_BIN"] = os.path.abspath(args.bin)
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
    from cluster import Cluster, Services  # noqa: E402

    services = Services()
    rounds = []
    tmp = tempfile.mkdtemp(prefix="quiver-failover-")
    cluster = Cluster(services, tmp, nodes=3, dispatchers=2, replicas=2,
                      node_args=("--seal-rows", "100"))
    try:
        url = cluster.url
        requests.post(url + "/api/load", json={"name": "db", "path": "/x"}).raise_for_status()
        requests.post(url + "/api/db/schema/tables", json={
            "name": "t", "shards": 1, "replicas": 2, "fields": FIELDS}).raise_for_status()
        writer, reader = Load(url, "write"), Load(cluster.dispatchers[1].url, "read")
        for k in range(args.kills):
            marks = one_kill(cluster, url, writer, reader)
            rounds.append(marks)
            print(f"kill {k + 1:2}: " + ", ".join(
                f"{m} {marks[m]:.2f} s" for m in ("write", "read", "leader", "seal", "placed")),
                flush=True)
        writer.stopping = reader.stopping = True
        writer.thread.join()
        reader.thread.join()
        rows = requests.post(url + "/api/db/data/get", json={"table": "t"}, timeout=60).json()
        lost = len(set(range(writer.next_id)) - {r["id"] for r in rows["result"]})
    finally:
        cluster.stop()
        # A write or read that waited over a second after a kill: keep
        # every process's log for a look.
        slow = [k + 1 for k, r in enumerate(rounds) if max(r["write"], r["read"]) > 1.0]
        if slow:
            for log in glob.glob(os.path.join(services.dir, "*.log")):
                shutil.copy(log, tmp)
        services.stop()
    if slow:
        print(f"kills {slow}: a write or read waited over 1 s; logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.kills} leader kills (kill -9), lease 3 s, one shard x 2 replicas on 3 nodes:")
    for m in ("write", "read", "leader", "seal", "placed"):
        values = [r[m] for r in rounds]
        print(f"  {m:>6}: p50 {percentile(values, 0.5):.2f} s, max {max(values):.2f} s")
    print(f"  requests that failed: {writer.failures} writes of {len(writer.calls)}, "
          f"{reader.failures} STRONG reads of {len(reader.calls)}; "
          f"acknowledged rows missing at the end: {lost}")
    if lost:
        sys.exit("acknowledged writes were lost")


if __name__ == "__main__":
    main()
