"""A cluster whose services fail under it: NATS servers and etcd killed and
started again while clients write and read. These tests kill the servers
they run on, so they have their own (module-scoped), not the session's."""

import os
import time

import pytest
import requests

from conftest import Api
from test_cluster import rows, setup_table, shards_of, wait_until

REQUEST_DEADLINE = 15.0  # the dispatcher's --request-deadline-ms default, in seconds


@pytest.fixture(scope="module")
def own_services():
    from cluster import running_services
    yield from running_services()


@pytest.fixture
def failing_cluster(own_services, tmp_path):
    from cluster import Cluster
    cluster = Cluster(own_services, str(tmp_path), nodes=3, dispatchers=2, replicas=2)
    try:
        yield cluster
    finally:
        cluster.stop()


def timed(call):
    started = time.monotonic()
    code, body = call()
    return code, body, time.monotonic() - started


def insert(api, ids):
    return timed(lambda: api.post("/api/db/data/insert", {"table": "t", "data": rows(ids)}))


def read_ids(api, level):
    code, body = api.post("/api/db/data/get", {"table": "t", "consistency": level})
    return code, (sorted(r["id"] for r in body["result"]) if code == 200 else body)


def stream_leaders(services):
    """How many of the cluster's streams each NATS server leads."""
    counts = {}
    for monitor in services.nats_monitors:
        try:
            jsz = requests.get(f"http://127.0.0.1:{monitor}/jsz?accounts=true&streams=true",
                               timeout=2).json()
        except requests.RequestException:
            continue
        for account in jsz.get("account_details", []):
            for stream in account.get("stream_detail", []):
                leader = stream.get("cluster", {}).get("leader")
                if leader:
                    counts[leader] = counts.get(leader, 0) + 1
    return counts


def test_writes_go_on_with_one_nats_server_dead_fail_fast_without_quorum_and_resume(
        own_services, failing_cluster):
    api = Api(failing_cluster)
    setup_table(api, shards=2, replicas=2)
    acknowledged = []
    code, body, _ = insert(api, range(20))
    assert code == 200, body
    acknowledged += range(20)

    # The server that leads the most streams dies: their leaders move, the
    # readers on it move to another server, and writes go on.
    leaders = stream_leaders(own_services)
    assert leaders, "no stream has a leader"
    victim = int(max(leaders, key=leaders.get)[1:])  # server names are n0, n1, n2
    own_services.kill9(1 + victim)
    latencies = []
    for start in range(100, 400, 20):
        code, body, took = insert(api, range(start, start + 20))
        assert code == 200, (start, took, body)
        acknowledged += range(start, start + 20)
        latencies.append(took)
    print(f"one NATS server dead: 15 writes, first {latencies[0]:.2f} s, "
          f"max {max(latencies):.2f} s, last {latencies[-1]:.2f} s")
    assert max(latencies) < REQUEST_DEADLINE, latencies
    assert read_ids(api, "STRONG") == (200, sorted(acknowledged))

    # A second one dies: no quorum. Writes fail with a 503 that names the
    # log, within the request deadline; EVENTUAL reads go on.
    other = next(i for i in range(3) if i != victim)
    own_services.kill9(1 + other)
    code, body, took = insert(api, range(1000, 1010))
    print(f"two NATS servers dead: a write failed in {took:.2f} s: {body}")
    assert code == 503, body
    assert "log" in body["message"], body
    assert took < REQUEST_DEADLINE + 2, took
    code, got = read_ids(api, "EVENTUAL")
    assert code == 200 and set(acknowledged) <= set(got), got

    # Both return: writes resume with no restart of any Quiver process. Until
    # the streams have healed a write may be refused (503), e.g. when a stream
    # acknowledges it at an LSN its servers hold another record at (NATS 2.9
    # after losing a majority): refused, never acknowledged and lost.
    own_services.start(1 + victim)
    own_services.start(1 + other)
    returned = time.monotonic()
    deadline = returned + 60
    while True:
        code, body, took = insert(api, range(2000, 2010))
        if code == 200:
            break
        assert time.monotonic() < deadline, body
    acknowledged += range(2000, 2010)
    print(f"NATS back: the first write succeeded {time.monotonic() - returned:.2f} s later")
    # A stream may still elect a leader again meanwhile: a write refused
    # then (503, within the deadline) is sent again, as a client would.
    refused = set(range(1000, 1010))
    for start in range(2100, 2300, 20):
        while True:
            code, body, took = insert(api, range(start, start + 20))
            if code == 200:
                break
            assert code == 503 and took < REQUEST_DEADLINE + 2, (code, took, body)
            assert time.monotonic() < deadline, body
            refused |= set(range(start, start + 20))
        acknowledged += range(start, start + 20)
    # Every acknowledged write is there; those refused may or may not be
    # (their outcome was not acknowledged either way).
    code, got = read_ids(api, "STRONG")
    assert code == 200 and set(acknowledged) <= set(got), sorted(set(acknowledged) - set(got))
    assert set(got) - set(acknowledged) <= refused, got
    for node in failing_cluster.nodes:
        assert node.proc.poll() is None, failing_cluster.log()


