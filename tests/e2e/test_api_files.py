"""Runs the data-driven API tests in tests/data/api/*.test.

A file is a sequence of blocks separated by blank lines; each block is either
the directive `restart` (kill -9 the server and start it again) or a request:

    METHOD /path
    <JSON body, any number of lines, or none>
    ---- STATUS [text the message must contain]
    <expected "result" as JSON, any number of lines, or none>

Lines starting with # are comments. Every file gets a fresh server."""

import glob
import json
import os

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


def run_block(api, server, block, path):
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
    code, body = api.call(method, url, data=body_text.encode() if body_text else None)
    assert code == status, f"{where}: expected {status}, got {code}: {body}"
    if message is not None:
        assert message.lower() in body["message"].lower(), f"{where}: message {body['message']!r}"
    if result_text:
        expected = json.loads(result_text)
        assert body.get("result") == expected, f"{where}: result {json.dumps(body.get('result'))}"


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_api_file(server, path):
    api = Api(server)
    blocks = parse(path)
    assert blocks, f"{path} has no tests"
    for block in blocks:
        run_block(api, server, block, path)
