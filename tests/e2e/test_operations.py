"""Operations and security through the binary: API keys from a file, probes,
Prometheus metrics, request ids, and the loopback rule without keys."""

import json
import os
import subprocess
import tempfile

import pytest
import requests

from conftest import BINARY, QuiverProcess

ADMIN = "admin-key-0123456789abcdef"
READER = "reader-key-0123456789abcdef"


@pytest.fixture
def secured():
    with tempfile.TemporaryDirectory(prefix="quiver-ops-") as tmp:
        keys = os.path.join(tmp, "keys.json")
        with open(keys, "w") as f:
            json.dump({"keys": [{"name": "admin", "key": ADMIN},
                                {"name": "reader", "key": READER, "databases": ["shop"],
                                 "readOnly": True}]}, f)
        process = QuiverProcess(os.path.join(tmp, "data"), ["--api-keys", keys]).start()
        try:
            yield process
        finally:
            process.stop()


def call(server, method, path, key=None, **kwargs):
    headers = {"X-API-Key": key} if key else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, server.url + path, headers=headers, timeout=30, **kwargs)


def test_api_keys_guard_every_database_operation(secured):
    server = secured
    assert call(server, "GET", "/state").status_code == 200
    assert call(server, "GET", "/health").status_code == 200
    assert call(server, "GET", "/ready").status_code == 200
    r = call(server, "POST", "/api/load", json={"name": "shop", "path": "/x"})
    assert r.status_code == 401 and "missing API key" in r.json()["message"]
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert call(server, "POST", "/api/load", "wrong-key-0123456789",
                json={"name": "shop"}).status_code == 401
    assert call(server, "POST", "/api/load", ADMIN, json={"name": "shop"}).status_code == 200
    assert call(server, "POST", "/api/shop/schema/tables", ADMIN, json={"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}]}).status_code == 200
    r = call(server, "POST", "/api/shop/data/insert", READER,
             json={"table": "t", "data": [{"id": 1, "v": [0, 1]}]})
    assert r.status_code == 403 and "read-only" in r.json()["message"]
    assert call(server, "POST", "/api/shop/data/insert", ADMIN,
                json={"table": "t", "data": [{"id": 1, "v": [0, 1]}]}).status_code == 200
    r = call(server, "POST", "/api/shop/data/query", None,
             headers={"Authorization": "Bearer " + READER},
             json={"table": "t", "queryVector": [0, 1], "limit": 1})
    assert r.status_code == 200 and r.json()["result"][0]["id"] == 1
    assert call(server, "POST", "/api/load", READER, json={"name": "other"}).status_code == 403
    assert call(server, "POST", "/api/rebuild", READER).status_code == 403
    assert call(server, "POST", "/api/rebuild", ADMIN).status_code == 200
    log = server.log()
    assert ADMIN not in log and READER not in log, "a key reached the log"


def test_metrics_and_request_ids(secured):
    server = secured
    assert call(server, "GET", "/metrics").status_code == 401
    assert call(server, "POST", "/api/load", ADMIN, json={"name": "m"}).status_code == 200
    assert call(server, "POST", "/api/m/schema/tables", ADMIN, json={"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}]}).status_code == 200
    assert call(server, "POST", "/api/m/data/insert", ADMIN,
                json={"table": "t", "data": [{"id": i, "v": [i, 0]} for i in range(5)]}
                ).status_code == 200
    r = call(server, "GET", "/metrics", READER)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert 'quiver_http_requests_total{method="POST",route="/api/{db}/data/insert",code="2xx"} 1' in text
    assert 'quiver_http_requests_total{method="POST",route="/api/load",code="4xx"}' not in text
    assert 'quiver_table_rows{database="m",table="t"} 5' in text
    assert 'quiver_wal_syncs_total{database="m",table="t"}' in text
    assert "quiver_resident_memory_bytes" in text
    assert 'quiver_http_request_duration_seconds_bucket{method="POST",route="/api/{db}/data/insert",le="+Inf"} 1' in text
    r = call(server, "GET", "/health", headers={"X-Request-Id": "trace-42"})
    assert r.headers["X-Request-Id"] == "trace-42"
    first = call(server, "GET", "/health").headers["X-Request-Id"]
    second = call(server, "GET", "/health").headers["X-Request-Id"]
    assert first and second and first != second
    r = call(server, "GET", "/health", headers={"X-Request-Id": "bad id\twith junk"})
    assert r.headers["X-Request-Id"] != "bad id\twith junk"


def test_no_keys_means_loopback_only():
    with tempfile.TemporaryDirectory(prefix="quiver-ops-") as tmp:
        out = subprocess.run([BINARY, "serve", "--data", os.path.join(tmp, "d"),
                              "--host", "0.0.0.0", "--port", "0"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2
        assert "refusing to listen on 0.0.0.0 without API keys" in out.stdout + out.stderr
        with open(os.path.join(tmp, "keys.json"), "w") as f:
            f.write('{"keys": [{"name": "a", "key": "short"}]}')
        out = subprocess.run([BINARY, "serve", "--data", os.path.join(tmp, "d"),
                              "--api-keys", os.path.join(tmp, "keys.json"), "--port", "0"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and "at least 16 characters" in out.stdout + out.stderr


def test_limits_answer_clearly_and_change_nothing(server):
    api = requests.Session()
    url = server.url
    assert api.post(url + "/api/load", json={"name": "lim"}).status_code == 200
    assert api.post(url + "/api/lim/schema/tables", json={"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True}]}).status_code == 200
    body = '{"table": "t", "data": [' + ",".join(f'{{"id": {i}}}' for i in range(100_001)) + "]}"
    r = api.post(url + "/api/lim/data/insert", data=body)
    assert r.status_code == 413 and "at most 100000 records" in r.json()["message"]
    r = api.get(url + "/api/lim/statistics")
    assert r.json()["result"][0]["totalRecords"] == 0
    fields = [{"name": "id", "dataType": "INT", "primaryKey": True}] + [
        {"name": f"f{i}", "dataType": "INT"} for i in range(1024)]
    r = api.post(url + "/api/lim/schema/tables", json={"name": "wide", "fields": fields})
    assert r.status_code == 400 and "at most 1024 fields" in r.json()["message"]
    r = api.post(url + "/api/lim/data/get", json={"table": "t", "filter": "(" * 70 + "id = 1" + ")" * 70})
    assert r.status_code == 400 and "deeper than" in r.json()["message"]
    r = api.post(url + "/api/lim/data/get", json={"table": "t", "filter": "id = 1 OR " * 8000 + "id = 2"})
    assert r.status_code == 400 and "the limit is 65536" in r.json()["message"]
    nested = "[" * 100 + "]" * 100
    r = api.post(url + "/api/lim/data/insert", data='{"table": "t", "data": ' + nested + "}")
    assert r.status_code == 400 and "nest" in r.json()["message"]


def test_config_file_round_trips_and_flags_override_it():
    with tempfile.TemporaryDirectory(prefix="quiver-ops-") as tmp:
        printed = subprocess.run([BINARY, "serve", "--print-config", "--seal-rows", "777",
                                  "--threads", "5"], capture_output=True, text=True, timeout=30)
        assert printed.returncode == 0
        assert "serve.seal-rows=777" in printed.stdout and "print-config" not in printed.stdout
        config = os.path.join(tmp, "quiver.toml")
        with open(config, "w") as f:
            f.write(printed.stdout)
        again = subprocess.run([BINARY, "serve", "--config", config, "--threads", "6",
                                "--print-config"], capture_output=True, text=True, timeout=30)
        assert "serve.seal-rows=777" in again.stdout, "the file was not read"
        assert "serve.threads=6" in again.stdout, "a flag did not override the file"
        with open(config, "a") as f:
            f.write("serve.no-such-option=1\n")
        bad = subprocess.run([BINARY, "serve", "--config", config, "--print-config"],
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and "no-such-option" in bad.stdout + bad.stderr


def test_tls_serves_https_and_refuses_tls_below_1_2():
    import re
    import socket
    import ssl
    import time
    import warnings
    with tempfile.TemporaryDirectory(prefix="quiver-tls-") as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        log = os.path.join(tmp, "log")
        with open(log, "w") as out:
            proc = subprocess.Popen([BINARY, "serve", "--data", os.path.join(tmp, "d"),
                                     "--port", "0", "--tls-cert", cert, "--tls-key", key],
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            port = None
            for _ in range(500):
                m = re.search(r"listening on https://[\d.]+:(\d+)", open(log).read())
                if m:
                    port = int(m.group(1))
                    break
                time.sleep(0.02)
            assert port, open(log).read()
            r = requests.get(f"https://127.0.0.1:{port}/state", verify=cert, timeout=10)
            assert r.status_code == 200 and r.json()["message"] == "Server is online!"
            with pytest.raises(requests.RequestException):
                requests.get(f"http://127.0.0.1:{port}/state", timeout=5)
            # TLS 1.2 exactly is served ...
            tls12 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            tls12.load_verify_locations(cert)
            tls12.minimum_version = tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with tls12.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    assert tls.version() == "TLSv1.2"
            # ... and TLS 1.1 is not. (Debian's OpenSSL refuses it at its
            # default security level too; the server also sets 1.2 as its
            # minimum explicitly, so a weaker system default would not matter.)
            old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            old.load_verify_locations(cert)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                old.minimum_version = ssl.TLSVersion.TLSv1
                old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("ALL:@SECLEVEL=0")
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                    with old.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        tls.sendall(b"GET /state HTTP/1.1\r\nHost: x\r\n\r\n")
                        assert not tls.recv(100), "a TLS 1.1 client was served"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        bad = subprocess.run([BINARY, "serve", "--data", os.path.join(tmp, "d"), "--port", "0",
                              "--tls-cert", key, "--tls-key", key],
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode == 2 and "does not load" in bad.stdout + bad.stderr


def wait_until_server_read_everything_sent(server_port, client_port, timeout=60):
    """Waits until the server's end of the connection from `client_port` has
    nothing left in its receive queue (/proc/net/tcp): a worker accepted the
    connection and is reading the request."""
    import time
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    deadline = time.monotonic() + timeout
    while True:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == local and fields[2] == remote:
                    if int(fields[4].split(":")[1], 16) == 0:
                        return
        assert time.monotonic() < deadline, "the server never read the request"
        time.sleep(0.005)


def test_graceful_shutdown_finishes_in_flight_requests(server):
    import signal
    import socket
    import time
    api = requests.Session()
    assert api.post(server.url + "/api/load", json={"name": "g"}).status_code == 200
    assert api.post(server.url + "/api/g/schema/tables", json={"name": "t", "fields": [
        {"name": "id", "dataType": "INT", "primaryKey": True},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 2}]}).status_code == 200
    body = json.dumps({"table": "t", "data": [{"id": i, "v": [i, 1]} for i in range(2000)]}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"POST /api/g/data/insert HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        s.sendall(body[: len(body) // 2])
        wait_until_server_read_everything_sent(server.port, s.getsockname()[1])
        server.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while True:  # no new connections once stopping
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
            except OSError:
                break
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.01)
        s.sendall(body[len(body) // 2:])
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert server.proc.wait(timeout=30) == 0
    server.start()
    r = requests.get(server.url + "/api/g/statistics", timeout=30)
    assert r.json()["result"][0]["totalRecords"] == 2000


def test_json_logs_are_one_object_per_line():
    with tempfile.TemporaryDirectory(prefix="quiver-log-") as tmp:
        server = QuiverProcess(os.path.join(tmp, "data"), ["--log-format", "json"]).start()
        try:
            requests.post(server.url + "/api/load", json={"name": "x"}, timeout=30)
        finally:
            server.stop()
        lines = [line for line in server.log().splitlines() if line.strip()]
        assert len(lines) >= 3
        for line in lines:
            event = json.loads(line)
            assert set(event) == {"time", "level", "component", "message"}, event
        assert any(e["component"] == "engine" for e in map(json.loads, lines))


def test_ready_only_after_recovery():
    import re
    import time
    with tempfile.TemporaryDirectory(prefix="quiver-ready-") as tmp:
        log = os.path.join(tmp, "log")
        release = os.path.join(tmp, "release")  # recovery waits until this file exists
        env = dict(os.environ, QUIVER_PAUSE_POINT=f"engine.before_recovery:{release}")
        with open(log, "w") as out:
            proc = subprocess.Popen([BINARY, "serve", "--data", os.path.join(tmp, "d"),
                                     "--port", "0"], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            url = None
            for _ in range(500):
                m = re.search(r"bound to (http://[\d.]+:\d+); recovering", open(log).read())
                if m:
                    url = m.group(1)
                    break
                time.sleep(0.01)
            assert url, open(log).read()
            assert requests.get(url + "/health", timeout=10).status_code == 200
            r = requests.get(url + "/ready", timeout=10)
            assert r.status_code == 503 and "recovered" in r.json()["message"]
            assert requests.post(url + "/api/load", json={"name": "x"}, timeout=10).status_code == 503
            open(release, "w").close()
            deadline = time.time() + 60
            while requests.get(url + "/ready", timeout=10).status_code != 200:
                assert time.time() < deadline, "never became ready"
                time.sleep(0.05)
            assert requests.post(url + "/api/load", json={"name": "x"}, timeout=10).status_code == 200
        finally:
            proc.terminate()
            assert proc.wait(timeout=30) == 0


def test_second_server_on_a_held_data_directory_exits_at_once(server):
    """A second process on the same data directory must not stay up
    answering 503: it says another process holds the directory and exits."""
    second = subprocess.run([BINARY, "serve", "--data", server.data_dir, "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode != 0
    output = second.stdout + second.stderr
    assert "another quiver process uses this data directory" in output, output
    assert requests.get(server.url + "/ready", timeout=10).status_code == 200


def test_version_names_commit_and_kernels():
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("quiver "), out.stdout
    assert "commit " in out.stdout and "commit unknown" not in out.stdout, out.stdout
    kernels = out.stdout.split("distance kernels: ")[1].split()[0]
    assert kernels in ("avx512", "avx2", "portable"), out.stdout
    forced = subprocess.run([BINARY, "--version"], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "QUIVER_KERNELS": "portable"})
    assert "distance kernels: portable" in forced.stdout, forced.stdout
