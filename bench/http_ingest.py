#!/usr/bin/env python3
"""Durable ingest through HTTP, measured with wrk (a C load generator), so the
client is not the bottleneck. Upserts of 1,000 128-d rows per request from
pre-built bodies; every reply comes after the WAL sync.

  python3 bench/http_ingest.py --bin build/bin/quiver [--seconds 10] [--connections 4]
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/bin/quiver")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--bodies", type=int, default=50)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--dims", type=int, default=128)
    args = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(prefix="quiver-ingest-") as tmp:
        log = os.path.join(tmp, "server.log")
        proc = subprocess.Popen([args.bin, "serve", "--data", os.path.join(tmp, "data"), "--port", "0"],
                                stdout=open(log, "w"), stderr=subprocess.STDOUT)
        try:
            for _ in range(500):
                m = re.search(r"listening on http://[\d.]+:(\d+)", open(log).read())
                if m:
                    break
                time.sleep(0.02)
            url = f"http://127.0.0.1:{m.group(1)}"
            requests.post(url + "/api/load", json={"name": "bench", "path": "/b"}).raise_for_status()
            requests.post(url + "/api/bench/schema/tables", json={"name": "t", "fields": [
                {"name": "id", "dataType": "INT", "primaryKey": True},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": args.dims}]}).raise_for_status()
            rng = np.random.default_rng(1)
            for k in range(args.bodies):
                vectors = rng.random((args.batch, args.dims), dtype=np.float32).round(6).tolist()
                rows = [{"id": k * args.batch + i, "v": v} for i, v in enumerate(vectors)]
                with open(os.path.join(tmp, f"body-{k}.json"), "w") as f:
                    json.dump({"table": "t", "upsert": True, "data": rows}, f)
            out = subprocess.run(
                ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.seconds}s", "--latency",
                 "-s", os.path.join(here, "wrk_insert.lua"), url, "--", tmp, str(args.bodies)],
                capture_output=True, text=True, check=True)
            print(out.stdout)
            if "insert failed" in out.stderr:
                sys.exit("inserts failed:\n" + out.stderr[:2000])
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))
            print(f"durable HTTP ingest: {rps * args.batch:,.0f} vectors/s "
                  f"({args.connections} connections, {args.batch}-row upserts, {args.dims}-d)")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
