"""The Python client against the real server: numpy data, per-query ef and
nprobe, errors for a server that does not answer, welcome() with API keys,
and NaN refused before anything is sent."""

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

import quiver
from cluster import free_port
from conftest import QuiverProcess
from quiver import Client, QuiverError

DIMS = 8


@pytest.fixture
def client(server):
    c = Client(host="127.0.0.1", port=server.port)
    c.load_db("py", "/py")
    c.use_db("py")
    return c


def distinct_vectors(seed, n, dims=DIMS):
    """``n`` seeded vectors, no two alike (values are multiples of 1/64, so
    float32 holds them exactly)."""
    rng = random.Random(seed)
    seen, vectors = set(), []
    while len(vectors) < n:
        v = tuple(rng.randint(-256, 256) / 64 for _ in range(dims))
        if v not in seen:
            seen.add(v)
            vectors.append(list(v))
    return vectors


def squared_l2(a, b):
    return sum((float(x) - float(y)) ** 2 for x, y in zip(a, b))


def nearest(vectors, keys, query, k):
    """The ``k`` keys nearest to ``query`` (ties by key, like the server)."""
    ranked = sorted(zip(keys, vectors), key=lambda kv: (squared_l2(kv[1], query), kv[0]))
    return [key for key, _ in ranked[:k]]


def record_count(client, table):
    _, body = client.statistics()
    return {t["tableName"]: t["totalRecords"] for t in body["result"]}[table]


# -- numpy ------------------------------------------------------------------

def test_the_client_does_not_import_numpy():
    quiver_dir = os.path.dirname(os.path.dirname(os.path.abspath(quiver.__file__)))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import quiver; "
            "assert 'numpy' not in sys.modules, 'quiver imported numpy'")
    subprocess.run([sys.executable, "-c", code, quiver_dir], check=True, timeout=30)


def test_numpy_vectors_keys_scalars_and_limits(client):
    np = pytest.importorskip("numpy")
    client.create_table("np", [
        {"name": "id", "dataType": "BIGINT", "primaryKey": True},
        {"name": "score", "dataType": "FLOAT"},
        {"name": "count", "dataType": "BIGINT"},
        {"name": "flag", "dataType": "BOOL"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS}])
    vectors = np.array(distinct_vectors(1, 40), dtype=np.float32)
    keys = np.arange(1000, 1040, dtype=np.int64) * 3
    records = [{"id": keys[i], "score": np.float32(i + 0.25), "count": np.int64(i * i),
                "flag": np.bool_(i % 2 == 0), "v": vectors[i]} for i in range(len(keys))]
    _, body = client.insert("np", records)
    assert body["result"] == {"inserted": 40, "skipped": 0, "lsn": {"0": 1}}

    query = vectors[17] + np.float32(0.01)
    expected = nearest(vectors.tolist(), keys.tolist(), query.tolist(), 2)
    assert expected[0] == keys[17]
    _, body = client.query("np", query_field="v", query_vector=query, limit=np.int64(2),
                           with_distance=True, response_fields=["id", "score"])
    assert [r["id"] for r in body["result"]] == expected
    distances = [squared_l2(vectors[keys.tolist().index(k)], query) for k in expected]
    assert [r["@distance"] for r in body["result"]] == pytest.approx(distances, rel=1e-4)
    assert body["result"][0]["score"] == 17.25

    wanted = np.array([keys[5], keys[0], keys[39]], dtype=np.int64)
    _, body = client.get("np", primary_keys=wanted)
    assert [r["id"] for r in body["result"]] == wanted.tolist()
    for row, i in zip(body["result"], (5, 0, 39)):
        assert row == {"id": int(keys[i]), "score": i + 0.25, "count": i * i,
                       "flag": i % 2 == 0, "v": vectors[i].tolist()}

    _, body = client.get("np", filter="flag", skip=np.int64(1), limit=np.int32(3),
                         response_fields=["id"])
    assert body["result"] == [{"id": int(keys[i])} for i in (2, 4, 6)]

    _, body = client.upsert("np", [{"id": keys[3], "score": np.float32(-1.5), "count": np.int64(7),
                                    "flag": np.bool_(True), "v": np.zeros(DIMS, np.float32)}])
    assert body["result"] == {"inserted": 1, "skipped": 0, "lsn": {"0": 2}}
    _, body = client.get("np", primary_keys=keys[3:4])
    assert body["result"] == [{"id": int(keys[3]), "score": -1.5, "count": 7, "flag": True,
                               "v": [0.0] * DIMS}]
    _, body = client.delete("np", primary_keys=keys[:10])
    assert body["result"] == {"deleted": 10, "lsn": {"0": 3}}
    assert record_count(client, "np") == 30


