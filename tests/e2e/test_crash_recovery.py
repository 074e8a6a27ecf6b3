"""Crash recovery against the real server, with sealing and compaction busy.

T1: the process is killed at each named crash point, and at random moments;
after every restart nothing acknowledged is lost and nothing deleted returns.
T5: a full disk refuses writes with 507, reads go on, and writes work again
once there is space. T6: a failed fdatasync poisons the log (503), visibly.

QUIVER_SOAK_CYCLES=N lengthens the random-kill loop (make soak-crash)."""

import os
import random
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Api, QuiverProcess
from workload import Writer, check, setup_table, wait_for_acknowledged

# Seal often and keep few segments so seals, compactions and trims all happen.
BUSY = ["--seal-rows", "30", "--seal-seconds", "1", "--max-segments", "2"]
CRASH_POINTS = [
    "wal.after_append", "wal.after_sync", "segment.before_rename", "segment.after_rename",
    "manifest.before_rename", "manifest.after_rename", "wal.before_trim",
    "compaction.mid_swap", "compaction.before_cleanup", "index.before_rename",
    "index.after_rename",
]


# A table of four shards, killed where its shards' logs, seals and swaps are.
SHARDED_CRASH_POINTS = ["wal.after_sync", "segment.after_rename", "compaction.mid_swap",
                        "index.after_rename"]


@pytest.fixture
def busy_server(request):
    # A crash point (from the test's parameter) is armed from the first start.
    point = getattr(request, "param", None)
    if isinstance(point, tuple):
        point = point[0]
    env = {"QUIVER_CRASH_POINT": f"{point}:2"} if point else {}
    with tempfile.TemporaryDirectory(prefix="quiver-crash-") as tmp:
        process = QuiverProcess(os.path.join(tmp, "data"), BUSY, env).start()
        try:
            yield process
        finally:
            process.stop()


def start_writers(server, model, seed, count=4):
    writers = [Writer(server.url, i, model, seed=seed * 10 + i + 1) for i in range(count)]
    for w in writers:
        w.start()
    return writers


def wait_for_death(server, writers, stall=60, cap=300):
    """Waits until the armed crash point kills the server. Gives up when the
    writers make no progress for `stall` seconds (the server is stuck, not
    slow) or after `cap` seconds in all; returns whether the server died."""
    started = last_change = time.monotonic()
    last = None
    while server.proc.poll() is None:
        counts = [w.acknowledged for w in writers]
        if counts != last:
            last, last_change = counts, time.monotonic()
        now = time.monotonic()
        if now - last_change > stall or now - started > cap:
            return False
        time.sleep(0.02)
    return True


def stop_writers(writers):
    for w in writers:
        w.stop = True
        w.join(timeout=30)
        assert not w.is_alive()


