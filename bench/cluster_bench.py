#!/usr/bin/env python3
"""A local cluster against standalone, in the same run on the same data:
durable ingest through a dispatcher (wrk, 1,000-row upserts of 128-d
vectors, every reply after the shards' streams acknowledged the records and
a replica applied them) and search QPS / p99 through a dispatcher over a
table of 2 shards vs one standalone server (one client, sequential).

  python3 bench/cluster_bench.py --bin build/bin/quiver [--seconds 10] [--rows 20000]
"""

import argparse
import json
import os
import re
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
    requests.post(url + "/api/load", json={"name": "bench", "path": "/b"}).raise_for_status()
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/bin/quiver")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--bodies", type=int, default=20)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--dims", type=int, default=128)
    p.add_argument("--queries", type=int, default=500)
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
            results["standalone"] = (ingest(url, bodies_dir, args.bodies, args.seconds,
                                            args.connections, args.batch),
                                     *searches(url, queries))
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
            results["cluster"] = (ingest(url, bodies_dir, args.bodies, args.seconds,
                                         args.connections, args.batch),
                                  *searches(url, queries))
            results["EVENTUAL"] = (0, *searches(url, queries, "EVENTUAL"))
        finally:
            subprocess.run([binary, "cluster", "down", "--dir", cluster_dir], capture_output=True)

    for name, (vps, qps, p99) in results.items():
        if name == "EVENTUAL":
            continue
        print(f"{name:>10}: durable ingest {vps:,.0f} vectors/s; search {qps:,.0f} QPS, p99 {p99:.2f} ms")
    s, c, e = results["standalone"], results["cluster"], results["EVENTUAL"]
    print(f"cluster search at EVENTUAL: {e[1]:,.0f} QPS, p99 {e[2]:.2f} ms "
          f"(STRONG costs {1 - c[1] / e[1]:.0%} of EVENTUAL's QPS: one stream-state call per shard)")
    print(f"cluster / standalone: ingest {c[0] / s[0]:.2f}x, search QPS {c[1] / s[1]:.2f}x, "
          f"p99 {c[2] / s[2]:.2f}x (3 nodes, 2 dispatchers, 3 NATS servers on this machine; "
          f"table of 2 shards x 1 replica vs 1 shard)")


if __name__ == "__main__":
    main()
