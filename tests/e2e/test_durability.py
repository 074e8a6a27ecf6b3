"""kill -9 during concurrent upserts and deletes: nothing acknowledged is lost,
nothing deleted comes back, and an unacknowledged batch is all-or-nothing."""

import random
import threading
import time

import requests

DIMS = 8
WRITERS = 4
KEYS_PER_WRITER = 150


def setup_table(api):
    assert api.post("/api/load", {"name": "crash", "path": "/c"})[0] == 200
    code, body = api.post("/api/crash/schema/tables", {"name": "t", "fields": [
        {"name": "id", "dataType": "BIGINT", "primaryKey": True},
        {"name": "version", "dataType": "BIGINT"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS}]})
    assert code == 200, body


class Writer(threading.Thread):
    """Writes to its own keys; records what the server acknowledged."""

    def __init__(self, url, index, model, seed):
        super().__init__(daemon=True)
        self.url = url
        self.keys = range(index * 10000, index * 10000 + KEYS_PER_WRITER)
        self.model = model          # key -> version or None (deleted), acknowledged only
        self.rng = random.Random(seed)
        self.in_flight = None       # (kind, {key: version-or-None}) of the unacknowledged batch
        self.acknowledged = 0
        self.version = seed * 1_000_000

    def run(self):
        session = requests.Session()
        while True:
            keys = self.rng.sample(self.keys, self.rng.randint(1, 6))
            if self.rng.random() < 0.75:
                self.version += 1
                batch = {k: self.version for k in keys}
                payload = {"table": "t", "upsert": True, "data": [
                    {"id": k, "version": self.version, "v": [self.rng.random() for _ in range(DIMS)]}
                    for k in keys]}
                path = "/api/crash/data/insert"
            else:
                batch = {k: None for k in keys}
                payload = {"table": "t", "primaryKeys": keys}
                path = "/api/crash/data/delete"
            self.in_flight = batch
            try:
                response = session.post(self.url + path, json=payload, timeout=10)
            except requests.RequestException:
                return  # the server died: this batch's fate is unknown
            assert response.status_code == 200, response.text
            self.model.update(batch)
            self.in_flight = None
            self.acknowledged += 1


def check(api, writers, model):
    code, body = api.post("/api/crash/data/get", {"table": "t", "response": ["id", "version"]})
    assert code == 200, body
    stored = {r["id"]: r["version"] for r in body["result"]}
    for writer in writers:
        pending = writer.in_flight or {}
        if pending:
            # All-or-nothing: either every key shows the batch, or none does.
            applied = [stored.get(k) == v for k, v in pending.items()]
            assert all(applied) or not any(
                stored.get(k) == v and model.get(k) != v for k, v in pending.items()), (pending, stored)
            if all(applied):
                model.update(pending)
        for key in writer.keys:
            if key in pending:
                continue
            assert stored.get(key) == model.get(key), (
                f"key {key}: stored {stored.get(key)}, acknowledged {model.get(key)}")
    return stored


def test_kill9_under_concurrent_writes_loses_nothing_acknowledged(server, api):
    setup_table(api)
    model = {}
    rng = random.Random(7)
    total_acknowledged = 0
    for cycle in range(4):
        writers = [Writer(server.url, i, model, seed=cycle * 10 + i + 1) for i in range(WRITERS)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.4, 1.2))
        server.kill9()
        for w in writers:
            w.join(timeout=15)
            assert not w.is_alive()
        total_acknowledged += sum(w.acknowledged for w in writers)
        server.start()
        check(api, writers, model)
    assert total_acknowledged > 100, "the writers should have made real progress"
    # A clean shutdown loses nothing either and exits 0.
    assert server.terminate() == 0
    server.start()
    check(api, [], model)
