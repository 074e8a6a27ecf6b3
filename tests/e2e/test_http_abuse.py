"""T9: HTTP abuse. Lying and oversized bodies, slow clients, junk headers,
bad UTF-8 and path traversal in every name parameter of the URL: each gets a
4xx (or a closed connection), the server keeps serving, and no file appears
or disappears outside the data directory."""

import os
import socket
import threading
import time

import pytest
import requests

from conftest import Api


def raw(server, data, read=True, timeout=5):
    """Sends bytes on a fresh connection; returns the reply (b"" if closed)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []  # the server closes (Connection: close, an error, or keep-alive expiry)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def status_of(reply):
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None


def alive(server):
    r = requests.get(server.url + "/state", timeout=30)
    return r.status_code == 200


@pytest.fixture
def table(server):
    api = Api(server)
    assert api.post("/api/load", {"name": "db"})[0] == 200
    assert api.post("/api/db/schema/tables", {"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}]})[0] == 200
    return api


def test_lying_and_oversized_bodies(server, table):
    body = b'{"table": "t", "data": [{"id": 1, "v": [1, 2]}]}'
    # Shorter than announced, then the client goes away: nothing is inserted.
    raw(server, b"POST /api/db/data/insert HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n"
        + body, read=False)
    # Longer than announced: only the announced bytes are the body (invalid JSON).
    reply = raw(server, b"POST /api/db/data/insert HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Length: 10\r\n\r\n" + body)
    assert status_of(reply) == 400
    # Announcing more than the limit is refused before the body is read.
    reply = raw(server, b"POST /api/db/data/insert HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Length: 999999999999\r\n\r\n")
    assert status_of(reply) == 413
    for junk in [b"-5", b"abc", b"1e3", b"18446744073709551617"]:
        reply = raw(server, b"POST /api/db/data/insert HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    b"Content-Length: " + junk + b"\r\n\r\n" + body)
        assert status_of(reply) in (400, 413, None), (junk, reply[:80])
    assert alive(server)
    code, stats = table.get("/api/db/statistics")
    assert stats["result"][0]["totalRecords"] == 0, "a broken request inserted something"


def test_junk_requests_and_headers(server, table):
    for request in [
        b"\x00\x01\x02\r\nConnection: close\r\n\r\n",
        b"GARBAGE / HTTP/1.1\r\n\r\n",
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /state HTTP/1.1\r\nConnection: close\r\nX-Junk: " + b"y" * 100000 + b"\r\n\r\n",
        b"GET /state HTTP/1.1\r\nConnection: close\r\n"
        + b"".join(b"H%d: v\r\n" % i for i in range(5000)) + b"\r\n",
        b"POST /api/db/data/insert HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ]:
        reply = raw(server, request)
        # A 4xx, a closed connection, or (for a merely large header) an answer.
        assert status_of(reply) is None or status_of(reply) < 500, reply[:100]
        assert alive(server)


def test_slow_clients_do_not_stop_the_server(server, table):
    # More slow connections than worker threads, each dribbling a header.
    stop = threading.Event()
    sockets = []
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"POST /api/db/data/insert HTTP/1.1\r\nHost: x\r\n")
        sockets.append(s)

    def dribble():
        while not stop.is_set():
            for s in sockets:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(0.5)

    t = threading.Thread(target=dribble)
    t.start()
    try:
        # Served while the slow clients hold their connections (generous
        # deadline: this checks liveness, not speed).
        r = requests.post(server.url + "/api/db/data/query",
                          json={"table": "t", "queryVector": [1, 2], "limit": 1}, timeout=60)
        assert r.status_code == 200
    finally:
        stop.set()
        t.join()
        for s in sockets:
            s.close()
    assert alive(server)


TRAVERSALS = ["..", "%2e%2e", "..%2f..%2fetc", "%2e%2e%2f%2e%2e%2fetc", "a%00b", "%ff%fe",
              "a%2fb", ".", "~root", "a%20b"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_in_every_name_parameter(server, table, name):
    parent = os.path.dirname(server.data_dir)
    before = sorted(os.listdir(parent)), sorted(os.listdir(server.data_dir))
    urls = [("POST", f"/api/{name}/unload"), ("DELETE", f"/api/{name}/drop"),
            ("POST", f"/api/{name}/schema/tables"), ("GET", f"/api/{name}/schema/tables/show"),
            ("GET", f"/api/{name}/statistics"), ("POST", f"/api/{name}/data/insert"),
            ("GET", f"/api/db/schema/tables/{name}/describe"),
            ("DELETE", f"/api/db/schema/tables/{name}")]
    for method, path in urls:
        r = requests.request(method, server.url + path, data=b'{"name": "x", "table": "t"}',
                             timeout=30)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
    assert (sorted(os.listdir(parent)), sorted(os.listdir(server.data_dir))) == before
    assert alive(server)
    code, body = table.get("/api/db/schema/tables/show")
    assert body["result"] == ["t"]
