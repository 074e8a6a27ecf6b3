#!/usr/bin/env python3
"""Durable insert throughput and exact-search latency through the REST API.

Starts its own quiver server (port 0, temporary data dir), inserts N 128-d
vectors in batches over C keep-alive connections, then times single queries
(unfiltered and filtered) and compares them with numpy brute force over the
same vectors in this process (the peer; absolute numbers are noisy).

  make bench                      # defaults: 100k rows, batches of 1000
  bench/http_insert_search.py --bin build/bin/quiver --rows 100000 --clients 4
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import requests

from bench_util import load_vecs, start_server


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="build/bin/quiver")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fvecs", help="use vectors from this .fvecs file instead of random ones")
    args = parser.parse_args()

    rng = np.random.default_rng(42)
    if args.fvecs:
        vectors = load_vecs(args.fvecs, np.float32, args.rows)
        args.dims = vectors.shape[1]
    else:
        vectors = rng.random((args.rows, args.dims), dtype=np.float32)
    rows = vectors.shape[0]
    queries = vectors[rng.choice(rows, args.queries, replace=False)] + np.float32(0.01)

    with tempfile.TemporaryDirectory(prefix="quiver-bench-") as tmp:
        proc, url, _ = start_server(args.bin, os.path.join(tmp, "data"),
                                    os.path.join(tmp, "server.log"))
        try:
            s = requests.Session()
            s.post(url + "/api/load", json={"name": "bench", "path": "/bench"}).raise_for_status()
            s.post(url + "/api/bench/schema/tables", json={"name": "t", "fields": [
                {"name": "id", "dataType": "INT", "primaryKey": True},
                {"name": "bucket", "dataType": "INT"},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": args.dims}]}).raise_for_status()

            print(f"encoding {rows} rows as JSON batches of {args.batch} ...", flush=True)
            bodies = []
            for start in range(0, rows, args.batch):
                chunk = vectors[start:start + args.batch].tolist()
                data = [{"id": start + i, "bucket": (start + i) % 100, "v": v} for i, v in enumerate(chunk)]
                bodies.append(json.dumps({"table": "t", "data": data}))
            body_bytes = sum(len(b) for b in bodies)

            next_batch = iter(range(len(bodies)))
            lock = threading.Lock()
            errors = []

            def client():
                session = requests.Session()
                while True:
                    with lock:
                        i = next(next_batch, None)
                    if i is None:
                        return
                    r = session.post(url + "/api/bench/data/insert", data=bodies[i],
                                     headers={"Content-Type": "application/json"})
                    if r.status_code != 200:
                        errors.append(r.text)
                        return

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            insert_seconds = time.perf_counter() - t0
            if errors:
                sys.exit("insert failed: " + errors[0])
            count = s.get(url + "/api/bench/statistics").json()["result"][0]["totalRecords"]
            assert count == rows, count

            def timed_queries(filter_text):
                latencies = []
                for q in queries:
                    payload = {"table": "t", "queryVector": q.tolist(), "limit": 10, "response": ["id"]}
                    if filter_text:
                        payload["filter"] = filter_text
                    body = json.dumps(payload)
                    t = time.perf_counter()
                    r = s.post(url + "/api/bench/data/query", data=body,
                               headers={"Content-Type": "application/json"})
                    latencies.append(time.perf_counter() - t)
                    r.raise_for_status()
                return latencies

            timed_queries(None)[:5]  # warm up
            plain = timed_queries(None)
            filtered = timed_queries("bucket < 10")

            # Peer: numpy brute force (BLAS) over the same vectors, one query at a time.
            norms = (vectors * vectors).sum(axis=1)
            peer = []
            for q in queries:
                t = time.perf_counter()
                d = norms - 2 * vectors @ q
                np.argpartition(d, 10)[:10]
                peer.append(time.perf_counter() - t)

            # Correctness spot check against numpy.
            q = queries[0]
            r = s.post(url + "/api/bench/data/query",
                       json={"table": "t", "queryVector": q.tolist(), "limit": 10, "response": ["id"]}).json()
            got = [x["id"] for x in r["result"]]
            want = list(np.argsort(((vectors - q) ** 2).sum(axis=1))[:10])
            recall = len(set(got) & set(int(x) for x in want)) / 10
        finally:
            proc.terminate()
            proc.wait()

    ms = lambda xs: statistics.median(xs) * 1000
    print()
    print(f"rows {rows} x {args.dims}-d, batches of {args.batch}, {args.clients} clients")
    print(f"durable insert: {rows / insert_seconds:,.0f} vectors/s "
          f"({body_bytes / insert_seconds / 1e6:.1f} MB/s of JSON, {insert_seconds:.2f} s)")
    print(f"exact search, top-10, 1 client:   p50 {ms(plain):.2f} ms  p99 {percentile(plain, 99) * 1000:.2f} ms  "
          f"({1 / statistics.median(plain):.0f} QPS)")
    print(f"exact search, filter 10% rows:   p50 {ms(filtered):.2f} ms  p99 {percentile(filtered, 99) * 1000:.2f} ms")
    print(f"numpy brute force (peer, no HTTP): p50 {ms(peer):.2f} ms")
    print(f"quiver/numpy latency ratio: {statistics.median(plain) / statistics.median(peer):.2f}")
    print(f"exact recall@10 vs numpy: {recall:.2f}")
    scanned = rows * args.dims * 4 / statistics.median(plain) / 1e9
    print(f"scan rate through HTTP: {scanned:.2f} GB/s of vectors")


if __name__ == "__main__":
    main()
