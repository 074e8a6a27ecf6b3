"""Concurrent writers that remember what the server acknowledged, and the
check that a restarted server still holds exactly that (D2)."""

import random
import threading

import requests

DIMS = 8
WRITERS_DEFAULT = 4
KEYS_PER_WRITER = 150


def setup_table(api, db="crash"):
    assert api.post("/api/load", {"name": db, "path": "/" + db})[0] == 200
    code, body = api.post(f"/api/{db}/schema/tables", {"name": "t", "fields": [
        {"name": "id", "dataType": "BIGINT", "primaryKey": True},
        {"name": "version", "dataType": "BIGINT"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS}]})
    assert code == 200, body


def vector_for(key, version):
    rng = random.Random(key * 1_000_003 + version)
    return [rng.random() for _ in range(DIMS)]


class Writer(threading.Thread):
    """Upserts and deletes its own keys; records only what was acknowledged."""

    def __init__(self, url, index, model, seed, db="crash"):
        super().__init__(daemon=True)
        self.url = url
        self.db = db
        self.keys = range(index * 10000, index * 10000 + KEYS_PER_WRITER)
        self.model = model          # key -> version or None (deleted), acknowledged only
        self.rng = random.Random(seed)
        self.in_flight = None       # {key: version-or-None} of the unacknowledged batch
        self.acknowledged = 0
        self.version = seed * 1_000_000
        self.stop = False

    def run(self):
        session = requests.Session()
        while not self.stop:
            keys = self.rng.sample(self.keys, self.rng.randint(1, 6))
            if self.rng.random() < 0.75:
                self.version += 1
                batch = {k: self.version for k in keys}
                payload = {"table": "t", "upsert": True, "data": [
                    {"id": k, "version": self.version, "v": vector_for(k, self.version)} for k in keys]}
                path = f"/api/{self.db}/data/insert"
            else:
                batch = {k: None for k in keys}
                payload = {"table": "t", "primaryKeys": keys}
                path = f"/api/{self.db}/data/delete"
            self.in_flight = batch
            try:
                response = session.post(self.url + path, json=payload, timeout=10)
            except requests.RequestException:
                return  # the server died: this batch's fate is unknown
            if response.status_code != 200:
                return  # refused (e.g. 503): not acknowledged, fate unknown to us
            self.model.update(batch)
            self.in_flight = None
            self.acknowledged += 1


def check(api, writers, model, db="crash"):
    """Every acknowledged write is there with its last acknowledged version, no
    acknowledged delete came back, an unacknowledged batch is all or nothing,
    and every stored vector finds itself first (top-1 self-recall)."""
    code, body = api.post(f"/api/{db}/data/get", {"table": "t"})
    assert code == 200, body
    stored = {r["id"]: r["version"] for r in body["result"]}
    for writer in writers:
        pending = writer.in_flight or {}
        if pending:
            landed = [stored.get(k) == v for k, v in pending.items()]
            changed = [stored.get(k) == v and model.get(k) != v for k, v in pending.items()]
            assert all(landed) or not any(changed), ("batch partly applied", pending, stored)
            if all(landed):
                model.update(pending)
        for key in writer.keys:
            if key in pending:
                continue
            assert stored.get(key) == model.get(key), (
                f"key {key}: stored {stored.get(key)}, acknowledged {model.get(key)}")
    for key, version in list(stored.items())[:40]:
        code, body = api.post(f"/api/{db}/data/query", {
            "table": "t", "queryVector": vector_for(key, version), "limit": 1, "response": ["id"]})
        assert code == 200 and body["result"][0]["id"] == key, (key, body)
    return stored