def test_numpy_hybrid_query_dense_and_sparse(client):
    np = pytest.importorskip("numpy")
    client.create_table("hy", [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "dense", "dataType": "VECTOR_FLOAT", "dimensions": 4},
        {"name": "terms", "dataType": "SPARSE_VECTOR_FLOAT"}])
    rng = random.Random(7)
    dense = distinct_vectors(7, 60, 4)
    rows = []
    for i in range(60):
        indices = sorted(rng.sample(range(30), rng.randint(1, 5)))
        rows.append({"id": np.int64(i), "dense": np.array(dense[i], dtype=np.float32),
                     "terms": {"indices": np.array(indices, dtype=np.int64),
                               "values": np.array([rng.randint(1, 4) for _ in indices],
                                                  dtype=np.float32)}})
    assert client.insert("hy", rows)[1]["result"] == {"inserted": 60, "skipped": 0,
                                                      "lsn": {"0": 1}}

    as_lists = [{"field": "dense", "vector": [1.0, 0.0, -1.0, 2.0], "weight": 0.75},
                {"field": "terms", "vector": {"indices": [3, 7, 11], "values": [1.0, 2.0, 0.5]},
                 "weight": 0.25}]
    as_numpy = [{"field": "dense", "vector": np.array([1, 0, -1, 2], dtype=np.float32),
                 "weight": np.float64(0.75)},
                {"field": "terms", "vector": {"indices": np.array([3, 7, 11]),
                                              "values": np.array([1, 2, 0.5], dtype=np.float32)},
                 "weight": np.float32(0.25)}]
    _, expected = client.hybrid_query("hy", as_lists, limit=8, candidates=40,
                                      response_fields=["id"], with_score=True)
    _, body = client.hybrid_query("hy", as_numpy, limit=np.int64(8), candidates=np.int32(40),
                                  response_fields=["id"], with_score=True)
    assert len(body["result"]) == 8
    assert body["result"] == expected["result"]

    _, body = client.query("hy", query_field="terms", limit=np.int16(3), with_distance=True,
                           query_vector={"indices": np.array([3, 7]),
                                         "values": np.array([1, 2], dtype=np.float32)})
    assert len(body["result"]) == 3
    sparse_distance = {}
    for row in rows:
        weights = dict(zip(row["terms"]["indices"].tolist(), row["terms"]["values"].tolist()))
        sparse_distance[int(row["id"])] = -(weights.get(3, 0) * 1 + weights.get(7, 0) * 2)
    best = sorted(sparse_distance.items(), key=lambda kv: (kv[1], kv[0]))[:3]
    assert [(r["id"], r["@distance"]) for r in body["result"]] == best


# -- ef and nprobe ------------------------------------------------------------

ANN_ROWS = 400


