"""Facets (Epsilla's shapes) and counting."""

import pytest

from quiver import Client, QuiverError

ROWS = [
    {"id": 1, "city": "Berlin", "price": 10.0, "stock": 3, "v": [0, 0]},
    {"id": 2, "city": "Berlin", "price": 20.0, "stock": None, "v": [1, 0]},
    {"id": 3, "city": "Paris", "price": 5.5, "stock": 7, "v": [2, 0]},
    {"id": 4, "city": None, "price": 1.0, "stock": 1, "v": [3, 0]},
    {"id": 5, "city": "Paris", "price": 4.5, "stock": 2, "v": [4, 0]},
]


@pytest.fixture
def client(server):
    c = Client(host="127.0.0.1", port=server.port)
    c.load_db("f", "/f")
    c.use_db("f")
    c.create_table("t", [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "city", "dataType": "STRING"},
        {"name": "price", "dataType": "DOUBLE"},
        {"name": "stock", "dataType": "INT"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}])
    c.insert("t", ROWS)
    return c


def test_count_with_a_filter(client):
    _, body = client.get("t", filter="price > 4", facets=[{"aggregate": ["COUNT(*)"]}])
    assert body["result"] == [[{"COUNT(*)": 4}]]
    _, body = client.get("t", filter="price > 1000", facets=[{"aggregate": ["COUNT(*)"]}])
    assert body["result"] == [[{"COUNT(*)": 0}]], "no matching row still counts zero"
    _, body = client.get("t", limit=1, facets=[{"aggregate": ["COUNT(*)"]}])
    assert body["result"] == [[{"COUNT(*)": 5}]], "facets see every match, not the page"


def test_group_by_with_aggregates_and_nulls(client):
    _, body = client.get("t", facets=[{"group": ["city"],
                                       "aggregate": ["COUNT(*)", "COUNT(stock)", "SUM(stock)",
                                                     "MIN(price)", "MAX(price)", "SUM(price * 2)"]}])
    groups = {g["city"]: g for g in body["result"][0]}
    assert groups["Berlin"] == {"city": "Berlin", "COUNT(*)": 2, "COUNT(stock)": 1, "SUM(stock)": 3,
                                "MIN(price)": 10.0, "MAX(price)": 20.0, "SUM(price * 2)": 60.0}
    assert groups["Paris"]["SUM(stock)"] == 9 and groups["Paris"]["MIN(price)"] == 4.5
    assert groups[None]["COUNT(*)"] == 1, "a null key is a group of its own"
    assert [g["city"] for g in body["result"][0]] == ["Berlin", "Paris", None], "first-seen order"


def test_records_and_facets_together_and_on_queries(client):
    _, body = client.get("t", response_fields=["id"], filter="city = 'Paris'",
                         facets=[{"aggregate": ["SUM(stock)"]}])
    assert body["result"] == {"records": [{"id": 3}, {"id": 5}], "facets": [[{"SUM(stock)": 9}]]}
    # On a query, facets aggregate the returned top-k, and may use @distance.
    _, body = client.query("t", query_vector=[0, 0], limit=3, response_fields=["id"],
                           facets=[{"aggregate": ["COUNT(*)", "MAX(@distance)"]},
                                   {"group": ["city"], "aggregate": ["COUNT(*)"]}])
    assert body["result"]["records"] == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert body["result"]["facets"][0] == [{"COUNT(*)": 3, "MAX(@distance)": 4.0}]
    assert body["result"]["facets"][1] == [{"city": "Berlin", "COUNT(*)": 2},
                                           {"city": "Paris", "COUNT(*)": 1}]


@pytest.mark.parametrize("facets, words", [
    ([{"aggregate": ["AVG(price)"]}], ["unknown function 'avg'"]),
    ([{"aggregate": ["SUM(city)"]}], ["sum needs a number"]),
    ([{"aggregate": ["COUNT(*"]}], ["must look like"]),
    ([{"aggregate": ["SUM(nope)"]}], ["unknown field 'nope'"]),
    ([{"group": ["city"]}], ["at least one aggregate"]),
    ([{"aggregate": ["COUNT(*)"], "order": ["x"]}], ["unknown key 'order'"]),
    ({"aggregate": ["COUNT(*)"]}, ["facets must be an array"]),
    ([{"aggregate": ["MAX(@distance)"]}], ["@distance"]),
])
def test_bad_facets_are_400(client, facets, words):
    with pytest.raises(QuiverError) as error:
        client.get("t", facets=facets)
    assert error.value.status_code == 400
    for word in words:
        assert word in error.value.message.lower(), error.value.message