def wait_for_stat(api, key, at_least, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        code, body = api.get("/api/crash/statistics")
        assert code == 200, body
        if body["result"][0][key] >= at_least:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


CASES = [(p, 1) for p in CRASH_POINTS] + [(p, 4) for p in SHARDED_CRASH_POINTS]


@pytest.mark.parametrize("busy_server", CASES, indirect=True,
                         ids=[f"{p}-{s}shard" + ("s" if s > 1 else "") for p, s in CASES])
def test_crash_point_loses_nothing_acknowledged(busy_server, request):
    # The point is hit on its second pass, so the table has history by then.
    server = busy_server
    point = server.env["QUIVER_CRASH_POINT"]
    shards = request.node.callspec.params["busy_server"][1]
    api = Api(server)
    setup_table(api, shards=shards)
    model = {}
    writers = start_writers(server, model, seed=1)
    died = wait_for_death(server, writers)
    if not died:
        server.kill9()
    for w in writers:
        w.join(timeout=15)
    assert died, f"crash point {point} was never reached"
    assert "crash point reached" in server.log()
    server.env = {}
    server.start()
    check(api, writers, model, shards=shards)
    # The restarted server keeps working: more writes, a seal, a clean restart.
    writers = start_writers(server, model, seed=2)
    wait_for_acknowledged(writers, each=3)
    stop_writers(writers)
    assert api.post("/api/rebuild")[0] == 200
    code, body = api.get("/api/crash/statistics")
    index = body["result"][0]["indexes"][0]
    assert index["segmentsPending"] == 0 and "error" not in index, index
    assert index["indexedRecords"] == body["result"][0]["sealedRecords"], body
    assert server.terminate() == 0
    server.start()
    check(api, writers, model, shards=shards)


@pytest.mark.parametrize("shards", [1, 4], ids=["1shard", "4shards"])
def test_random_kills_during_seals_and_compactions(busy_server, shards):
    server = busy_server
    api = Api(server)
    setup_table(api, shards=shards)
    model = {}
    rng = random.Random(99)
    cycles = int(os.environ.get("QUIVER_SOAK_CYCLES", "5"))
    for cycle in range(cycles):
        writers = start_writers(server, model, seed=cycle + 1)
        # Kill after a seeded amount of progress (not of time), and in the
        # first cycle only once a segment was sealed, so later kills land
        # among seals and compactions of a table that has some.
        wait_for_acknowledged(writers, each=rng.randint(3, 15))
        if cycle == 0:
            wait_for_stat(api, "sealedSegments", 1)
        server.kill9()
        for w in writers:
            w.join(timeout=15)
        server.start()
        check(api, writers, model, shards=shards)
    wait_for_stat(api, "sealedSegments", 1)


def is_root():
    return os.geteuid() == 0


def test_disk_full_refuses_writes_keeps_reads_and_recovers():
    if not is_root():
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tempfile.mkdtemp(prefix="quiver-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount], check=True)
    server = QuiverProcess(os.path.join(mount, "data"), ["--seal-rows", "1000000"])
    try:
        server.start()
        api = Api(server)
        setup_table(api, db="full")
        acknowledged, key, full_status = {}, 0, None
        started = time.time()
        while time.time() - started < 60:
            rows = [{"id": key + i, "version": 1, "v": [0.5] * 8} for i in range(200)]
            code, body = api.post("/api/full/data/insert", {"table": "t", "data": rows})
            if code != 200:
                full_status = (code, body)
                break
            for r in rows:
                acknowledged[r["id"]] = 1
            key += 200
        assert full_status is not None, "the 3 MiB disk never filled"
        code, body = full_status
        assert code == 507 and "space" in body["message"].lower(), full_status
        # Reads go on, and everything acknowledged is there.
        code, body = api.post("/api/full/data/get", {"table": "t", "response": ["id"]})
        assert code == 200 and {r["id"] for r in body["result"]} == set(acknowledged)
        assert api.post("/api/full/data/query", {"table": "t", "queryVector": [0.5] * 8, "limit": 1})[0] == 200
        code, body = api.get("/api/full/statistics")
        assert body["result"][0]["writable"] is True, "a full disk does not poison the log"
        # Space comes back: writes work again without a restart.
        subprocess.run(["mount", "-o", "remount,size=64m", mount], check=True)
        code, body = api.post("/api/full/data/insert", {"table": "t", "data": [
            {"id": 10**9, "version": 2, "v": [0.1] * 8}]})
        assert code == 200, body
        acknowledged[10**9] = 2
        server.kill9()
        server.start()
        code, body = api.post("/api/full/data/get", {"table": "t", "response": ["id"]})
        assert {r["id"] for r in body["result"]} == set(acknowledged)
    finally:
        server.stop()
        subprocess.run(["umount", mount], check=False)
        os.rmdir(mount)


def test_failed_fdatasync_poisons_the_log(server, api):
    if not is_root() or shutil.which("strace") is None:
        pytest.skip("fdatasync failures are injected with strace, which needs root")
    setup_table(api, db="sync")
    assert api.post("/api/sync/data/insert", {"table": "t", "data": [
        {"id": 1, "version": 1, "v": [0.1] * 8}]})[0] == 200
    strace = subprocess.Popen(
        ["strace", "-f", "-p", str(server.proc.pid), "-o", "/dev/null", "-e", "trace=fdatasync",
         "-e", "inject=fdatasync:error=EIO"], stderr=subprocess.PIPE)
    try:
        # strace says it attached once it holds every thread of the server.
        assert "attached" in strace.stderr.readline().decode(), "strace did not attach"
        code, body = api.post("/api/sync/data/insert", {"table": "t", "data": [
            {"id": 2, "version": 1, "v": [0.2] * 8}]})
        assert code == 503 and "write-ahead log failed" in body["message"], body
    finally:
        strace.terminate()
        strace.wait()
    # The disk is healthy again, but nothing more is acknowledged (D4).
    code, body = api.post("/api/sync/data/insert", {"table": "t", "data": [
        {"id": 3, "version": 1, "v": [0.3] * 8}]})
    assert code == 503, body
    code, body = api.post("/api/sync/data/get", {"table": "t", "response": ["id"]})
    assert code == 200 and 1 in {r["id"] for r in body["result"]}, "reads continue"
    code, body = api.get("/api/sync/statistics")
    table = body["result"][0]
    assert table["writable"] is False and "fdatasync" in table["error"], table
    assert "poisoned" in server.log()
    server.restart()
    code, body = api.post("/api/sync/data/get", {"table": "t", "response": ["id"]})
    ids = {r["id"] for r in body["result"]}
    assert 1 in ids and 3 not in ids, ids
    assert api.post("/api/sync/data/insert", {"table": "t", "data": [
        {"id": 4, "version": 1, "v": [0.4] * 8}]})[0] == 200, "a restart clears the poison"
