"""Bad input gets a 4xx that names the problem and changes nothing (D8)."""

import json
import os

import pytest

SCHEMA = {"name": "t", "fields": [
    {"name": "id", "dataType": "INT", "primaryKey": True},
    {"name": "tag", "dataType": "STRING"},
    {"name": "n", "dataType": "TINYINT"},
    {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 3}]}
GOOD = {"id": 1, "tag": "a", "n": 1, "v": [1, 2, 3]}


@pytest.fixture
def db(api):
    assert api.post("/api/load", {"name": "db", "path": "/p"})[0] == 200
    assert api.post("/api/db/schema/tables", SCHEMA)[0] == 200
    assert api.post("/api/db/data/insert", {"table": "t", "data": [GOOD]})[0] == 200
    return api


def rows(api):
    return api.post("/api/db/data/get", {"table": "t"})[1]["result"]


def expect_error(api, status, words, method, path, payload=None, data=None):
    before = rows(api)
    code, body = api.call(method, path, payload, data)
    assert code == status, body
    message = body["message"].lower()
    for word in words:
        assert word.lower() in message, (word, body)
    assert rows(api) == before, "a rejected request must change nothing"


@pytest.mark.parametrize("record, words", [
    ({"id": 2, "v": [1, 2]}, ["record 1", "'v'", "dimensions"]),
    ({"id": 2, "v": [1, 2, 3, 4]}, ["dimensions"]),
    ({"id": 2, "v": [1, 2, 1e39]}, ["'v'", "float range"]),
    ({"v": [1, 2, 3]}, ["primary key", "missing"]),
    ({"id": 2}, ["vector", "missing"]),
    ({"id": "two", "v": [1, 2, 3]}, ["'id'", "integer"]),
    ({"id": 2.5, "v": [1, 2, 3]}, ["'id'", "integer"]),
    ({"id": 2, "tag": 7, "v": [1, 2, 3]}, ["'tag'", "string"]),
    ({"id": 2, "n": 300, "v": [1, 2, 3]}, ["'n'", "out of range"]),
    ({"id": 2, "v": [1, "x", 3]}, ["'v'", "numbers"]),
    ({"id": 2, "v": "abc"}, ["'v'", "array"]),
    ({"id": 2, "nope": 1, "v": [1, 2, 3]}, ["unknown field 'nope'"]),
])
def test_bad_records_are_rejected_whole(db, record, words):
    # The good record in the same batch must not be inserted either.
    batch = [{"id": 50, "v": [0, 0, 0]}, record]
    expect_error(db, 400, words, "POST", "/api/db/data/insert", {"table": "t", "data": batch})


def test_nan_and_infinity_are_not_json_numbers(db):
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = '{"table": "t", "data": [{"id": 9, "v": [1, 2, %s]}]}' % literal
        expect_error(db, 400, ["json"], "POST", "/api/db/data/insert", data=body)
    # 1e400 overflows a double: the JSON parser refuses the number itself.
    expect_error(db, 400, ["json", "number"], "POST", "/api/db/data/query",
                 data='{"table": "t", "queryVector": [1, 2, 1e400], "limit": 1}')


@pytest.mark.parametrize("payload, status, words", [
    ({"table": "t", "queryVector": [1, 2], "limit": 1}, 400, ["dimensions"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 0}, 400, ["limit"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 1000000000}, 400, ["limit"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": -1}, 400, ["limit"]),
    ({"table": "t", "queryVector": [1, 2, 3]}, 400, ["limit", "missing"]),
    ({"table": "t", "limit": 1}, 400, ["queryvector"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 1, "queryField": "tag"}, 400, ["not a vector"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 1, "queryField": "zz"}, 400, ["unknown"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 1, "filter": "tag = 1"}, 400, ["position 4", "cannot compare"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 1, "filter": "id >"}, 400, ["position 4"]),
    ({"table": "t", "queryVector": [1, 2, 3], "limit": 1, "response": ["zz"]}, 400, ["unknown field"]),
    ({"table": "nope", "queryVector": [1, 2, 3], "limit": 1}, 404, ["table 'nope'"]),
    ({"table": "../x", "queryVector": [1, 2, 3], "limit": 1}, 400, ["table name"]),
])
def test_bad_queries(db, payload, status, words):
    expect_error(db, status, words, "POST", "/api/db/data/query", payload)


def test_bad_get_and_delete(db):
    expect_error(db, 400, ["@distance"], "POST", "/api/db/data/get", {"table": "t", "filter": "@distance < 1"})
    expect_error(db, 400, ["limit"], "POST", "/api/db/data/get", {"table": "t", "limit": 0})
    expect_error(db, 400, ["skip"], "POST", "/api/db/data/get", {"table": "t", "skip": -1})
    expect_error(db, 400, ["primarykeys"], "POST", "/api/db/data/get", {"table": "t", "primaryKeys": []})
    expect_error(db, 400, ["integers"], "POST", "/api/db/data/delete", {"table": "t", "primaryKeys": ["a"]})
    expect_error(db, 400, ["required"], "POST", "/api/db/data/delete", {"table": "t"})
    expect_error(db, 400, ["position"], "POST", "/api/db/data/delete", {"table": "t", "filter": "id = = 1"})


@pytest.mark.parametrize("body, words", [
    ("{not json", ["not valid json"]),
    ("[1, 2]", ["object"]),
    ("", ["not valid json"]),
    ('{"table": "t", "data": [{"id": 5, "tag": "\xff\xfe", "v": [1,2,3]}]}'.encode("latin-1"), ["json"]),
    ('{"a":' * 100 + '1' + '}' * 100, ["nests deeper"]),
    ('{"table": 5, "data": []}', ["table must be a string"]),
    ('{"table": "t"}', ["data is missing"]),
    ('{"table": "t", "data": {"id": 1}}', ["array"]),
    ('{"table": "t", "data": [5]}', ["record 0 must be an object"]),
])
def test_malformed_bodies(db, body, words):
    expect_error(db, 400, words, "POST", "/api/db/data/insert", data=body)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "x" * 300, "1abc", "a b", "a.b"])
