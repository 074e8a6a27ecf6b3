"""An Epsilla-style session through the Python client and the raw API."""

import pytest

from quiver import Client, QuiverError

FIELDS = [
    {"name": "ID", "dataType": "INT", "primaryKey": True},
    {"name": "Doc", "dataType": "STRING"},
    {"name": "Meta", "dataType": "JSON"},
    {"name": "Score", "dataType": "FLOAT"},
    {"name": "Embedding", "dataType": "VECTOR_FLOAT", "dimensions": 4},
]
RECORDS = [
    {"ID": 1, "Doc": "Berlin", "Meta": {"country": "DE"}, "Score": 0.5, "Embedding": [0.05, 0.61, 0.76, 0.74]},
    {"ID": 2, "Doc": "London", "Meta": {"country": "UK"}, "Score": 1.5, "Embedding": [0.19, 0.81, 0.75, 0.11]},
    {"ID": 3, "Doc": "Moscow", "Meta": None, "Score": 2.5, "Embedding": [0.36, 0.55, 0.47, 0.94]},
    {"ID": 4, "Doc": "San Francisco", "Meta": {"tags": [1, 2]}, "Score": 3.5, "Embedding": [0.18, 0.01, 0.85, 0.80]},
    {"ID": 5, "Doc": "Shanghai", "Embedding": [0.24, 0.18, 0.22, 0.44]},
]


def ids(records):
    return [r["ID"] for r in records]


@pytest.fixture
def client(server):
    c = Client(host="127.0.0.1", port=server.port)
    c.load_db("MyDB", "/tmp/epsilla-style-path")
    c.use_db("MyDB")
    c.create_table("MyTable", FIELDS)
    return c


def test_full_session(client, server):
    status, body = client.state()
    assert status == 200 and body["message"] == "Server is online!"
    status, body = client.insert("MyTable", RECORDS)
    assert body["result"] == {"inserted": 5, "skipped": 0, "lsn": {"0": 1}}
    assert client.list_tables()[1]["result"] == ["MyTable"]

    _, body = client.query("MyTable", query_field="Embedding", query_vector=[0.35, 0.55, 0.47, 0.94],
                           limit=2, with_distance=True)
    assert ids(body["result"]) == [3, 1]
    assert body["result"][0]["@distance"] == pytest.approx(0.0001, abs=1e-6)
    assert body["result"][0]["Doc"] == "Moscow"

    _, body = client.query("MyTable", query_vector=[0.35, 0.55, 0.47, 0.94], limit=5,
                           filter="ID <> 3 AND Doc LIKE '%o%'", response_fields=["ID"])
    assert body["result"] == [{"ID": 4}, {"ID": 2}]  # Berlin has no 'o'; SF is nearer than London

    _, body = client.get("MyTable", primary_keys=[4, 2])
    assert ids(body["result"]) == [4, 2]
    assert body["result"][0]["Meta"] == {"tags": [1, 2]}
    assert body["result"][0]["Score"] == 3.5
    _, body = client.get("MyTable", filter="Score >= 1.5", skip=1, limit=2, response_fields=["ID", "Meta"])
    assert body["result"] == [{"ID": 3, "Meta": None}, {"ID": 4, "Meta": {"tags": [1, 2]}}]

    _, body = client.delete("MyTable", primary_keys=[1, 99])
    assert body["result"] == {"deleted": 1, "lsn": {"0": 2}}
    _, body = client.delete("MyTable", filter="Doc = 'London' OR Doc = 'Paris'")
    assert body["result"] == {"deleted": 1, "lsn": {"0": 3}}

    _, body = client.insert("MyTable", [{"ID": 3, "Doc": "dup", "Embedding": [0, 0, 0, 0]}])
    assert body["result"] == {"inserted": 0, "skipped": 1, "lsn": {"0": 4}}
    _, body = client.upsert("MyTable", [{"ID": 3, "Doc": "Moskva", "Embedding": [1, 1, 1, 1]}])
    assert body["result"] == {"inserted": 1, "skipped": 0, "lsn": {"0": 5}}
    _, body = client.get("MyTable", primary_keys=[3])
    assert body["result"][0]["Doc"] == "Moskva" and body["result"][0]["Embedding"] == [1, 1, 1, 1]

    _, body = client.statistics()
    assert [(t["tableName"], t["totalRecords"]) for t in body["result"]] == [("MyTable", 3)]
    _, body = client.describe_table("MyTable")
    assert body["result"]["rowCount"] == 3
    assert body["result"]["writable"] is True
    assert body["result"]["fields"][4] == {
        "name": "Embedding", "dataType": "VECTOR_FLOAT", "dimensions": 4,
        "metricType": "EUCLIDEAN",
        "index": {"type": "HNSW", "M": 16, "efConstruction": 200, "ef": 64}}
    assert client.rebuild()[0] == 200
    _, body = client.statistics()
    assert body["result"][0]["sealedRecords"] == 3 and body["result"][0]["unsealedRecords"] == 0

    # Everything acknowledged is still there after kill -9, and nothing deleted returns.
    server.restart()
    client = Client(host="127.0.0.1", port=server.port)
    client.use_db("MyDB")
    _, body = client.get("MyTable")
    assert sorted(ids(body["result"])) == [3, 4, 5]
    assert [r["Doc"] for r in body["result"] if r["ID"] == 3] == ["Moskva"]

    client.drop_table("MyTable")
    with pytest.raises(QuiverError) as error:
        client.get("MyTable")
    assert error.value.status_code == 404


