"""A local cluster seen through its dispatchers: read consistency, every
dispatcher serving the same catalog, and a node's death (its replicas are
placed again on the live nodes and catch up from the streams)."""

import time

import pytest

from conftest import Api

FIELDS = [{"name": "id", "dataType": "INT", "primaryKey": True},
          {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 4}]


def rows(ids):
    return [{"id": i, "v": [float(i), 1.0, 0.0, float(i % 3)]} for i in ids]


def setup_table(api, shards=2, replicas=2):
    assert api.post("/api/load", {"name": "db", "path": "/x"})[0] == 200
    code, body = api.post("/api/db/schema/tables",
                          {"name": "t", "shards": shards, "replicas": replicas, "fields": FIELDS})
    assert code == 200, body


def test_read_consistency_levels(cluster):
    api = Api(cluster)
    setup_table(api)
    code, body = api.post("/api/db/data/insert", {"table": "t", "data": rows(range(20))})
    assert code == 200, body
    token = body["result"]["lsn"]
    # Through the other dispatcher, with the first one's session token.
    other = Api(type("S", (), {"url": cluster.dispatchers[1].url, "clients": []})())
    code, body = other.post("/api/db/data/get", {"table": "t", "consistency": "SESSION",
                                                 "session": token})
    assert code == 200 and len(body["result"]) == 20, body
    for level in ("STRONG", "EVENTUAL"):
        code, body = other.post("/api/db/data/query", {
            "table": "t", "queryField": "v", "queryVector": [1, 1, 0, 1], "limit": 3,
            "consistency": level})
        assert code == 200 and len(body["result"]) == 3, body
    code, body = api.post("/api/db/data/get", {"table": "t", "consistency": "BOUNDED"})
    assert code == 400 and "BOUNDED" in body["message"], body
    code, body = api.post("/api/db/data/get", {"table": "t", "consistency": "SOON"})
    assert code == 400 and "STRONG" in body["message"], body
    code, body = api.post("/api/db/data/get", {"table": "t", "consistency": "SESSION"})
    assert code == 400 and "session" in body["message"], body
    code, body = api.post("/api/db/schema/tables", {"name": "big", "replicas": 9, "fields": FIELDS})
    assert code == 400 and "replicas" in body["message"], body


def replicas_of(api):
    code, body = api.get("/api/cluster")
    assert code == 200, body
    return {(s["shard"], r["node"]): r for t in body["result"]["tables"]
            for s in t["shards"] for r in s["replicas"]}


def test_a_dead_nodes_replicas_are_placed_again(cluster):
    api = Api(cluster)
    setup_table(api, shards=2, replicas=2)
    assert api.post("/api/db/data/insert", {"table": "t", "data": rows(range(50))})[0] == 200
    before = replicas_of(api)
    victim = next(node for (_, node) in before)
    index = int(victim.split("-")[1])
    killed_at = time.monotonic()
    cluster.nodes[index].kill9()
    # Reads and writes go on at once through the other replica of each shard.
    code, body = api.post("/api/db/data/get", {"table": "t"})
    assert code == 200 and len(body["result"]) == 50, body
    assert api.post("/api/db/data/insert", {"table": "t", "data": rows(range(50, 60))})[0] == 200
    # The coordinator places the lost replicas on the live nodes, which catch up.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = replicas_of(api)
        if (all(node != victim for (_, node) in now) and len(now) == len(before)
                and all(r.get("state") == "ready" for r in now.values())):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"replicas not placed again: {replicas_of(api)}")
    print(f"back to 2 ready replicas per shard {time.monotonic() - killed_at:.1f} s after kill -9")
    for (shard, node), replica in replicas_of(api).items():
        assert replica["appliedLsn"] >= 1, (shard, node, replica)
    code, body = api.post("/api/db/data/get", {"table": "t"})
    assert code == 200 and [r["id"] for r in body["result"]] == list(range(60)), body


def test_a_table_created_again_under_its_name_starts_empty(cluster):
    """Replicas are named by table id: the dropped table's never answer for
    the new one, even on a node that has not closed them yet."""
    api = Api(cluster)
    other = Api(type("S", (), {"url": cluster.dispatchers[1].url, "clients": []})())
    setup_table(api)
    for round in range(3):
        assert api.post("/api/db/data/insert", {"table": "t", "data": rows(range(10))})[0] == 200
        assert api.delete("/api/db/schema/tables/t")[0] == 200
        code, body = other.post("/api/db/schema/tables",
                                {"name": "t", "shards": 2, "replicas": 2, "fields": FIELDS})
        assert code == 200, body
        code, body = api.post("/api/db/data/insert", {"table": "t", "data": rows([100 + round])})
        assert code == 200 and body["result"]["inserted"] == 1, body
        code, body = api.post("/api/db/data/get", {"table": "t"})
        assert code == 200 and [r["id"] for r in body["result"]] == [100 + round], body
