"""The same service area from a GeoPackage and from PostGIS (issue 16), ratios in one run.

* load: ``ServiceArea.load`` of every layer. Target: PostGIS within 1.5x of the GeoPackage.
* locate / search / trace: per-request latency (p50, p99) on the area each store loaded
  (served from the in-memory indexes, so the store should not matter).
* writers: 50 threads each creating work orders (the order and its audit entry, one
  transaction) as fast as they can: orders/s and the p99 of one write; afterwards every
  acknowledged order must be there exactly once (lost / duplicated are printed and must be 0).

    python benchmarks/postgis.py --url 'postgresql://USER@HOST/DB?area=bench' \\
        [--customers 1000000] [--path /tmp/gridservice-bench-1m.gpkg] [--writers 50] [--orders 20]

The GeoPackage is generated with the demo generator if it is not there yet,
then copied into the PostGIS area (``gridservice copy``'s write) and timed.
The writers work on a copy of the GeoPackage, so it is left as it was.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import best_of

from gridservice.auth import audit_entry
from gridservice.io import GeoPackageStore, Store, open_store
from gridservice.model import ServiceArea
from gridservice.search import CustomerIndex
from gridservice.spatial.locate import locate_point
from gridservice.topology import network_of


def latencies(fn, args: list) -> np.ndarray:
    out = []
    for a in args:
        t0 = time.perf_counter()
        fn(a)
        out.append(time.perf_counter() - t0)
    return np.array(out) * 1e3


def reads(area: ServiceArea, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    customers = area.customers
    pick = rng.choice(len(customers), size=n)
    points = list(zip(customers.geometry.x.to_numpy()[pick], customers.geometry.y.to_numpy()[pick], strict=True))
    index = CustomerIndex.build(customers)
    names = customers["name"].astype("str").to_numpy()[pick].tolist()
    net = network_of(area)
    feeders = rng.choice(area.feeders.index.to_numpy(), size=n).tolist()
    return {
        "locate": latencies(lambda p: locate_point(area, *p), points),
        "search": latencies(lambda q: index.search(q, limit=20), names),
        "trace": latencies(net.downstream, feeders),
    }


def writers(store: Store, template: pd.DataFrame, threads: int, orders: int, tag: str) -> tuple[float, np.ndarray,
                                                                                                  int, int]:
    """``threads`` writers × ``orders`` work orders; orders/s, write latencies (ms), lost, duplicated."""
    acked: list[str] = []
    times: list[float] = []
    start = threading.Barrier(threads + 1)

    def run(k: int) -> None:
        start.wait()
        for i in range(orders):
            oid = f"BENCH-{tag}-{k}-{i}"
            order = template.rename(index={template.index[0]: oid})
            entry = audit_entry(user=f"writer{k}", action="create", layer="work_orders", feature_id=oid)
            t0 = time.perf_counter()
            store.upsert({"work_orders": order, "audit_log": entry})
            times.append(time.perf_counter() - t0)
            acked.append(oid)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    stored = store.read_layer("work_orders").index
    mine = stored[stored.str.startswith(f"BENCH-{tag}-")]
    lost = len(set(acked) - set(mine))
    duplicated = len(mine) - len(set(mine))
    return len(acked) / wall, np.array(times) * 1e3, lost, duplicated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="postgresql://… URL of a database with PostGIS")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/gridservice-bench-1m.gpkg"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="locate / search / trace requests per store")
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--orders", type=int, default=20, help="work orders per writer")
    args = parser.parse_args()
    gpkg = GeoPackageStore(args.path)
    if not gpkg.exists():
        from gridservice.demo import build_demo

        gpkg.write(build_demo(customers=args.customers, seed=0), create=True)
    pg = open_store(args.url)
    t0 = time.perf_counter()
    pg.write(gpkg.read(), create=True)
    copied = time.perf_counter() - t0
    base, _ = best_of(lambda: ServiceArea.load(gpkg), args.repeat)
    ours, _ = best_of(lambda: ServiceArea.load(pg), args.repeat)
    n = len(gpkg.read_layer("customers"))
    print(f"customers            {n:>12,}")
    print(f"copy into PostGIS    {copied:>11.2f}s")
    print(f"load GeoPackage      {base:>11.2f}s  (baseline)")
    print(f"load PostGIS         {ours:>11.2f}s  ratio {ours / base:.2f}x (target <= 1.5x)")

    print(f"\n{'latency (ms)':<20}{'GeoPackage p50':>15}{'p99':>8}{'PostGIS p50':>14}{'p99':>8}")
    measured = {kind: reads(ServiceArea.load(store), np.random.default_rng(0), args.requests)
                for kind, store in (("gpkg", gpkg), ("pg", pg))}
    for op in measured["gpkg"]:
        a, b = measured["gpkg"][op], measured["pg"][op]
        print(f"{op:<20}{np.percentile(a, 50):>15.2f}{np.percentile(a, 99):>8.2f}"
              f"{np.percentile(b, 50):>14.2f}{np.percentile(b, 99):>8.2f}")

    template = pg.read_layer("work_orders").iloc[[0]]
    copy = args.path.with_name(f"{args.path.stem}-writers.gpkg")
    shutil.copyfile(args.path, copy)
    print(f"\n{args.writers} writers x {args.orders} work orders (order + audit entry, one transaction each)")
    print(f"{'store':<20}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'lost':>6}{'dup':>5}")
    for label, store in (("GeoPackage", GeoPackageStore(copy)), ("PostGIS", pg)):
        rate, ms, lost, dup = writers(store, template, args.writers, args.orders, tag=label)
        print(f"{label:<20}{rate:>10.1f}{np.percentile(ms, 50):>9.1f}{np.percentile(ms, 99):>9.1f}{lost:>6}{dup:>5}")
    copy.unlink()


if __name__ == "__main__":
    main()