def node_metric(cluster, name):
    """A counter of /metrics summed over the live nodes."""
    from cluster import metric_values
    return sum(sum(metric_values(node.http, name).values()) for node in cluster.nodes
               if node.proc.poll() is None)


def roles(api):
    return [sorted(r.get("role", "?") for r in s["replicas"]) for s in shards_of(api)]


def checkpoints(api):
    """Each shard's checkpoint LSN: what its last committed manifest covers."""
    return [max(r.get("checkpointLsn", 0) for r in s["replicas"]) for s in shards_of(api)]


def test_reads_and_writes_go_on_while_etcd_is_down_and_leaders_resume_after(own_services,
                                                                            tmp_path):
    from cluster import Cluster
    cluster = Cluster(own_services, str(tmp_path), node_args=("--seal-rows", "100"))
    try:
        api = Api(cluster)
        other = Api(type("S", (), {"url": cluster.dispatchers[1].url, "clients": []})())
        setup_table(api, shards=2, replicas=2)
        wait_until("a leader per shard",
                   lambda: roles(api) == [["follower", "leader"]] * 2)
        acknowledged = list(range(300))
        code, body, _ = insert(api, acknowledged)
        assert code == 200, body
        wait_until("a sealed segment per shard", lambda: min(checkpoints(api)) >= 1)

        own_services.kill9(0)
        down = time.monotonic()
        # Writes and reads need no etcd: the catalog is cached, the log is NATS.
        lease = 3.0  # the nodes' --lease-ms default
        start = 1000
        while time.monotonic() - down < 1.5 * lease:
            code, body, took = insert(api, range(start, start + 20))
            assert code == 200 and took < REQUEST_DEADLINE, (took, body)
            acknowledged += range(start, start + 20)
            start += 20
            for client in (api, other):
                assert read_ids(client, "STRONG") == (200, sorted(acknowledged))
        # Leaders step down once their lease may have passed: nothing is
        # sealed or committed until etcd is back.
        wait_until("every leader stepped down", lambda: roles(api) == [["follower", "follower"]] * 2)
        assert node_metric(cluster, "quiver_node_step_downs_total") >= 2
        won = node_metric(cluster, "quiver_node_leaderships_won_total")
        before = checkpoints(api)
        code, body, _ = insert(api, range(5000, 5400))
        assert code == 200, body
        acknowledged += range(5000, 5400)
        assert code == 200 and read_ids(api, "EVENTUAL")[0] == 200
        code, body = api.post("/api/db/schema/tables", {"name": "u", "fields": [
            {"name": "id", "dataType": "INT", "primaryKey": True}]})
        assert code == 503, body
        assert checkpoints(api) == before

        own_services.start(0)
        back = time.monotonic()
        wait_until("a leader per shard again",
                   lambda: roles(api) == [["follower", "leader"]] * 2)
        led = time.monotonic() - back
        assert node_metric(cluster, "quiver_node_leaderships_won_total") >= won + 2
        wait_until("sealing again", lambda: all(a > b for a, b in zip(checkpoints(api), before)))
        print(f"etcd back: every shard led {led:.1f} s later, sealing "
              f"{time.monotonic() - back:.1f} s later")
        # The catalog watches resumed: a table made through one dispatcher
        # is seen through the other.
        wait_until("a table made", lambda: api.post("/api/db/schema/tables", {
            "name": "u", "fields": [{"name": "id", "dataType": "INT", "primaryKey": True}]})[0]
            in (200, 409), timeout=10)
        print(f"etcd back: a table made {time.monotonic() - back:.1f} s later")
        wait_until("the other dispatcher sees table u",
                   lambda: other.post("/api/db/data/insert",
                                      {"table": "u", "data": [{"id": 1}]})[0] == 200)
        assert read_ids(other, "STRONG") == (200, sorted(acknowledged))
    finally:
        cluster.stop()


