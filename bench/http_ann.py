#!/usr/bin/env python3
"""ANN search through the REST API, tried as a new user would.

Starts its own quiver server (port 0, temporary data dir, default settings
unless told), creates a table with one 128-d VECTOR_FLOAT field (default
index: HNSW, M 16, efConstruction 200, ef 64), inserts every base vector of
the data set through /api/{db}/data/insert, calls POST /api/rebuild (seals and
waits for every index), then runs the C++ load client (keep-alive, 2 threads)
over 1,000 queries: QPS, latency and recall@10 against the ground truth.
Then kill -9, restart, and measures the time until the server answers with
its indexes loaded, and the same queries again.

  make bench-http-ann DATA=../shared/data/ocvsift-128
  bench/http_ann.py --bin build/bin/quiver --load build/bin/quiver_http_load DATA
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests

from bench_util import load_vecs, start_server


def run_load(args, url, label):
    port = url.rsplit(":", 1)[1]
    out = subprocess.run([args.load, "--port", port, "--db", "bench", "--table", "t",
                          "--queries", os.path.join(args.data, "query.fvecs"),
                          "--truth", os.path.join(args.data, "groundtruth.ivecs"),
                          "--threads", str(args.threads), "--count", str(args.queries),
                          "--rounds", "3"] + (["--ef", str(args.ef)] if args.ef else []),
                         capture_output=True, text=True)
    print(f"{label}: {out.stdout.strip()}", flush=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return float(re.search(r"recall@\d+ ([\d.]+)", out.stdout).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="directory with base.fvecs, query.fvecs, groundtruth.ivecs")
    parser.add_argument("--bin", default="build/bin/quiver")
    parser.add_argument("--load", default="build/bin/quiver_http_load")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2, help="insert connections")
    parser.add_argument("--threads", type=int, default=2, help="query connections")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", type=int, default=0, help="ef per query (0: the default)")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra flag for quiver serve, e.g. --server-arg=--seal-rows=300000")
    args = parser.parse_args()

    base = load_vecs(os.path.join(args.data, "base.fvecs"))
    print(f"{len(base)} base vectors x {base.shape[1]}-d; server flags: {args.server_arg or 'defaults'}")
    with tempfile.TemporaryDirectory(prefix="quiver-http-ann-") as tmp:
        data_dir = os.path.join(tmp, "data")
        log_path = os.path.join(tmp, "server.log")
        proc, url, _ = start_server(args.bin, data_dir, log_path, args.server_arg)
        try:
            s = requests.Session()
            s.post(url + "/api/load", json={"name": "bench", "path": "/bench"}).raise_for_status()
            s.post(url + "/api/bench/schema/tables", json={"name": "t", "fields": [
                {"name": "id", "dataType": "INT", "primaryKey": True},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": int(base.shape[1])},
            ]}).raise_for_status()

            batches = list(range(0, len(base), args.batch))
            lock = threading.Lock()

            def insert_worker():
                session = requests.Session()
                while True:
                    with lock:
                        if not batches:
                            return
                        start = batches.pop()
                    rows = [{"id": i, "v": base[i].tolist()}
                            for i in range(start, min(start + args.batch, len(base)))]
                    r = session.post(url + "/api/bench/data/insert", json={"table": "t", "data": rows})
                    r.raise_for_status()

            started = time.monotonic()
            workers = [threading.Thread(target=insert_worker) for _ in range(args.clients)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            insert_seconds = time.monotonic() - started
            print(f"insert: {len(base)} rows in {insert_seconds:.1f} s "
                  f"({len(base) / insert_seconds:.0f} rows/s, {args.clients} Python clients)")

            started = time.monotonic()
            s.post(url + "/api/rebuild").raise_for_status()
            rebuild_seconds = time.monotonic() - started
            stats = s.get(url + "/api/bench/statistics").json()["result"][0]
            index = stats["indexes"][0]
            print(f"rebuild: {rebuild_seconds:.1f} s; {stats['sealedSegments']} sealed segments, "
                  f"{index['indexedRecords']}/{index['totalRecords']} rows indexed ({index['type']})")
            before = run_load(args, url, "query")

            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc, url, ready_seconds = start_server(args.bin, data_dir, log_path + ".restart",
                                                    args.server_arg)
            stats = requests.get(url + "/api/bench/statistics").json()["result"][0]
            index = stats["indexes"][0]
            print(f"kill -9, restart: ready in {ready_seconds:.2f} s with "
                  f"{index['indexedRecords']}/{index['totalRecords']} rows indexed, "
                  f"{index['segmentsPending']} builds pending")
            after = run_load(args, url, "query after restart")
            print(f"recall@10 before {before:.4f}, after restart {after:.4f}; "
                  f"ready in {ready_seconds:.2f} s")

            # Queries on t while the rebuilder builds another table's index
            # (nice 10, --index-threads): how much do background builds cost?
            s = requests.Session()
            s.post(url + "/api/bench/schema/tables", json={"name": "u", "fields": [
                {"name": "id", "dataType": "INT", "primaryKey": True},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": int(base.shape[1])},
            ]}).raise_for_status()
            rows = min(len(base), 100_000)
            for start in range(0, rows, args.batch):
                s.post(url + "/api/bench/data/insert", json={"table": "u", "data": [
                    {"id": i, "v": base[i].tolist()}
                    for i in range(start, min(start + args.batch, rows))]}).raise_for_status()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                stats = {t["tableName"]: t for t in
                         s.get(url + "/api/bench/statistics").json()["result"]}
                if stats["u"]["indexes"][0]["buildsRunning"] > 0:
                    break
                time.sleep(0.05)
            else:
                sys.exit("no index build started for table u")
            run_load(args, url, "query while another table's index builds")
            stats = {t["tableName"]: t for t in s.get(url + "/api/bench/statistics").json()["result"]}
            print(f"  (build still running at the end: "
                  f"{stats['u']['indexes'][0]['buildsRunning'] > 0})")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()


if __name__ == "__main__":
    main()