@pytest.mark.parametrize("index, knob", [
    ({"type": "HNSW", "M": 8, "efConstruction": 64, "ef": 1}, {"ef": 200}),
    ({"type": "IVF_FLAT", "nlist": 8, "nprobe": 1}, {"nprobe": 8}),
])
def test_query_ef_and_nprobe_find_the_exact_nearest(client, index, knob):
    client.create_table("ann", [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS, "index": index}])
    vectors = distinct_vectors(3, ANN_ROWS)
    keys = list(range(ANN_ROWS))
    client.insert("ann", [{"id": i, "v": vectors[i]} for i in keys])
    assert client.rebuild()[0] == 200
    _, body = client.statistics()
    stats = body["result"][0]["indexes"][0]
    assert (stats["type"], stats["indexedRecords"]) == (index["type"], ANN_ROWS), stats

    rng = random.Random(4)
    for target in rng.sample(keys, 25):
        query = [x + rng.uniform(-0.005, 0.005) for x in vectors[target]]
        _, body = client.query("ann", query_vector=query, limit=5, with_distance=True, **knob)
        assert body["result"][0]["id"] == target
        assert body["result"][0]["@distance"] == pytest.approx(
            squared_l2(vectors[target], query), rel=1e-3, abs=1e-6)
    # Queries anywhere in the space: the field's own ef=1 / nprobe=1 miss many
    # of these; ef=200 of 400 rows and nprobe = nlist find the nearest.
    for _ in range(20):
        query = [rng.uniform(-4, 4) for _ in range(DIMS)]
        _, body = client.query("ann", query_vector=query, limit=5, **knob)
        got, truth = [r["id"] for r in body["result"]], nearest(vectors, keys, query, 5)
        assert got[0] == truth[0]
        if "nprobe" in knob:  # every list searched: the exact top 5
            assert got == truth

    # The arguments are really sent: the server checks their range.
    for name, value in (("ef", 0), ("nprobe", 0), ("ef", 10001)):
        with pytest.raises(QuiverError) as error:
            client.query("ann", query_vector=vectors[0], limit=1, **{name: value})
        assert error.value.status_code == 400
        assert name in error.value.message, error.value.message


# -- a server that does not answer ---------------------------------------------



def assert_unreachable(call, url):
    with pytest.raises(QuiverError) as error:
        call()
    assert error.value.status_code == 0
    assert url in error.value.message, error.value.message
    assert error.value.__cause__ is not None
    return error.value


def every_kind_of_call(client):
    def with_db(method, *args, **kwargs):
        def call():
            client.use_db("py")
            return method(*args, **kwargs)
        return call
    return [client.state, client.welcome, lambda: client.load_db("py"), client.rebuild,
            with_db(client.insert, "t", [{"id": 1}]), with_db(client.query, "t", query_vector=[1]),
            with_db(client.get, "t"), with_db(client.statistics)]


def test_connection_refused_is_a_quiver_error_with_status_0():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = Client(host="127.0.0.1", port=port, timeout=5)
    for call in every_kind_of_call(client):
        error = assert_unreachable(call, url)
        assert "refused" in error.message.lower(), error.message


