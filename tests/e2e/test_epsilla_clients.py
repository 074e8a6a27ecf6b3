"""Epsilla's own clients against Quiver.

epsillajs (Epsilla's JavaScript client) runs for real: it is installed from
tests/compat/epsillajs/package-lock.json and drives a whole session
(tests/compat/epsillajs/session.js). pyepsilla cannot be installed here, so
its requests are replayed byte for byte as pyepsilla 0.3.x builds them:
json.dumps bodies (``{}`` even on GET and DELETE) and its two headers.
"""

import json
import os
import shutil
import subprocess

import pytest
import requests

from conftest import ROOT

EPSILLAJS = os.path.join(ROOT, "tests", "compat", "epsillajs")


def npm_ci_if_needed():
    """Installs the locked packages when node_modules is missing or stale."""
    lock = os.path.join(EPSILLAJS, "package-lock.json")
    installed = os.path.join(EPSILLAJS, "node_modules", ".package-lock.json")
    if os.path.exists(installed) and os.path.getmtime(installed) >= os.path.getmtime(lock):
        return
    try:
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EPSILLAJS,
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"npm ci timed out after 300 s:\n{e.stdout}\n{e.stderr}")
    if done.returncode != 0:
        pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def test_epsillajs_session(server):
    run_epsillajs_session(server)


def test_epsillajs_session_on_a_cluster(cluster):
    """The same session against a dispatcher of a local cluster."""
    run_epsillajs_session(cluster)


def run_epsillajs_session(server):
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not on PATH: install nodejs and npm (make deps)")
    npm_ci_if_needed()
    try:
        done = subprocess.run(
            ["node", os.path.join(EPSILLAJS, "session.js"), "127.0.0.1", str(server.port)],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"session.js timed out after 120 s:\n{e.stdout}\n{e.stderr}")
    output = f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, output
    assert "epsillajs session passed" in done.stdout, output


# -- pyepsilla, replayed -----------------------------------------------------

HEADERS = {"Content-type": "application/json", "Connection": "close"}
FIELDS = [
    {"name": "ID", "dataType": "INT", "primaryKey": True},
    {"name": "Doc", "dataType": "STRING"},
    {"name": "Embedding", "dataType": "VECTOR_FLOAT", "dimensions": 4},
]
RECORDS = [
    {"ID": 1, "Doc": "one", "Embedding": [1, 0, 0, 0]},
    {"ID": 2, "Doc": "two", "Embedding": [0, 1, 0, 0]},
    {"ID": 3, "Doc": "three", "Embedding": [0, 0, 1, 0]},
]
QUERY = [0.75, 0.25, 0, 0]  # squared L2: ID 1 0.125, ID 2 1.125, ID 3 1.625


class PyEpsilla:
    """Sends what pyepsilla's vectordb.Client sends: a new connection per call."""

    def __init__(self, server):
        self.base = server.url

    def send(self, method, path, body, status=200):
        payload = None if body is None else json.dumps(body)
        response = requests.request(method, self.base + path, data=payload,
                                    headers=HEADERS, timeout=30)
        reply = response.json()
        assert (response.status_code, reply["statusCode"]) == (status, status), \
            f"{method} {path} {json.dumps(body)} -> {response.status_code} {reply}"
        return reply

    def result(self, method, path, body):
        return self.send(method, path, body)["result"]


def ids(records):
    return [r["ID"] for r in records]


def test_pyepsilla_requests(server):
    run_pyepsilla_requests(server)


def test_pyepsilla_requests_on_a_cluster(cluster):
    run_pyepsilla_requests(cluster)


