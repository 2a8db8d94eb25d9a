"""Load a 1,000,000-customer service area into the model vs a bare pyogrio read; the customer search
index at a restart: loaded from the cache folder vs built; and ``gridservice serve`` from its launch to
its first answer: the first start (reads the GeoPackage) vs the next (loads the area's snapshot).

Targets: ``ServiceArea.load`` within 1.5x of ``pyogrio.read_dataframe`` of the same layers (issue 2); a
restart is a load, not a rebuild, and a server answers < 5 s after launch (issue 20). Each measured
against its baseline in the same run.

    python benchmarks/load.py [--customers 1000000] [--path /tmp/bench-1m.gpkg]

The GeoPackage is generated with the demo generator if it is not there yet.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pyogrio
from common import best_of

from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea
from gridservice.search import CustomerIndex, fingerprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/gridservice-bench-1m.gpkg"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    store = GeoPackageStore(args.path)
    if not store.exists():
        from gridservice.demo import build_demo

        t0 = time.perf_counter()
        store.write(build_demo(customers=args.customers, seed=0), create=True)
        print(f"generated {args.path} in {time.perf_counter() - t0:.1f} s")
    layers = store.layers()

    def bare() -> None:
        for name in layers:
            pyogrio.read_dataframe(args.path, layer=name, use_arrow=True)

    def ours() -> None:
        ServiceArea.load(store)

    t_bare, _ = best_of(bare, args.repeat)
    t_ours, _ = best_of(ours, args.repeat)
    area = ServiceArea.load(store)
    print(f"layers: {len(layers)}, customers: {len(area.customers):,}, readings: {len(area.energy_readings):,}")
    print(f"bare pyogrio.read_dataframe: {t_bare:.2f} s")
    print(f"ServiceArea.load:            {t_ours:.2f} s")
    print(f"ratio ours/bare: {t_ours / t_bare:.2f}x (target <= 1.5x)")

    customers = area.customers
    t_digest, digest = best_of(lambda: fingerprint(customers), args.repeat)
    t_build, _ = best_of(lambda: CustomerIndex.build(customers), 1)
    with tempfile.TemporaryDirectory() as cache:
        CustomerIndex.saved(customers, digest, Path(cache))  # the first start saves it
        t_load, _ = best_of(lambda: CustomerIndex.saved(customers, digest, Path(cache)), args.repeat)
    print(f"\nsearch index at a restart: digest of the searched columns {t_digest:.2f} s, "
          f"load {t_load:.2f} s, vs build {t_build:.2f} s: {t_build / (t_digest + t_load):.0f}x")

    with tempfile.TemporaryDirectory() as cache:
        first = serve_until_answered(args.path, Path(cache))
        later = [serve_until_answered(args.path, Path(cache)) for _ in range(args.repeat)]
    print(f"\nserver start, launch to first answer: first start (reads the GeoPackage) {first:.1f} s, "
          f"next start (loads the snapshot) {min(later):.1f} s: {first / min(later):.1f}x (target < 5 s)")


def serve_until_answered(path: Path, cache: Path) -> float:
    """Seconds from launching ``gridservice serve`` to its first answer (the warm-up off: it runs after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRIDSERVICE_CACHE_DIR": str(cache), "GRIDSERVICE_WARM_UP": "false",
           "GRIDSERVICE_SECRET_KEY": "benchmark-secret-key-0123456789abcdef"}
    t0 = time.perf_counter()
    server = subprocess.Popen(["gridservice", "serve", "--data", str(path), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise SystemExit(f"the server exited with {server.returncode}") from None
                time.sleep(0.05)
        took = time.perf_counter() - t0
        deadline = time.monotonic() + 300
        while not list(cache.glob("area-*/meta.json")) and time.monotonic() < deadline:
            time.sleep(0.5)  # the first start saves the snapshot in the background
        return took
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