@contextlib.contextmanager
def hanging_up_server():
    """Accepts each connection, reads the request, closes without answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_dropped_connection_and_timeout_are_quiver_errors_with_status_0():
    with hanging_up_server() as port:
        url = f"http://127.0.0.1:{port}"
        client = Client(host="127.0.0.1", port=port, timeout=5)
        for call in every_kind_of_call(client):
            assert_unreachable(call, url)

    # A listener that never accepts: the kernel completes the handshake and
    # the request goes out, but no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        client = Client(host="127.0.0.1", port=port, timeout=0.3)
        for call in (client.state, client.welcome, lambda: client.load_db("py")):
            error = assert_unreachable(call, url)
            assert "timed out" in error.message, error.message


# -- welcome() with API keys -----------------------------------------------------

KEY = "python-client-admin-key-0123456789"


@pytest.fixture
def keyed_server():
    with tempfile.TemporaryDirectory(prefix="quiver-keys-") as tmp:
        keys_file = os.path.join(tmp, "keys.json")
        with open(keys_file, "w") as f:
            json.dump({"keys": [{"name": "admin", "key": KEY}]}, f)
        process = QuiverProcess(os.path.join(tmp, "data"), ["--api-keys", keys_file]).start()
        try:
            yield process
        finally:
            process.stop()


def test_welcome_sends_the_api_key(keyed_server):
    client = Client(host="127.0.0.1", port=keyed_server.port, headers={"X-API-Key": KEY})
    assert client.welcome() == (200, "Welcome to Quiver vector database.")
    assert client.load_db("k")[0] == 200

    anonymous = Client(host="127.0.0.1", port=keyed_server.port)
    with pytest.raises(QuiverError) as error:
        anonymous.welcome()
    assert error.value.status_code == 401
    with pytest.raises(QuiverError) as error:
        Client(host="127.0.0.1", port=keyed_server.port,
               headers={"X-API-Key": "not-the-key-0123456789"}).welcome()
    assert error.value.status_code == 401
    status, text = Client(host="127.0.0.1", port=keyed_server.port,
                          raise_on_error=False).welcome()
    assert status == 401 and isinstance(text, str)
    assert anonymous.state()[0] == 200  # /state needs no key


# -- NaN and infinity ------------------------------------------------------------

def test_nan_and_infinity_are_refused_before_sending(client):
    client.create_table("f", [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "x", "dataType": "DOUBLE"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 3}])
    bad_records = [
        [{"id": 1, "v": [0.5, float("nan"), 1.0]}],
        [{"id": 1, "v": [0.5, 0.5, 1.0]}, {"id": 2, "v": [float("inf"), 0, 0]}],
        [{"id": 3, "x": float("-inf"), "v": [0.0, 0.0, 0.0]}],
    ]
    for records in bad_records:
        with pytest.raises(QuiverError) as error:
            client.insert("f", records)
        assert error.value.status_code == 0
        assert "NaN or infinity" in error.value.message, error.value.message
        assert isinstance(error.value.__cause__, ValueError)
    with pytest.raises(QuiverError) as error:
        client.upsert("f", bad_records[0])
    assert error.value.status_code == 0
    assert record_count(client, "f") == 0

    with pytest.raises(QuiverError) as error:
        client.query("f", query_vector=[float("nan"), 0, 0], limit=1)
    assert error.value.status_code == 0 and "NaN" in error.value.message

    np = pytest.importorskip("numpy")
    with pytest.raises(QuiverError) as error:
        client.insert("f", [{"id": 4, "v": np.array([0, np.nan, 0], dtype=np.float32)}])
    assert error.value.status_code == 0
    assert record_count(client, "f") == 0


def test_a_sharded_table_through_the_client(client):
    client.create_table("sh", [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}], shards=3)
    keys = [17, 3, 99, 42, 8, 61, 25, 70]
    for start in range(0, len(keys), 3):  # several writes: order across them and within
        status, body = client.insert("sh", [{"id": k, "v": [k, 1]} for k in keys[start:start + 3]])
        assert status == 200, body
    _, body = client.get("sh", response_fields=["id"])
    assert [r["id"] for r in body["result"]] == keys, "insertion order across shards"
    _, body = client.get("sh", response_fields=["id"], skip=2, limit=3)
    assert [r["id"] for r in body["result"]] == keys[2:5]
    _, body = client.query("sh", query_field="v", query_vector=[40, 1], limit=3,
                           response_fields=["id"])
    assert [r["id"] for r in body["result"]] == [42, 25, 61]
    shards = client.describe_table("sh")[1]["result"]["shards"]
    assert len(shards) == 3 and sum(s["records"] for s in shards) == len(keys)
    with pytest.raises(QuiverError) as error:
        client.create_table("bad", [{"name": "id", "dataType": "INT", "primaryKey": True}],
                            shards=0)
    assert error.value.status_code == 400
    assert "shards must be between 1 and 256, not 0" in error.value.message
    assert "bad" not in client.list_tables()[1]["result"], "a refused create changes nothing"
