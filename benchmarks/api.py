"""The real server under 32 concurrent clients: locate and customer search on 1,000,000 customers.

Runs ``gridservice serve`` (uvicorn, one process) on a demo area and, in the
same run, a bare FastAPI app whose endpoint returns a constant, served the
same way. Each endpoint gets the same load (``--clients`` concurrent
keep-alive connections, ``--requests`` requests) from one asyncio httpx
client process; p50/p99 latency and requests per second are printed with the
ratio to the bare endpoint. The domain search is also timed in-process per
kind of query (the 50 ms target is for the search itself, without HTTP).

    python benchmarks/api.py [--customers 1000000] [--path /tmp/gridservice-api-bench-1m.gpkg]

The GeoPackage is generated with the demo generator when it is missing
(about 1–2 minutes at a million customers), with the demo users added.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np

BARE_APP = textwrap.dedent("""
    import sys, uvicorn
    from fastapi import FastAPI
    app = FastAPI()
    @app.get("/constant")
    def constant() -> dict:
        return {"status": "ok"}
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode} (see its log beside the GeoPackage)")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    sys.exit(f"{url} not ready after {timeout:.0f} s")


async def load(base: str, paths: list[str], *, clients: int, headers: dict[str, str]) -> tuple[np.ndarray, float, int]:
    """Send every path once over ``clients`` connections; latencies (s), wall time, errors."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                except httpx.TransportError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code >= 400 and r.status_code != 404:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return np.array(latencies), wall, errors


def report(name: str, lat: np.ndarray, wall: float, errors: int, bare: tuple[float, float, float] | None) -> tuple[
        float, float, float]:
    p50, p99 = np.percentile(lat, 50) * 1e3, np.percentile(lat, 99) * 1e3
    rps = len(lat) / wall
    line = f"{name:<22} n={len(lat):>5}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {rps:7.0f} req/s  errors {errors}"
    if bare is not None:
        line += f"   vs bare: p50 x{p50 / bare[0]:.1f}, p99 x{p99 / bare[1]:.1f}, req/s x{rps / bare[2]:.2f}"
    print(line, flush=True)
    return p50, p99, rps


def ensure_data(path: Path, customers: int) -> None:
    from gridservice.io import GeoPackageStore

    if path.exists():
        return
    from gridservice.auth import demo_users
    from gridservice.demo import build_demo

    t0 = time.perf_counter()
    frames = build_demo(customers=customers, seed=0)
    frames["users"] = demo_users()[0]
    t1 = time.perf_counter()
    GeoPackageStore(path).write(frames, create=True)
    print(f"generated {customers:,} customers in {t1 - t0:.0f} s, wrote {path} in {time.perf_counter() - t1:.0f} s",
          flush=True)


def queries(path: Path, n: int, rng: np.random.Generator) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Locate points inside the territory and a mix of realistic search queries."""
    from urllib.parse import quote

    from gridservice.io import GeoPackageStore

    store = GeoPackageStore(path)
    customers = store.read_layer("customers")
    grids = store.read_layer("grids")
    pick = rng.choice(len(customers), size=n, replace=True)
    geoms = customers.geometry.to_numpy()[pick]
    # jitter around customers: points where dispatchers actually click, inside and near grids
    lon = np.array([g.x for g in geoms]) + rng.normal(0, 0.002, n)
    lat = np.array([g.y for g in geoms]) + rng.normal(0, 0.002, n)
    locate = [f"/api/v1/locate?lon={x:.6f}&lat={y:.6f}" for x, y in zip(lon, lat, strict=True)]
    from gridservice.search import pinyin

    sample = customers.iloc[rng.choice(len(customers), size=400, replace=False)]
    full, initials = pinyin(sample["name"])
    kinds: dict[str, list[str]] = {
        "account": sample.index.astype(str).tolist(),
        "account prefix": [s[:-2] for s in sample.index.astype(str)],
        "phone": sample["phone"].dropna().astype(str).tolist(),
        "phone tail": [s[-4:] for s in sample["phone"].dropna().astype(str)],
        "meter": sample["meter_id"].dropna().astype(str).tolist(),
        "name": sample["name"].astype(str).tolist(),
        "surname": [s[:1] for s in sample["name"].astype(str)],
        "pinyin": full.tolist(),
        "initials": initials.tolist(),
        "address part": [s[len(s) // 2 : len(s) // 2 + 4] for s in sample["address"].dropna().astype(str)],
        "typo pinyin": [s[:2] + s[3:] if len(s) > 4 else s for s in full],
    }
    mixed = [q for qs in kinds.values() for q in qs]
    chosen = rng.choice(len(mixed), size=n, replace=True)
    search = [f"/api/v1/customers/search?q={quote(mixed[i])}&limit=20" for i in chosen]
    print(f"area: {len(customers):,} customers, {len(grids)} grids", flush=True)
    return locate, search, kinds


def domain_search(path: Path, kinds: dict[str, list[str]]) -> None:
    """Time the search index itself (no HTTP), per kind of query."""
    from gridservice.io import GeoPackageStore
    from gridservice.search import CustomerIndex

    customers = GeoPackageStore(path).read_layer("customers")
    t0 = time.perf_counter()
    index = CustomerIndex.build(customers)
    print(f"\nsearch index over {len(index):,} customers built in {time.perf_counter() - t0:.1f} s "
          "(once per area, at server start)")
    worst = 0.0
    for kind, qs in kinds.items():
        times = []
        for q in qs[:200]:
            t = time.perf_counter()
            index.search(q, limit=20)
            times.append(time.perf_counter() - t)
        arr = np.array(times) * 1e3
        worst = max(worst, float(np.percentile(arr, 99)))
        print(f"  {kind:<15} p50 {np.percentile(arr, 50):6.1f} ms  p99 {np.percentile(arr, 99):6.1f} ms  "
              f"max {arr.max():6.1f} ms")
    print(f"worst p99 {worst:.1f} ms (target < 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "gridservice-api-bench-1m.gpkg")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    ensure_data(args.path, args.customers)
    locate, search, kinds = queries(args.path, args.requests, rng)

    env = {**os.environ, "GRIDSERVICE_SECRET_KEY": "benchmark-secret-key-0123456789abcdef"}
    port, bare_port = free_port(), free_port()
    t0 = time.perf_counter()
    server_log = args.path.with_suffix(".server.log").open("w")
    server = subprocess.Popen([sys.executable, "-c", "from gridservice.cli import main; main()", "serve",
                               "--data", str(args.path), "--port", str(port)], env=env,
                              stdout=server_log, stderr=subprocess.STDOUT)
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        base, bare_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        wait_ready(f"{base}/api/v1/health", server, timeout=900)
        print(f"server ready in {time.perf_counter() - t0:.0f} s (load, derive grids, build search index)",
              flush=True)
        wait_ready(f"{bare_base}/constant", bare, timeout=60)
        token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "dispatcher",
                                                                "password": "dispatcher-demo"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        # warm up both servers (connections, first-call imports)
        asyncio.run(load(base, locate[:200] + search[:200], clients=args.clients, headers=auth))
        asyncio.run(load(bare_base, ["/constant"] * 200, clients=args.clients, headers={}))
        load_avg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"\n{args.clients} concurrent clients, {args.requests} requests per endpoint "
              f"({os.cpu_count()} CPUs, load average {load_avg}):")
        b = report("bare FastAPI constant", *asyncio.run(
            load(bare_base, ["/constant"] * args.requests, clients=args.clients, headers={})), None)
        report("locate", *asyncio.run(load(base, locate, clients=args.clients, headers=auth)), b)
        report("customer search", *asyncio.run(load(base, search, clients=args.clients, headers=auth)), b)
        if server.poll() is not None:
            print(f"the server died (exit {server.returncode}); see {args.path.with_suffix('.server.log')}")
    finally:
        for proc in (server, bare):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    domain_search(args.path, kinds)


if __name__ == "__main__":
    main()
