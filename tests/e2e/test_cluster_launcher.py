"""The local cluster launcher through the binary: `quiver cluster up` starts
etcd, NATS and the object store as detached processes and prints them,
`status` tells which still run, `down` stops them all; a process that fails
to start fails `up` with its log, and nothing is left running. Nodes and
dispatchers are not started here (--nodes 0 --dispatchers 0): stand-in
binaries play them in the failure tests."""

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import BINARY


def quiver_cluster(*args, timeout=120):
    return subprocess.run([BINARY, "cluster", *args], capture_output=True, text=True,
                          timeout=timeout)


def running(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def processes_mentioning(text):
    """PIDs of running processes whose command line contains `text`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and running(int(entry)):
            found.append(int(entry))
    return found


def wait_until(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@contextlib.contextmanager
def cluster_dir():
    """A scratch directory whose cluster is always stopped at the end; what
    `down` missed is killed and fails the test."""
    with tempfile.TemporaryDirectory(prefix="quiver-cluster-") as tmp:
        try:
            yield tmp
        finally:
            if os.path.exists(os.path.join(tmp, "cluster.json")):
                quiver_cluster("down", "--dir", tmp, "--grace-seconds", "5")
            left = processes_mentioning(tmp)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            assert not left, f"processes left behind: {left}"


def up(directory, *flags):
    result = quiver_cluster("up", "--dir", directory, "--nodes", "0", "--dispatchers", "0", *flags)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_role(cluster, role):
    return [p for p in cluster["processes"] if p["role"] == role]


def nats_answers(url):
    host, port = url.removeprefix("nats://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        return s.recv(4096).startswith(b"INFO ")


def etcd_put(url, key, value):
    body = {"key": base64.b64encode(key.encode()).decode(),
            "value": base64.b64encode(value.encode()).decode()}
    return requests.post(url + "/v3/kv/put", json=body, timeout=5)


def etcd_get(url, key):
    body = {"key": base64.b64encode(key.encode()).decode()}
    kvs = requests.post(url + "/v3/kv/range", json=body, timeout=5).json().get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def test_up_status_kill_down():
    with cluster_dir() as tmp:
        started = time.time()
        cluster = up(tmp, "--nats", "3", "--object-store", "dir")
        print(f"cluster up (etcd + 3 NATS) in {time.time() - started:.1f} s")
        assert cluster["dispatchers"] == []
        assert [p["name"] for p in by_role(cluster, "etcd")] == ["etcd"]
        nats = by_role(cluster, "nats")
        assert len(nats) == 3 and len(cluster["processes"]) == 4
        assert cluster["object_store"] == "dir:" + os.path.join(tmp, "objects")
        assert cluster["nats"] == ",".join(p["url"] for p in nats)
        for p in cluster["processes"]:
            assert running(p["pid"]), p
            assert "127.0.0.1" in p["url"], p
        etcd = by_role(cluster, "etcd")[0]
        assert requests.get(etcd["url"] + "/health", timeout=5).json()["health"] == "true"
        assert all(nats_answers(p["url"]) for p in nats)
        assert os.path.getsize(os.path.join(tmp, "logs", "nats-2.log")) > 0

        status = json.loads(quiver_cluster("status", "--dir", tmp).stdout)
        assert [p["alive"] for p in status["processes"]] == [True] * 4
        assert [p["pid"] for p in status["processes"]] == [p["pid"] for p in cluster["processes"]]

        victim = nats[1]
        os.kill(victim["pid"], signal.SIGKILL)
        assert wait_until(lambda: not running(victim["pid"]))
        status = json.loads(quiver_cluster("status", "--dir", tmp).stdout)
        alive = {p["name"]: p["alive"] for p in status["processes"]}
        assert alive == {"etcd": True, "nats-1": True, "nats-2": False, "nats-3": True}

        again = quiver_cluster("up", "--dir", tmp)
        assert again.returncode != 0 and "runs already" in again.stderr, again.stderr

        down = quiver_cluster("down", "--dir", tmp)
        assert down.returncode == 0, down.stderr
        for p in cluster["processes"]:
            assert not running(p["pid"]), p
        assert processes_mentioning(tmp) == []
        status = json.loads(quiver_cluster("status", "--dir", tmp).stdout)
        assert not any(p["alive"] for p in status["processes"])


def test_a_stopped_cluster_starts_again_with_its_data():
    with cluster_dir() as tmp:
        first = up(tmp, "--nats", "1")
        etcd = by_role(first, "etcd")[0]["url"]
        assert etcd_put(etcd, "kept", "across restarts").status_code == 200
        assert quiver_cluster("down", "--dir", tmp).returncode == 0
        refused = quiver_cluster("up", "--dir", tmp, "--nats", "3")
        assert refused.returncode != 0 and "--nats 1" in refused.stderr, refused.stderr

        second = json.loads(quiver_cluster("up", "--dir", tmp).stdout)
        assert [p["url"] for p in second["processes"]] == [p["url"] for p in first["processes"]]
        assert all(running(p["pid"]) for p in second["processes"])
        assert etcd_get(etcd, "kept") == "across restarts"


def failing_up(tmp, *flags):
    result = quiver_cluster("up", "--dir", tmp, "--dispatchers", "0", "--nats", "1", *flags)
    assert result.returncode != 0
    assert result.stdout == "", "no JSON when up fails"
    return result.stderr


def write_script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def test_a_missing_binary_fails_up_and_starts_nothing():
    with cluster_dir() as tmp:
        error = failing_up(tmp, "--nodes", "0", "--nats-bin", os.path.join(tmp, "no-nats-server"))
        assert "no-nats-server" in error and "no such executable" in error, error
        assert not os.path.exists(os.path.join(tmp, "cluster.json"))
        assert processes_mentioning(tmp) == [], "etcd, started first, is stopped again"


def test_a_node_that_exits_fails_up_with_its_log_and_stops_the_rest():
    with cluster_dir() as tmp:
        node = write_script(os.path.join(tmp, "bad-quiver"),
                            'echo "unknown flag: --no-such-flag ($1)" >&2\nexit 2\n')
        started = time.time()
        error = failing_up(tmp, "--nodes", "1", "--quiver-bin", node)
        assert time.time() - started < 30, "an exit is noticed at once, not at the timeout"
        assert "node-1" in error and "exited (status 2)" in error, error
        assert "unknown flag: --no-such-flag (node)" in error, "the end of its log"
        assert not os.path.exists(os.path.join(tmp, "cluster.json"))
        assert processes_mentioning(tmp) == [], "etcd and NATS are stopped again"
        assert os.path.exists(os.path.join(tmp, "logs", "etcd.log")), "the logs stay"


def test_a_node_that_never_gets_ready_fails_up_after_the_timeout():
    with cluster_dir() as tmp:
        node = write_script(os.path.join(tmp, "silent-quiver"), 'echo "waiting forever"\n'
                                                                "exec sleep 600\n")
        error = failing_up(tmp, "--nodes", "1", "--quiver-bin", node, "--ready-timeout", "2")
        assert "node-1" in error and "not ready within 2 s" in error, error
        assert "waiting forever" in error
        pid = int(re.search(r"node-1 \(pid (\d+)\)", error).group(1))
        assert not running(pid), "stopped by its PID although it exec'd another command"
        assert processes_mentioning(tmp) == []


def test_up_with_ceph_rgw_and_one_nats_server():
    assert shutil.which("radosgw"), "radosgw is not installed: make deps installs Ceph"
    with cluster_dir() as tmp:
        started = time.time()
        cluster = up(tmp, "--nats", "1", "--object-store", "rgw")
        print(f"cluster up (etcd + NATS + Ceph RGW) in {time.time() - started:.1f} s")
        roles = [p["role"] for p in cluster["processes"]]
        assert roles == ["etcd", "nats", "ceph-mon", "ceph-osd", "rgw"]
        rgw = by_role(cluster, "rgw")[0]
        assert cluster["object_store"] == "s3:" + rgw["url"] + "/quiver"
        assert requests.get(rgw["url"] + "/", timeout=5).status_code == 200
        # The bucket exists (an anonymous read of it is refused, not "no such bucket").
        assert requests.get(rgw["url"] + "/quiver", timeout=5).status_code == 403
        assert all(running(p["pid"]) for p in cluster["processes"])

        started = time.time()
        down = quiver_cluster("down", "--dir", tmp)
        assert down.returncode == 0, down.stderr
        print(f"cluster down in {time.time() - started:.1f} s")
        order = re.findall(r"stopping ((?:\S+ \(pid \d+\) ?)+)", down.stderr)
        assert [o.split()[0] for o in order] == ["rgw", "ceph-osd", "ceph-mon", "nats-1", "etcd"]
        assert not any(running(p["pid"]) for p in cluster["processes"])

        # Started again: the same daemons on the same ports, the bucket kept.
        again = up(tmp)
        assert [p["url"] for p in again["processes"]] == [p["url"] for p in cluster["processes"]]
        assert requests.get(rgw["url"] + "/quiver", timeout=5).status_code == 403