def test_metrics_follow_epsilla_conventions(client):
    for metric in ("COSINE", "DOT_PRODUCT"):
        client.create_table(f"T_{metric}", [
            {"name": "id", "dataType": "BIGINT", "primaryKey": True},
            {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2, "metricType": metric}])
        client.insert(f"T_{metric}", [{"id": 1, "v": [1, 0]}, {"id": 2, "v": [3, 3]}, {"id": 3, "v": [0, -1]}])
    _, body = client.query("T_COSINE", query_vector=[1, 1], limit=3, with_distance=True)
    assert ids_of(body, "id") == [2, 1, 3]
    assert body["result"][0]["@distance"] == pytest.approx(0, abs=1e-6)
    assert body["result"][1]["@distance"] == pytest.approx(1 - 2 ** -0.5, abs=1e-6)
    _, body = client.query("T_DOT_PRODUCT", query_vector=[1, 1], limit=3, with_distance=True)
    assert ids_of(body, "id") == [2, 1, 3]
    assert [r["@distance"] for r in body["result"]] == [-6, -1, 1]
    _, body = client.query("T_DOT_PRODUCT", query_vector=[1, 1], limit=3, filter="@distance < 0")
    assert ids_of(body, "id") == [2, 1]


def ids_of(body, key):
    return [r[key] for r in body["result"]]


def test_string_primary_keys_and_all_scalar_types(client):
    client.create_table("Typed", [
        {"name": "k", "dataType": "STRING", "primaryKey": True},
        {"name": "b", "dataType": "BOOL"}, {"name": "t", "dataType": "TINYINT"},
        {"name": "s", "dataType": "SMALLINT"}, {"name": "i", "dataType": "INT"},
        {"name": "l", "dataType": "BIGINT"}, {"name": "d", "dataType": "DOUBLE"},
        {"name": "v", "dataType": "VECTOR_DOUBLE", "dimensions": 2}])
    row = {"k": "a'b", "b": True, "t": -128, "s": 32767, "i": -2147483648,
           "l": 9007199254740993, "d": 0.1, "v": [0.5, -0.25]}
    _, body = client.insert("Typed", [row])
    assert body["result"]["inserted"] == 1
    _, body = client.get("Typed", primary_keys=["a'b"])
    assert body["result"] == [row]
    _, body = client.get("Typed", filter="k = 'a''b' AND b = TRUE AND l = 9007199254740993")
    assert len(body["result"]) == 1
    _, body = client.delete("Typed", primary_keys=["a'b"])
    assert body["result"] == {"deleted": 1, "lsn": {"0": 2}}


def test_load_is_idempotent_and_databases_reopen_after_restart(server, api):
    assert api.post("/api/load", {"name": "A", "path": "/x"})[0] == 200
    assert api.post("/api/load", {"name": "A", "path": "/somewhere/else"})[0] == 200
    assert api.post("/api/load", {"name": "B", "path": "/y"})[0] == 200
    assert api.post("/api/A/schema/tables", {"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True}]})[0] == 200
    assert api.post("/api/B/unload")[0] == 200
    assert api.get("/api/B/statistics")[0] == 404
    server.terminate()
    server.start()
    assert api.get("/api/A/schema/tables/show")[1]["result"] == ["t"]
    assert api.get("/api/B/statistics")[0] == 404, "an unloaded database stays closed"
    assert api.post("/api/load", {"name": "B", "path": "/y"})[0] == 200
    assert api.delete("/api/B/drop")[0] == 200
    assert api.get("/api/B/statistics")[0] == 404
    assert "Server is online!" in api.get("/state")[1]["message"]
    status, banner = api.get("/")
    assert status == 200 and "Quiver" in banner


def test_rows_land_in_the_shard_their_key_hashes_to(server, api):
    """The hash slots of docs/FORMATS.md, checked against Python's own xxhash:
    each shard holds exactly the keys that hash to it, and a write's reply
    names exactly the shards it wrote to."""
    xxhash = pytest.importorskip("xxhash")

    def shard(key_bytes, shards):
        return xxhash.xxh3_64_intdigest(key_bytes) % 1024 * shards // 1024

    assert api.post("/api/load", {"name": "S", "path": "/s"})[0] == 200
    for name, key_type in (("ints", "BIGINT"), ("strings", "STRING")):
        code, body = api.post("/api/S/schema/tables", {"name": name, "shards": 3, "fields": [
            {"name": "id", "dataType": key_type, "primaryKey": True},
            {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}]})
        assert code == 200, body
    keys = list(range(-100, 200))
    as_bytes = {k: k.to_bytes(8, "little", signed=True) for k in keys}
    words = [f"kéy-{k}" for k in keys]
    for name, table_keys, encoded in (("ints", keys, as_bytes),
                                      ("strings", words, {w: w.encode() for w in words})):
        code, body = api.post("/api/S/data/insert", {"table": name, "data": [
            {"id": k, "v": [i, 1]} for i, k in enumerate(table_keys)]})
        assert code == 200, body
        expected = [0, 0, 0]
        for k in table_keys:
            expected[shard(encoded[k], 3)] += 1
        assert sorted(int(s) for s in body["result"]["lsn"]) == \
            [s for s in range(3) if expected[s]], body
        stats = {t["tableName"]: t for t in api.get("/api/S/statistics")[1]["result"]}
        assert [s["records"] for s in stats[name]["shards"]] == expected, stats[name]
        one = table_keys[7]
        code, body = api.post("/api/S/data/delete", {"table": name, "primaryKeys": [one]})
        assert code == 200 and list(body["result"]["lsn"]) == [str(shard(encoded[one], 3))], body