def test_reads_and_writes_go_on_while_the_object_store_is_away_and_sealing_resumes(
        own_services, tmp_path):
    from cluster import Cluster
    cluster = Cluster(own_services, str(tmp_path), node_args=("--seal-rows", "100"))
    try:
        api = Api(cluster)
        setup_table(api, shards=2, replicas=2)
        acknowledged = list(range(300))
        assert insert(api, acknowledged)[0] == 200

        def in_step():
            """Each shard's replicas on the same committed manifest and rows."""
            shards = shards_of(api)
            return all(len({(r.get("manifestRevision"), r.get("rows"), r.get("appliedLsn"))
                            for r in s["replicas"]}) == 1 and s.get("checkpointLsn", 0) >= 1
                       for s in shards) and shards
        wait_until("a sealed segment per shard, followers in step", in_step)
        before = checkpoints(api)

        def revisions():
            return {(s["shard"], r["node"]): r["manifestRevision"]
                    for s in shards_of(api) for r in s["replicas"]}
        revisions_before = revisions()

        # The store goes away: its directory is a file now (every object
        # call fails as a remote store's would).
        objects = os.path.join(str(tmp_path), "objects")
        os.rename(objects, objects + ".away")
        open(objects, "w").close()
        for start in range(1000, 1600, 100):
            code, body, took = insert(api, range(start, start + 100))
            assert code == 200 and took < REQUEST_DEADLINE, (took, body)
            acknowledged += range(start, start + 100)
            assert read_ids(api, "STRONG") == (200, sorted(acknowledged))
        # Seals are tried (and fail) while the rows grow: nothing committed,
        # no replica swapped in anything.
        wait_until("a failed seal counted",
                   lambda: node_metric(cluster, "quiver_node_maintenance_failures_total") > 0,
                   timeout=30)
        assert checkpoints(api) == before
        assert revisions() == revisions_before
        assert read_ids(api, "EVENTUAL") == (200, sorted(acknowledged))

        # Back: the leaders seal what grew, the followers adopt it.
        os.remove(objects)
        os.rename(objects + ".away", objects)
        back = time.monotonic()
        wait_until("sealing again",
                   lambda: all(a > b for a, b in zip(checkpoints(api), before)), timeout=60)
        wait_until("followers in step again", in_step)
        # Every replica reports how far it is behind its log: nothing now.
        assert all(r.get("lag") == 0 for s in shards_of(api) for r in s["replicas"]), shards_of(api)
        print(f"object store back: every shard sealed {time.monotonic() - back:.1f} s later")
        for level in ("STRONG", "EVENTUAL"):
            assert read_ids(api, level) == (200, sorted(acknowledged))
    finally:
        cluster.stop()


def test_a_dead_dispatcher_goes_unnoticed_through_the_other_and_the_coordinator_moves(
        own_services, tmp_path):
    from cluster import Cluster
    cluster = Cluster(own_services, str(tmp_path))
    try:
        apis = [Api(type("S", (), {"url": d.url, "clients": []})()) for d in cluster.dispatchers]
        setup_table(apis[0], shards=2, replicas=2)

        def coordinator():
            """The index of the dispatcher holding the coordinator role, or -1."""
            for i, api in enumerate(apis):
                if cluster.dispatchers[i].proc.poll() is None:
                    code, body = api.get("/api/cluster")
                    if code == 200 and body["result"]["dispatcher"]["coordinator"]:
                        return i
            return -1
        holder = wait_until("a coordinator", lambda: coordinator() + 1) - 1
        survivor = apis[1 - holder]
        acknowledged = list(range(100))
        assert insert(survivor, acknowledged)[0] == 200

        cluster.dispatchers[holder].kill9()
        killed = time.monotonic()
        # The other dispatcher's clients see nothing: every write and STRONG
        # read succeeds while the role moves.
        start, slowest = 1000, 0.0
        while coordinator() != 1 - holder:
            assert time.monotonic() - killed < 30, "the coordinator role did not move"
            code, body, took = insert(survivor, range(start, start + 10))
            assert code == 200, body
            acknowledged += range(start, start + 10)
            start += 10
            slowest = max(slowest, took)
            assert read_ids(survivor, "STRONG") == (200, sorted(acknowledged))
        moved = time.monotonic() - killed
        print(f"dispatcher killed: the coordinator role moved {moved:.1f} s later; "
              f"slowest write meanwhile {slowest:.2f} s")
        assert moved < 10, moved  # the lease is 3 s

        # The new coordinator places a dead node's replicas again.
        cluster.nodes[0].kill9()
        wait_until("node-0's replicas placed again and ready",
                   lambda: all(r["node"] != "node-0" and r.get("state") == "ready"
                               for s in shards_of(survivor) for r in s["replicas"])
                   and all(len(s["replicas"]) == 2 for s in shards_of(survivor)))
        assert read_ids(survivor, "STRONG") == (200, sorted(acknowledged))
    finally:
        cluster.stop()


