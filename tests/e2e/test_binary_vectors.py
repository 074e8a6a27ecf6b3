"""VECTOR_BINARY fields: HAMMING and JACCARD, exact distances, errors, sealed segments."""

import pytest

from quiver import Client, QuiverError

DIMS = 70  # two 64-bit words, the second partly used


def bits(ones):
    return [1 if i in ones else 0 for i in range(DIMS)]


@pytest.fixture
def client(server):
    c = Client(host="127.0.0.1", port=server.port)
    c.load_db("b", "/b")
    c.use_db("b")
    for metric in ("HAMMING", "JACCARD"):
        c.create_table(metric.lower(), [
            {"name": "id", "dataType": "INT", "primaryKey": True},
            {"name": "fp", "dataType": "VECTOR_BINARY", "dimensions": DIMS, "metricType": metric}])
        c.insert(metric.lower(), [
            {"id": 1, "fp": bits({0, 1, 2, 3})},
            {"id": 2, "fp": bits({0, 1, 66, 69})},
            {"id": 3, "fp": bits(set())},
            {"id": 4, "fp": bits({10, 11, 12, 13, 14, 15})}])
    return c


def distances(body):
    return [(r["id"], r["@distance"]) for r in body["result"]]


def test_hamming_and_jaccard_distances(client, server):
    query = bits({0, 1, 2, 66})
    _, body = client.query("hamming", query_vector=query, limit=4, with_distance=True, response_fields=["id"])
    assert distances(body) == [(1, 2), (2, 2), (3, 4), (4, 10)]  # ties by id
    _, body = client.query("jaccard", query_vector=query, limit=4, with_distance=True, response_fields=["id"])
    assert distances(body) == [(1, pytest.approx(1 - 3 / 5)), (2, pytest.approx(1 - 3 / 5)),
                               (3, 1.0), (4, 1.0)]
    _, body = client.get("hamming", primary_keys=[2])
    assert body["result"][0]["fp"] == bits({0, 1, 66, 69})
    _, body = client.describe_table("hamming")
    assert body["result"]["fields"][1] == {
        "name": "fp", "dataType": "VECTOR_BINARY", "dimensions": DIMS, "metricType": "HAMMING",
        "index": {"type": "HNSW", "M": 16, "efConstruction": 200, "ef": 64}}
    # The same answers from a sealed, mapped segment after kill -9.
    assert client.rebuild()[0] == 200
    server.restart()
    c = Client(host="127.0.0.1", port=server.port)
    c.use_db("b")
    _, body = c.query("hamming", query_vector=query, limit=2, with_distance=True, response_fields=["id"])
    assert distances(body) == [(1, 2), (2, 2)]
    _, body = c.get("hamming", filter="id = 2")
    assert body["result"][0]["fp"] == bits({0, 1, 66, 69})


@pytest.mark.parametrize("call, words", [
    (lambda c: c.insert("hamming", [{"id": 9, "fp": [1] * (DIMS - 1)}]), ["69 bits, expected 70"]),
    (lambda c: c.insert("hamming", [{"id": 9, "fp": [2] + [0] * (DIMS - 1)}]), ["only 0 and 1"]),
    (lambda c: c.query("hamming", query_vector=[0.5] * DIMS, limit=1), ["only 0 and 1"]),
    (lambda c: c.query("hamming", query_vector=[0] * 8, limit=1), ["8 dimensions"]),
    (lambda c: c.create_table("bad", [{"name": "id", "dataType": "INT", "primaryKey": True},
                                      {"name": "fp", "dataType": "VECTOR_BINARY", "dimensions": 8,
                                       "metricType": "COSINE"}]), ["hamming or jaccard"]),
    (lambda c: c.create_table("bad", [{"name": "id", "dataType": "INT", "primaryKey": True},
                                      {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 8,
                                       "metricType": "HAMMING"}]), ["euclidean, cosine or dot_product"]),
    (lambda c: c.get("hamming", filter="fp = 1"), ["cannot be used in a filter"]),
])
def test_binary_vector_errors(client, call, words):
    with pytest.raises(QuiverError) as error:
        call(client)
    assert error.value.status_code == 400
    for word in words:
        assert word in error.value.message.lower(), error.value.message
