"""A local cluster seen through its dispatchers: read consistency, every
dispatcher serving the same catalog, and a node's death (its replicas are
placed again on the live nodes and catch up from the streams)."""

import os
import time

import pytest
import requests

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
    assert code == 200 and len(body["result"]) == 20, body
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
    # Reads and writes go on at once through the other replica of each shard
    # (the replicas are asked in turn: some reads fail over).
    for _ in range(4):
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

    # The dispatchers' /metrics tell it: the coordinator's re-placements,
    # the failovers, and every replica ready on the two live nodes.
    from cluster import metric_values

    def total(name):
        return sum(sum(metric_values(d.url, name).values()) for d in cluster.dispatchers)
    lost = sum(1 for (_, node) in before if node == victim)
    assert total("quiver_cluster_replicas_placed_total") == lost
    assert total("quiver_cluster_coordinator") == 1
    assert total("quiver_cluster_failovers_total") >= 1
    first = cluster.dispatchers[0].url
    assert metric_values(first, "quiver_cluster_live_nodes") == {"": 2.0}
    ready = metric_values(first, "quiver_cluster_replica_ready")
    assert len(ready) == len(before) and set(ready.values()) == {1.0}, ready
    assert not any(victim in series for series in ready), ready
    lag = metric_values(first, "quiver_cluster_replica_lag")
    assert len(lag) == len(before), lag


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


def shards_of(api):
    code, body = api.get("/api/cluster")
    assert code == 200, body
    return [s for t in body["result"]["tables"] for s in t["shards"]]


