"""The real server under load: locate and customer search on 1,000,000 customers.

Two modes. The default is closed loop, as before (below). ``--open-loop``
offers a fixed arrival rate instead (issue 20): requests leave at Poisson
times whatever the server's answers, so a slow server meets a growing queue
as it would in a dispatch centre. For each of ``--workers`` (default 1 and 2,
side by side in one table) ``gridservice serve --workers N`` is started and
each route gets each of ``--rates`` for ``--duration`` seconds; the table
gives the achieved rate, p50/p95/p99 latency (from the moment a request was
due, so a lagging load generator counts against the server, not for it) and
the errors. The load generator is one asyncio process pinned to the last CPU
(``sched_setaffinity``) while it sends; the servers may use every CPU, so on a
2-core machine one core is shared — its own CPU use is printed beside.
Before the load, the per-request service time is measured: one client,
sequential requests, beside the domain call alone in-process, and a cProfile
of the search and locate handlers run in-process.

    python benchmarks/api.py --open-loop --customers 20000 --path /tmp/demo-20k.gpkg \
        [--rates 25,50,100,200] [--duration 10] [--workers 1,2]

Closed loop (the default): 32 concurrent clients.

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
import contextlib
import cProfile
import io
import os
import pstats
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


# -- open loop -------------------------------------------------------------


def start_server(path: Path, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    log = path.with_suffix(f".server-{workers}w.log").open("w")
    return subprocess.Popen([sys.executable, "-c", "from gridservice.cli import main; main()", "serve", "--data",
                             str(path), "--port", str(port), "--workers", str(workers)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_workers(base: str, workers: int, proc: subprocess.Popen, *, timeout: float) -> None:
    """Until ``workers`` processes have answered (a worker still loading takes no connection)."""
    wait_ready(f"{base}/api/v1/health", proc, timeout=timeout)
    if workers == 1:
        return
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if time.monotonic() > deadline:
            sys.exit(f"only {len(seen)} of {workers} workers answered within {timeout:.0f} s")
        seen.add(httpx.get(f"{base}/api/v1/health", timeout=10).headers["x-gridservice-worker"])


#: How long after the last request is due the open loop waits for answers (the rest count as errors).
GRACE_S = 30.0


async def open_loop(base: str, paths: list[str], *, rate: float, duration: float, headers: dict[str, str],
                    rng: np.random.Generator) -> dict[str, float]:
    """Send requests at Poisson times of mean ``rate`` per second for ``duration`` seconds."""
    n = max(1, int(rate * duration))
    due = np.cumsum(rng.exponential(1 / rate, n))
    chosen = rng.choice(len(paths), size=n)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        last = start

        async def one(at: float, path: str) -> None:
            nonlocal last
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            try:
                r = await client.get(path)
            except httpx.TransportError:
                return
            now = loop.time()
            last = max(last, now)
            if r.status_code >= 400 and r.status_code != 404:  # 404: a point outside every grid, an answer
                return
            latencies.append(now - (start + at))

        cpu = time.process_time()
        with contextlib.suppress(TimeoutError):  # an overloaded server (or generator): what is left is unanswered
            await asyncio.wait_for(asyncio.gather(*(one(at, paths[i]) for at, i in zip(due, chosen, strict=True))),
                                   timeout=duration + GRACE_S)
        cpu = time.process_time() - cpu
        wall = loop.time() - start
    lat = np.array(latencies) * 1e3 if latencies else np.array([np.nan])
    return {"offered": rate, "achieved": len(latencies) / max(last - start, 1e-9), "p50": np.percentile(lat, 50),
            "p95": np.percentile(lat, 95), "p99": np.percentile(lat, 99), "sent": n,
            "errors": n - len(latencies),  # refused, failed, or not answered within GRACE_S
            "generator_cpu": cpu / wall}


def sequential(base: str, paths: list[str], headers: dict[str, str], n: int = 300) -> np.ndarray:
    """Latencies (ms) of ``n`` requests one after another on one keep-alive connection: the service time
    plus one HTTP round trip."""
    out = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for path in paths[:n]:
            t = time.perf_counter()
            r = client.get(path)
            if r.status_code >= 400 and r.status_code != 404:
                r.raise_for_status()
            out.append(time.perf_counter() - t)
    return np.array(out) * 1e3


def in_process(path: Path, locate: list[str], search: list[str], n: int = 300) -> None:
    """The requests without the network: per request through the ASGI app (TestClient), then the steps
    of each one called in this thread (the login check, the handler, the JSON body, the audit write after
    the response) with a cProfile of them, and the domain calls alone."""
    from urllib.parse import parse_qs, urlsplit

    from fastapi import BackgroundTasks
    from fastapi.responses import JSONResponse
    from fastapi.testclient import TestClient

    from gridservice.api import create_app
    from gridservice.api.routes import customers, grids
    from gridservice.config import Settings
    from gridservice.errors import GridserviceError
    from gridservice.spatial.locate import locator

    settings = Settings(secret_key="benchmark-secret-key-0123456789abcdef", search_per_minute=10**9, warm_up=False)
    app = create_app(str(path), settings=settings, web=False)
    holder, tokens, trail, lookups = app.state.holder, app.state.tokens, app.state.trail, app.state.lookups
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login", json={"username": "dispatcher",
                                                         "password": "dispatcher-demo"}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        for name, paths in (("locate", locate), ("customer search", search)):
            for p in paths[:50]:  # warm up
                client.get(p)
            times = []
            for p in paths[:n]:
                t = time.perf_counter()
                client.get(p)
                times.append(time.perf_counter() - t)
            arr = np.array(times) * 1e3
            print(f"\n{name}: {n} requests in-process through the ASGI app (TestClient, which also waits for "
                  f"the audit write after the response): p50 {np.percentile(arr, 50):.2f} ms  "
                  f"p95 {np.percentile(arr, 95):.2f} ms", flush=True)

    def one_locate(p: str) -> None:
        q = parse_qs(urlsplit(p).query)
        area = holder.get()
        user = tokens.user(area, token)
        with contextlib.suppress(GridserviceError):
            JSONResponse(grids.locate(area=area, user=user, lon=float(q["lon"][0]), lat=float(q["lat"][0])))

    def one_search(p: str) -> None:
        q = parse_qs(urlsplit(p).query)["q"][0]
        area = holder.get()
        user = tokens.user(area, token)
        JSONResponse(customers.search(area=area, user=user, settings=settings, lookups=lookups, trail=trail,
                                      background=BackgroundTasks(), q=q, limit=20, offset=0))
        trail.flush()  # what runs after the response

    for name, call, paths in (("locate", one_locate, locate), ("customer search", one_search, search)):
        profile = cProfile.Profile()
        t = time.perf_counter()
        profile.enable()
        for p in paths[:n]:
            call(p)
        profile.disable()
        print(f"\n{name}, its steps called in one thread: {(time.perf_counter() - t) / n * 1e3:.2f} ms per request "
              "(mean, under cProfile); where it goes (cumulative):")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(22)
        print(textwrap.indent(out.getvalue().split("\n\n", 2)[-1].strip(), "  "), flush=True)

    area = holder.get()
    index = customers.customer_index(area)
    qs = [parse_qs(urlsplit(p).query)["q"][0] for p in search[:n]]
    t = time.perf_counter()
    for q in qs:
        index.search(q, limit=20)
    per_search = (time.perf_counter() - t) / len(qs) * 1e3
    pts = [(float(parse_qs(urlsplit(p).query)["lon"][0]), float(parse_qs(urlsplit(p).query)["lat"][0]))
           for p in locate[:n]]
    found = locator(area)
    t = time.perf_counter()
    for lon, lat in pts:
        found.lookup(lon, lat)
    per_locate = (time.perf_counter() - t) / len(pts) * 1e3
    print(f"\ndomain calls alone: CustomerIndex.search {per_search:.2f} ms, GridLocator.lookup {per_locate:.3f} ms "
          "(mean)", flush=True)


def open_loop_main(args: argparse.Namespace, locate: list[str], search: list[str], rng: np.random.Generator) -> None:
    # the per-user limit would refuse nearly every search; no warm-up (the supervisor's first view) computing
    # beside the load: the load's own warm-up builds the search index and the locator
    env = {**os.environ, "GRIDSERVICE_SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
           "GRIDSERVICE_SEARCH_PER_MINUTE": str(10**9), "GRIDSERVICE_WARM_UP": "false"}
    rates = [float(r) for r in args.rates.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    all_cpus = os.sched_getaffinity(0)
    generator_cpu = {max(all_cpus)}
    in_process(args.path, locate, search)
    results: dict[tuple[str, float, int], dict[str, float]] = {}
    for workers in worker_counts:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        server = start_server(args.path, port, workers, env)
        try:
            wait_workers(base, workers, server, timeout=900)
            print(f"\n{workers} worker(s) ready in {time.perf_counter() - t0:.0f} s", flush=True)
            token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "dispatcher",
                                                                    "password": "dispatcher-demo"},
                               timeout=60).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            if workers == 1:
                for name, paths in (("locate", locate), ("customer search", search)):
                    arr = sequential(base, paths, auth)
                    print(f"{name}: one client, sequential requests over HTTP: p50 {np.percentile(arr, 50):.2f} ms "
                          f"p95 {np.percentile(arr, 95):.2f} ms  (service time + one round trip)", flush=True)
            os.sched_setaffinity(0, generator_cpu)
            try:
                for name, paths in (("locate", locate), ("customer search", search)):
                    asyncio.run(open_loop(base, paths, rate=20, duration=2, headers=auth, rng=rng))  # warm up
                    for rate in rates:
                        r = asyncio.run(open_loop(base, paths, rate=rate, duration=args.duration, headers=auth,
                                                  rng=rng))
                        results[(name, rate, workers)] = r
                        print(f"  {workers}w {name:<16} {rate:6.0f}/s -> {r['achieved']:6.1f}/s  p50 {r['p50']:8.1f}  "
                              f"p99 {r['p99']:8.1f} ms  errors {r['errors']}  generator cpu {r['generator_cpu']:.0%}",
                              flush=True)
                        time.sleep(2)  # let a backlog drain before the next rate
            finally:
                os.sched_setaffinity(0, all_cpus)
            if server.poll() is not None:
                print(f"the server died (exit {server.returncode})")
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    load_avg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nopen loop, {args.duration:.0f} s per rate, Poisson arrivals; latency in ms from when each request was "
          f"due; load generator pinned to CPU {max(all_cpus)} of {len(all_cpus)}; load average now {load_avg}")
    head = f"{'route':<16} {'offered/s':>9} |"
    for w in worker_counts:
        head += f" {w} worker{'s' if w > 1 else ' '}: {'got/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>5} |"
    print(head)
    for name in ("locate", "customer search"):
        for rate in rates:
            line = f"{name:<16} {rate:>9.0f} |"
            for w in worker_counts:
                r = results[(name, rate, w)]
                line += (f"{'':>11}{r['achieved']:>7.1f} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} "
                         f"{int(r['errors']):>5} |")
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "gridservice-api-bench-1m.gpkg")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--open-loop", action="store_true", help="fixed arrival rates instead of closed-loop clients")
    parser.add_argument("--rates", default="25,50,100,200", help="open loop: requests per second, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="open loop: seconds per rate")
    parser.add_argument("--workers", default="1,2", help="open loop: server worker counts to compare")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    ensure_data(args.path, args.customers)
    locate, search, kinds = queries(args.path, args.requests, rng)
    if args.open_loop:
        open_loop_main(args, locate, search, rng)
        return

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
