#!/usr/bin/env python3
"""Writes the seed corpora of the request, WAL, segment and name fuzzers
(tests/fuzz/corpus/<target>/) from real traffic: the request bodies of
tests/data/api/*.test, and the WAL and segment files a server writes for a
table of the fuzzers' schema (fuzz/fuzz_fixture.h). The index corpus comes
from build-fuzz/index_seeds.

  tests/fuzz/make_corpus.py build/bin/quiver
"""

import glob
import os
import sys
import tempfile

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bench_util import start_server  # noqa: E402
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def request_bodies():
    n = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "api", "*.test"))):
        body = []
        for line in open(path):
            if line.startswith(("POST ", "GET ", "DELETE ", "----", "#", "restart")) or not line.strip():
                if body:
                    write("request", f"api{n:03}.json", "".join(body))
                    n += 1
                    body = []
                continue
            body.append(line)


def server_files(binary):
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, _ = start_server(binary, os.path.join(tmp, "d"), os.path.join(tmp, "log"))
        try:
            requests.post(url + "/api/load", json={"name": "f"}).raise_for_status()
            requests.post(url + "/api/f/schema/tables", json={"name": "t", "fields": [
                {"name": "id", "dataType": "BIGINT", "primaryKey": True},
                {"name": "i", "dataType": "INT"}, {"name": "d", "dataType": "DOUBLE"},
                {"name": "s", "dataType": "STRING"}, {"name": "b", "dataType": "BOOL"},
                {"name": "j", "dataType": "JSON"},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 4},
                {"name": "bits", "dataType": "VECTOR_BINARY", "dimensions": 16},
                {"name": "sp", "dataType": "SPARSE_VECTOR_FLOAT"}]}).raise_for_status()
            rows = [{"id": i, "i": i * 3 - 1, "d": i / 4, "s": "s%d" % i, "b": i % 2 == 0,
                     "j": {"k": i, "tags": ["a", "b"]}, "v": [i, 0.5, -1, 2],
                     "bits": [1, 0] * 8, "sp": {"indices": [i, i + 5], "values": [0.5, 1]}}
                    for i in range(5)]
            rows[2]["i"] = None
            requests.post(url + "/api/f/data/insert", json={"table": "t", "data": rows}).raise_for_status()
            requests.post(url + "/api/f/data/delete", json={"table": "t", "primaryKeys": [1]}).raise_for_status()
            wal = sorted(glob.glob(os.path.join(tmp, "d", "dbs", "*", "*", "wal", "*.wal")))[-1]
            write("wal", "records.wal", open(wal, "rb").read())
            requests.post(url + "/api/rebuild").raise_for_status()
            seg = glob.glob(os.path.join(tmp, "d", "dbs", "*", "*", "segments", "*.seg"))[0]
            write("segment", "every_kind.seg", open(seg, "rb").read())
        finally:
            proc.terminate()
            proc.wait()


def names():
    for i, name in enumerate(["t", "_x", "Table_1", "a" * 255, "a" * 256, "1abc", "a-b", "..",
                              "a/b", "", "é", "a\x00b"]):
        write("name", f"name{i:02}", name.encode("utf-8"))


if __name__ == "__main__":
    request_bodies()
    server_files(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "bin", "quiver"))
    names()
