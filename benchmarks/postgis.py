"""Load the same service area from a GeoPackage and from PostGIS (issue 16).

Target: loading an area from PostGIS (``ServiceArea.load``: every layer, COPY
through Arrow) within 1.5x of loading it from its GeoPackage, same run.

    python benchmarks/postgis.py --url 'postgresql://USER@HOST/DB?area=bench' \\
        [--customers 1000000] [--path /tmp/gridservice-bench-1m.gpkg]

The GeoPackage is generated with the demo generator if it is not there yet,
then copied into the PostGIS area (``gridservice copy``'s write) and timed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gridservice.io import GeoPackageStore, open_store
from gridservice.model import ServiceArea


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="postgresql://… URL of a database with PostGIS")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/gridservice-bench-1m.gpkg"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    gpkg = GeoPackageStore(args.path)
    if not gpkg.exists():
        from gridservice.demo import build_demo

        gpkg.write(build_demo(customers=args.customers, seed=0), create=True)
    pg = open_store(args.url)
    t0 = time.perf_counter()
    pg.write(gpkg.read(), create=True)
    copied = time.perf_counter() - t0
    base = best_of(args.repeat, lambda: ServiceArea.load(gpkg))
    ours = best_of(args.repeat, lambda: ServiceArea.load(pg))
    n = len(gpkg.read_layer("customers"))
    print(f"customers            {n:>12,}")
    print(f"copy into PostGIS    {copied:>11.2f}s")
    print(f"load GeoPackage      {base:>11.2f}s  (baseline)")
    print(f"load PostGIS         {ours:>11.2f}s  ratio {ours / base:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
