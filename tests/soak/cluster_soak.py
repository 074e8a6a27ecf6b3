#!/usr/bin/env python3
"""Cluster soak (issue 13): for --minutes, one fault at a time, picked at
random — kill -9 of a node, a dispatcher, a NATS server or etcd and its
restart; SIGSTOP of a node and SIGCONT; the object store taken away and
given back — while writers upsert and delete their own keys through both
dispatchers and read each acknowledged write back at STRONG through the
other dispatcher. Each writer remembers, per key, what was acknowledged
(and, after a failed request, every value the key may now hold).

Checked all along: every STRONG read sees the write acknowledged before it
began (a writer's keys are its own). Checked at every quiet point (every
--quiet-every seconds, and at the end: faults healed, every shard led with
its replicas ready, writers paused): a STRONG read of the whole table
through each dispatcher holds, for each key, exactly its acknowledged value
(or one of its possible ones after a failed request): 0 acknowledged writes
lost, 0 deletes resurrected. Prints the counts; exits 1 on any violation.

  python3 tests/soak/cluster_soak.py --bin build/bin/quiver [--minutes 30] [--seed 1]
"""

import argparse
import glob
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS_PER_WRITER = 200
MISSING = None  # a key with no row


class Writer(threading.Thread):
    """Upserts and deletes keys of its own; reads each acknowledged change
    back at STRONG through the other dispatcher."""

    def __init__(self, urls, index, seed, stats):
        super().__init__(daemon=True)
        self.urls = urls
        self.index = index
        self.keys = list(range(index * 100_000, index * 100_000 + KEYS_PER_WRITER))
        # key -> the values it may hold ({one} once acknowledged).
        self.possible = {k: {MISSING} for k in self.keys}
        self.rng = random.Random(seed)
        self.stats = stats
        self.version = 0
        self.stopping = False
        self.paused = threading.Event()  # set: hold still (a quiet point)
        self.idle = threading.Event()    # set: holding still
        self.violations = []

    def run(self):
        sessions = [requests.Session() for _ in self.urls]
        turn = self.index
        while not self.stopping:
            if self.paused.is_set():
                self.idle.set()
                time.sleep(0.01)
                continue
            self.idle.clear()
            turn += 1
            write, read = turn % len(self.urls), (turn + 1) % len(self.urls)
            keys = self.rng.sample(self.keys, self.rng.randint(1, 5))
            if self.rng.random() < 0.7:
                self.version += 1
                values = {k: self.version for k in keys}
                path, body = "/api/soak/data/insert", {"table": "t", "upsert": True, "data": [
                    {"id": k, "version": self.version,
                     "v": [float(k % 97), float(self.version % 89), 1.0, 0.5]} for k in keys]}
            else:
                values = {k: MISSING for k in keys}
                path, body = "/api/soak/data/delete", {"table": "t", "primaryKeys": keys}
            kind = "upserts" if path.endswith("insert") else "deletes"
            try:
                ok = sessions[write].post(self.urls[write] + path, json=body,
                                          timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            if not ok:
                # It may have landed, in any shard it touched, now or never.
                for k, v in values.items():
                    self.possible[k].add(v)
                self.stats.add(kind + " failed")
                time.sleep(0.05)
                continue
            for k, v in values.items():
                self.possible[k] = {v}
            self.stats.add(kind + " acknowledged")
            self.read_back(sessions[read], self.urls[read], values)

    def read_back(self, session, url, values):
        try:
            r = session.post(url + "/api/soak/data/get", timeout=30, json={
                "table": "t", "primaryKeys": list(values), "response": ["id", "version"],
                "consistency": "STRONG"})
        except requests.RequestException:
            r = None
        if r is None or r.status_code != 200:
            self.stats.add("STRONG reads failed")
            return
        got = {row["id"]: row["version"] for row in r.json()["result"]}
        self.stats.add("STRONG reads checked")
        for k, v in values.items():
            if got.get(k, MISSING) != v:
                self.stats.add("STRONG reads stale")
                self.violations.append(f"STRONG read of key {k} saw {got.get(k)}, "
                                       f"acknowledged before it began: {v}")


class Stats:
    def __init__(self):
        self.counts, self.lock = {}, threading.Lock()

    def add(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n


class Chaos:
    """One fault at a time over the cluster's processes and object store."""

    def __init__(self, cluster, services, objects, rng, stats):
        self.cluster, self.services, self.objects = cluster, services, objects
        self.rng, self.stats = rng, stats

    def one(self):
        kind = self.rng.choice(["kill node", "kill node", "stop node", "kill dispatcher",
                                "kill NATS server", "kill etcd", "object store away"])
        down = self.rng.uniform(0.5, 6.0)
        self.stats.add("fault: " + kind)
        if kind == "kill node":
            node = self.rng.choice(self.cluster.nodes)
            node.kill9()
            time.sleep(down)
            node.start()
        elif kind == "stop node":
            node = self.rng.choice(self.cluster.nodes)
            os.kill(node.proc.pid, signal.SIGSTOP)
            time.sleep(down)
            os.kill(node.proc.pid, signal.SIGCONT)
        elif kind == "kill dispatcher":
            d = self.rng.choice(self.cluster.dispatchers)
            d.kill9()
            time.sleep(down)
            d.start()
        elif kind == "kill NATS server":
            i = 1 + self.rng.randrange(3)
            self.services.kill9(i)
            time.sleep(down)
            self.services.start(i)
        elif kind == "kill etcd":
            self.services.kill9(0)
            time.sleep(down)
            self.services.start(0)
        else:
            os.rename(self.objects, self.objects + ".away")
            open(self.objects, "w").close()
            time.sleep(down)
            os.remove(self.objects)
            os.rename(self.objects + ".away", self.objects)


def table_state(url):
    body = requests.get(url + "/api/cluster", timeout=10).json()["result"]
    return next(t for t in body["tables"] if t["table"] == "t")


def whole(url, replicas):
    try:
        table = table_state(url)
    except (requests.RequestException, ValueError, KeyError, StopIteration):
        return False
    return all(len(s["replicas"]) == replicas
               and sum(r.get("role") == "leader" for r in s["replicas"]) == 1
               and all(r.get("state") == "ready" for r in s["replicas"])
               for s in table["shards"])


def wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    print(f"  {what}: not within {timeout} s", flush=True)
    return False


def quiet_point(cluster, writers, replicas, stats):
    """Writers paused and the cluster whole: the whole table, read at STRONG
    through each dispatcher, is what the writers were acknowledged."""
    for w in writers:
        w.paused.set()
    for w in writers:
        w.idle.wait(60)
    urls = [d.url for d in cluster.dispatchers]
    ok = wait("every shard led, its replicas ready", lambda: whole(urls[0], replicas), 120)
    problems = []
    if not ok:
        try:
            state = table_state(urls[0])
        except (requests.RequestException, ValueError, KeyError, StopIteration) as e:
            state = str(e)
        problems.append(f"the cluster did not become whole within 120 s: {state}")
    for url in urls:
        try:
            r = requests.post(url + "/api/soak/data/get", timeout=60, json={
                "table": "t", "response": ["id", "version"], "consistency": "STRONG"})
        except requests.RequestException as e:
            problems.append(f"{url}: {e}")
            continue
        if r.status_code != 200:
            problems.append(f"{url}: {r.status_code} {r.text[:300]}")
            continue
        stored = {row["id"]: row["version"] for row in r.json()["result"]}
        for w in writers:
            for k in w.keys:
                value = stored.get(k, MISSING)
                if value in w.possible[k]:
                    continue
                certain = next(iter(w.possible[k])) if len(w.possible[k]) == 1 else None
                if certain is MISSING and len(w.possible[k]) == 1:
                    stats.add("deletes resurrected")
                    problems.append(f"key {k}: deleted (acknowledged) but holds {value}")
                else:
                    stats.add("acknowledged writes lost")
                    problems.append(f"key {k}: holds {value}, may only hold {w.possible[k]}")
        stats.add("quiet-point checks")
        last = stored
    if not problems:
        # What a failed request did is known now.
        for w in writers:
            for k in w.keys:
                w.possible[k] = {last.get(k, MISSING)}
    for w in writers:
        w.paused.clear()
    return problems


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/bin/quiver")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--quiet-every", type=float, default=120, help="seconds between quiet points")
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="quiver-soak-")
    # Its own copy: processes restarted for half an hour must not pick up
    # (or be refused) a binary rebuilt meanwhile.
    binary = os.path.join(tmp, "quiver")
    shutil.copy(os.path.abspath(args.bin), binary)
    os.environ["QUIVER_BIN"] = binary
    sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
    from cluster import Cluster, Services  # noqa: E402

    rng = random.Random(args.seed)
    stats = Stats()
    problems = []
    replicas = 2
    services = Services()
    cluster = Cluster(services, tmp, nodes=3, dispatchers=2, replicas=replicas,
                      node_args=("--seal-rows", "200"))
    started = time.monotonic()
    try:
        url = cluster.url
        requests.post(url + "/api/load", json={"name": "soak", "path": "/s"}).raise_for_status()
        requests.post(url + "/api/soak/schema/tables", json={
            "name": "t", "shards": 2, "replicas": replicas, "fields": [
                {"name": "id", "dataType": "BIGINT", "primaryKey": True},
                {"name": "version", "dataType": "BIGINT"},
                {"name": "v", "dataType": "VECTOR_FLOAT", "dimensions": 4}]}).raise_for_status()
        wait("the table whole", lambda: whole(url, replicas), 60)
        writers = [Writer([d.url for d in cluster.dispatchers], i, args.seed * 1000 + i, stats)
                   for i in range(args.writers)]
        for w in writers:
            w.start()
        chaos = Chaos(cluster, services, os.path.join(tmp, "objects"), rng, stats)
        end = started + args.minutes * 60
        next_quiet = time.monotonic() + args.quiet_every
        while time.monotonic() < end:
            chaos.one()
            time.sleep(rng.uniform(0.5, 3.0))
            if time.monotonic() >= next_quiet:
                found = quiet_point(cluster, writers, replicas, stats)
                problems += found
                print(f"{(time.monotonic() - started) / 60:5.1f} min: quiet point, "
                      f"{len(found)} problems; {dict(sorted(stats.counts.items()))}", flush=True)
                next_quiet = time.monotonic() + args.quiet_every
        problems += quiet_point(cluster, writers, replicas, stats)
        for w in writers:
            w.stopping = True
        for w in writers:
            w.join(60)
            problems += w.violations
    finally:
        cluster.stop()
        # What the nodes did about it, from their logs (counters restart).
        for line in (line for path in glob.glob(os.path.join(tmp, "node-*.log"))
                     for line in open(path, errors="replace")):
            for what, marker in (("node events: leaderships won", "leads shard"),
                                 ("node events: replicas reloaded (diverged from their log)",
                                  "reloading replica")):
                if marker in line:
                    stats.add(what)
        if problems:  # keep the servers' logs with the cluster's
            for log in glob.glob(os.path.join(services.dir, "*.log")):
                shutil.copy(log, tmp)
        services.stop()
    print(f"\n{(time.monotonic() - started) / 60:.1f} minutes, seed {args.seed}:")
    for what, n in sorted(stats.counts.items()):
        print(f"  {what}: {n}")
    for what in ("acknowledged writes lost", "deletes resurrected", "STRONG reads stale"):
        print(f"  {what}: {stats.counts.get(what, 0)}")
    if problems:
        print("\nproblems:\n  " + "\n  ".join(problems[:50]))
        print(f"(logs kept in {tmp})")
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
