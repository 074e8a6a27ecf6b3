"""Concurrent writers that remember what the server acknowledged, and the
check that a restarted server still holds exactly that (D2)."""

import random
import struct
import threading
import time

import requests
import xxhash

DIMS = 8
WRITERS_DEFAULT = 4
KEYS_PER_WRITER = 150


def setup_table(api, db="crash", shards=1):
    assert api.post("/api/load", {"name": db, "path": "/" + db})[0] == 200
    table = {"name": "t", "fields": [
        {"name": "id", "dataType": "BIGINT", "primaryKey": True},
        {"name": "version", "dataType": "BIGINT"},
        {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": DIMS}]}
    if shards > 1:
        table["shards"] = shards
    code, body = api.post(f"/api/{db}/schema/tables", table)
    assert code == 200, body


def shard_of(key, shards):
    """The shard of an integer key in a table of `shards` shards, computed as
    docs/FORMATS.md defines it (XXH3-64 of the 8 little-endian bytes modulo
    1,024 slots, slots spread evenly): an implementation independent of the
    server's."""
    slot = xxhash.xxh3_64_intdigest(key.to_bytes(8, "little", signed=True)) % 1024
    return slot * shards // 1024


def vector_for(key, version):
    # Seeded by the pair itself (a string seed is hashed with SHA-512), so no
    # two (key, version) pairs share a vector by arithmetic accident.
    rng = random.Random(f"{key}/{version}")
    return [rng.random() for _ in range(DIMS)]


def as_float32(values):
    """The vector as the server stores it (float32), back in Python floats."""
    return list(struct.unpack(f"{len(values)}f", struct.pack(f"{len(values)}f", *values)))


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


def check(api, writers, model, db="crash", shards=1):
    """Every acknowledged write is there with its last acknowledged version, no
    acknowledged delete came back, an unacknowledged batch is all or nothing
    in each shard (a batch is one log record per shard it touches), and every
    stored vector finds itself first (top-1 self-recall)."""
    code, body = api.post(f"/api/{db}/data/get", {"table": "t"})
    assert code == 200, body
    stored = {r["id"]: r["version"] for r in body["result"]}
    for writer in writers:
        pending = writer.in_flight or {}
        for shard in range(shards):
            part = {k: v for k, v in pending.items() if shard_of(k, shards) == shard}
            if not part:
                continue
            landed = [stored.get(k) == v for k, v in part.items()]
            changed = [stored.get(k) == v and model.get(k) != v for k, v in part.items()]
            assert all(landed) or not any(changed), ("batch partly applied", shard, part, stored)
            if all(landed):
                model.update(part)
        for key in writer.keys:
            if key in pending:
                continue
            assert stored.get(key) == model.get(key), (
                f"key {key}: stored {stored.get(key)}, acknowledged {model.get(key)}")
    for key, version in list(stored.items())[:40]:
        # Self-recall: the nearest row is this one, at distance exactly 0 and
        # holding exactly the vector written for this version.
        written = vector_for(key, version)
        code, body = api.post(f"/api/{db}/data/query", {
            "table": "t", "queryVector": written, "limit": 1, "response": ["id", "v"],
            "withDistance": True})
        assert code == 200, (key, body)
        top = body["result"][0]
        assert top["id"] == key and top["@distance"] == 0, (key, version, top)
        assert as_float32(top["v"]) == as_float32(written), (key, version, top)
    return stored


def wait_for_acknowledged(writers, each, timeout=120):
    """Waits until every writer has `each` batches acknowledged (progress, not
    time). Fails if a writer stopped early (the server refused or died) or if
    nothing moves for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        counts = [w.acknowledged for w in writers]
        if all(c >= each for c in counts):
            return
        for w, c in zip(writers, counts):
            assert w.is_alive() or c >= each, f"a writer stopped after {c} acknowledged batches"
        if counts != last:
            last, deadline = counts, time.monotonic() + timeout
        assert time.monotonic() < deadline, f"no progress for {timeout} s: {counts}"
        time.sleep(0.01)
