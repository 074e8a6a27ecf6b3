"""Helpers shared by the HTTP benchmarks: start a server, read .fvecs/.ivecs."""

import re
import subprocess
import sys
import time

import numpy as np
import requests


def start_server(binary, data_dir, log_path, extra=()):
    """Starts `quiver serve` on a free port; returns (process, url, seconds
    until /ready answered)."""
    log = open(log_path, "w")
    started = time.monotonic()
    proc = subprocess.Popen([binary, "serve", "--data", data_dir, "--port", "0", *extra],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(3000):
        with open(log_path) as f:
            m = re.search(r"listening on http://[\d.]+:(\d+)", f.read())
        if m and proc.poll() is None:
            url = f"http://127.0.0.1:{m.group(1)}"
            try:
                if requests.get(url + "/ready", timeout=1).ok:
                    return proc, url, time.monotonic() - started
            except requests.RequestException:
                pass
        time.sleep(0.005)
    proc.kill()
    sys.exit("server did not start")


def load_vecs(path, dtype=np.float32, n=None):
    """The vectors of an .fvecs (dtype float32) or .ivecs (int32) file."""
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:n, 1:].view(dtype).copy()