def run_pyepsilla_requests(server):
    c = PyEpsilla(server)
    db = "PyDB"
    assert c.send("GET", "/state", {})["message"] == "Server is online!"
    c.send("POST", "/api/load",
           {"name": db, "path": "/tmp/pyepsilla", "vectorScale": 150000, "walEnabled": False})

    c.send("POST", f"/api/{db}/schema/tables", {"name": "T", "fields": FIELDS})
    c.send("POST", f"/api/{db}/schema/tables", {
        "name": "Indexed", "fields": FIELDS,
        "indices": [{"name": "i", "field": "Doc", "model": "BAAI/bge-small-en"}]})

    data = f"/api/{db}/data"
    assert c.result("POST", f"{data}/insert", {"table": "T", "data": RECORDS}) == \
        {"inserted": 3, "skipped": 0, "lsn": {"0": 1}}
    upsert = {"table": "Indexed", "data": RECORDS[:1], "upsert": True}
    assert c.result("POST", f"{data}/insert", upsert) == \
        {"inserted": 1, "skipped": 0, "lsn": {"0": 1}}
    upsert["data"] = [{"ID": 1, "Doc": "uno", "Embedding": [0, 0, 0, 1]}]
    assert c.result("POST", f"{data}/insert", upsert) == \
        {"inserted": 1, "skipped": 0, "lsn": {"0": 2}}
    assert c.result("POST", f"{data}/get", {"table": "Indexed"}) == upsert["data"]

    # pyepsilla 0.3.x: "response": [] (every field), facets with COUNT(*).
    result = c.result("POST", f"{data}/query", {
        "table": "T", "limit": 2, "response": [], "queryField": "Embedding",
        "queryVector": QUERY, "withDistance": True, "facets": [{"aggregate": ["COUNT(*)"]}]})
    assert ids(result["records"]) == [1, 2], result
    assert [r["@distance"] for r in result["records"]] == pytest.approx([0.125, 1.125])
    assert result["records"][0]["Doc"] == "one" and len(result["records"][0]["Embedding"]) == 4
    assert result["facets"] == [[{"COUNT(*)": 2}]]
    # Older pyepsilla: always "filter": "" and "withDistance": false.
    result = c.result("POST", f"{data}/query", {
        "table": "T", "response": [], "limit": 2, "filter": "", "withDistance": False,
        "queryField": "Embedding", "queryVector": QUERY})
    assert result == RECORDS[:2]

    result = c.result("POST", f"{data}/get", {
        "table": "T", "response": ["ID"], "primaryKeys": [1, 2], "filter": "ID > 0",
        "skip": 0, "limit": 10})
    assert result == [{"ID": 1}, {"ID": 2}]

    assert c.result("POST", f"{data}/delete", {"table": "T", "primaryKeys": [1]}) == \
        {"deleted": 1, "lsn": {"0": 2}}
    assert c.result("POST", f"{data}/delete", {"table": "T", "filter": "ID = 2"}) == \
        {"deleted": 1, "lsn": {"0": 3}}
    assert ids(c.result("POST", f"{data}/get", {"table": "T"})) == [3]

    stats = c.result("GET", f"/api/{db}/statistics", {})
    assert [(t["tableName"], t["totalRecords"]) for t in stats] == [("T", 1), ("Indexed", 1)]
    c.send("POST", "/api/rebuild", {})
    stats = c.result("GET", f"/api/{db}/statistics", {})
    assert [t["indexes"][0]["indexedRecords"] for t in stats] == [1, 1], stats

    c.send("DELETE", f"/api/{db}/schema/tables/Indexed", {})
    assert c.result("GET", f"/api/{db}/schema/tables/show", None) == ["T"]  # no body
    c.send("POST", f"/api/{db}/unload", {})
    c.send("GET", f"/api/{db}/statistics", {}, status=404)
    c.send("POST", "/api/load",
           {"name": db, "path": "/tmp/pyepsilla", "vectorScale": 150000, "walEnabled": False})
    assert c.result("POST", f"{data}/get", {"table": "T"}) == RECORDS[2:]
    c.send("DELETE", f"/api/{db}/drop", {})
    c.send("GET", f"/api/{db}/statistics", {}, status=404)