def test_bad_database_names_never_touch_the_disk(db, server, name):
    before = sorted(os.listdir(server.data_dir))
    code, body = db.post("/api/load", {"name": name, "path": "/tmp/" + name})
    assert code == 400 and "database name" in body["message"], body
    assert sorted(os.listdir(server.data_dir)) == before


@pytest.mark.parametrize("name", ["../x", "", "x" * 300, "a-b", "9t"])
def test_bad_table_and_field_names(db, name):
    expect_error(db, 400, ["table name"], "POST", "/api/db/schema/tables",
                 {"name": name, "fields": SCHEMA["fields"]})
    expect_error(db, 400, ["field name"], "POST", "/api/db/schema/tables",
                 {"name": "ok", "fields": [{"name": name or "", "dataType": "INT", "primaryKey": True}]})


@pytest.mark.parametrize("fields, words", [
    ([{"name": "id", "dataType": "INT"}], ["primary key"]),
    ([{"name": "id", "dataType": "INT", "primaryKey": True}, {"name": "j", "dataType": "INT", "primaryKey": True}], ["at most one"]),
    ([{"name": "id", "dataType": "DOUBLE", "primaryKey": True}], ["integer or string"]),
    ([{"name": "id", "dataType": "INT", "primaryKey": True}, {"name": "v", "dataType": "VECTOR_FLOAT"}], ["dimensions"]),
    ([{"name": "id", "dataType": "INT", "primaryKey": True}, {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 0}], ["dimensions"]),
    ([{"name": "id", "dataType": "INT", "primaryKey": True}, {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2, "metricType": "MANHATTAN"}], ["metrictype"]),
    ([{"name": "id", "dataType": "UUID", "primaryKey": True}], ["datatype 'uuid'"]),
    ([{"name": "id", "dataType": "INT", "primaryKey": True}, {"name": "id", "dataType": "INT"}], ["twice"]),
    ([], ["at least one field"]),
])
def test_bad_schemas(db, fields, words):
    expect_error(db, 400, words, "POST", "/api/db/schema/tables", {"name": "bad", "fields": fields})
    assert db.get("/api/db/schema/tables/show")[1]["result"] == ["t"]


def test_unknown_objects_are_404_and_duplicates_409(db):
    expect_error(db, 404, ["database 'nodb'"], "POST", "/api/nodb/data/insert", {"table": "t", "data": [GOOD]})
    expect_error(db, 404, ["table 'zz'"], "DELETE", "/api/db/schema/tables/zz")
    expect_error(db, 409, ["already exists"], "POST", "/api/db/schema/tables", SCHEMA)
    expect_error(db, 404, ["no route"], "GET", "/api/db/nothing/here")


def test_body_over_the_limit_is_413(server, db):
    server.terminate()
    server.extra_args = ["--max-body-mb", "1"]
    server.start()
    big = json.dumps({"table": "t", "data": [{"id": i, "v": [1.5, 2.5, 3.5]} for i in range(100000)]})
    assert len(big) > 1 << 20
    expect_error(db, 413, ["limit"], "POST", "/api/db/data/insert", data=big)


BIG = "x" * (10 << 20)


@pytest.mark.parametrize("path, payload", [
    ("/api/db/data/query", {"table": "t", "queryField": BIG, "queryVector": [1, 2, 3], "limit": 1}),
    ("/api/db/data/query", {"table": "t", "queryVector": [1, 2, 3], "limit": 1,
                            "response": ["id", BIG]}),
    ("/api/db/data/get", {"table": "t", "facets": [{"aggregate": ["COUNT(" + BIG + ")"]}]}),
    ("/api/db/data/get", {"table": "t", "facets": [{"group": [BIG], "aggregate": ["COUNT(*)"]}]}),
    ("/api/db/data/get", {"table": "t", "filter": "tag = 'a' '" + BIG[:60000] + "'"}),
    ("/api/db/data/get", {"table": "t", BIG: 1}),
    ("/api/db/data/insert", {"table": "t", "data": [{**GOOD, "id": 5, BIG: 1}]}),
    ("/api/db/schema/tables", {"name": "u", "fields": [
        {"name": "id", "dataType": BIG, "primaryKey": True}]}),
    ("/api/db/schema/tables", {"name": "u", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2, "metricType": BIG}]}),
])
def test_error_messages_never_echo_unbounded_input(db, path, payload):
    code, body = db.post(path, payload)
    assert code == 400, str(body)[:300]
    message = body["message"]
    assert len(message) < 600, message[:300]
    assert "\u2026" in message, message  # the echoed value was cut, visibly
    assert rows(db) == [GOOD]


def test_malformed_json_says_where(db):
    code, body = db.post("/api/db/data/insert", data=b'{"table": "t",\n  "data": [{"id": 2 "v": [1, 2, 3]}]}')
    assert code == 400 and "line 2, column" in body["message"], body
    code, body = db.post("/api/db/data/query", data=b'{"table": "t", "queryVector": [1, NaN, 3], "limit": 1}')
    assert code == 400 and "NaN and Infinity are not JSON numbers" in body["message"], body
    assert "column 35" in body["message"], body
    assert rows(db) == [GOOD]