def wait_until(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def leaders_and_followers(shard):
    roles = sorted(r.get("role") for r in shard["replicas"])
    return roles == ["follower", "leader"] and all(r.get("state") == "ready"
                                                  for r in shard["replicas"])


def test_one_leader_per_shard_seals_and_builds_and_followers_load_its_files(services, tmp_path):
    """The leader of each shard seals and builds indexes; its followers load
    the segments and indexes from the object store (and build none). When the
    leader's node dies, a follower is elected and seals in its place."""
    from cluster import Cluster
    cluster = Cluster(services, str(tmp_path), node_args=("--seal-rows", "150"))
    try:
        api = Api(cluster)
        setup_table(api, shards=2, replicas=2)
        wait_until("a leader and a follower per shard",
                   lambda: all(leaders_and_followers(s) for s in shards_of(api)))
        for start in range(0, 1200, 200):
            assert api.post("/api/db/data/insert",
                            {"table": "t", "data": rows(range(start, start + 200))})[0] == 200
        assert api.post("/api/db/data/delete", {"table": "t", "primaryKeys": [3, 700]})[0] == 200
        code, body = api.post("/api/rebuild", {})
        assert code == 200, body

        def synced():
            shards = shards_of(api)
            for s in shards:
                leader = next(r for r in s["replicas"] if r["role"] == "leader")
                follower = next(r for r in s["replicas"] if r["role"] == "follower")
                if not (leader["sealedSegments"] >= 1 and leader["indexBuilds"] >= 1
                        and follower["manifestRevision"] == leader["manifestRevision"]
                        and follower["rows"] == leader["rows"]):
                    return None
            return shards
        shards = wait_until("followers in step with their leaders", synced)
        for s in shards:
            leader = next(r for r in s["replicas"] if r["role"] == "leader")
            follower = next(r for r in s["replicas"] if r["role"] == "follower")
            assert follower["indexBuilds"] == 0, s
            assert follower["sealedSegments"] == leader["sealedSegments"], s
            assert s["checkpointLsn"] == leader["checkpointLsn"] > 0, s
        # Each replica answers alike when asked directly (a follower's
        # searches run on the indexes it downloaded).
        for level in ("STRONG", "EVENTUAL"):
            code, body = api.post("/api/db/data/get", {"table": "t", "consistency": level})
            assert code == 200 and len(body["result"]) == 1198, (level, len(body["result"]))

        # The node of shard 0's leader dies: a follower takes over and seals.
        leader_node = next(r["node"] for r in shards[0]["replicas"] if r["role"] == "leader")
        killed_at = time.monotonic()
        cluster.nodes[int(leader_node.split("-")[1])].kill9()

        def new_leader():
            s = shards_of(api)[0]
            return any(r.get("role") == "leader" and r["node"] != leader_node
                       for r in s["replicas"])
        wait_until("a new leader for shard 0", new_leader)
        print(f"shard 0 led again {time.monotonic() - killed_at:.1f} s after kill -9")
        wait_until("the lost replicas placed again and every shard led",
                   lambda: all(leaders_and_followers(s)
                               and all(r["node"] != leader_node for r in s["replicas"])
                               for s in shards_of(api)))
        for start in range(1200, 1600, 200):
            code, body = api.post("/api/db/data/insert",
                                  {"table": "t", "data": rows(range(start, start + 200))})
            assert code == 200, body
        code, body = api.post("/api/rebuild", {})
        assert code == 200, body
        code, body = api.post("/api/db/data/get", {"table": "t"})
        assert code == 200 and len(body["result"]) == 1598, len(body["result"])
        s0 = shards_of(api)[0]
        new = next(r for r in s0["replicas"] if r.get("role") == "leader")
        assert new["checkpointLsn"] > shards[0]["checkpointLsn"], (new, shards[0])
        assert new["indexBuilds"] >= 1, new

        # Dropped: the live nodes remove their replicas' files, the leaders
        # the shards' objects.
        def leftovers():
            found = []
            for root in [os.path.join(str(tmp_path), "objects")] + [
                    os.path.join(str(tmp_path), f"node-{i}") for i in range(3)
                    if f"node-{i}" != leader_node]:
                for dirpath, _, files in os.walk(root):
                    found += [os.path.join(dirpath, f) for f in files
                              if "/t" in dirpath[len(str(tmp_path)):]]
            return found
        assert leftovers(), "the table has files before it is dropped"
        assert api.delete("/api/db/schema/tables/t")[0] == 200
        wait_until("no files of the dropped table", lambda: not leftovers())
    finally:
        cluster.stop()


def test_a_stopped_leader_is_replaced_and_never_leads_again_when_it_resumes(services, tmp_path):
    """SIGSTOP the leader's node past its lease: a follower is elected and
    commits; when the old leader resumes, its lease has passed, so it steps
    down on its own (a commit it tried would be refused by the fence) and
    never reports itself leader again."""
    import signal
    from cluster import Cluster
    cluster = Cluster(services, str(tmp_path), node_args=("--seal-rows", "100"))
    try:
        api = Api(cluster)
        setup_table(api, shards=1, replicas=2)
        wait_until("a leader and a follower",
                   lambda: all(leaders_and_followers(s) for s in shards_of(api)))
        assert api.post("/api/db/data/insert", {"table": "t", "data": rows(range(300))})[0] == 200
        assert api.post("/api/rebuild", {})[0] == 200
        old = next(r["node"] for r in shards_of(api)[0]["replicas"] if r["role"] == "leader")
        node = cluster.nodes[int(old.split("-")[1])]
        os.kill(node.proc.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            # Another replica leads, on live nodes only, and commits.
            wait_until("a new leader, the stopped node placed elsewhere",
                       lambda: all(leaders_and_followers(s)
                                   and all(r["node"] != old for r in s["replicas"])
                                   for s in shards_of(api)))
            print(f"led again {time.monotonic() - stopped_at:.1f} s after SIGSTOP")
            code, body = api.post("/api/db/data/insert",
                                  {"table": "t", "data": rows(range(300, 600))})
            assert code == 200, body
            assert api.post("/api/rebuild", {})[0] == 200
            new = next(r for r in shards_of(api)[0]["replicas"] if r["role"] == "leader")
        finally:
            os.kill(node.proc.pid, signal.SIGCONT)
        # The resumed node never claims the shard again.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            claimed = [r for r in requests.get(node.http + "/replicas", timeout=5).json()
                       if r.get("role") == "leader"]
            assert not claimed, claimed
            time.sleep(0.05)
        s = shards_of(api)[0]
        assert [r["node"] for r in s["replicas"] if r.get("role") == "leader"] == [new["node"]], s
        assert s["checkpointLsn"] >= new["checkpointLsn"], (s, new)
        code, body = api.post("/api/db/data/get", {"table": "t"})
        assert code == 200 and sorted(r["id"] for r in body["result"]) == list(range(600))
    finally:
        cluster.stop()
