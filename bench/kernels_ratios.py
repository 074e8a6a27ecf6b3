#!/usr/bin/env python3
"""Runs the kernels benchmark and prints Quiver/Faiss speed ratios (>1: Quiver faster)."""

import json
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else "build/bin/quiver_kernels_bench"
out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=0.2"],
                     capture_output=True, text=True, check=True)
results = {b["name"]: b for b in json.loads(out.stdout)["benchmarks"]}
sets = sorted({n.split("/")[1] for n in results if n.startswith("L2/quiver_")})
print("| kernel | dims | faiss ns | " + " | ".join(f"{s} ns (ratio)" for s in sets) + " |")
print("|---|---|---|" + "---|" * len(sets))
for kind in ("L2", "IP"):
    for dims in (96, 128, 768, 1536):
        faiss = results[f"{kind}/faiss/{dims}"]["cpu_time"]
        cells = []
        for s in sets:
            q = results[f"{kind}/{s}/{dims}"]["cpu_time"]
            cells.append(f"{q:.1f} ({faiss / q:.2f}x)")
        print(f"| {kind} | {dims} | {faiss:.1f} | " + " | ".join(cells) + " |")
for name in ("Scan/quiver", "Scan/faiss", "Scan/memory_read"):
    b = results[name]
    print(f"{name}: {b['real_time']:.2f} ms per 200k x 128-d scan, {b['bytes_per_second'] / 1e9:.2f} GB/s")
