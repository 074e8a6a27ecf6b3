"""SPARSE_VECTOR_FLOAT fields: DOT_PRODUCT, exact distances, errors, sealed segments."""

import pytest

from quiver import Client, QuiverError


@pytest.fixture
def client(server):
    c = Client(host="127.0.0.1", port=server.port)
    c.load_db("s", "/s")
    c.use_db("s")
    c.create_table("docs", [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "dense", "dataType": "VECTOR_FLOAT", "dimensions": 2},
        {"name": "terms", "dataType": "SPARSE_VECTOR_FLOAT", "dimensions": 1000}])
    c.insert("docs", [
        {"id": 1, "dense": [0, 0], "terms": {"indices": [3, 10, 999], "values": [1.0, 2.0, 0.5]}},
        {"id": 2, "dense": [1, 0], "terms": {"indices": [10, 3], "values": [4.0, 1.0]}},  # unsorted
        {"id": 3, "dense": [2, 0], "terms": {"indices": [], "values": []}},
        {"id": 4, "dense": [3, 0], "terms": {"indices": [500], "values": [-2.0]}}])
    return c


def test_sparse_dot_product_search(client, server):
    query = {"indices": [10, 3, 500], "values": [0.5, 2.0, 1.0]}
    expected = [(2, -4.0), (1, -3.0), (3, 0.0), (4, 2.0)]  # -dot; 3 has no terms
    _, body = client.query("docs", query_field="terms", query_vector=query, limit=4,
                           with_distance=True, response_fields=["id"])
    assert [(r["id"], r["@distance"]) for r in body["result"]] == expected
    _, body = client.get("docs", primary_keys=[2], response_fields=["terms"])
    assert body["result"] == [{"terms": {"indices": [3, 10], "values": [1.0, 4.0]}}]
    assert client.rebuild()[0] == 200
    server.restart()
    c = Client(host="127.0.0.1", port=server.port)
    c.use_db("s")
    _, body = c.query("docs", query_field="terms", query_vector=query, limit=4,
                      with_distance=True, response_fields=["id"])
    assert [(r["id"], r["@distance"]) for r in body["result"]] == expected
    _, body = c.get("docs", primary_keys=[1], response_fields=["terms"])
    assert body["result"] == [{"terms": {"indices": [3, 10, 999], "values": [1.0, 2.0, 0.5]}}]


def bad_row(terms):
    return lambda c: c.insert("docs", [{"id": 9, "dense": [0, 0], "terms": terms}])


@pytest.mark.parametrize("call, words", [
    (bad_row({"indices": [1, 1], "values": [1, 2]}), ["appears twice"]),
    (bad_row({"indices": [1, 2], "values": [1]}), ["different lengths"]),
    (bad_row({"indices": [1000], "values": [1]}), ["not below dimensions 1000"]),
    (bad_row({"indices": [-1], "values": [1]}), ["integers from 0"]),
    (bad_row([1, 2, 3]), ["sparse vector"]),
    (bad_row({"indices": [1]}), ["values is missing"]),
    (lambda c: c.query("docs", query_field="terms", query_vector=[1, 2], limit=1), ["sparse vector field"]),
    (lambda c: c.query("docs", query_field="dense", query_vector={"indices": [1], "values": [1]}, limit=1),
     ["dense vector field"]),
    (lambda c: c.create_table("bad", [{"name": "id", "dataType": "INT", "primaryKey": True},
                                      {"name": "t", "dataType": "SPARSE_VECTOR_FLOAT",
                                       "metricType": "COSINE"}]), ["dot_product only"]),
])
def test_sparse_vector_errors(client, call, words):
    with pytest.raises(QuiverError) as error:
        call(client)
    assert error.value.status_code == 400
    for word in words:
        assert word in error.value.message.lower(), error.value.message
