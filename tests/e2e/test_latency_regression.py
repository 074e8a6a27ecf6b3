"""Guards against a 40 ms per-request stall (Nagle + delayed ACK) coming back.

Not a speed benchmark: a request on a tiny table must not take anything
close to 40 ms. The bound is 10x looser than a normal round trip."""

import statistics
import time


def test_small_requests_do_not_stall_on_nagle(api):
    assert api.post("/api/load", {"name": "lat", "path": "/l"})[0] == 200
    assert api.post("/api/lat/schema/tables", {"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}]})[0] == 200
    assert api.post("/api/lat/data/insert", {"table": "t", "data": [{"id": 1, "v": [1, 2]}]})[0] == 200
    samples = []
    for _ in range(30):
        t = time.perf_counter()
        code, _ = api.post("/api/lat/data/query", {"table": "t", "queryVector": [1, 2], "limit": 1})
        samples.append(time.perf_counter() - t)
        assert code == 200
    assert statistics.median(samples) < 0.030, f"median {statistics.median(samples) * 1000:.1f} ms"
