#!/usr/bin/env python3
"""A local cluster against standalone, in the same run on the same data:
durable ingest through a dispatcher (wrk, 1,000-row upserts of 128-d
vectors, every reply after the shards' streams acknowledged the records and
a replica applied them) and search QPS / p99 through a dispatcher over a
table of 2 shards vs one standalone server (one client, sequential, after
both sealed and indexed what the ingest left: the steady state). Then
a follower's bootstrap: a table of one shard with 2 replicas holds
--boot-rows rows, sealed and indexed by its leader; the follower's node
stops, the coordinator places the replica on the third node, which loads
the leader's segments and indexes from the object store plus the stream's
tail: timed from the stop to 2 ready replicas again.

  python3 bench/cluster_bench.py --bin build/bin/quiver [--seconds 10] [--boot-rows 200000]
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_util import start_server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def create(url, dims, shards):
    r = requests.post(url + "/api/load", json={"name": "bench", "path": "/b"})
    if not r.ok:
        sys.exit(f"/api/load: {r.status_code} {r.text}")
    requests.post(url + "/api/bench/schema/tables", json={
        "name": "t", "shards": shards, "fields": [
            {"name": "id", "dataType": "INT", "primaryKey": True},
            {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": dims}]}).raise_for_status()


def ingest(url, bodies_dir, bodies, seconds, connections, batch):
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", os.path.join(HERE, "wrk_insert.lua"), url, "--", bodies_dir, str(bodies)],
        capture_output=True, text=True, check=True)
    if "insert failed" in out.stderr:
        sys.exit("inserts failed:\n" + out.stderr[:2000])
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1)) * batch


def settle(url):
    # Seal and index what the ingest left, so that searches measure the
    # steady state, not background index builds.
    requests.post(url + "/api/rebuild", timeout=3600).raise_for_status()


def searches(url, queries, consistency="STRONG"):
    session = requests.Session()
    latencies = []
    started = time.monotonic()
    for q in queries:
        t = time.monotonic()
        r = session.post(url + "/api/bench/data/query",
                         data=json.dumps({"table": "t", "queryField": "v", "queryVector": q,
                                          "limit": 10, "response": ["id"],
                                          "consistency": consistency}))
        r.raise_for_status()
        latencies.append(time.monotonic() - t)
    elapsed = time.monotonic() - started
    return len(queries) / elapsed, float(np.percentile(latencies, 99)) * 1000


def boot_shard(url):
    body = requests.get(url + "/api/cluster").json()["result"]
    return next(t["shards"][0] for t in body["tables"] if t["table"] == "boot")


def bootstrap(binary, cluster_dir, url, rng, rows, dims):
    requests.post(url + "/api/bench/schema/tables", json={
        "name": "boot", "shards": 1, "replicas": 2, "fields": [
            {"name": "id", "dataType": "INT", "primaryKey": True},
            {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": dims}]}).raise_for_status()
    session = requests.Session()
    for start in range(0, rows, 2000):
        vectors = rng.random((min(2000, rows - start), dims), dtype=np.float32).round(6).tolist()
        data = [{"id": start + i, "v": v} for i, v in enumerate(vectors)]
        session.post(url + "/api/bench/data/insert",
                     data=json.dumps({"table": "boot", "data": data})).raise_for_status()
    started = time.monotonic()
    session.post(url + "/api/rebuild", timeout=3600).raise_for_status()
    built = time.monotonic() - started
    shard = boot_shard(url)
    follower = next(r for r in shard["replicas"] if r.get("role") == "follower")
    status = json.loads(subprocess.run([binary, "cluster", "status", "--dir", cluster_dir],
                                       capture_output=True, text=True, check=True).stdout)
    pid = next(p["pid"] for p in status["processes"] if p["name"] == follower["node"])
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    while True:
        shard = boot_shard(url)
        replicas = shard["replicas"]
        if (len(replicas) == 2 and all(r["node"] != follower["node"] for r in replicas)
                and all(r.get("state") == "ready" for r in replicas)):
            break
        if time.monotonic() - started > 600:
            sys.exit(f"no second ready replica after 10 minutes: {shard}")
        time.sleep(0.05)
    ready = time.monotonic() - started
    new = next(r for r in replicas if r.get("role") == "follower")
    if new["rows"] != rows or new["indexBuilds"] != 0:
        sys.exit(f"the new replica is not the leader's copy: {new}")
    return built, ready, new["sealedSegments"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/bin/quiver")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--bodies", type=int, default=20)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--dims", type=int, default=128)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--boot-rows", type=int, default=200000)
    args = p.parse_args()
    binary = os.path.abspath(args.bin)
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="quiver-cluster-bench-") as tmp:
        bodies_dir = os.path.join(tmp, "bodies")
        os.makedirs(bodies_dir)
        for k in range(args.bodies):
            vectors = rng.random((args.batch, args.dims), dtype=np.float32).round(6).tolist()
            rows = [{"id": k * args.batch + i, "v": v} for i, v in enumerate(vectors)]
            with open(os.path.join(bodies_dir, f"body-{k}.json"), "w") as f:
                json.dump({"table": "t", "upsert": True, "data": rows}, f)
        queries = rng.random((args.queries, args.dims), dtype=np.float32).round(6).tolist()

        results = {}
        proc, url, _ = start_server(binary, os.path.join(tmp, "standalone"),
                                    os.path.join(tmp, "standalone.log"))
        try:
            create(url, args.dims, 1)
            vps = ingest(url, bodies_dir, args.bodies, args.seconds, args.connections, args.batch)
            settle(url)
            results["standalone"] = (vps, *searches(url, queries))
        finally:
            proc.terminate()
            proc.wait()

        cluster_dir = os.path.join(tmp, "cluster")
        up = subprocess.run([binary, "cluster", "up", "--dir", cluster_dir],
                            capture_output=True, text=True)
        if up.returncode != 0:
            sys.exit("cluster up failed:\n" + up.stderr[-3000:])
        try:
            url = json.loads(up.stdout)["dispatchers"][0]
            create(url, args.dims, 2)
            vps = ingest(url, bodies_dir, args.bodies, args.seconds, args.connections, args.batch)
            settle(url)
            results["cluster"] = (vps, *searches(url, queries))
            results["EVENTUAL"] = (0, *searches(url, queries, "EVENTUAL"))
            results["BOUNDED"] = (0, *searches(url, queries, "BOUNDED"))
            boot = bootstrap(binary, cluster_dir, url, rng, args.boot_rows, args.dims)
        finally:
            subprocess.run([binary, "cluster", "down", "--dir", cluster_dir], capture_output=True)

    for name, (vps, qps, p99) in results.items():
        if name in ("EVENTUAL", "BOUNDED"):
            continue
        print(f"{name:>10}: durable ingest {vps:,.0f} vectors/s; search {qps:,.0f} QPS, p99 {p99:.2f} ms")
    s, c, e, b = (results[k] for k in ("standalone", "cluster", "EVENTUAL", "BOUNDED"))
    print(f"cluster search at EVENTUAL: {e[1]:,.0f} QPS, p99 {e[2]:.2f} ms "
          f"(STRONG costs {1 - c[1] / e[1]:.0%} of EVENTUAL's QPS: one stream-state call per shard)")
    print(f"cluster search at BOUNDED (1 s): {b[1]:,.0f} QPS, p99 {b[2]:.2f} ms "
          f"({b[1] / s[1]:.2f}x standalone)")
    print(f"cluster / standalone: ingest {c[0] / s[0]:.2f}x, search QPS {c[1] / s[1]:.2f}x, "
          f"p99 {c[2] / s[2]:.2f}x (3 nodes, 2 dispatchers, 3 NATS servers on this machine; "
          f"table of 2 shards x 1 replica vs 1 shard)")
    print(f"follower bootstrap: {args.boot_rows:,} rows of {args.dims}-d in {boot[2]} sealed, "
          f"indexed segments (the leader sealed and indexed them in {boot[0]:.1f} s): a new replica "
          f"ready {boot[1]:.1f} s after the old one's node stopped (placement, download, "
          f"stream tail), building no index")


if __name__ == "__main__":
    main()
