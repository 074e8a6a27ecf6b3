"""Runs the data-driven API tests in tests/data/api/*.test.

A file is a sequence of blocks separated by blank lines; each block is either
the directive `restart` (kill -9 the server and start it again) or a request:

    METHOD /path
    <JSON body, any number of lines, or none>
    ---- STATUS [text the message must contain]
    <expected "result" as JSON, any number of lines, or none>

Lines starting with # are comments. Every file gets a fresh server.

Every file runs twice: as written (tables of one shard), and with every table
created with "shards": 4. A table of four shards must answer exactly as a
table of one, except for what describes its storage layout: a write's "lsn"
(one per shard written), and the per-shard and summed storage numbers of
describe and statistics ("shards", "sealedSegments", "checkpointLsn",
"lastLsn"). Those are checked for consistency (the shards' records add up to
the table's) and then left out of the comparison."""

import glob
import json
import os
import re

import pytest

from conftest import Api

FILES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "data", "api", "*.test")))


def parse(path):
    blocks, current = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if line.strip() == "":
                if current:
                    blocks.append(current)
                    current = []
                continue
            current.append((number, line))
    if current:
        blocks.append(current)
    return blocks


LAYOUT_KEYS = ("lsn", "shards", "sealedSegments", "checkpointLsn", "lastLsn")
CREATE_TABLE = re.compile(r"^/api/[^/]+/schema/tables/?$")


def with_shards(method, url, body_text, shards):
    """A create-table body asking for `shards` shards (unless it names some)."""
    if shards == 1 or method != "POST" or not CREATE_TABLE.match(url) or not body_text:
        return body_text
    try:
        body = json.loads(body_text)
    except ValueError:
        return body_text
    if not isinstance(body, dict) or "shards" in body:
        return body_text
    body["shards"] = shards
    return json.dumps(body)


def check_layout(value, shards, where):
    """Checks the layout numbers of a sharded reply, then strips them."""
    if isinstance(value, list):
        return [check_layout(v, shards, where) for v in value]
    if not isinstance(value, dict):
        return value
    if "lsn" in value:
        lsns = value["lsn"]
        assert isinstance(lsns, dict), f"{where}: lsn {lsns!r}"
        for shard, lsn in lsns.items():
            assert 0 <= int(shard) < shards and isinstance(lsn, int) and lsn > 0, f"{where}: {lsns}"
    if "shards" in value and isinstance(value["shards"], list):
        parts = value["shards"]
        assert [p["shard"] for p in parts] == list(range(shards)), f"{where}: {parts}"
        total = value.get("rowCount", value.get("totalRecords"))
        assert sum(p["records"] for p in parts) == total, f"{where}: {parts} vs {total}"
        for key, part_key in (("sealedRecords", "sealedRecords"), ("unsealedRecords", "unsealedRecords"),
                              ("sealedSegments", "sealedSegments"), ("lastLsn", "lastLsn"),
                              ("checkpointLsn", "checkpointLsn")):
            assert sum(p[part_key] for p in parts) == value[key], f"{where}: {key} of {parts}"
    return {k: check_layout(v, shards, where) for k, v in value.items() if k not in LAYOUT_KEYS}


def run_block(api, server, block, path, shards=1):
    number, first = block[0]
    where = f"{os.path.basename(path)}:{number}"
    if first.strip() == "restart":
        server.restart()
        return
    method, url = first.split(None, 1)
    lines = [l for _, l in block[1:]]
    marker = next(i for i, l in enumerate(lines) if l.startswith("----"))
    body_text = "\n".join(lines[:marker]).strip()
    expect = lines[marker][4:].strip().split(None, 1)
    status = int(expect[0])
    message = expect[1] if len(expect) > 1 else None
    result_text = "\n".join(lines[marker + 1:]).strip()
    body_text = with_shards(method, url, body_text, shards)
    code, body = api.call(method, url, data=body_text.encode() if body_text else None)
    assert code == status, f"{where}: expected {status}, got {code}: {body}"
    if message is not None:
        assert message.lower() in body["message"].lower(), f"{where}: message {body['message']!r}"
    if result_text:
        expected = json.loads(result_text)
        actual = body.get("result")
        if shards > 1:
            actual = check_layout(actual, shards, where)
            expected = check_layout(expected, 1, where)
        assert actual == expected, f"{where}: result {json.dumps(body.get('result'))}"


@pytest.mark.parametrize("shards", [1, 4], ids=["1shard", "4shards"])
@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_api_file(server, path, shards):
    run_file(server, path, shards)


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_api_file_on_a_cluster(cluster, path):
    """The same files against a dispatcher of a local cluster (3 nodes, 2
    dispatchers, 3 NATS servers, tables of 2 shards with 2 replicas each); a
    restart kill -9s the dispatcher."""
    run_file(cluster, path, 2)


def run_file(server, path, shards):
    api = Api(server)
    blocks = parse(path)
    assert blocks, f"{path} has no tests"
    for block in blocks:
        run_block(api, server, block, path, shards)
