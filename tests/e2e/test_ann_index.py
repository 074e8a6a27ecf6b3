"""ANN indexes through the server: rebuild waits for them, queries find what
brute force finds, kill -9 keeps them (nothing rebuilt), a damaged index file
is quarantined and rebuilt while answers stay right."""

import glob
import os
import tempfile

import numpy as np
import pytest

from conftest import Api, QuiverProcess

ROWS, DIMS = 3000, 16


@pytest.fixture
def indexed():
    with tempfile.TemporaryDirectory(prefix="quiver-ann-") as tmp:
        data_dir = os.path.join(tmp, "data")
        process = QuiverProcess(data_dir, ["--index-threads", "2"]).start()
        try:
            yield process, data_dir
        finally:
            process.stop()


def clustered(rng, n):
    centres = np.random.default_rng(5).uniform(-10, 10, (20, DIMS)).astype(np.float32)
    return (centres[rng.integers(0, 20, n)] + rng.normal(0, 2, (n, DIMS))).astype(np.float32)


def statistics(api):
    code, body = api.get("/api/ann/statistics")
    assert code == 200, body
    return body["result"][0]


def recall(api, vectors, queries, flt=None):
    hits = total = 0
    for q in queries:
        body = {"table": "t", "queryVector": q.tolist(), "limit": 10, "response": ["id", "tag"]}
        if flt:
            body["filter"] = flt
        code, reply = api.post("/api/ann/data/query", body)
        assert code == 200, reply
        allowed = np.arange(len(vectors))
        if flt:
            allowed = allowed[allowed % 10 == 3]
            assert all(r["tag"] == 3 for r in reply["result"]), "filtered-out row returned"
        d = ((vectors[allowed] - q) ** 2).sum(axis=1)
        truth = set(allowed[np.argsort(d)[:10]].tolist())
        hits += len(truth & {r["id"] for r in reply["result"]})
        total += 10
    return hits / total


def test_indexes_survive_kill9_and_damage_is_rebuilt(indexed):
    server, data_dir = indexed
    api = Api(server)
    rng = np.random.default_rng(1)
    vectors = clustered(rng, ROWS)
    queries = clustered(rng, 40)
    assert api.post("/api/load", {"name": "ann", "path": "/ann"})[0] == 200
    assert api.post("/api/ann/schema/tables", {"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "tag", "dataType": "INT"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS,
         "index": {"type": "HNSW", "M": 12, "efConstruction": 100, "ef": 64}}]})[0] == 200
    for start in range(0, ROWS, 500):
        rows = [{"id": i, "tag": i % 10, "v": vectors[i].tolist()}
                for i in range(start, start + 500)]
        assert api.post("/api/ann/data/insert", {"table": "t", "data": rows})[0] == 200
        if start % 1000 == 500:  # a segment per 1,000 rows
            assert api.post("/api/rebuild")[0] == 200

    stats = statistics(api)
    index = stats["indexes"][0]
    assert index["indexedRecords"] == ROWS and index["segmentsPending"] == 0, stats
    assert stats["sealedSegments"] == 3
    before = recall(api, vectors, queries)
    assert before >= 0.95
    assert recall(api, vectors, queries, "tag = 3") >= 0.95

    server.kill9()
    server.start()
    index = statistics(api)["indexes"][0]
    assert index["indexedRecords"] == ROWS and index["segmentsPending"] == 0, "rebuilt at restart"
    assert recall(api, vectors, queries) == before

    files = sorted(glob.glob(os.path.join(data_dir, "dbs", "*", "*", "indexes", "*.qvi")))
    assert len(files) == 3
    with open(files[0], "r+b") as f:
        f.seek(os.path.getsize(files[0]) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    server.kill9()
    server.start()
    assert "quarantined and rebuilt" in server.log()
    quarantined = glob.glob(os.path.join(data_dir, "dbs", "*", "*", "quarantine", "*"))
    assert len(quarantined) == 1
    assert recall(api, vectors, queries) >= 0.95  # the damaged one is never served
    assert api.post("/api/rebuild")[0] == 200
    index = statistics(api)["indexes"][0]
    assert index["indexedRecords"] == ROWS and index["segmentsPending"] == 0
    assert recall(api, vectors, queries) >= 0.95