def test_a_replica_that_missed_deletes_while_down_never_serves_the_deleted_rows(
        own_services, tmp_path):
    from cluster import Cluster
    cluster = Cluster(own_services, str(tmp_path), nodes=2, dispatchers=1, replicas=2)
    try:
        api = Api(cluster)
        setup_table(api, shards=2, replicas=2)
        assert insert(api, range(400))[0] == 200
        wait_until("both replicas of each shard ready",
                   lambda: all(len(s["replicas"]) == 2 and all(r.get("state") == "ready"
                                                              for r in s["replicas"])
                               for s in shards_of(api)))
        # node-1 dies; the rows are deleted and others written meanwhile.
        cluster.nodes[1].kill9()
        deleted = list(range(0, 400, 2))
        code, body = api.post("/api/db/data/delete", {"table": "t", "primaryKeys": deleted})
        assert code == 200 and body["result"]["deleted"] == len(deleted), body
        assert insert(api, range(1000, 1100))[0] == 200
        alive = sorted(set(range(400)) - set(deleted)) + list(range(1000, 1100))

        # node-1 returns: while its replicas catch up, no read through any
        # replica shows a deleted row.
        cluster.nodes[1].start()

        def ready_everywhere():
            code, got = read_ids(api, "EVENTUAL")
            assert code == 200 and not set(got) & set(deleted), sorted(set(got) & set(deleted))[:10]
            shards = shards_of(api)
            return all(any(r["node"] == "node-1" and r.get("state") == "ready"
                           for r in s["replicas"]) for s in shards)
        wait_until("node-1's replicas ready again", ready_everywhere)
        # node-0 dies: node-1 alone answers, with every delete applied.
        cluster.nodes[0].kill9()
        for level in ("EVENTUAL", "STRONG"):
            code, got = read_ids(api, level)
            assert code == 200, got
            assert got == alive, level
    finally:
        cluster.stop()


def test_a_follower_killed_while_downloading_restarts_clean(own_services, tmp_path):
    """A follower's node dies while it downloads its leader's files: what
    that can leave in its cache (a download's temporary file cut short; a
    file whose tail a disk lost) is never served: on restart the follower
    fetches those files again whole and ends up with its leader's copy."""
    from cluster import Cluster
    cluster = Cluster(own_services, str(tmp_path), node_args=("--seal-rows", "500"))
    try:
        api = Api(cluster)
        setup_table(api, shards=1, replicas=2)
        for start in range(0, 2000, 500):
            assert insert(api, range(start, start + 500))[0] == 200
        assert api.post("/api/rebuild", {})[0] == 200

        def in_step():
            s = shards_of(api)[0]
            roles = {r.get("role"): r for r in s["replicas"]}
            leader, follower = roles.get("leader"), roles.get("follower")
            return (leader and follower and follower.get("state") == "ready"
                    and follower["manifestRevision"] == leader["manifestRevision"]
                    and follower["sealedSegments"] == leader["sealedSegments"] >= 1
                    and follower["rows"] == leader["rows"] == 2000) and (leader, follower)
        leader, follower = wait_until("the follower in step with its leader", in_step)
        node = cluster.nodes[int(follower["node"].split("-")[1])]
        node.kill9()
        cache = os.path.join(str(tmp_path), follower["node"])
        def cached(suffix):
            return sorted(os.path.join(d, f) for d, _, names in os.walk(cache) for f in names
                          if f.endswith(suffix))
        assert cached(".seg") and cached(".qvi"), os.listdir(cache)
        torn, cut_short = cached(".seg")[-1], cached(".qvi")[-1]
        whole = {path: os.path.getsize(path) for path in (torn, cut_short)}
        with open(torn, "r+b") as f:
            f.truncate(whole[torn] // 2)
        with open(cut_short, "rb") as f:
            partial = f.read(whole[cut_short] // 3)
        os.remove(cut_short)
        with open(cut_short + ".tmp", "wb") as f:
            f.write(partial)

        node.start()
        wait_until("the follower in step again", in_step)
        for path, size in whole.items():
            assert os.path.getsize(path) == size, (path, os.path.getsize(path), size)
        s = shards_of(api)[0]
        again = next(r for r in s["replicas"] if r["node"] == follower["node"])
        assert again["indexBuilds"] == 0, again  # downloaded, not built
        # Its leader dies: it alone answers, with every row.
        cluster.nodes[int(leader["node"].split("-")[1])].kill9()
        for level in ("EVENTUAL", "STRONG"):
            code, got = read_ids(api, level)
            assert code == 200 and got == list(range(2000)), (level, got)
    finally:
        cluster.stop()
