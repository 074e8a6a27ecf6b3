"""Hybrid search: a dense and a sparse query fused by RRF or weighted scores,
checked against running the two queries separately and fusing by hand."""

import random

import pytest

from quiver import QuiverError


@pytest.fixture
def table(api):
    assert api.post("/api/load", {"name": "h", "path": "/h"})[0] == 200
    assert api.post("/api/h/schema/tables", {"name": "docs", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "lang", "dataType": "STRING"},
        {"name": "dense", "dataType": "VECTOR_FLOAT", "dimensions": 4},
        {"name": "terms", "dataType": "SPARSE_VECTOR_FLOAT"}]})[0] == 200
    rng = random.Random(5)
    rows = []
    for i in range(120):
        indices = sorted(rng.sample(range(50), rng.randint(0, 6)))
        rows.append({"id": i, "lang": "en" if i % 3 else "de",
                     "dense": [rng.randint(-3, 3) for _ in range(4)],
                     "terms": {"indices": indices, "values": [rng.randint(1, 4) for _ in indices]}})
    assert api.post("/api/h/data/insert", {"table": "docs", "data": rows})[0] == 200
    return api


DENSE = [1, 0, -1, 2]
SPARSE = {"indices": [3, 7, 11, 20], "values": [1.0, 2.0, 1.0, 0.5]}


def ranked(api, field, vector, candidates, flt):
    body = {"table": "docs", "queryField": field, "queryVector": vector, "limit": candidates,
            "withDistance": True, "response": ["id"], "filter": flt}
    code, out = api.post("/api/h/data/query", body)
    assert code == 200, out
    return [(r["id"], r["@distance"]) for r in out["result"]]


def fuse_by_hand(lists, weights, method, k):
    scores = {}
    for items, w in zip(lists, weights):
        if not items:
            continue
        best, worst = -items[0][1], -items[-1][1]
        for rank, (key, distance) in enumerate(items, 1):
            if method == "rrf":
                s = w / (k + rank)
            else:
                s = w * (1.0 if best == worst else (-distance - worst) / (best - worst))
            scores[key] = scores.get(key, 0.0) + s
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@pytest.mark.parametrize("method, k, weights", [("rrf", 60, (1, 1)), ("rrf", 5, (0.7, 0.3)),
                                                ("weighted", 0, (1, 1)), ("weighted", 0, (0.25, 2))])
def test_hybrid_equals_fusing_by_hand(table, method, k, weights):
    candidates, limit, flt = 30, 12, "lang = 'en'"
    lists = [ranked(table, "dense", DENSE, candidates, flt), ranked(table, "terms", SPARSE, candidates, flt)]
    expected = fuse_by_hand(lists, weights, method, k)[:limit]
    code, out = table.post("/api/h/data/query", {
        "table": "docs", "limit": limit, "candidates": candidates, "filter": flt, "withScore": True,
        "response": ["id", "lang"], "fusion": {"method": method, "k": k},
        "queries": [{"field": "dense", "vector": DENSE, "weight": weights[0]},
                    {"field": "terms", "vector": SPARSE, "weight": weights[1]}]})
    assert code == 200, out
    got = [(r["id"], r["@score"]) for r in out["result"]]
    assert [key for key, _ in got] == [key for key, _ in expected]
    for (_, a), (_, b) in zip(got, expected):
        assert a == pytest.approx(b, rel=1e-9)
    assert all(r["lang"] == "en" for r in out["result"])


def test_two_dense_queries_and_defaults(table):
    code, out = table.post("/api/h/data/query", {
        "table": "docs", "limit": 5, "response": ["id"],
        "queries": [{"field": "dense", "vector": DENSE}, {"field": "dense", "vector": [0, 1, 0, 0]}]})
    assert code == 200 and len(out["result"]) == 5 and "@score" not in out["result"][0]


@pytest.mark.parametrize("patch, words", [
    ({"queries": []}, ["queries must not be empty"]),
    ({"queries": [{"field": "dense"}]}, ["vector is missing"]),
    ({"queries": [{"vector": DENSE}]}, ["field is missing"]),
    ({"queries": [{"field": "dense", "vector": DENSE, "weight": -1}]}, ["weight must be at least 0"]),
    ({"queries": [{"field": "terms", "vector": DENSE}]}, ["queries[0]", "sparse vector field"]),
    ({"queries": [{"field": "dense", "vector": [1]}]}, ["queries[0]", "dimensions"]),
    ({"fusion": {"method": "borda"}}, ["fusion.method"]),
    ({"queryVector": DENSE}, ["not both"]),
    ({"candidates": 0}, ["candidates"]),
])
def test_bad_hybrid_requests(table, patch, words):
    body = {"table": "docs", "limit": 3, "queries": [{"field": "dense", "vector": DENSE}], **patch}
    code, out = table.post("/api/h/data/query", body)
    assert code == 400, out
    for word in words:
        assert word in out["message"], out["message"]
